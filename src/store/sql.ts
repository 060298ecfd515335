import type { Page } from '../core/models.js';
import {
  num,
  API_KEY_COLUMNS,
  COMPARTMENT_COLUMNS,
  MESSAGE_COLUMNS,
  SUBSCRIPTION_COLUMNS,
  TENANCY_COLUMNS,
  TOPIC_COLUMNS,
  USER_COLUMNS,
  type Row,
  type SqlValue,
} from './rows.js';
import type { ListSubscriptionsQuery } from '../core/ports/subscriptions.js';
import type { ListTopicsQuery } from '../core/ports/topics.js';

/**
 * SQL both backends run verbatim, written with `?` placeholders (the Postgres
 * store numbers them). Keeping one copy is what keeps the backends' semantics equal.
 *
 * A bound LIMIT is written `LIMIT CAST(? AS INTEGER)`, not as the bare parameter: SQLite's planner reads a bare LIMIT
 * parameter's value, so every new binding recompiles the statement at its next run (~10 µs, on every claim and
 * publish group). test/store/sql-text.test.ts holds every statement to it.
 */

const LIVE = "lifecycle_state <> 'DELETED'";

function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/** An etag-guarded UPDATE of every mutable column, returning the new row. */
export interface CasUpdate {
  sql: string;
  params(values: SqlValue[], tenancyId: string, id: string, expectedEtag: string): SqlValue[];
}

function casUpdate(table: string, columns: readonly string[], immutable: readonly string[]): CasUpdate {
  const mutable = columns.map((c, i) => [c, i] as const).filter(([c]) => !immutable.includes(c));
  return {
    sql:
      `UPDATE ${table} SET ${mutable.map(([c]) => `${c} = ?`).join(', ')} ` +
      `WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`,
    params: (values, tenancyId, id, expectedEtag) => [
      ...mutable.map(([, i]) => values[i] ?? null),
      tenancyId,
      id,
      expectedEtag,
    ],
  };
}

export const SQL = {
  putSettingIfAbsent: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
  getSetting: 'SELECT value FROM settings WHERE key = ?',

  countTenancies: 'SELECT COUNT(*) AS n FROM tenancies',
  insertTenancy: insertSql('tenancies', TENANCY_COLUMNS),
  getTenancy: 'SELECT * FROM tenancies WHERE id = ?',
  insertUser: insertSql('users', USER_COLUMNS),
  getUser: 'SELECT * FROM users WHERE tenancy_id = ? AND id = ?',
  insertApiKey: insertSql('api_keys', API_KEY_COLUMNS),
  getApiKey: 'SELECT * FROM api_keys WHERE tenancy_id = ? AND user_id = ? AND fingerprint = ?',
  listApiKeys: 'SELECT * FROM api_keys WHERE tenancy_id = ? AND user_id = ? ORDER BY created_at, fingerprint',
  insertCompartment: insertSql('compartments', COMPARTMENT_COLUMNS),
  getCompartment: `SELECT * FROM compartments WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  listCompartments: `SELECT * FROM compartments WHERE tenancy_id = ? AND parent_id = ? AND ${LIVE} ORDER BY created_at, id`,

  insertTopic: insertSql('topics', TOPIC_COLUMNS),
  getTopic: `SELECT * FROM topics WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  replaceTopic: casUpdate('topics', TOPIC_COLUMNS, ['id', 'tenancy_id', 'created_at']),
  deleteTopic:
    `UPDATE topics SET lifecycle_state = 'DELETED', updated_at = ? ` +
    `WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`,
  cascadeDeleteSubscriptions:
    `UPDATE subscriptions SET lifecycle_state = 'DELETED', deleted_at = ?, updated_at = ? ` +
    `WHERE topic_id = ? AND ${LIVE}`,

  insertSubscription: insertSql('subscriptions', SUBSCRIPTION_COLUMNS),
  getSubscription: `SELECT * FROM subscriptions WHERE tenancy_id = ? AND id = ?`,
  getSubscriptionById: `SELECT * FROM subscriptions WHERE id = ?`,
  replaceSubscription: casUpdate('subscriptions', SUBSCRIPTION_COLUMNS, ['id', 'tenancy_id', 'topic_id', 'created_at']),

  insertMessage: insertSql('messages', MESSAGE_COLUMNS),
  getMessage: 'SELECT * FROM messages WHERE tenancy_id = ? AND id = ?',

  /** Inserts, or takes over an expired token; returns no row when a live one holds it. */
  claimRetryToken:
    'INSERT INTO retry_tokens (tenancy_id, token, operation, request_hash, response, created_at) ' +
    'VALUES (?, ?, ?, ?, NULL, ?) ' +
    'ON CONFLICT (tenancy_id, token) DO UPDATE SET operation = excluded.operation, ' +
    'request_hash = excluded.request_hash, response = NULL, created_at = excluded.created_at ' +
    'WHERE retry_tokens.created_at <= ? RETURNING token',
  getRetryToken: 'SELECT * FROM retry_tokens WHERE tenancy_id = ? AND token = ?',
  completeRetryToken: 'UPDATE retry_tokens SET response = ? WHERE tenancy_id = ? AND token = ?',
  releaseRetryToken: 'DELETE FROM retry_tokens WHERE tenancy_id = ? AND token = ?',
} as const;

