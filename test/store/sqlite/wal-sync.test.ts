import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WalSync } from '../../../src/store/sqlite/wal-sync.js';

/** The prototype every FileHandle's sync() comes from: WalSync's fsyncs are counted (or failed) there. */
async function fileHandlePrototype(path: string): Promise<{ sync(): Promise<void> }> {
  const handle = await open(path, 'r');
  const proto = Object.getPrototypeOf(handle) as { sync(): Promise<void> };
  await handle.close();
  return proto;
}

async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, what);
    await sleep(5);
  }
}

/** Waits for an fsync to settle, and for WalSync to have taken its outcome in (its handlers run right after). */
async function finished(fsync: Promise<void> | undefined): Promise<void> {
  await fsync?.catch(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
}

describe('WalSync', () => {
  let dir: string;
  let wal: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-wal-sync-'));
    wal = join(dir, 'herald.db-wal');
    await writeFile(wal, 'frames');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('flushSoon() fsyncs in the background, at most once per gap however often it is asked', async () => {
    const proto = await fileHandlePrototype(wal);
    const syncs = mock.method(proto, 'sync');
    const ws = new WalSync(wal);
    try {
      ws.flushSoon();
      await eventually(() => syncs.mock.callCount() === 1, 'a background fsync');
      await finished(syncs.mock.calls[0]!.result);
      // Asked again and again right after: one more fsync, once the gap has passed, not one per ask.
      for (let i = 0; i < 50; i++) ws.flushSoon();
      await eventually(() => syncs.mock.callCount() === 2, 'the next background fsync after the gap');
      await sleep(50);
      assert.equal(syncs.mock.callCount(), 2, 'nothing asked since: no more fsyncs');
      // A publish's sync() still makes its own fsync.
      await ws.sync();
      assert.equal(syncs.mock.callCount(), 3);
    } finally {
      syncs.mock.restore();
      await ws.close();
    }
  });

  it('once a background fsync has failed, every later sync() fails: a publish is never acknowledged over lost frames', async () => {
    const proto = await fileHandlePrototype(wal);
    const syncs = mock.method(proto, 'sync', async () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    const ws = new WalSync(wal);
    try {
      ws.flushSoon();
      await eventually(() => syncs.mock.callCount() === 1, 'the background fsync');
      await finished(syncs.mock.calls[0]!.result);
      // The disk is fine again, but what the failed fsync held may be gone.
      syncs.mock.restore();
      await assert.rejects(ws.sync(), /The WAL could not be written to disk: EIO/);
      await assert.rejects(ws.sync(), /The WAL could not be written to disk/);
    } finally {
      syncs.mock.restore();
      await ws.close();
    }
  });

  it("a publish's own fsync that fails fails it, and every later one too", async () => {
    const proto = await fileHandlePrototype(wal);
    const syncs = mock.method(proto, 'sync', async () => {
      throw new Error('EIO: i/o error, fsync');
    });
    const ws = new WalSync(wal);
    try {
      await assert.rejects(ws.sync(), /The WAL could not be written to disk: EIO/);
      syncs.mock.restore();
      await assert.rejects(ws.sync(), /The WAL could not be written to disk: EIO/);
      assert.equal(syncs.mock.callCount(), 1, 'no fsync is tried again over frames that may be lost');
    } finally {
      syncs.mock.restore();
      await ws.close();
    }
  });
});
