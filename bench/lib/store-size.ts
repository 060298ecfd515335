/**
 * How much disk Herald's store holds, read from outside Herald (so it works on any
 * build, whatever its own metrics say): on SQLite the sizes of `<dataDir>/herald.db`
 * and its WAL, on PostgreSQL the tables and indexes of Herald's own database.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { HeraldHandle } from './herald.js';

const MB = 1024 * 1024;

export interface StoreSize {
  /** SQLite: herald.db; PostgreSQL: pg_total_relation_size (heap + TOAST + indexes) of Herald's tables. MB. */
  dbMb: number | null;
  /** SQLite: herald.db-wal (PostgreSQL's WAL is the server's, shared by every database: null). MB. */
  walMb: number | null;
  /** PostgreSQL: pg_database_size of Herald's database (catalogs included); null on SQLite. MB. */
  databaseMb: number | null;
  /**
   * PostgreSQL: dead rows not yet vacuumed (pg_stat_user_tables, itself updated with a delay). Pruned rows
   * free their space for reuse only once autovacuum has run, so this says why the tables may still grow.
   */
  deadRows: number | null;
}

export interface StoreSizer {
  /** PostgreSQL: the server's `autovacuum` setting (with it off, pruned rows never give their space back); null on SQLite. */
  autovacuum: string | null;
  read(): Promise<StoreSize>;
  close(): Promise<void>;
}

async function fileMb(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size / MB;
  } catch {
    // No WAL file yet (or it was just removed): no reading rather than a fake zero.
    return null;
  }
}

// current_schema() is public unless the store URL picks a schema; relkind r/p/m are the tables.
const SIZE_SQL = `
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS tables,
         pg_database_size(current_database())::text AS database,
         (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema())::text AS dead
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')`;

export async function storeSizer(herald: HeraldHandle): Promise<StoreSizer> {
  if (herald.store === 'sqlite') {
    const db = join(herald.dataDir, 'herald.db');
    return {
      autovacuum: null,
      read: async () => ({ dbMb: await fileMb(db), walMb: await fileMb(`${db}-wal`), databaseMb: null, deadRows: null }),
      close: async () => undefined,
    };
  }
  if (herald.dbUrl === undefined) throw new Error('a PostgreSQL Herald without its database URL');
  // One connection for the whole soak: a connect per sample would be most of the sample's cost.
  const client = new pg.Client({ connectionString: herald.dbUrl });
  await client.connect();
  // A dropped connection (DROP DATABASE … WITH (FORCE) at the end) must not crash the bench.
  client.on('error', () => undefined);
  const autovacuum = (await client.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]?.autovacuum ?? null;
  return {
    autovacuum,
    async read() {
      try {
        const row = (await client.query<{ tables: string; database: string; dead: string }>(SIZE_SQL)).rows[0];
        if (row === undefined) return { dbMb: null, walMb: null, databaseMb: null, deadRows: null };
        return { dbMb: Number(row.tables) / MB, walMb: null, databaseMb: Number(row.database) / MB, deadRows: Number(row.dead) };
      } catch {
        return { dbMb: null, walMb: null, databaseMb: null, deadRows: null };
      }
    },
    close: () => client.end().catch(() => undefined),
  };
}
