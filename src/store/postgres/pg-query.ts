import type { Pool, PoolClient } from 'pg';
import type { Row, SqlValue } from '../rows.js';

/** Query helpers shared by the PostgreSQL store's modules. */

export type Queryable = Pick<PoolClient, 'query'>;

/** The shared SQL uses `?`; pg wants $1, $2, ... (none of Herald's SQL has a literal `?`). */
const numberedCache = new Map<string, string>();
export function numbered(sql: string): string {
  let out = numberedCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(sql, out);
  }
  return out;
}

/**
 * A statement each connection prepares, by name, the first time it runs it, and then only binds and executes: the
 * server plans it once (a generic plan, when PostgreSQL finds it no costlier than planning each call) instead of on
 * every call. For the hot path's big statements that planning was most of their cost: the publish statement took
 * 2.5-3.5 ms a call unnamed and 1.1-1.9 ms prepared (1 message, 10 subscriptions, an idle machine).
 */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}

const preparedNames = new Map<string, string>();

/** `name` must be unique among prepared statements: a connection refuses one name for two texts. */
export function prepared(name: string, sql: string): Prepared {
  const text = numbered(sql);
  const full = `herald_${name}`;
  const known = preparedNames.get(full);
  if (known !== undefined && known !== text) throw new Error(`Prepared statement ${full} is defined twice with different SQL.`);
  preparedNames.set(full, text);
  return { name: full, text };
}

/** pg's query config for `sql`: by name when prepared, its text numbered otherwise. */
function statement(sql: string | Prepared, values: unknown[]): { name?: string; text: string; values: unknown[] } {
  return typeof sql === 'string' ? { text: numbered(sql), values } : { name: sql.name, text: sql.text, values };
}

export async function rows(db: Queryable, sql: string | Prepared, params: unknown[] = []): Promise<Row[]> {
  return (await db.query<Row>(statement(sql, params))).rows;
}

/** Rows as arrays of their values in the statement's column order (pg's array row mode): no object per row. */
export async function values(db: Queryable, sql: string | Prepared, params: unknown[] = []): Promise<unknown[][]> {
  return (await db.query<unknown[]>({ ...statement(sql, params), rowMode: 'array' })).rows;
}

export async function first(db: Queryable, sql: string | Prepared, params: SqlValue[] = []): Promise<Row | undefined> {
  return (await rows(db, sql, params))[0];
}

/** Runs fn in a transaction on one pooled client; a client whose ROLLBACK failed is discarded. */
export async function transaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

/** Runs a statement and returns how many rows it wrote. */
export async function execute(db: Queryable, sql: string | Prepared, params: unknown[] = []): Promise<number> {
  return (await db.query(statement(sql, params))).rowCount ?? 0;
}

/**
 * Explains a compare-and-swap miss by looking the row up afterwards with `etagSql` (tenancy id, id):
 * etag-mismatch when it is there, not-found otherwise. The answer is what was true at that later
 * instant, which is as good as any linearisation.
 */
export async function casMiss(db: Queryable, etagSql: string, tenancyId: string, id: string): Promise<{ ok: false; reason: 'not-found' | 'etag-mismatch' }> {
  const exists = (await first(db, etagSql, [tenancyId, id])) !== undefined;
  return { ok: false, reason: exists ? 'etag-mismatch' : 'not-found' };
}
