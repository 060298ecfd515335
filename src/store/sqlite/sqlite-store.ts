import { stat } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { WalCheckpointer } from './checkpointer.js';
import type { StorageStats, Store } from '../store.js';
import { migrateSqlite } from './migrate.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { SqliteConsole } from './sqlite-console.js';
import { SqliteDb } from './sqlite-db.js';
import { SqliteDeliveries } from './sqlite-deliveries.js';
import { SqliteDeliveryControl } from './sqlite-delivery-control.js';
import { SqlitePublishing } from './sqlite-publishing.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteFunctions } from './sqlite-functions.js';
import { SqliteIdentity } from './sqlite-identity.js';
import { SqliteRetention } from './sqlite-retention.js';
import { SqliteStats } from './sqlite-stats.js';
import { WalSync } from './wal-sync.js';
import { WriteGate } from './write-gate.js';

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * The store on a single SQLite file: one connection shared by every port's module
 * (one writer; better-sqlite3 is synchronous, so each call runs to completion).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly settings: SqliteDirectory;
  readonly directory: SqliteDirectory;
  readonly identity: SqliteIdentity;
  readonly retryTokens: SqliteCatalog;
  readonly topics: SqliteCatalog;
  readonly subscriptions: SqliteCatalog;
  readonly messages: SqliteCatalog;
  readonly publishing: SqlitePublishing;
  readonly deliveries: SqliteDeliveries;
  readonly activity: SqliteDeliveries;
  readonly deliveryControl: SqliteDeliveryControl;
  readonly mailbox: SqliteDeliveries;
  readonly functions: SqliteFunctions;
  readonly console: SqliteConsole;
  readonly retention: SqliteRetention;
  readonly stats: SqliteStats;
  private readonly checkpointer: WalCheckpointer | undefined;
  private readonly walSync: WalSync | undefined;

  private constructor(
    private readonly db: Database.Database,
    backgroundCheckpoints: boolean,
  ) {
    // Every write of this connection passes the gate; the checkpointer closes it to restart the WAL.
    const gate = new WriteGate();
    // A file's WAL is made durable off the event loop: publishes wait for it, other commits only start it.
    const walSync = db.memory ? undefined : new WalSync(`${db.name}-wal`);
    this.walSync = walSync;
    const sql = new SqliteDb(db, gate, walSync === undefined ? undefined : () => walSync.flushSoon());
    this.settings = this.directory = new SqliteDirectory(sql);
    this.identity = new SqliteIdentity(sql);
    this.retryTokens = this.topics = this.subscriptions = this.messages = new SqliteCatalog(sql);
    this.checkpointer = backgroundCheckpoints ? WalCheckpointer.start(db, db.name, gate) : undefined;
    this.publishing = new SqlitePublishing(sql, walSync);
    this.deliveries = this.activity = this.mailbox = new SqliteDeliveries(sql, this.checkpointer);
    this.deliveryControl = new SqliteDeliveryControl(sql);
    this.functions = new SqliteFunctions(sql);
    this.console = new SqliteConsole(sql);
    this.retention = new SqliteRetention(sql);
    this.stats = new SqliteStats(sql);
  }

  static open(opts: { file: string; backgroundCheckpoints?: boolean }): SqliteStore {
    const db = new Database(opts.file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      // A WAL that grew past this (a long reader held a restart back) is cut back to it when it restarts.
      db.pragma('journal_size_limit = 33554432');
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteStore(db, opts.backgroundCheckpoints === true);
  }

  async migrate(): Promise<void> {
    migrateSqlite(this.db);
  }

  async close(): Promise<void> {
    if (this.db.open) await this.functions.flushCalls();
    await this.checkpointer?.stop();
    await this.walSync?.close();
    if (this.db.open) this.db.close();
  }

  async storageStats(): Promise<StorageStats> {
    const size = async (path: string): Promise<number> => (await stat(path).catch(() => undefined))?.size ?? 0;
    if (this.db.memory) return { databaseBytes: 0 };
    const [databaseBytes, walBytes] = await Promise.all([size(this.db.name), size(`${this.db.name}-wal`)]);
    return { databaseBytes, walBytes, ...(this.checkpointer !== undefined ? { wal: this.checkpointer.stats() } : {}) };
  }
}
