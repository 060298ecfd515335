import { chmod, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens the store named by `spec` ('sqlite' for `<dataDir>/herald.db`, or a
 * postgres:// URL) and brings its schema up to date before handing it out.
 */
export async function openStore(spec: string, dataDir: string, opts?: { schema?: string }): Promise<Store> {
  let store: Store;
  if (spec === 'sqlite') {
    const file = join(dataDir, 'herald.db');
    await privateFiles(dataDir, file);
    store = SqliteStore.open({ file, backgroundCheckpoints: true });
  } else if (/^postgres(ql)?:\/\//.test(spec)) {
    store = await PostgresStore.open({ connectionString: spec, schema: opts?.schema });
  } else {
    throw new Error(`Unknown store "${spec}": expected "sqlite" or a postgres:// URL`);
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * The database holds the link secret and console secrets, so its folder is 0700 and its files 0600 whatever the
 * umask: the file is created before SQLite opens it, and SQLite gives its -wal and -shm the database file's mode.
 * Files of an older Herald, made under a wider umask, are narrowed too.
 */
async function privateFiles(dataDir: string, file: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  await (await open(file, 'a', 0o600)).close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    await chmod(f, 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
