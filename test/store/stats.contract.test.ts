import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MinuteStatsRow } from '../../src/core/ports/stats.js';
import { emptyCounts, LATENCY_BUCKETS, MINUTE_MS } from '../../src/core/stats.js';
import { newMessageId, newOcid } from '../../src/core/ids.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { resultFor } from './delivery-fixtures.js';
import { seedTenancy, T0, topicFixture } from './fixtures.js';

/**
 * The per-minute stats on both backends: an upsert adds to the minute's row (as two nodes' flushes would),
 * reads sum minutes into buckets and topics within one tenancy, topics carry their backlog of unfinished
 * notifications now, and pruning drops old minutes only.
 */

/** A minute boundary, so buckets line up. */
const M0 = Math.floor(T0 / (15 * MINUTE_MS)) * 15 * MINUTE_MS;

function row(tenancyId: string, topicId: string, minute: number, over: Partial<MinuteStatsRow> = {}): MinuteStatsRow {
  return { tenancyId, topicId, minute, ...emptyCounts(), ...over };
}

/** A histogram with `n` in bucket `b`. */
function lat(b: number, n: number): number[] {
  const out = new Array<number>(LATENCY_BUCKETS).fill(0);
  out[b] = n;
  return out;
}

for (const kind of STORE_KINDS) {
  describe(`stats store contract (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t?.cleanup();
    });

    it('adds each upsert to the minute it names, every counter and every latency bucket', async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store, 'adds')).tenancy.id;
      const topicId = newOcid('onstopic');
      const every = Array.from({ length: LATENCY_BUCKETS }, (_, i) => i + 1);
      await store.stats.addMinuteStats([row(tenancyId, topicId, M0, { published: 2, delivered: 1, failedAttempts: 3, deadLetters: 1, confirmations: 1, latency: every })]);
      await store.stats.addMinuteStats([row(tenancyId, topicId, M0, { published: 5, delivered: 4, confirmations: 2, latency: every })]);
      await store.stats.addMinuteStats([]);
      // More rows than one statement of PostgreSQL's upsert takes: every chunk lands, in one call.
      const many = Array.from({ length: 450 }, (_, i) => row(tenancyId, `many-${String(i).padStart(3, '0')}`, M0 + MINUTE_MS, { published: 1 }));
      await store.stats.addMinuteStats(many);
      await store.stats.addMinuteStats(many);
      assert.deepEqual((await store.stats.statsByBucket(tenancyId, M0 + MINUTE_MS, M0 + 2 * MINUTE_MS, MINUTE_MS)).map((r) => r.published), [900]);
      const buckets = await store.stats.statsByBucket(tenancyId, M0, M0 + MINUTE_MS, MINUTE_MS);
      assert.deepEqual(buckets, [
        { start: M0, published: 7, delivered: 5, failedAttempts: 3, deadLetters: 1, confirmations: 3, latency: every.map((n) => 2 * n) },
      ]);
    });

    it('sums minutes into buckets of the range, oldest first, leaving out minutes outside [from, to) and other tenancies', async () => {
      const { store } = t;
      const a = (await seedTenancy(store, 'range-a')).tenancy.id;
      const b = (await seedTenancy(store, 'range-b')).tenancy.id;
      const [x, y] = [newOcid('onstopic'), newOcid('onstopic')];
      const Q = 15 * MINUTE_MS;
      await store.stats.addMinuteStats([
        row(a, x, M0 - MINUTE_MS, { published: 100 }), // before the range
        row(a, x, M0, { published: 1, latency: lat(3, 1) }),
        row(a, y, M0 + 14 * MINUTE_MS, { published: 2, latency: lat(5, 2) }), // same 15-minute bucket
        row(a, x, M0 + 2 * Q + MINUTE_MS, { delivered: 4 }), // third bucket; the second is empty
        row(a, x, M0 + 3 * Q, { published: 100 }), // at `to`: outside
        row(b, x, M0, { published: 1000 }), // another tenancy
      ]);
      const got = await store.stats.statsByBucket(a, M0, M0 + 3 * Q, Q);
      const first = { ...emptyCounts(), start: M0, published: 3, latency: lat(3, 1) };
      first.latency[5] = 2;
      assert.deepEqual(got, [first, { ...emptyCounts(), start: M0 + 2 * Q, delivered: 4 }]);
      assert.deepEqual(
        (await store.stats.statsByBucket(b, M0, M0 + 3 * Q, Q)).map((r) => [r.start, r.published]),
        [[M0, 1000]],
      );
    });

    it("lists the tenancy's live topics busiest first with their counts over the range and their unfinished notifications now", async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store, 'topics')).tenancy.id;
      const other = (await seedTenancy(store, 'topics-other')).tenancy.id;
      const busy = topicFixture(tenancyId, { name: 'busy' });
      const quiet = topicFixture(tenancyId, { name: 'quiet' });
      const idle = topicFixture(tenancyId, { name: 'idle' });
      const gone = topicFixture(tenancyId, { name: 'gone' });
      const foreign = topicFixture(other, { name: 'foreign' });
      for (const topic of [busy, quiet, idle, gone, foreign]) await store.topics.insertTopic(topic);
      await store.topics.deleteTopic(tenancyId, gone.id, gone.etag, T0);
      await store.stats.addMinuteStats([
        row(tenancyId, busy.id, M0, { published: 10, delivered: 8, deadLetters: 2, failedAttempts: 5 }),
        row(tenancyId, busy.id, M0 + MINUTE_MS, { published: 1, delivered: 1 }),
        row(tenancyId, busy.id, M0 + 60 * MINUTE_MS, { published: 500 }), // after the range
        row(tenancyId, quiet.id, M0, { published: 1 }),
        row(tenancyId, gone.id, M0, { published: 1000 }),
        row(other, foreign.id, M0, { published: 1000 }),
      ]);
      // quiet's notifications: three taken by a node (one of them since delivered), one waiting; a confirmation
      // send (not a notification) older than all of them; and another tenancy's delivery.
      const message = (createdAt: number, over: { nextAttemptAt?: number } = {}) => ({
        tenancyId,
        topicId: quiet.id,
        subscriptionId: newOcid('onssubscription'),
        messageId: newMessageId(),
        kind: 'MESSAGE' as const,
        protocol: 'HTTPS',
        nextAttemptAt: over.nextAttemptAt ?? T0,
        confirmationNonce: null,
        createdAt,
      });
      await store.deliveries.insertDeliveries([message(T0 + 5), message(T0 + 7), message(T0 + 9)]);
      const claimed = await store.deliveries.claimDeliveries(10, T0 + 10, T0 + 600_000, 'node-a');
      assert.equal(claimed.length, 3);
      const firstMade = claimed.find((d) => d.createdAt === T0 + 5)!;
      await store.deliveries.completeAttempts([resultFor(firstMade, { state: 'DELIVERED' })], T0 + 20);
      await store.deliveries.insertDeliveries([
        message(T0 + 8, { nextAttemptAt: T0 + 3_600_000 }),
        { ...message(T0 + 1), kind: 'CONFIRMATION', messageId: null, confirmationNonce: 1 },
        { ...message(T0 + 2), tenancyId: other, topicId: foreign.id },
      ]);

      const got = await store.stats.topicActivity(tenancyId, M0, M0 + 60 * MINUTE_MS, 50);
      const blank = { published: 0, delivered: 0, failedAttempts: 0, deadLetters: 0, backlog: 0, oldestPendingAt: null };
      assert.deepEqual(got, [
        { ...blank, topicId: busy.id, name: 'busy', compartmentId: tenancyId, published: 11, delivered: 9, failedAttempts: 5, deadLetters: 2 },
        { ...blank, topicId: quiet.id, name: 'quiet', compartmentId: tenancyId, published: 1, backlog: 3, oldestPendingAt: T0 + 7 },
        { ...blank, topicId: idle.id, name: 'idle', compartmentId: tenancyId },
      ]);
      assert.deepEqual(
        (await store.stats.topicActivity(tenancyId, M0, M0 + 60 * MINUTE_MS, 2)).map((r) => r.name),
        ['busy', 'quiet'],
        'at most `limit`',
      );
    });

    it('prunes minutes before the cutoff, oldest first and at most `limit`, keeping the rest', async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store, 'prune')).tenancy.id;
      const topicId = newOcid('onstopic');
      const far = M0 + 100 * 24 * 60 * MINUTE_MS; // later than every other test's minutes
      await store.stats.addMinuteStats([0, 1, 2, 3].map((i) => row(tenancyId, topicId, far + i * MINUTE_MS, { published: i + 1 })));
      const before = async (): Promise<number[]> =>
        (await store.stats.statsByBucket(tenancyId, far, far + 10 * MINUTE_MS, MINUTE_MS)).map((r) => r.published);
      // Everything of the other tests is older too; prune it all first so counts below are this test's.
      while ((await store.stats.pruneMinuteStats(far, 1000)) > 0);
      assert.equal(await store.stats.pruneMinuteStats(far + 2 * MINUTE_MS, 1), 1);
      assert.deepEqual(await before(), [2, 3, 4]);
      assert.equal(await store.stats.pruneMinuteStats(far + 2 * MINUTE_MS, 10), 1);
      assert.deepEqual(await before(), [3, 4], 'the minute at the cutoff stays');
      assert.equal(await store.stats.pruneMinuteStats(far + 2 * MINUTE_MS, 10), 0);
    });
  });
}
