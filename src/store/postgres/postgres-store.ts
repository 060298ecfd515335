import { DatabaseError, escapeIdentifier, Pool, types, type PoolClient, type PoolConfig } from 'pg';
import { ConflictError } from '../../core/errors.js';
import type {
  ApiKey,
  Compartment,
  Message,
  Page,
  RetryTokenRecord,
  Subscription,
  Tenancy,
  Topic,
  User,
} from '../../core/models.js';
import {
  apiKeyValues,
  compartmentValues,
  rootCompartment,
  subscriptionValues,
  tenancyValues,
  toApiKey,
  toCompartment,
  toMessage,
  toRetryToken,
  toSubscription,
  toTenancy,
  topicValues,
  toTopic,
  toUser,
  userValues,
  type Row,
  type SqlValue,
} from '../rows.js';
import { etagLookupSql, listSubscriptionsSql, listTopicsSql, SQL, toPage, type CasUpdate } from '../sql.js';
import type { FunctionStore } from '../function-store.js';
import type { ConsoleStore } from '../console-store.js';
import { CONSOLE_STORE_METHODS, DELIVERY_STORE_METHODS, forwardTo, FUNCTION_STORE_METHODS } from '../forward.js';
import type { CasResult, DeliveryStore, ListSubscriptionsQuery, ListTopicsQuery, StorageStats, Store } from '../store.js';
import { migratePostgres } from './migrate.js';
import { wakeChannel } from './notifier.js';
import { first, rows, transaction, type Queryable } from './pg-query.js';
import { PostgresDeliveries } from './postgres-deliveries.js';
import { WAKE_SQL } from './postgres-delivery-sql.js';
import { PostgresFunctions } from './postgres-functions.js';
import { PostgresConsole } from './postgres-console.js';
import { PostgresIdentity } from './postgres-identity.js';
import { PostgresRetention } from './postgres-retention.js';

/** Unquoted identifiers only, so the name means the same in search_path and in SQL. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Epoch-ms BIGINTs come back as numbers; set per pool so other pg users keep the global parsers. */
const TYPES: NonNullable<PoolConfig['types']> = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === types.builtins.INT8 ? (v: string) => Number(v) : types.getTypeParser(oid, format)) as NonNullable<
    PoolConfig['types']
  >['getTypeParser'],
};

