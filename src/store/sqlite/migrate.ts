import type Database from 'better-sqlite3';
import { loadMigrations, type Migration } from '../migrations.js';

/**
 * Applies pending migrations, each in its own IMMEDIATE transaction: the write
 * lock is taken before the applied-versions check, so a second process opening
 * the same file waits (busy_timeout) and then finds the version already applied.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = loadMigrations('sqlite')): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const isApplied = db.prepare<[number], { version: number }>('SELECT version FROM herald_migrations WHERE version = ?');
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO herald_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const apply = db.transaction((m: Migration) => {
    if (isApplied.get(m.version) !== undefined) return;
    db.exec(m.sql);
    record.run(m.version, m.name, Date.now());
  });
  for (const m of migrations) apply.immediate(m);
}
