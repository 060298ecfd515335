import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Delivery } from '../../src/core/deliveries.js';
import { MINUTE_MS, STATS_RETENTION_MS } from '../../src/core/stats.js';
import { MinuteStatsRecorder, teeMetrics } from '../../src/server/minute-stats.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { messageFixture, seedTenancy, topicFixture } from '../store/fixtures.js';

/** The recorder writes its tally only when it flushes (or stops), adding to what other nodes wrote, and prunes old minutes. */

const M = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE_MS);

function delivery(tenancyId: string, topicId: string, kind: 'MESSAGE' | 'CONFIRMATION'): Delivery {
  return {
    id: 1, tenancyId, topicId, subscriptionId: 's', messageId: kind === 'MESSAGE' ? 'm' : null, kind, protocol: 'HTTPS', state: 'IN_FLIGHT',
    attempts: 0, nextAttemptAt: M, windowStartAt: M, leaseOwner: 'n', confirmationNonce: null, lastError: null, lastStatus: null, deliveredAt: null, createdAt: M, updatedAt: M,
  };
}

for (const kind of STORE_KINDS) {
  describe(`MinuteStatsRecorder (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t?.cleanup();
    });

    it("writes on flush and on stop, two nodes' counts adding up in one minute, and prunes minutes past retention", async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store, 'recorder')).tenancy.id;
      const topic = topicFixture(tenancyId);
      const now = M + 30_000;
      const a = new MinuteStatsRecorder(store.stats, { now: () => now });
      const b = new MinuteStatsRecorder(store.stats, { now: () => now });
      const read = async (): Promise<[number, number, number, number]> => {
        const [r] = await store.stats.statsByBucket(tenancyId, M, M + MINUTE_MS, MINUTE_MS);
        return [r?.published ?? 0, r?.delivered ?? 0, r?.confirmations ?? 0, r?.latency.reduce((x, y) => x + y, 0) ?? 0];
      };
      // A stale minute, past retention once the clock below has moved: the first flush prunes it.
      await store.stats.addMinuteStats([{ tenancyId, topicId: topic.id, minute: M - STATS_RETENTION_MS - MINUTE_MS, published: 9, delivered: 0, failedAttempts: 0, deadLetters: 0, confirmations: 0, latency: [] }]);

      a.published([messageFixture(topic, { publishedAt: M + 1 }), messageFixture(topic, { publishedAt: M + 2 })]);
      const metrics = teeMetrics(a, b); // both nodes told of the same events: each counts them
      metrics.finished(delivery(tenancyId, topic.id, 'MESSAGE'), 'DELIVERED', M + 1);
      metrics.finished(delivery(tenancyId, topic.id, 'CONFIRMATION'), 'DELIVERED', null);
      assert.deepEqual(await read(), [0, 0, 0, 0], 'nothing is written before a flush');

      await a.flush();
      assert.deepEqual(await read(), [2, 1, 1, 1]);
      await b.stop();
      assert.deepEqual(await read(), [2, 2, 2, 2], "the second node's flush adds to the minute");
      await a.flush();
      assert.deepEqual(await read(), [2, 2, 2, 2], 'a flush writes each count once');
      const stale = await store.stats.statsByBucket(tenancyId, M - STATS_RETENTION_MS - MINUTE_MS, M - STATS_RETENTION_MS, MINUTE_MS);
      assert.deepEqual(stale, [], 'the minute past retention is gone');
      await a.stop();
    });
  });
}
