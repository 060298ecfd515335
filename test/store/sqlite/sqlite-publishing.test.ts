import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { messageFixture, T0, topicWithSubscribers } from '../fixtures.js';

describe('SQLite publish groups', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-publishing-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are made durable by one fsync of the WAL each: the group does not also start a background one', async () => {
    const file = join(dir, 'publish.db');
    const store = SqliteStore.open({ file, backgroundCheckpoints: false });
    try {
      await store.migrate();
      const topic = await topicWithSubscribers(store, 3);
      // Every FileHandle's sync() comes from one prototype: WalSync's fsyncs are counted there.
      const handle = await open(`${file}-wal`, 'r');
      const proto = Object.getPrototypeOf(handle) as { sync(): Promise<void> };
      await handle.close();
      // Past WalSync's gap since the fixtures' commits, so a background fsync would start at once if asked.
      await sleep(50);
      const syncs = mock.method(proto, 'sync');
      try {
        for (let i = 0; i < 3; i++) {
          await store.publishing.publishMessages([messageFixture(topic, { publishedAt: T0 })], { now: T0, inlineFanout: 64 });
          await sleep(30);
        }
        assert.equal(syncs.mock.callCount(), 3, 'one fsync per publish group');
      } finally {
        syncs.mock.restore();
      }
    } finally {
      await store.close();
    }
  });
});