function topicNameConflict(err: unknown, name: string): unknown {
  if (err instanceof DatabaseError && err.code === '23505' && err.constraint === 'topics_live_name') {
    return new ConflictError(`Topic with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

/** Another node may create the same schema at the same moment; losing that race is fine. */
function isDuplicateSchema(err: unknown): boolean {
  return err instanceof DatabaseError && (err.code === '42P06' || err.code === '23505');
}

// The delivery, functions and console methods live in their own modules and are installed by forwardTo below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PostgresStore extends DeliveryStore, FunctionStore, ConsoleStore {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;
  private readonly fns: PostgresFunctions;
  private readonly consoleRows: PostgresConsole;
  readonly retention: PostgresRetention;
  /** Composed rather than forwarded: callers reach the IAM port as store.identity. */
  readonly identity: PostgresIdentity;

  private constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly deliveries: PostgresDeliveries,
  ) {
    this.fns = new PostgresFunctions(pool);
    this.consoleRows = new PostgresConsole(pool);
    this.retention = new PostgresRetention(pool);
    this.identity = new PostgresIdentity(pool);
  }

  static async open(opts: { connectionString: string; schema?: string; poolSize?: number }): Promise<PostgresStore> {
    const { schema } = opts;
    if (schema !== undefined && !SCHEMA_RE.test(schema)) throw new Error(`Invalid Postgres schema name: ${schema}`);
    const pool = new Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? 10,
      types: TYPES,
      ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client's socket error is otherwise an unhandled 'error' event; the pool drops that client.
    pool.on('error', () => {});
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
      await pool.end();
      throw err;
    }
    const channel = wakeChannel(schema);
    return new PostgresStore(pool, channel, new PostgresDeliveries(pool, { connectionString: opts.connectionString }, channel));
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  async migrate(): Promise<void> {
    await migratePostgres(this.pool);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.deliveries.close();
    await this.pool.end();
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

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await rows(this.pool, SQL.putSettingIfAbsent, [key, value]);
    // Settings are never updated or deleted, so whatever is there now is the winner.
    return String((await first(this.pool, SQL.getSetting, [key]))?.value);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await first(this.pool, SQL.getSetting, [key]);
    return row === undefined ? undefined : String(row.value);
  }

  async countTenancies(): Promise<number> {
    return Number((await first(this.pool, SQL.countTenancies))?.n ?? 0);
  }

  async createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void> {
    await this.tx(async (c) => {
      await rows(c, SQL.insertTenancy, tenancyValues(tenancy));
      await rows(c, SQL.insertCompartment, compartmentValues(rootCompartment(tenancy)));
      await rows(c, SQL.insertUser, userValues(admin));
      await rows(c, SQL.insertApiKey, apiKeyValues(key));
    });
  }

  async getTenancy(id: string): Promise<Tenancy | undefined> {
    const row = await first(this.pool, SQL.getTenancy, [id]);
    return row && toTenancy(row);
  }

  async getUser(tenancyId: string, userId: string): Promise<User | undefined> {
    const row = await first(this.pool, SQL.getUser, [tenancyId, userId]);
    return row && toUser(row);
  }

  async insertApiKey(key: ApiKey): Promise<void> {
    await rows(this.pool, SQL.insertApiKey, apiKeyValues(key));
  }

  async getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined> {
    const row = await first(this.pool, SQL.getApiKey, [tenancyId, userId, fingerprint]);
    return row && toApiKey(row);
  }

  async listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]> {
    return (await rows(this.pool, SQL.listApiKeys, [tenancyId, userId])).map(toApiKey);
  }

  async insertCompartment(c: Compartment): Promise<void> {
    await rows(this.pool, SQL.insertCompartment, compartmentValues(c));
  }

  async getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = await first(this.pool, SQL.getCompartment, [tenancyId, id]);
    return row && toCompartment(row);
  }

  async listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]> {
    return (await rows(this.pool, SQL.listCompartments, [tenancyId, parentId])).map(toCompartment);
  }

  async insertTopic(t: Topic): Promise<void> {
    try {
      await rows(this.pool, SQL.insertTopic, topicValues(t));
    } catch (err) {
      throw topicNameConflict(err, t.name);
    }
  }

  async getTopic(tenancyId: string, id: string): Promise<Topic | undefined> {
    const row = await first(this.pool, SQL.getTopic, [tenancyId, id]);
    return row && toTopic(row);
  }

  async listTopics(q: ListTopicsQuery): Promise<Page<Topic>> {
    const { sql, params } = listTopicsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toTopic);
  }

  /**
   * Explains a CAS miss by looking the row up afterwards. The answer is what
   * was true at that later instant, which is as good as any linearisation.
   */
  private async casMiss(db: Queryable, table: 'topics' | 'subscriptions', tenancyId: string, id: string) {
    const exists = (await first(db, etagLookupSql(table), [tenancyId, id])) !== undefined;
    return { ok: false as const, reason: exists ? ('etag-mismatch' as const) : ('not-found' as const) };
  }

  private async casUpdate<T>(
    u: CasUpdate,
    table: 'topics' | 'subscriptions',
    values: SqlValue[],
    tenancyId: string,
    id: string,
    expectedEtag: string,
    map: (r: Row) => T,
  ): Promise<CasResult<T>> {
    const row = await first(this.pool, u.sql, u.params(values, tenancyId, id, expectedEtag));
    return row !== undefined ? { ok: true, value: map(row) } : this.casMiss(this.pool, table, tenancyId, id);
  }

  async replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>> {
    try {
      return await this.casUpdate(SQL.replaceTopic, 'topics', topicValues(next), next.tenancyId, next.id, expectedEtag, toTopic);
    } catch (err) {
      throw topicNameConflict(err, next.name);
    }
  }

  async deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>> {
    return this.tx(async (c) => {
      const row = await first(c, SQL.deleteTopic, [now, tenancyId, id, expectedEtag]);
      if (row === undefined) return this.casMiss(c, 'topics', tenancyId, id);
      await rows(c, SQL.cascadeDeleteSubscriptions, [now, now, id]);
      return { ok: true, value: toTopic(row) };
    });
  }

  async insertSubscription(s: Subscription): Promise<void> {
    await rows(this.pool, SQL.insertSubscription, subscriptionValues(s));
  }

  async getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined> {
    const row = await first(this.pool, SQL.getSubscription, [tenancyId, id]);
    return row && toSubscription(row);
  }

  async getSubscriptionById(id: string): Promise<Subscription | undefined> {
    const row = await first(this.pool, SQL.getSubscriptionById, [id]);
    return row && toSubscription(row);
  }

  async listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>> {
    const { sql, params } = listSubscriptionsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toSubscription);
  }

  async replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>> {
    const values = subscriptionValues(next);
    return this.casUpdate(SQL.replaceSubscription, 'subscriptions', values, next.tenancyId, next.id, expectedEtag, toSubscription);
  }

  /**
   * One statement over parallel arrays: atomic by itself, and one round trip for any
   * batch size. Its NOTIFY (sent at commit) has every node's delivery engine fan out.
   */
  async insertMessages(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const col = <K extends keyof Message>(k: K) => messages.map((m) => m[k]);
    await rows(
      this.pool,
      'WITH inserted AS (INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at) ' +
        'SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])) ' +
        WAKE_SQL,
      [col('id'), col('tenancyId'), col('topicId'), col('title'), col('body'), col('messageType'), col('publishedAt'), this.channel],
    );
  }

  async getMessage(tenancyId: string, id: string): Promise<Message | undefined> {
    const row = await first(this.pool, SQL.getMessage, [tenancyId, id]);
    return row && toMessage(row);
  }

  async claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined> {
    const { tenancyId, token, operation, requestHash, createdAt } = record;
    // The holder may release the token between our two statements; then the claim is simply retried.
    for (let attempt = 0; ; attempt++) {
      const claimed = await first(this.pool, SQL.claimRetryToken, [
        tenancyId,
        token,
        operation,
        requestHash,
        createdAt,
        notBefore,
      ]);
      if (claimed !== undefined) return undefined;
      const existing = await first(this.pool, SQL.getRetryToken, [tenancyId, token]);
      if (existing !== undefined) return toRetryToken(existing);
      if (attempt >= 10) throw new Error(`Could not claim retry token ${token}: it keeps being released`);
    }
  }

  async completeRetryToken(tenancyId: string, token: string, response: string): Promise<void> {
    await rows(this.pool, SQL.completeRetryToken, [response, tenancyId, token]);
  }

  async releaseRetryToken(tenancyId: string, token: string): Promise<void> {
    await rows(this.pool, SQL.releaseRetryToken, [tenancyId, token]);
  }
}

forwardTo(PostgresStore.prototype, 'deliveries', DELIVERY_STORE_METHODS);
forwardTo(PostgresStore.prototype, 'fns', FUNCTION_STORE_METHODS);
forwardTo(PostgresStore.prototype, 'consoleRows', CONSOLE_STORE_METHODS);
