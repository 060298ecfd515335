import { APPLICATION_COLUMNS, CALL_COLUMNS, FUNCTION_COLUMNS } from './function-rows.js';
import type { FnSortBy, ListApplicationsQuery, ListFunctionsQuery } from '../core/ports/functions.js';
import type { SqlValue } from './rows.js';
import type { CasUpdate, SqlQuery } from './sql.js';

/** SQL for the functions tables that both backends run verbatim (`?` placeholders; pg numbers them). */

const LIVE = "lifecycle_state <> 'DELETED'";

function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

function casUpdate(table: string, columns: readonly string[], immutable: readonly string[]): CasUpdate {
  const mutable = columns.map((c, i) => [c, i] as const).filter(([c]) => !immutable.includes(c));
  return {
    sql:
      `UPDATE ${table} SET ${mutable.map(([c]) => `${c} = ?`).join(', ')} ` +
      `WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`,
    params: (values, tenancyId, id, expectedEtag) => [...mutable.map(([, i]) => values[i] ?? null), tenancyId, id, expectedEtag],
  };
}

const softDelete = (table: string): string =>
  `UPDATE ${table} SET lifecycle_state = 'DELETED', updated_at = ? WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`;

export const FN_SQL = {
  insertApplication: insertSql('applications', APPLICATION_COLUMNS),
  getApplication: `SELECT * FROM applications WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  applicationEtag: `SELECT etag FROM applications WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  replaceApplication: casUpdate('applications', APPLICATION_COLUMNS, ['id', 'tenancy_id', 'created_at']),
  /** A function's compartment is its application's; kept in step when the application moves. */
  syncFunctionCompartments: `UPDATE functions SET compartment_id = ? WHERE application_id = ? AND compartment_id <> ? AND ${LIVE}`,
  deleteApplication: softDelete('applications'),
  countLiveFunctions: `SELECT COUNT(*) AS n FROM functions WHERE application_id = ? AND ${LIVE}`,
  /** PostgreSQL appends FOR SHARE: a concurrent application delete then waits for the insert, or the insert sees it. */
  activeApplication: "SELECT id FROM applications WHERE tenancy_id = ? AND id = ? AND lifecycle_state = 'ACTIVE'",

  insertFunction: insertSql('functions', FUNCTION_COLUMNS),
  getFunction: `SELECT * FROM functions WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  getFunctionById: `SELECT * FROM functions WHERE id = ? AND ${LIVE}`,
  functionEtag: `SELECT etag FROM functions WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  replaceFunction: casUpdate('functions', FUNCTION_COLUMNS, ['id', 'tenancy_id', 'application_id', 'created_at']),
  deleteFunction: softDelete('functions'),

  putBundle: 'INSERT INTO function_bundles (digest, bytes, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING',
  /** After putBundle, in the same transaction (the owner row references the bytes). */
  putBundleOwner: 'INSERT INTO function_bundle_owners (tenancy_id, digest, created_at) VALUES (?, ?, ?) ON CONFLICT (tenancy_id, digest) DO NOTHING',
  getBundle: 'SELECT * FROM function_bundles WHERE digest = ?',
  ownsBundle: 'SELECT 1 AS found FROM function_bundle_owners WHERE tenancy_id = ? AND digest = ?',

  insertCall: insertSql('function_calls', CALL_COLUMNS) + ' ON CONFLICT (function_id, call_id) DO NOTHING',
  /**
   * Deletes what is older than the function's N-th newest call (bind N - 1): the cut-off is read off the
   * (function_id, started_at DESC) index without a sort, and calls that started in the same millisecond as it
   * are kept with it. (Keeping exactly N by (started_at, call_id) sorted every call's rows: ~400 µs an invoke.)
   */
  pruneCalls:
    'DELETE FROM function_calls WHERE function_id = ? AND started_at < ' +
    '(SELECT started_at FROM function_calls WHERE function_id = ? ORDER BY started_at DESC LIMIT 1 OFFSET ?)',
  listCalls: 'SELECT * FROM function_calls WHERE function_id = ? ORDER BY started_at DESC, call_id DESC LIMIT CAST(? AS INTEGER)',
} as const;

const SORT_COLUMN: Record<FnSortBy, string> = { timeCreated: 'created_at', displayName: 'display_name', id: 'id' };
const SORT_DIR = { ASC: 'ASC', DESC: 'DESC' } as const;

function listSql(
  table: string,
  base: [string, SqlValue][],
  q: ListApplicationsQuery | ListFunctionsQuery,
): SqlQuery {
  if (!Number.isSafeInteger(q.offset) || q.offset < 0) throw new RangeError(`Invalid offset: ${q.offset}`);
  if (!Number.isSafeInteger(q.limit) || q.limit < 1) throw new RangeError(`Invalid limit: ${q.limit}`);
  const clauses = [...base.map(([c]) => c), LIVE];
  const params: SqlValue[] = base.map(([, v]) => v);
  for (const [clause, value] of [
    ['id = ?', q.id],
    ['display_name = ?', q.displayName],
    ['lifecycle_state = ?', q.lifecycleState],
  ] as const) {
    if (value === undefined) continue;
    clauses.push(clause);
    params.push(value);
  }
  // Whitelisted lookups: the query object may come from request parsing.
  const col = SORT_COLUMN[q.sortBy];
  const dir = SORT_DIR[q.sortOrder];
  if (col === undefined || dir === undefined) throw new RangeError(`Invalid sort: ${q.sortBy} ${q.sortOrder}`);
  const order = col === 'id' ? `id ${dir}` : `${col} ${dir}, id ${dir}`;
  return {
    sql: `SELECT * FROM ${table} WHERE ${clauses.join(' AND ')} ORDER BY ${order} LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...params, q.limit + 1, q.offset],
  };
}

export function listApplicationsSql(q: ListApplicationsQuery): SqlQuery {
  return listSql('applications', [['tenancy_id = ?', q.tenancyId], ['compartment_id = ?', q.compartmentId]], q);
}

export function listFunctionsSql(q: ListFunctionsQuery): SqlQuery {
  return listSql('functions', [['tenancy_id = ?', q.tenancyId], ['application_id = ?', q.applicationId]], q);
}
