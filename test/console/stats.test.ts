import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../src/console/auth.js';
import { newEtag, newMessageId, newOcid } from '../../src/core/ids.js';
import { eventually } from '../helpers/eventually.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { confirming, Receiver } from '../helpers/receiver.js';
import { addTenancy } from '../helpers/tenancies.js';

/**
 * The console overview's history comes from the stored per-minute counters: what was published and delivered
 * while nobody had the page open. Delivered counts notifications only: a subscription's confirmation handshake
 * is counted apart (24 published once showed 25 delivered).
 */

interface Point {
  t: number;
  published: number;
  delivered: number;
  failedAttempts: number;
  deadLetters: number;
  confirmations: number;
  p50Ms: number | null;
  p99Ms: number | null;
}
interface Topic {
  topicId: string;
  name: string;
  published: number;
  delivered: number;
  failedAttempts: number;
  successRate: number | null;
  backlog: number;
  oldestPendingAt: number | null;
}
interface Stats {
  range: string;
  bucketSeconds: number;
  from: number;
  to: number;
  points: Point[];
  topics: Topic[];
}

async function signIn(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

async function get(url: string, cookie: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, { headers: { cookie } });
  return { status: res.status, body: await res.json() };
}

async function stats(url: string, cookie: string, range: 'hour' | 'day'): Promise<Stats> {
  const { status, body } = await get(url, cookie, `/herald/v1/console/stats?range=${range}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as Stats;
}

const sum = (s: Stats, k: 'published' | 'delivered' | 'failedAttempts' | 'deadLetters' | 'confirmations'): number => s.points.reduce((n, p) => n + p[k], 0);

/** A console login for a user of `tenancyId`: with `rights: false`, a user in no group, who may do nothing. */
async function consoleUser(h: TestHerald, tenancyId: string, userId: string, username: string, password: string): Promise<void> {
  await h.herald.store.console.insertConsoleUserIfAbsent({ username, passwordHash: await hashPassword(password), tenancyId, userId, createdAt: Date.now() });
}

for (const kind of KINDS) {
  describe(`console stats from stored history (${kind})`, () => {
    let h: TestHerald;
    let signed: SignedCaller;
    const ok = new Receiver(confirming());
    // Confirms, then refuses every notification with a 400: each one fails once and goes to the dead letters.
    const refusing = new Receiver(confirming(() => ({ status: 400, body: 'refused' })));
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true });
      signed = heraldClient(h);
      await ok.start();
      await refusing.start();
    });
    after(async () => {
      await ok.stop();
      await refusing.stop();
      await h?.stop();
    });

    it("counts the tenancy's publishes, notifications apart from handshakes, failures and latency, and topic health", async () => {
      const admin = await signIn(h.herald.url, 'admin', h.herald.consolePassword!);
      const topicId = (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'stats-a', compartmentId: h.tenancyId })).topicId;
      await signed.call('POST', '/20181201/topics', { name: 'stats-idle', compartmentId: h.tenancyId });
      for (const rx of [ok, refusing]) {
        const sub = await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` });
        await eventually(async () => (await signed.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${sub.id}`)).lifecycleState === 'ACTIVE', 15_000, 'the subscription to confirm');
      }
      for (let i = 0; i < 3; i++) await signed.call('POST', `/20181201/topics/${topicId}/messages`, { body: `message ${i}` });

      // Wait on the stored state: flush the recorder, read, until every delivery has ended.
      let s: Stats | undefined;
      await eventually(async () => {
        await h.herald.flushStats();
        s = await stats(h.herald.url, admin, 'hour');
        return sum(s, 'delivered') >= 3 && sum(s, 'deadLetters') >= 3 && sum(s, 'confirmations') >= 2;
      }, 30_000, 'three deliveries and three dead letters in the stored stats');
      assert.ok(s !== undefined);
      assert.equal(s.range, 'hour');
      assert.equal(s.bucketSeconds, 60);
      assert.equal(s.points.length, 60);
      assert.equal(s.to - s.from, 3_600_000);
      s.points.forEach((p, i) => assert.equal(p.t, s!.from + i * 60_000, 'every minute, oldest first'));
      assert.deepEqual(
        { published: sum(s, 'published'), delivered: sum(s, 'delivered'), failedAttempts: sum(s, 'failedAttempts'), deadLetters: sum(s, 'deadLetters'), confirmations: sum(s, 'confirmations') },
        { published: 3, delivered: 3, failedAttempts: 3, deadLetters: 3, confirmations: 2 },
        'delivered counts the three notifications, not the two handshakes',
      );
      const measured = s.points.filter((p) => p.delivered > 0);
      assert.ok(measured.length > 0);
      for (const p of measured) {
        assert.ok(p.p50Ms !== null && p.p99Ms !== null && p.p50Ms <= p.p99Ms, JSON.stringify(p));
      }
      for (const p of s.points.filter((x) => x.delivered === 0)) assert.deepEqual([p.p50Ms, p.p99Ms], [null, null]);

      // One notification waiting an hour in the queue (made directly: its created time is known).
      const waitingSince = Date.now() - 5_000;
      await h.herald.store.deliveries.insertDeliveries([
        { tenancyId: h.tenancyId, topicId, subscriptionId: newOcid('onssubscription'), messageId: newMessageId(), kind: 'MESSAGE', protocol: 'CUSTOM_HTTPS', nextAttemptAt: Date.now() + 3_600_000, confirmationNonce: null, createdAt: waitingSince },
      ]);
      const day = await stats(h.herald.url, admin, 'day');
      assert.equal(day.bucketSeconds, 900);
      assert.equal(day.points.length, 96);
      assert.equal(sum(day, 'delivered'), 3);
      assert.deepEqual(
        day.topics.map((t) => ({ ...t })),
        [
          { topicId, name: 'stats-a', published: 3, delivered: 3, failedAttempts: 3, successRate: 0.5, backlog: 1, oldestPendingAt: waitingSince },
          // Idle topics too, by name: herald-operations (made at bootstrap), then stats-idle.
          { topicId: day.topics[1]?.topicId, name: 'herald-operations', published: 0, delivered: 0, failedAttempts: 0, successRate: null, backlog: 0, oldestPendingAt: null },
          { topicId: day.topics[2]?.topicId, name: 'stats-idle', published: 0, delivered: 0, failedAttempts: 0, successRate: null, backlog: 0, oldestPendingAt: null },
        ],
      );
    });

    it('shows another tenancy none of it, and refuses a caller without the right like the overview', async () => {
      const other = await addTenancy(h.herald.store, `other-${randomBytes(4).toString('hex')}`);
      await consoleUser(h, other.tenancyId, other.userId, 'bob', 'bob-password-123');
      const bob = await signIn(h.herald.url, 'bob', 'bob-password-123');
      await h.herald.flushStats();
      const seen = await stats(h.herald.url, bob, 'hour');
      assert.equal(seen.points.length, 60);
      for (const k of ['published', 'delivered', 'failedAttempts', 'deadLetters', 'confirmations'] as const) assert.equal(sum(seen, k), 0, k);
      assert.deepEqual(seen.topics, []);

      // A user of the first tenancy in no group: no right to inspect its topics.
      const userId = newOcid('user');
      await h.herald.store.identity.insertUser({ id: userId, tenancyId: h.tenancyId, name: 'nobody', description: '', email: null, lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: Date.now() });
      await consoleUser(h, h.tenancyId, userId, 'nobody', 'nobody-password-123');
      const nobody = await signIn(h.herald.url, 'nobody', 'nobody-password-123');
      for (const path of ['/herald/v1/console/stats?range=hour', '/herald/v1/console/overview']) {
        const { status, body } = await get(h.herald.url, nobody, path);
        assert.equal(status, 404, path);
        assert.equal((body as { code: string }).code, 'NotAuthorizedOrNotFound', path);
      }

      const admin = await signIn(h.herald.url, 'admin', h.herald.consolePassword!);
      const bad = await get(h.herald.url, admin, '/herald/v1/console/stats?range=week');
      assert.equal(bad.status, 400);
    });
  });
}
