import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Topic } from '../../../src/core/models.js';
import { WalCheckpointer } from '../../../src/store/sqlite/checkpointer.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { WriteGate } from '../../../src/store/sqlite/write-gate.js';
import type { Store } from '../../../src/store/store.js';
import { messageFixture, T0, topicWithSubscribers } from '../fixtures.js';

/**
 * Reads of large tables made on the checkpoint thread's own connection, so they cost the event loop nothing: the
 * backlog count walks every due delivery, 10-30 ms at 200,000 when it ran on the main connection.
 */

/** Publishes `count` messages whose deliveries all wait (none claimed): each adds `subs` to the backlog. */
async function publishWaiting(store: Store, topic: Topic, count: number): Promise<void> {
  const messages = Array.from({ length: count }, () => messageFixture(topic, { publishedAt: T0 }));
  await store.publishing.publishMessages(messages, { now: T0, inlineFanout: 64 });
}

describe('SQLite reads on the checkpoint thread', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-bg-reads-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts the backlog and the deliveries on the checkpoint thread, including what the main connection has just committed', async () => {
    const store = SqliteStore.open({ file: join(dir, 'count.db'), backgroundCheckpoints: true });
    const reads = mock.method(WalCheckpointer.prototype, 'read');
    try {
      await store.migrate();
      const topic = await topicWithSubscribers(store, 3);
      await publishWaiting(store, topic, 40);
      assert.equal(await store.deliveries.countBacklog(), 120);
      await publishWaiting(store, topic, 1);
      assert.equal(await store.deliveries.countBacklog(), 123, 'a commit made just before is counted');
      const counts = await store.deliveries.countDeliveries();
      assert.equal(counts.pending, 123);
      assert.equal(counts.inFlight, 0);
      const tenancy = await store.activity.countTenancy(topic.tenancyId, T0 - 1);
      assert.equal(tenancy.pending, 123);
      assert.equal(tenancy.subscriptions, 3);
      assert.equal(reads.mock.callCount(), 4, 'every count was read by the checkpoint thread');
    } finally {
      reads.mock.restore();
      await store.close();
    }
  });

  it('counts on the main connection once the checkpoint thread has stopped', async () => {
    const store = SqliteStore.open({ file: join(dir, 'stopped.db'), backgroundCheckpoints: true });
    try {
      await store.migrate();
      const topic = await topicWithSubscribers(store, 2);
      await publishWaiting(store, topic, 5);
      // The thread stops as it does when the store closes; the store itself stays open.
      await (store as unknown as { checkpointer: WalCheckpointer }).checkpointer.stop();
      assert.equal(await store.deliveries.countBacklog(), 10);
      assert.equal((await store.deliveries.countDeliveries()).pending, 10);
    } finally {
      await store.close();
    }
  });

  it('answers read-only statements from its own connection, refuses writes, and refuses every read once stopped', async () => {
    const file = join(dir, 'raw.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (n INTEGER)');
    const checkpointer = WalCheckpointer.start(db, file, new WriteGate());
    try {
      db.prepare('INSERT INTO t (n) VALUES (?), (?)').run(4, 5);
      assert.deepEqual(await checkpointer.read('SELECT SUM(n) AS total, COUNT(*) AS rows FROM t'), { total: 9, rows: 2 });
      await assert.rejects(checkpointer.read('DELETE FROM t'), /Only read-only statements/);
      await assert.rejects(checkpointer.read('SELECT nope FROM t'), /no such column/);
      assert.deepEqual(await checkpointer.read('SELECT COUNT(*) AS n FROM t WHERE n > ?', [4]), { n: 1 }, 'parameters are bound there');
      assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM t').get(), { n: 2 }, 'the refused write changed nothing');
      assert.equal(checkpointer.open, true);
    } finally {
      await checkpointer.stop();
    }
    assert.equal(checkpointer.open, false);
    await assert.rejects(checkpointer.read('SELECT COUNT(*) AS n FROM t'), /stopped/);
    db.close();
  });
});
