import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDb } from '../../../src/store/sqlite/sqlite-db.js';
import { WriteGate } from '../../../src/store/sqlite/write-gate.js';

const FULL = 2;
const NORMAL = 1;

describe('SqliteDb commit durability', () => {
  let dir: string;
  let raw: Database.Database;
  let sql: SqliteDb;
  /** The connection's setting as SQLite has it, read past SqliteDb. */
  const synchronous = (): number => raw.pragma('synchronous', { simple: true }) as number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-sqlite-db-'));
    raw = new Database(join(dir, 'db.sqlite'));
    raw.pragma('journal_mode = WAL');
    // As SqliteStore.open leaves it.
    raw.pragma('synchronous = FULL');
    raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    sql = new SqliteDb(raw, new WriteGate());
  });
  after(async () => {
    raw.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits an unsynced transaction under NORMAL and leaves it set for the next one instead of restoring FULL', () => {
    const inside = sql.unsyncedTx(() => {
      sql.run('INSERT INTO t (v) VALUES (?)', 'a');
      return synchronous();
    });
    assert.equal(inside, NORMAL);
    // Restoring FULL after each one ran a PRAGMA that SQLite compiles afresh at every run, twice per transaction.
    assert.equal(synchronous(), NORMAL);
    sql.relaxedTx(() => sql.run('INSERT INTO t (v) VALUES (?)', 'b'));
    assert.equal(synchronous(), NORMAL);
  });

  it('leaves NORMAL in place for reads outside a transaction', () => {
    sql.unsyncedTx(() => sql.run('INSERT INTO t (v) VALUES (?)', 'c'));
    assert.equal(sql.get('SELECT COUNT(*) AS n FROM t')?.n, 3);
    assert.deepEqual(sql.values('SELECT v FROM t ORDER BY id LIMIT CAST(? AS INTEGER)', 1), [['a']]);
    assert.equal(synchronous(), NORMAL);
  });

  it('commits a durable transaction under FULL after unsynced ones', () => {
    sql.unsyncedTx(() => sql.run('INSERT INTO t (v) VALUES (?)', 'd'));
    const inside = sql.tx(() => {
      sql.run('INSERT INTO t (v) VALUES (?)', 'e');
      return synchronous();
    });
    assert.equal(inside, FULL);
  });

  it('commits a write outside any transaction under FULL, whichever way the statement is run', () => {
    for (const write of [
      () => sql.run('INSERT INTO t (v) VALUES (?)', 'f'),
      () => sql.stmt('UPDATE t SET v = ? WHERE v = ?').run('g', 'f'),
      () => sql.get('INSERT INTO t (v) VALUES (?) RETURNING id', 'h'),
      () => sql.values('DELETE FROM t WHERE v = ? RETURNING id', 'h'),
    ]) {
      sql.unsyncedTx(() => sql.run('INSERT INTO t (v) VALUES (?)', 'x'));
      assert.equal(synchronous(), NORMAL);
      write();
      assert.equal(synchronous(), FULL, String(write));
    }
  });

  it('keeps the outer transaction\'s setting for a transaction nested in it', () => {
    const inner = sql.tx(() => sql.unsyncedTx(() => synchronous()));
    assert.equal(inner, FULL);
    sql.unsyncedTx(() => sql.run('INSERT INTO t (v) VALUES (?)', 'y'));
    assert.equal(
      sql.unsyncedTx(() => sql.tx(() => synchronous())),
      NORMAL,
    );
  });
});
