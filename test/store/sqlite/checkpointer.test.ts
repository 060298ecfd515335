import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryTransition } from '../../../src/core/deliveries.js';
import type { Topic } from '../../../src/core/models.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import { resultFor } from '../delivery-fixtures.js';
import { messageFixture, T0, topicWithSubscribers } from '../fixtures.js';

/**
 * The SQLite store under steady writes: the WAL must stay small (it used to grow by every
 * byte written, since PASSIVE checkpoints never let it restart under a steady writer).
 */

const MB = 1024 * 1024;
const delivered: DeliveryTransition = { state: 'DELIVERED' };
const BODY = 'x'.repeat(1024);

/** What the engine writes for one publish group: the messages with their claimed deliveries, then the results. */
async function publishAndDeliver(store: Store, topic: Topic, count: number, publishedAt: number): Promise<void> {
  const messages = Array.from({ length: count }, () => messageFixture(topic, { publishedAt, body: BODY }));
  const out = await store.publishing.publishMessages(messages, { now: publishedAt, inlineFanout: 64, claim: { owner: 'n', leaseUntil: publishedAt + 60_000, max: 10_000 } });
  await store.deliveries.completeAttempts(out.claimed.map((d) => resultFor(d, delivered)), publishedAt);
}

describe('SQLite WAL under a steady writer', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-wal-'));
    store = SqliteStore.open({ file: join(dir, 'herald.db'), backgroundCheckpoints: true });
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('restarts the WAL, holding writers briefly, so it stays under 64 MB after more than 80 MB went through it', async () => {
    const topic = await topicWithSubscribers(store, 3);
    const wal = join(dir, 'herald.db-wal');
    let largest = 0;
    const deadline = Date.now() + 120_000;
    // Each restart needs more than 16 MB of WAL content, so five mean over 80 MB were written;
    // before the fix the file kept every byte of it.
    while (((await store.storageStats()).wal?.restarts ?? 0) < 5) {
      assert.ok(Date.now() < deadline, 'five WAL restarts within two minutes of steady writes');
      await publishAndDeliver(store, topic, 20, T0);
      largest = Math.max(largest, statSync(wal).size);
    }
    const stats = await store.storageStats();
    assert.ok(largest < 64 * MB, `the WAL file peaked at ${(largest / MB).toFixed(1)} MB`);
    assert.ok(stats.wal !== undefined && stats.wal.pauses >= stats.wal.restarts, 'every restart held the writers once');
    assert.ok(stats.wal.pauseMsTotal > 0, 'the holds were measured');
    assert.ok(stats.wal.pauseMsMaxRecent > 0 && stats.wal.pauseMsMaxRecent <= stats.wal.pauseMsTotal);
    // Writers were held, never refused: every group above committed (the trace of one is complete).
    const [one] = await store.activity.listRecentMessages(topic.tenancyId, topic.id, 1);
    const trace = await store.activity.getMessageDeliveries(topic.tenancyId, one!.id);
    assert.deepEqual(trace.map((x) => x.delivery.state), ['DELIVERED', 'DELIVERED', 'DELIVERED']);
  });
});
