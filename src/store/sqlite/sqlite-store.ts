import { stat } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { WalCheckpointer } from './checkpointer.js';
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
  messageValues,
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
import { migrateSqlite } from './migrate.js';
import { SqliteDeliveries } from './sqlite-deliveries.js';
import { SqliteFunctions } from './sqlite-functions.js';
import { SqliteConsole } from './sqlite-console.js';
import { SqliteIdentity } from './sqlite-identity.js';
import { SqliteRetention } from './sqlite-retention.js';
import { WriteGate } from './write-gate.js';

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

function topicNameConflict(err: unknown, name: string): unknown {
  // The partial unique index is the only UNIQUE constraint naming topics.name.
  if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes('topics.name')) {
    return new ConflictError(`Topic with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

/**
 * Store on a single SQLite file. better-sqlite3 is synchronous, so every method
 * runs to completion before yielding; the async signatures only satisfy the port.
 */
// The delivery, functions and console methods live in their own modules and are installed by forwardTo below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface SqliteStore extends DeliveryStore, FunctionStore, ConsoleStore {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement<SqlValue[], Row>>();

  private readonly deliveries: SqliteDeliveries;
  private readonly fns: SqliteFunctions;
  private readonly consoleRows: SqliteConsole;
  readonly retention: SqliteRetention;
  /** Composed rather than forwarded: callers reach the IAM port as store.identity. */
  readonly identity: SqliteIdentity;
  /** Every write of this connection passes it; the checkpointer closes it to restart the WAL. */
  private readonly gate = new WriteGate();
  private readonly checkpointer: WalCheckpointer | undefined;

  private constructor(
    private readonly db: Database.Database,
    backgroundCheckpoints: boolean,
  ) {
    this.deliveries = new SqliteDeliveries(db, this.gate);
    this.fns = new SqliteFunctions(db, this.gate);
    this.consoleRows = new SqliteConsole(db, this.gate);
    this.retention = new SqliteRetention(db, this.gate);
    this.identity = new SqliteIdentity(db, this.gate);
    this.checkpointer = backgroundCheckpoints ? WalCheckpointer.start(db, db.name, this.gate) : undefined;
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

  /** Prepared lazily: statements can only be compiled once migrations created their tables. */
  private stmt(sql: string): Database.Statement<SqlValue[], Row> {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare<SqlValue[], Row>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private get(sql: string, ...params: SqlValue[]): Row | undefined {
    return this.stmt(sql).get(...params);
  }

  private all(sql: string, ...params: SqlValue[]): Row[] {
    return this.stmt(sql).all(...params);
  }

  private run(sql: string, ...params: SqlValue[]): number {
    return this.stmt(sql).run(...params).changes;
  }

  /**
   * IMMEDIATE takes the write lock up front; a deferred transaction that reads
   * first could fail with SQLITE_BUSY on upgrade when another process writes.
   */
  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async migrate(): Promise<void> {
    migrateSqlite(this.db);
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.deliveries.closeSync();
    if (this.db.open) this.db.close();
  }

  async storageStats(): Promise<StorageStats> {
    const size = async (path: string): Promise<number> => (await stat(path).catch(() => undefined))?.size ?? 0;
    if (this.db.memory) return { databaseBytes: 0 };
    const [databaseBytes, walBytes] = await Promise.all([size(this.db.name), size(`${this.db.name}-wal`)]);
    return { databaseBytes, walBytes, ...(this.checkpointer !== undefined ? { wal: this.checkpointer.stats() } : {}) };
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.gate.pass();
    return this.tx(() => {
      this.run(SQL.putSettingIfAbsent, key, value);
      return String(this.get(SQL.getSetting, key)?.value);
    });
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.get(SQL.getSetting, key);
    return row === undefined ? undefined : String(row.value);
  }

  async countTenancies(): Promise<number> {
    return Number(this.get(SQL.countTenancies)?.n ?? 0);
  }

  async createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void> {
    await this.gate.pass();
    this.tx(() => {
      this.run(SQL.insertTenancy, ...tenancyValues(tenancy));
      this.run(SQL.insertCompartment, ...compartmentValues(rootCompartment(tenancy)));
      this.run(SQL.insertUser, ...userValues(admin));
      this.run(SQL.insertApiKey, ...apiKeyValues(key));
    });
  }

  async getTenancy(id: string): Promise<Tenancy | undefined> {
    const row = this.get(SQL.getTenancy, id);
    return row && toTenancy(row);
  }

  async getUser(tenancyId: string, userId: string): Promise<User | undefined> {
    const row = this.get(SQL.getUser, tenancyId, userId);
    return row && toUser(row);
  }

  async insertApiKey(key: ApiKey): Promise<void> {
    await this.gate.pass();
    this.run(SQL.insertApiKey, ...apiKeyValues(key));
  }

  async getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined> {
    const row = this.get(SQL.getApiKey, tenancyId, userId, fingerprint);
    return row && toApiKey(row);
  }

  async listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]> {
    return this.all(SQL.listApiKeys, tenancyId, userId).map(toApiKey);
  }

  async insertCompartment(c: Compartment): Promise<void> {
    await this.gate.pass();
    this.run(SQL.insertCompartment, ...compartmentValues(c));
  }

  async getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = this.get(SQL.getCompartment, tenancyId, id);
    return row && toCompartment(row);
  }

  async listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]> {
    return this.all(SQL.listCompartments, tenancyId, parentId).map(toCompartment);
  }

  async insertTopic(t: Topic): Promise<void> {
    await this.gate.pass();
    try {
      this.run(SQL.insertTopic, ...topicValues(t));
    } catch (err) {
      throw topicNameConflict(err, t.name);
    }
  }

  async getTopic(tenancyId: string, id: string): Promise<Topic | undefined> {
    const row = this.get(SQL.getTopic, tenancyId, id);
    return row && toTopic(row);
  }

  async listTopics(q: ListTopicsQuery): Promise<Page<Topic>> {
    const { sql, params } = listTopicsSql(q);
    return toPage(this.all(sql, ...params), q.offset, q.limit, toTopic);
  }

  /** Runs an etag-guarded UPDATE ... RETURNING and explains a miss. */
  private cas<T>(
    table: 'topics' | 'subscriptions',
    tenancyId: string,
    id: string,
    write: () => Row | undefined,
    map: (r: Row) => T,
  ): CasResult<T> {
    return this.tx(() => {
      const row = write();
      if (row !== undefined) return { ok: true, value: map(row) };
      const exists = this.get(etagLookupSql(table), tenancyId, id) !== undefined;
      return { ok: false, reason: exists ? 'etag-mismatch' : 'not-found' };
    });
  }

  private casUpdate(u: CasUpdate, values: SqlValue[], tenancyId: string, id: string, etag: string): Row | undefined {
    return this.get(u.sql, ...u.params(values, tenancyId, id, etag));
  }

  async replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>> {
    await this.gate.pass();
    try {
      return this.cas(
        'topics',
        next.tenancyId,
        next.id,
        () => this.casUpdate(SQL.replaceTopic, topicValues(next), next.tenancyId, next.id, expectedEtag),
        toTopic,
      );
    } catch (err) {
      throw topicNameConflict(err, next.name);
    }
  }

  async deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>> {
    await this.gate.pass();
    return this.cas(
      'topics',
      tenancyId,
      id,
      () => {
        const row = this.get(SQL.deleteTopic, now, tenancyId, id, expectedEtag);
        if (row !== undefined) this.run(SQL.cascadeDeleteSubscriptions, now, now, id);
        return row;
      },
      toTopic,
    );
  }

  async insertSubscription(s: Subscription): Promise<void> {
    await this.gate.pass();
    this.run(SQL.insertSubscription, ...subscriptionValues(s));
  }

  async getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined> {
    const row = this.get(SQL.getSubscription, tenancyId, id);
    return row && toSubscription(row);
  }

  async getSubscriptionById(id: string): Promise<Subscription | undefined> {
    const row = this.get(SQL.getSubscriptionById, id);
    return row && toSubscription(row);
  }

  async listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>> {
    const { sql, params } = listSubscriptionsSql(q);
    return toPage(this.all(sql, ...params), q.offset, q.limit, toSubscription);
  }

  async replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>> {
    await this.gate.pass();
    return this.cas(
      'subscriptions',
      next.tenancyId,
      next.id,
      () => this.casUpdate(SQL.replaceSubscription, subscriptionValues(next), next.tenancyId, next.id, expectedEtag),
      toSubscription,
    );
  }

  async insertMessages(messages: Message[]): Promise<void> {
    await this.gate.pass();
    if (messages.length === 0) return;
    this.tx(() => {
      for (const m of messages) this.run(SQL.insertMessage, ...messageValues(m));
    });
  }

  async getMessage(tenancyId: string, id: string): Promise<Message | undefined> {
    const row = this.get(SQL.getMessage, tenancyId, id);
    return row && toMessage(row);
  }

  async claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined> {
    await this.gate.pass();
    const { tenancyId, token, operation, requestHash, createdAt } = record;
    return this.tx(() => {
      const claimed = this.get(SQL.claimRetryToken, tenancyId, token, operation, requestHash, createdAt, notBefore);
      if (claimed !== undefined) return undefined;
      const existing = this.get(SQL.getRetryToken, tenancyId, token);
      return existing && toRetryToken(existing);
    });
  }

  async completeRetryToken(tenancyId: string, token: string, response: string): Promise<void> {
    await this.gate.pass();
    this.run(SQL.completeRetryToken, response, tenancyId, token);
  }

  async releaseRetryToken(tenancyId: string, token: string): Promise<void> {
    await this.gate.pass();
    this.run(SQL.releaseRetryToken, tenancyId, token);
  }
}

forwardTo(SqliteStore.prototype, 'deliveries', DELIVERY_STORE_METHODS);
forwardTo(SqliteStore.prototype, 'fns', FUNCTION_STORE_METHODS);
forwardTo(SqliteStore.prototype, 'consoleRows', CONSOLE_STORE_METHODS);
