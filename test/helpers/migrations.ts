import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadMigrations } from '../../src/store/migrations.js';
import { migratePostgres } from '../../src/store/postgres/migrate.js';
import { migrateSqlite } from '../../src/store/sqlite/migrate.js';
import { PG_URL, withPg } from './pg.js';
import type { TestStore } from './stores.js';

/** Applies the migrations up to and including `version`, as an older Herald would have. */
export async function migrateTo(t: TestStore, version: number): Promise<void> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'));
    try {
      migrateSqlite(db, loadMigrations('sqlite').filter((m) => m.version <= version));
    } finally {
      db.close();
    }
    return;
  }
  const pool = new pg.Pool({ connectionString: PG_URL, options: `-c search_path=${t.schema}`, max: 1 });
  try {
    await migratePostgres(pool, loadMigrations('postgres').filter((m) => m.version <= version));
  } finally {
    await pool.end();
  }
}

/** Runs SQL with `?` placeholders behind the port's back. */
export async function execSql(t: TestStore, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'));
    try {
      const stmt = db.prepare<unknown[], Record<string, unknown>>(sql);
      if (stmt.reader) return stmt.all(...params);
      stmt.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  let n = 0;
  return withPg(t.schema, async (c) => (await c.query<Record<string, unknown>>(sql.replace(/\?/g, () => `$${++n}`), params)).rows);
}
