import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, PG_URL } from './pg.js';

export type StoreKind = 'sqlite' | 'postgres';
/** The stores every contract suite runs on: both, or those named by STORE_KINDS (e.g. STORE_KINDS=sqlite). */
export const STORE_KINDS: readonly StoreKind[] = (process.env.STORE_KINDS?.split(',') as StoreKind[] | undefined) ?? ['sqlite', 'postgres'];

/** The Postgres every test run uses; each test store lives in its own throw-away schema. */

export interface TestStore {
  readonly kind: StoreKind;
  readonly store: Store;
  /** What `openStore(spec, dataDir, { schema })` needs to reach the same data (e.g. to start a server on it). */
  readonly spec: string;
  /** A fresh temp dir for either kind; for sqlite it also holds herald.db. */
  readonly dataDir: string;
  /** Set for postgres only. */
  readonly schema: string | undefined;
  /** The PostgreSQL database the schema lives in (postgres only). */
  readonly pgUrl: string;
  /**
   * Opens another, independent handle on the same data, without migrating: a
   * second node, or this node after a restart. cleanup() closes it too.
   */
  openAnother(): Promise<Store>;
  /** Closes every handle, then deletes the temp dir / drops the schema. */
  cleanup(): Promise<void>;
}

/**
 * A store on fresh, private storage; migrated unless `migrate: false`. On PostgreSQL it is a schema of the shared
 * test database, or of `pgUrl`'s database when given.
 */
export async function makeTestStore(kind: StoreKind, opts: { migrate?: boolean; pgUrl?: string } = {}): Promise<TestStore> {
  const pgUrl = opts.pgUrl ?? PG_URL;
  const dataDir = await mkdtemp(join(tmpdir(), `herald-${kind}-`));
  const schema = kind === 'postgres' ? `herald_test_${randomBytes(6).toString('hex')}` : undefined;
  const spec = kind === 'postgres' ? pgUrl : 'sqlite';
  const handles: Store[] = [];

  const openRaw = async (): Promise<Store> => {
    const s =
      kind === 'sqlite'
        ? SqliteStore.open({ file: join(dataDir, 'herald.db') })
        : await PostgresStore.open({ connectionString: pgUrl, schema, poolSize: 4 });
    handles.push(s);
    return s;
  };

  let store: Store;
  if (opts.migrate === false) {
    store = await openRaw();
  } else {
    store = await openStore(spec, dataDir, { schema });
    handles.push(store);
  }

  return {
    kind,
    store,
    spec,
    dataDir,
    schema,
    pgUrl,
    openAnother: openRaw,
    async cleanup() {
      await Promise.all(handles.map((h) => h.close()));
      await rm(dataDir, { recursive: true, force: true });
      if (schema !== undefined) await dropSchema(schema, pgUrl);
    },
  };
}
