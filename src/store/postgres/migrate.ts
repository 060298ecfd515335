import type { Pool } from 'pg';
import { loadMigrations, type Migration } from '../migrations.js';

/** First key of the advisory lock ("HRLD"); the second is the schema, so schemas migrate independently. */
const LOCK_CLASS = 0x48524c44;

/**
 * Applies pending migrations in one transaction that first takes a
 * transaction-scoped advisory lock: nodes starting together queue on the lock,
 * and each later one finds the versions already recorded and does nothing.
 */
export async function migratePostgres(pool: Pool, migrations: readonly Migration[] = loadMigrations('postgres')): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", [LOCK_CLASS]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const { rows } = await client.query<{ version: number }>('SELECT version FROM herald_migrations');
      const applied = new Set(rows.map((r) => r.version));
      for (const m of migrations) {
        if (applied.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
