import type Database from 'better-sqlite3';
import type { CasResult } from '../../core/cas.js';
import type { Row, SqlValue } from '../rows.js';
import type { CasUpdate } from '../sql.js';
import type { WriteGate } from './write-gate.js';

/**
 * One SQLite connection as every SQLite module uses it: prepared statements (compiled once,
 * lazily, since tables exist only after migrations), transactions, and the write gate that
 * every write passes (the checkpointer closes it to restart the WAL).
 */
export class SqliteDb {
  private readonly cache = new Map<string, Database.Statement<SqlValue[], Row>>();
  /** Statements whose rows come back as arrays (a statement is in one mode or the other, so they are kept apart). */
  private readonly rawCache = new Map<string, Database.Statement<SqlValue[], unknown>>();
  /**
   * The connection's `synchronous` setting as last set here (SqliteStore.open leaves it FULL). It is changed only when
   * a transaction or write needs the other one, not set and restored around every unsynced transaction: SQLite applies
   * a `PRAGMA synchronous` while compiling it, so the statement is compiled afresh at every run (~10 µs each here),
   * and two of them ran with every publish group, claim and completion batch.
   */
  private synchronous: 'FULL' | 'NORMAL' = 'FULL';
  /** Transactions this connection has open (only this class opens them): kept here so statements need not ask SQLite. */
  private depth = 0;

  constructor(
    readonly raw: Database.Database,
    readonly gate: WriteGate,
    /** Told after each commit made without fsync (relaxedTx): the WAL's background flush. */
    private readonly committedRelaxed: () => void = () => {},
  ) {}

  stmt(sql: string): Database.Statement<SqlValue[], Row> {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.raw.prepare<SqlValue[], Row>(sql);
      this.cache.set(sql, s);
    }
    this.autocommitDurably(s);
    return s;
  }

  get(sql: string, ...params: SqlValue[]): Row | undefined {
    return this.stmt(sql).get(...params);
  }

  all(sql: string, ...params: SqlValue[]): Row[] {
    return this.stmt(sql).all(...params);
  }

  /**
   * Rows as arrays of their values in the statement's column order: no object with named keys per row. For the
   * claim paths, thousands of rows a second, where a 20-key object per row cost as much as the SQL itself.
   */
  values(sql: string, ...params: SqlValue[]): unknown[][] {
    let s = this.rawCache.get(sql);
    if (s === undefined) {
      s = this.raw.prepare<SqlValue[], unknown>(sql).raw(true);
      this.rawCache.set(sql, s);
    }
    this.autocommitDurably(s);
    return s.all(...params) as unknown[][];
  }

  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, ...params: SqlValue[]): number {
    return this.stmt(sql).run(...params).changes;
  }

  /** Waits until writes may go ahead (see WriteGate). */
  pass(): Promise<void> {
    return this.gate.pass();
  }

  /**
   * IMMEDIATE takes the write lock up front; a deferred transaction that reads
   * first could fail with SQLITE_BUSY on upgrade when another process writes.
   */
  tx<T>(fn: () => T): T {
    return this.immediate('FULL', fn);
  }

  /** A read-only transaction: one consistent snapshot for several statements. */
  readTx<T>(fn: () => T): T {
    this.depth++;
    try {
      return this.raw.transaction(fn).deferred();
    } finally {
      this.depth--;
    }
  }

  /**
   * For bookkeeping that can be redone (the engine's claims, fan-out and attempt results;
   * retention's deletes): committed without waiting for fsync, which would block the event
   * loop. WAL frames are appended in order and the next FULL commit or checkpoint syncs them
   * as well, so a power cut can lose only the latest of these, and that sends a delivery
   * again (at least once) or leaves a prune for the next sweep; a process crash loses
   * nothing (the frames are in the OS already).
   */
  relaxedTx<T>(fn: () => T): T {
    const result = this.unsyncedTx(fn);
    this.committedRelaxed();
    return result;
  }

  /**
   * A commit without fsync whose caller makes it durable itself (a publish group waits for WalSync.sync()): unlike
   * relaxedTx it asks for no background flush, which would start an fsync the caller's own then waited behind.
   */
  unsyncedTx<T>(fn: () => T): T {
    return this.immediate('NORMAL', fn);
  }

  /** An IMMEDIATE transaction committed under `mode` (or its outer transaction's, when nested). */
  private immediate<T>(mode: 'FULL' | 'NORMAL', fn: () => T): T {
    this.setSynchronous(mode);
    this.depth++;
    try {
      return this.raw.transaction(fn).immediate();
    } finally {
      this.depth--;
    }
  }

  /**
   * A write outside any transaction commits on its own (an API write's single statement): it must be durable at its
   * commit, so the connection goes back to FULL first if an unsynced transaction left it NORMAL. Reads leave it be.
   */
  private autocommitDurably(s: Database.Statement<SqlValue[], unknown>): void {
    // Checked before every statement, inside transactions too: plain fields first, the statement's flag (a call into
    // the driver) only for one run on its own.
    if (this.synchronous === 'NORMAL' && this.depth === 0 && !s.readonly) this.setSynchronous('FULL');
  }

  /**
   * Sets `synchronous` for the transaction about to begin. Inside a transaction it stays as that transaction began
   * (SQLite refuses to change it there), as a nested transaction commits with its outer one anyway.
   */
  private setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.synchronous === mode || this.depth > 0) return;
    this.raw.pragma(`synchronous = ${mode}`);
    this.synchronous = mode;
  }

  /**
   * An etag-guarded write (`write` runs an UPDATE ... RETURNING) in one transaction, a miss explained by
   * looking the row up with `etagSql` (tenancy id, id): etag-mismatch when it is there, not-found otherwise.
   */
  cas<T>(etagSql: string, tenancyId: string, id: string, write: () => Row | undefined, map: (r: Row) => T): CasResult<T> {
    return this.tx(() => {
      const row = write();
      if (row !== undefined) return { ok: true, value: map(row) };
      return { ok: false, reason: this.get(etagSql, tenancyId, id) === undefined ? 'not-found' : 'etag-mismatch' };
    });
  }

  /** Runs a generated compare-and-swap UPDATE (sql.ts casUpdate) for the row's values. */
  casUpdate(u: CasUpdate, values: SqlValue[], tenancyId: string, id: string, expectedEtag: string): Row | undefined {
    return this.get(u.sql, ...u.params(values, tenancyId, id, expectedEtag));
  }
}
