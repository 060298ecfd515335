import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freshDatabase, KILLED_NODE_ERRORS, onsClients, publisher } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { KINDS } from '../helpers/herald.js';
import { spawnHerald, stopHerald, type HeraldProcess } from '../helpers/process.js';
import { confirming, Receiver } from '../helpers/receiver.js';

const MESSAGES = 1000;
const SUBSCRIBERS = ['/a', '/b', '/c'];
/** The node is killed once this many (message, subscriber) deliveries were acknowledged, and half the publishes accepted. */
const KILL_AFTER = 150;
const PUBLISHERS = 16;

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
      const configFile = join(dataDir, 'oci', 'config');

      const accepted: string[] = [];
      const acceptedIds = new Set<string>();
      // What each subscriber acknowledged (answered 200), per message id.
      const acked = new Map<string, Map<string, number>>(SUBSCRIBERS.map((p) => [p, new Map()]));
      const ackedPairs = (): number => [...acked.values()].reduce((n, m) => n + m.size, 0);
      // 'up': the first node runs; 'dying': SIGKILL sent, not yet reaped; 'after': it is dead.
      let phase: 'up' | 'dying' | 'after' = 'up';
      let deliveredBeforeKill = -1;
      let acceptedAtKill = -1;
      /** Of those, the deliveries of messages whose publish the client had been answered for by the kill. */
      let deliveredOfAcceptedBeforeKill = -1;
      let dyingExited: Promise<unknown> = Promise.resolve();
      let node: HeraldProcess = await spawnHerald(env);
      cleanups.push(async () => void (await stopHerald(node, 'SIGKILL')));

      // The kill comes from inside the receiver, while it holds an unanswered delivery of an accepted message
      // that the subscriber has not acknowledged before: so at the kill some deliveries are done and at least one
      // is in flight, whatever the machine's speed. Requests the dying node still gets out are not acknowledged.
      const rx = new Receiver(
        confirming(async (r) => {
          const id = String(r.headers['x-oci-ns-messageid']);
          const per = acked.get(r.path);
          if (per === undefined) return { status: 404 };
          if (phase === 'up' && ackedPairs() >= KILL_AFTER && accepted.length >= MESSAGES / 2 && acceptedIds.has(id) && !per.has(id)) {
            phase = 'dying';
            deliveredBeforeKill = ackedPairs();
            acceptedAtKill = accepted.length;
            // A delivery can arrive before its publish's answer reaches the client: those count as done, not as accepted.
            deliveredOfAcceptedBeforeKill = [...acked.values()].reduce((n, m) => n + [...m.keys()].filter((k) => acceptedIds.has(k)).length, 0);
            node.child.kill('SIGKILL');
            dyingExited = node.exited.then(() => (phase = 'after'));
          }
          if (phase === 'dying') {
            await dyingExited;
            return { status: 503 };
          }
          per.set(id, (per.get(id) ?? 0) + 1);
          return { status: 200 };
        }),
      );
      await rx.start();
      cleanups.push(() => rx.stop());

      let c = onsClients(configFile, node.url);
      const topicId = (await c.cp.createTopic({ createTopicDetails: { name: 'crash', compartmentId: c.tenancy } })).notificationTopic.topicId;
      for (const path of SUBSCRIBERS) {
        const s = await c.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: c.tenancy, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + path } });
        await eventually(async () => (await c.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, 'confirmation');
      }

      // Publish with 16 in flight until the receiver kills the node.
      const pub = publisher(configFile, node.url);
      const refused: { i: number; code: unknown; statusCode: unknown; afterKill: boolean }[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < MESSAGES && phase === 'up') {
          const i = next++;
          try {
            const r = await pub.publishMessage({ topicId, messageDetails: { title: `m${i}`, body: JSON.stringify({ i }) } });
            accepted.push(r.publishResult.messageId);
            acceptedIds.add(r.publishResult.messageId);
          } catch (err) {
            // Cut off by the kill: not accepted, so not owed. Checked below to be only that.
            const e = err as { code?: unknown; statusCode?: unknown };
            refused.push({ i, code: e.code, statusCode: e.statusCode, afterKill: phase !== 'up' });
          }
        }
      };
      await Promise.all(Array.from({ length: PUBLISHERS }, worker));
      // Publishing may have finished first: the deliveries still crossing the threshold bring the kill.
      await eventually(() => phase === 'after', 90_000, 'the receiver to kill the node mid-delivery');
      pub.close();
      const publishedAtKill = next;

      assert.ok(deliveredBeforeKill >= KILL_AFTER, `deliveries were done before the kill (${deliveredBeforeKill})`);
      assert.ok(
        deliveredOfAcceptedBeforeKill < acceptedAtKill * SUBSCRIBERS.length,
        `deliveries were still in flight at the kill: ${deliveredOfAcceptedBeforeKill} of ${acceptedAtKill * SUBSCRIBERS.length} done`,
      );
      assert.deepEqual(
        refused.filter((x) => !x.afterKill || x.statusCode !== undefined || !KILLED_NODE_ERRORS.includes(String(x.code))),
        [],
        `publishes failed only when cut off by the kill, with a connection error (${KILLED_NODE_ERRORS.join(', ')})`,
      );
      assert.ok(refused.length <= PUBLISHERS, `at most the publishes in flight were cut off (${refused.length})`);

      node = await spawnHerald(env);
      c.cp.close();
      c.dp.close();
      c = onsClients(configFile, node.url);
      // Finish publishing the rest on the restarted node.
      while (next < MESSAGES) {
        const r = await c.dp.publishMessage({ topicId, messageDetails: { title: `m${next}`, body: JSON.stringify({ i: next }) } });
        next++;
        accepted.push(r.publishResult.messageId);
      }

      const missing = (): number => SUBSCRIBERS.reduce((n, p) => n + accepted.filter((id) => !acked.get(p)!.has(id)).length, 0);
      await eventually(async () => missing() === 0, 90_000, 'every accepted message at every subscriber').catch((err: Error) => {
        throw new Error(`${err.message}; ${missing()} (message, subscriber) pairs missing`);
      });
      const duplicates = SUBSCRIBERS.reduce((n, p) => n + [...acked.get(p)!.values()].filter((x) => x > 1).reduce((a, x) => a + x - 1, 0), 0);
      t.diagnostic(
        `${kind}: accepted ${accepted.length} (${acceptedAtKill} at the kill, ${publishedAtKill} publishes sent by then, ${refused.length} cut off), ` +
          `deliveries done before the kill ${deliveredBeforeKill}, lost 0, duplicates ${duplicates}`,
      );
      assert.equal(missing(), 0);
      assert.ok(accepted.length >= MESSAGES - PUBLISHERS, `almost every publish was accepted (${accepted.length})`);
      c.cp.close();
      c.dp.close();
      assert.equal(await stopHerald(node), 0);
    });
  });
}
