import { DatabaseError, escapeIdentifier, Pool, types, type PoolConfig } from 'pg';
import type { StorageStats, Store } from '../store.js';
import { migratePostgres } from './migrate.js';
import { wakeChannel } from './notifier.js';
import { first } from './pg-query.js';
import { PostgresCatalog } from './postgres-catalog.js';
import { PostgresConsole } from './postgres-console.js';
import { PostgresDeliveryControl } from './postgres-delivery-control.js';
import { PostgresDeliveries } from './postgres-deliveries.js';
import { PostgresDirectory } from './postgres-directory.js';
import { PostgresFunctions } from './postgres-functions.js';
import { PostgresIdentity } from './postgres-identity.js';
import { PostgresRetention } from './postgres-retention.js';
import { PostgresStats } from './postgres-stats.js';

/** Unquoted identifiers only, so the name means the same in search_path and in SQL. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Epoch-ms BIGINTs come back as numbers; set per pool so other pg users keep the global parsers. */
const TYPES: NonNullable<PoolConfig['types']> = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === types.builtins.INT8 ? (v: string) => Number(v) : types.getTypeParser(oid, format)) as NonNullable<
    PoolConfig['types']
  >['getTypeParser'],
};

/** Another node may create the same schema at the same moment; losing that race is fine. */
function isDuplicateSchema(err: unknown): boolean {
  return err instanceof DatabaseError && (err.code === '42P06' || err.code === '23505');
}

/** A pool of connections that all start with these run-time settings (`-c name=value` in the startup packet, so no round trip). */
function openPool(connectionString: string, max: number, settings: Record<string, string>): Pool {
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const pool = new Pool({ connectionString, max, types: TYPES, ...(options !== '' ? { options } : {}) });
  // An idle client's socket error is otherwise an unhandled 'error' event; the pool drops that client.
  pool.on('error', () => {});
  return pool;
}

/**
 * The store on a PostgreSQL database (one schema), shared by several nodes. One pool serves every port's module;
 * the engine's bookkeeping (claims, fan-out steps, attempt results) has a second, whose commits do not wait for
 * the WAL flush (see PostgresDeliveries).
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;
  readonly settings: PostgresDirectory;
  readonly directory: PostgresDirectory;
  readonly identity: PostgresIdentity;
  readonly retryTokens: PostgresCatalog;
  readonly topics: PostgresCatalog;
  readonly subscriptions: PostgresCatalog;
  readonly messages: PostgresCatalog;
  readonly publishing: PostgresDeliveries;
  readonly deliveries: PostgresDeliveries;
  readonly activity: PostgresDeliveries;
  readonly deliveryControl: PostgresDeliveryControl;
  readonly mailbox: PostgresDeliveries;
  readonly functions: PostgresFunctions;
  readonly console: PostgresConsole;
  readonly retention: PostgresRetention;
  readonly stats: PostgresStats;

  private constructor(
    private readonly pool: Pool,
    private readonly bookkeeping: Pool,
    channel: string,
    deliveries: PostgresDeliveries,
  ) {
    this.settings = this.directory = new PostgresDirectory(pool);
    this.identity = new PostgresIdentity(pool);
    this.retryTokens = this.topics = this.subscriptions = this.messages = new PostgresCatalog(pool, channel);
    this.publishing = this.deliveries = this.activity = this.mailbox = deliveries;
    this.deliveryControl = new PostgresDeliveryControl(pool);
    this.functions = new PostgresFunctions(pool);
    this.console = new PostgresConsole(pool);
    this.retention = new PostgresRetention(pool);
    this.stats = new PostgresStats(pool);
  }

  static async open(opts: { connectionString: string; schema?: string; poolSize?: number }): Promise<PostgresStore> {
    const { schema } = opts;
    if (schema !== undefined && !SCHEMA_RE.test(schema)) throw new Error(`Invalid Postgres schema name: ${schema}`);
    const searchPath: Record<string, string> = schema !== undefined ? { search_path: schema } : {};
    const size = opts.poolSize ?? 10;
    const pool = openPool(opts.connectionString, size, searchPath);
    const bookkeeping = openPool(opts.connectionString, Math.max(2, Math.ceil(size / 2)), { ...searchPath, synchronous_commit: 'off' });
    try {
      if (schema !== undefined) {
        await pool.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`).catch((err: unknown) => {
          if (!isDuplicateSchema(err)) throw err;
        });
        // An `options` parameter in the connection string would silently override ours.
        const current = (await pool.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s;
        if (current !== schema) throw new Error(`search_path did not select schema ${schema} (got ${current ?? 'none'})`);
      }
    } catch (err) {
      await Promise.all([pool.end(), bookkeeping.end()]);
      throw err;
    }
    const channel = wakeChannel(schema);
    return new PostgresStore(pool, bookkeeping, channel, new PostgresDeliveries(pool, bookkeeping, { connectionString: opts.connectionString }, channel));
  }

  async migrate(): Promise<void> {
    await migratePostgres(this.pool);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.functions.flushCalls();
    await this.deliveries.close();
    await Promise.all([this.pool.end(), this.bookkeeping.end()]);
  }

  async storageStats(): Promise<StorageStats> {
    // Tables with their indexes and TOAST, in this store's schema (a schema per test or tenant database).
    const row = await first(
      this.pool,
      'SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c ' +
        "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = current_schema() AND c.relkind = 'r'",
    );
    return { databaseBytes: Number(row?.n ?? 0), autovacuum: await this.retention.autovacuumOn() };
  }
}
