import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/store/open-store.js';

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('openStore on SQLite keeps the data private', () => {
  const roots: string[] = [];
  after(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  async function root(): Promise<string> {
    const r = await mkdtemp(join(tmpdir(), 'herald-perms-'));
    roots.push(r);
    return r;
  }

  /** Opens under the usual umask 022 (which would give 0755 and 0644), writes so SQLite makes its -wal and -shm. */
  async function openAndWrite(dataDir: string): Promise<void> {
    const old = process.umask(0o022);
    try {
      const store = await openStore('sqlite', dataDir);
      try {
        await store.settings.putSettingIfAbsent('perms-test', 'x');
      } finally {
        await store.close();
      }
    } finally {
      process.umask(old);
    }
  }

  it('creates the data dir 0700 and herald.db, -wal and -shm 0600 whatever the umask', async () => {
    const dataDir = join(await root(), 'data');
    const old = process.umask(0o022);
    let store;
    try {
      store = await openStore('sqlite', dataDir);
      await store.settings.putSettingIfAbsent('perms-test', 'x');
      // While open: the WAL and its index exist.
      assert.equal(await mode(dataDir), 0o700);
      for (const f of ['herald.db', 'herald.db-wal', 'herald.db-shm']) assert.equal(await mode(join(dataDir, f)), 0o600, f);
    } finally {
      process.umask(old);
      await store?.close();
    }
  });

  it('narrows the data dir and files of an older Herald made under a wider umask', async () => {
    const dataDir = join(await root(), 'data');
    await openAndWrite(dataDir);
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, 'herald.db'), 0o644);
    await openAndWrite(dataDir);
    assert.equal(await mode(dataDir), 0o700);
    assert.equal(await mode(join(dataDir, 'herald.db')), 0o600);
  });
});
