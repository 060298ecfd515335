import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freshDatabase, onsClients } from '../helpers/databases.js';
import { KINDS } from '../helpers/herald.js';
import { spawnHerald, stopHerald, type HeraldProcess } from '../helpers/process.js';
import { eventually, Receiver } from '../helpers/receiver.js';

const MESSAGES = 1000;
const SUBSCRIBERS = ['/a', '/b', '/c'];



/** Counts what each subscriber path received, per message id; confirms subscriptions like a real receiver. */
function countingReceiver(): { rx: Receiver; seen: Map<string, Map<string, number>> } {
  const seen = new Map<string, Map<string, number>>(SUBSCRIBERS.map((p) => [p, new Map()]));
  const rx = new Receiver(async (r) => {
    const confirm = r.headers['x-oci-ns-confirmationurl'];
    if (typeof confirm === 'string') {
      await (await fetch(confirm)).text();
      return { status: 200 };
    }
    const id = String(r.headers['x-oci-ns-messageid']);
    const per = seen.get(r.path);
    if (per) per.set(id, (per.get(id) ?? 0) + 1);
    return { status: 200 };
  });
  return { rx, seen };
}

for (const kind of KINDS) {
  describe(`crash safety: kill -9 mid-fan-out loses nothing (${kind})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it(`delivers every accepted message of ${MESSAGES} to all ${SUBSCRIBERS.length} subscribers across a kill -9 and restart`, async (t) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'herald-crash-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      let store = 'sqlite';
      if (kind === 'postgres') {
        const db = await freshDatabase('herald_crash');
        cleanups.push(() => db.drop());
        store = db.url;
      }
      const env = { HERALD_PORT: '0', HERALD_DATA_DIR: dataDir, HERALD_STORE: store, HERALD_ALLOW_PRIVATE_ENDPOINTS: '1', HERALD_DELIVERY_TIMEOUT_MS: '1000', HERALD_LOG_LEVEL: 'info' };
      const { rx, seen } = countingReceiver();
      await rx.start();
      cleanups.push(() => rx.stop());

      let node: HeraldProcess = await spawnHerald(env);
      cleanups.push(async () => void (await stopHerald(node, 'SIGKILL')));
      let c = onsClients(join(dataDir, 'oci', 'config'), node.url);
      const topicId = (await c.cp.createTopic({ createTopicDetails: { name: 'crash', compartmentId: c.tenancy } })).notificationTopic.topicId;
      for (const path of SUBSCRIBERS) {
        const s = await c.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: c.tenancy, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + path } });
        await eventually(async () => (await c.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, 'confirmation');
      }

      // Publish with 16 in flight; kill the node once deliveries are flowing, while publishes are still arriving.
      const accepted: string[] = [];
      let next = 0;
      let killed = false;
      const worker = async (): Promise<void> => {
        while (next < MESSAGES && !killed) {
          const i = next++;
          try {
            const r = await c.dp.publishMessage({ topicId, messageDetails: { title: `m${i}`, body: JSON.stringify({ i }) } });
            accepted.push(r.publishResult.messageId);
          } catch {
            // refused or cut off by the kill: not accepted, so not owed
          }
          if (!killed && accepted.length >= MESSAGES / 2 && [...seen.values()].some((m) => m.size > 50)) {
            killed = true;
            node.child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      if (!killed) node.child.kill('SIGKILL');
      await node.exited;
      const deliveredBeforeKill = [...seen.values()].reduce((n, m) => n + m.size, 0);

      node = await spawnHerald(env);
      c.cp.close();
      c.dp.close();
      c = onsClients(join(dataDir, 'oci', 'config'), node.url);
      // Finish publishing the rest on the restarted node.
      while (next < MESSAGES) {
        const r = await c.dp.publishMessage({ topicId, messageDetails: { title: `m${next}`, body: JSON.stringify({ i: next }) } });
        next++;
        accepted.push(r.publishResult.messageId);
      }

      const missing = (): number => SUBSCRIBERS.reduce((n, p) => n + accepted.filter((id) => !seen.get(p)!.has(id)).length, 0);
      await eventually(async () => missing() === 0, 90_000, 'every accepted message at every subscriber').catch((err: Error) => {
        throw new Error(`${err.message}; ${missing()} (message, subscriber) pairs missing`);
      });
      const duplicates = SUBSCRIBERS.reduce((n, p) => n + [...seen.get(p)!.values()].filter((x) => x > 1).reduce((a, x) => a + x - 1, 0), 0);
      t.diagnostic(`${kind}: accepted ${accepted.length}, delivered before kill ${deliveredBeforeKill}, lost 0, duplicates ${duplicates}`);
      assert.equal(missing(), 0);
      assert.ok(accepted.length >= MESSAGES - 16, `almost every publish was accepted (${accepted.length})`);
      c.cp.close();
      c.dp.close();
      assert.equal(await stopHerald(node), 0);
    });
  });
}
