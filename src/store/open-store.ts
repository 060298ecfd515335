import { mkdir } from 'node:fs/promises';
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
    await mkdir(dataDir, { recursive: true });
    store = SqliteStore.open({ file: join(dataDir, 'herald.db'), backgroundCheckpoints: true });
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
