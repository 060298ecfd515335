import type Database from 'better-sqlite3';
import type { Row, SqlValue } from '../rows.js';

/** Prepared statements (compiled once, lazily: tables exist only after migrations) and transactions on one connection. */
export class Statements {
  private readonly cache = new Map<string, Database.Statement<SqlValue[], Row>>();

  constructor(private readonly db: Database.Database) {}

  stmt(sql: string): Database.Statement<SqlValue[], Row> {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare<SqlValue[], Row>(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /**
   * IMMEDIATE takes the write lock up front; a deferred transaction that reads
   * first could fail with SQLITE_BUSY on upgrade when another process writes.
   */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
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
    this.stmt('PRAGMA synchronous = NORMAL').run();
    try {
      return this.tx(fn);
    } finally {
      this.stmt('PRAGMA synchronous = FULL').run();
    }
  }
}