/** Which of a CAS write's failures happened: the caller looks the row up after a miss. */
export function etagLookupSql(table: 'topics' | 'subscriptions'): string {
  return `SELECT etag FROM ${table} WHERE tenancy_id = ? AND id = ? AND ${LIVE}`;
}

/** Renders "column is in this list" with the backend's list parameter (json_each / = ANY). */
export type InList = (column: string, type: 'text' | 'bigint') => string;
/** Renders "column (text, never NULL) is not in this list" with the backend's list parameter (json_each / <> ALL). */
export type NotInList = (column: string) => string;

export interface SqlQuery {
  sql: string;
  params: SqlValue[];
}

function checkPaging(offset: number, limit: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`Invalid offset: ${offset}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Invalid limit: ${limit}`);
}

class Where {
  constructor(
    private readonly clauses: string[],
    readonly params: SqlValue[],
  ) {}
  optional(clause: string, value: string | undefined): void {
    if (value === undefined) return;
    this.clauses.push(clause);
    this.params.push(value);
  }
  sql(): string {
    return this.clauses.join(' AND ');
  }
}

const SORT_COLUMN = { TIMECREATED: 'created_at', LIFECYCLESTATE: 'lifecycle_state' } as const;
const SORT_DIR = { ASC: 'ASC', DESC: 'DESC' } as const;

export function listTopicsSql(q: ListTopicsQuery): SqlQuery {
  checkPaging(q.offset, q.limit);
  const where = new Where(['tenancy_id = ?', 'compartment_id = ?', LIVE], [q.tenancyId, q.compartmentId]);
  where.optional('id = ?', q.id);
  where.optional('name = ?', q.name);
  where.optional('lifecycle_state = ?', q.lifecycleState);
  // Whitelisted lookups: the query object may come from request parsing.
  const col = SORT_COLUMN[q.sortBy];
  const dir = SORT_DIR[q.sortOrder];
  if (col === undefined || dir === undefined) throw new RangeError(`Invalid sort: ${q.sortBy} ${q.sortOrder}`);
  return {
    sql: `SELECT * FROM topics WHERE ${where.sql()} ORDER BY ${col} ${dir}, id ${dir} LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...where.params, q.limit + 1, q.offset],
  };
}

export function listSubscriptionsSql(q: ListSubscriptionsQuery): SqlQuery {
  checkPaging(q.offset, q.limit);
  const where = new Where(['tenancy_id = ?', LIVE], [q.tenancyId]);
  where.optional('compartment_id = ?', q.compartmentId);
  where.optional('topic_id = ?', q.topicId);
  return {
    sql: `SELECT * FROM subscriptions WHERE ${where.sql()} ORDER BY created_at, id LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...where.params, q.limit + 1, q.offset],
  };
}

/** Live subscriptions per topic of one tenancy, in one statement (the topic activity page). */
export function countSubscriptionsByTopicSql(inList: InList): string {
  return `SELECT topic_id, COUNT(*) AS n FROM subscriptions WHERE tenancy_id = ? AND ${LIVE} AND ${inList('topic_id', 'text')} GROUP BY topic_id`;
}

/** Every requested topic id, with its count (0 when the query found none). */
export function countsByTopic(topicIds: readonly string[], found: Row[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of topicIds) out[id] = 0;
  for (const r of found) out[String(r.topic_id)] = num(r.n);
  return out;
}

/** List queries fetch one row past the page to learn whether another page exists. */
export function toPage<T>(rows: Row[], offset: number, limit: number, map: (r: Row) => T): Page<T> {
  const more = rows.length > limit;
  return { items: rows.slice(0, limit).map(map), nextOffset: more ? offset + limit : null };
}
