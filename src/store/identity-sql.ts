import type { ListIamQuery, ListMembershipsQuery, ListPoliciesQuery } from '../core/iam/identity-store.js';
import { GROUP_COLUMNS, MEMBERSHIP_COLUMNS, POLICY_COLUMNS } from './identity-rows.js';
import { API_KEY_COLUMNS, COMPARTMENT_COLUMNS, USER_COLUMNS, type SqlValue } from './rows.js';
import type { CasUpdate, SqlQuery } from './sql.js';

/**
 * SQL for the IAM port that both backends run verbatim (`?` placeholders; pg numbers them).
 * Queries documented as lockable get ` FOR UPDATE` / ` FOR SHARE` appended by the
 * PostgreSQL module; SQLite needs no row locks inside its IMMEDIATE transactions.
 */

const LIVE = "lifecycle_state <> 'DELETED'";

function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/**
 * An etag-guarded UPDATE of the mutable columns of a live row. Names and lifecycle
 * states are immutable here: renames are refused by the port's contract, and state
 * changes go through the guarded deletes, which a replace must not bypass.
 */
function casUpdate(table: string, columns: readonly string[], immutable: readonly string[]): CasUpdate {
  const mutable = columns.map((c, i) => [c, i] as const).filter(([c]) => !immutable.includes(c));
  return {
    sql:
      `UPDATE ${table} SET ${mutable.map(([c]) => `${c} = ?`).join(', ')} ` +
      `WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`,
    params: (values, tenancyId, id, expectedEtag) => [...mutable.map(([, i]) => values[i] ?? null), tenancyId, id, expectedEtag],
  };
}

const FIXED = ['id', 'tenancy_id', 'name', 'lifecycle_state', 'created_at'];

/** IAM tables keep no deletion time: the row's state is all the SDK's waiters read back. */
const softDelete = (table: string): string =>
  `UPDATE ${table} SET lifecycle_state = 'DELETED' WHERE tenancy_id = ? AND id = ? AND etag = ? AND ${LIVE} RETURNING *`;

/** Params (tenancyId, id); lockable. The etag of the live row, so a miss tells not-found from etag-mismatch. */
const etagOf = (table: string, extra = ''): string => `SELECT etag${extra} FROM ${table} WHERE tenancy_id = ? AND id = ? AND ${LIVE}`;

export const IAM_SQL = {
  insertUser: insertSql('users', USER_COLUMNS),
  getUser: 'SELECT * FROM users WHERE tenancy_id = ? AND id = ?',
  userEtag: etagOf('users'),
  replaceUser: casUpdate('users', USER_COLUMNS, FIXED),
  deleteUser: softDelete('users'),
  /** Live memberships in live groups (a live group's members are live by the delete guards). */
  countUserGroups:
    'SELECT COUNT(*) AS n FROM user_group_memberships m JOIN iam_groups g ON g.id = m.group_id ' +
    "WHERE m.tenancy_id = ? AND m.user_id = ? AND m.lifecycle_state <> 'DELETED' AND g.lifecycle_state <> 'DELETED'",
  deleteUserApiKeys: 'DELETE FROM api_keys WHERE tenancy_id = ? AND user_id = ?',
  /** Its sessions go with it (ON DELETE CASCADE). */
  deleteUserConsoleLogin: 'DELETE FROM console_users WHERE tenancy_id = ? AND user_id = ?',

  hasApiKey: 'SELECT 1 AS found FROM api_keys WHERE tenancy_id = ? AND user_id = ? AND fingerprint = ?',
  countApiKeys: 'SELECT COUNT(*) AS n FROM api_keys WHERE tenancy_id = ? AND user_id = ?',
  insertApiKey: insertSql('api_keys', API_KEY_COLUMNS),
  deleteApiKey: 'DELETE FROM api_keys WHERE tenancy_id = ? AND user_id = ? AND fingerprint = ?',

  insertGroup: insertSql('iam_groups', GROUP_COLUMNS),
  getGroup: 'SELECT * FROM iam_groups WHERE tenancy_id = ? AND id = ?',
  groupEtag: etagOf('iam_groups'),
  replaceGroup: casUpdate('iam_groups', GROUP_COLUMNS, FIXED),
  deleteGroup: softDelete('iam_groups'),
  countGroupMembers:
    'SELECT COUNT(*) AS n FROM user_group_memberships m JOIN users u ON u.id = m.user_id ' +
    "WHERE m.tenancy_id = ? AND m.group_id = ? AND m.lifecycle_state <> 'DELETED' AND u.lifecycle_state <> 'DELETED'",

  /** Lockable: PostgreSQL takes FOR SHARE so a concurrent delete of the user or group waits for the insert. */
  liveUser: `SELECT id FROM users WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  liveGroup: `SELECT id FROM iam_groups WHERE tenancy_id = ? AND id = ? AND ${LIVE}`,
  liveMembership: `SELECT * FROM user_group_memberships WHERE tenancy_id = ? AND user_id = ? AND group_id = ? AND ${LIVE}`,
  /** Returns no row when a live membership of the pair exists (the partial unique index decides). */
  insertMembership:
    insertSql('user_group_memberships', MEMBERSHIP_COLUMNS) + ` ON CONFLICT (user_id, group_id) WHERE ${LIVE} DO NOTHING RETURNING id`,
  getMembership: 'SELECT * FROM user_group_memberships WHERE tenancy_id = ? AND id = ?',
  deleteMembership: `UPDATE user_group_memberships SET lifecycle_state = 'DELETED' WHERE tenancy_id = ? AND id = ? AND ${LIVE} RETURNING *`,

  insertPolicy: insertSql('policies', POLICY_COLUMNS),
  getPolicy: 'SELECT * FROM policies WHERE tenancy_id = ? AND id = ?',
  policyEtag: etagOf('policies'),
  replacePolicy: casUpdate('policies', POLICY_COLUMNS, [...FIXED, 'compartment_id']),
  deletePolicy: softDelete('policies'),

  /** Lockable; also gives the parent, whose children's names must stay distinct. */
  compartmentEtag: etagOf('compartments', ', parent_id'),
  /** Lockable: renames under one parent serialise on the parent's row. */
  compartmentRow: 'SELECT id FROM compartments WHERE tenancy_id = ? AND id = ?',
  liveSiblingNamed: `SELECT id FROM compartments WHERE tenancy_id = ? AND parent_id = ? AND name = ? AND id <> ? AND ${LIVE}`,
  replaceCompartment: casUpdate('compartments', COMPARTMENT_COLUMNS, ['id', 'tenancy_id', 'parent_id', 'lifecycle_state', 'created_at']),
  deleteCompartment: softDelete('compartments'),
  /** The root (no parent) first, so a walk from it meets every parent before its children. */
  /** DELETED included: the SDK's waiter for a deleted compartment reads it back. */
  getCompartmentAnyState: 'SELECT * FROM compartments WHERE tenancy_id = ? AND id = ?',
  listCompartmentTree:
    `SELECT * FROM compartments WHERE tenancy_id = ? AND ${LIVE} ` +
    'ORDER BY CASE WHEN parent_id IS NULL THEN 0 ELSE 1 END, created_at, id',

  /** Each takes the tenancy id; toAccessSnapshot reads the results in this order. */
  snapshot: [
    `SELECT id, parent_id, name FROM compartments WHERE tenancy_id = ? AND ${LIVE} ` +
      'ORDER BY CASE WHEN parent_id IS NULL THEN 0 ELSE 1 END, created_at, id',
    `SELECT id, name FROM users WHERE tenancy_id = ? AND ${LIVE} ORDER BY created_at, id`,
    `SELECT id, name FROM iam_groups WHERE tenancy_id = ? AND ${LIVE} ORDER BY created_at, id`,
    'SELECT m.user_id, m.group_id FROM user_group_memberships m ' +
      'JOIN users u ON u.id = m.user_id JOIN iam_groups g ON g.id = m.group_id ' +
      "WHERE m.tenancy_id = ? AND m.lifecycle_state <> 'DELETED' AND u.lifecycle_state <> 'DELETED' " +
      "AND g.lifecycle_state <> 'DELETED' ORDER BY m.created_at, m.id",
    // A policy counts only while the compartment it is attached to lives.
    'SELECT p.id, p.compartment_id, p.name, p.statements FROM policies p JOIN compartments c ON c.id = p.compartment_id ' +
      "WHERE p.tenancy_id = ? AND p.lifecycle_state <> 'DELETED' AND c.lifecycle_state <> 'DELETED' ORDER BY p.created_at, p.id",
  ],
  listTenancyIds: 'SELECT id FROM tenancies ORDER BY created_at, id',
} as const;

/** Everything live directly in a compartment, counted per kind (see compartmentContentsDetail). */
export function compartmentContentsSql(tenancyId: string, id: string): SqlQuery {
  const count = (table: string, column: string, as: string) =>
    `(SELECT COUNT(*) FROM ${table} WHERE tenancy_id = ? AND ${column} = ? AND ${LIVE}) AS ${as}`;
  const kinds = [
    count('compartments', 'parent_id', 'compartments'),
    count('topics', 'compartment_id', 'topics'),
    count('subscriptions', 'compartment_id', 'subscriptions'),
    count('applications', 'compartment_id', 'applications'),
    count('functions', 'compartment_id', 'functions'),
    count('policies', 'compartment_id', 'policies'),
  ];
  return { sql: `SELECT ${kinds.join(', ')}`, params: kinds.flatMap(() => [tenancyId, id]) };
}

function checkPaging(offset: number, limit: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`Invalid offset: ${offset}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Invalid limit: ${limit}`);
}

const SORT_COLUMN = { TIMECREATED: 'created_at', NAME: 'name' } as const;
const SORT_DIR = { ASC: 'ASC', DESC: 'DESC' } as const;

function listSql(table: string, base: [string, SqlValue][], q: ListIamQuery): SqlQuery {
  checkPaging(q.offset, q.limit);
  const clauses = base.map(([c]) => c);
  const params: SqlValue[] = base.map(([, v]) => v);
  if (q.name !== undefined) {
    clauses.push('name = ?');
    params.push(q.name);
  }
  // DELETED rows show only when asked for by state.
  if (q.lifecycleState !== undefined) {
    clauses.push('lifecycle_state = ?');
    params.push(q.lifecycleState);
  } else {
    clauses.push(LIVE);
  }
  // Whitelisted lookups: the query object may come from request parsing.
  const col = SORT_COLUMN[q.sortBy];
  const dir = SORT_DIR[q.sortOrder];
  if (col === undefined || dir === undefined) throw new RangeError(`Invalid sort: ${q.sortBy} ${q.sortOrder}`);
  return {
    sql: `SELECT * FROM ${table} WHERE ${clauses.join(' AND ')} ORDER BY ${col} ${dir}, id ${dir} LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...params, q.limit + 1, q.offset],
  };
}

export const listUsersSql = (q: ListIamQuery): SqlQuery => listSql('users', [['tenancy_id = ?', q.tenancyId]], q);
export const listGroupsSql = (q: ListIamQuery): SqlQuery => listSql('iam_groups', [['tenancy_id = ?', q.tenancyId]], q);
export const listPoliciesSql = (q: ListPoliciesQuery): SqlQuery =>
  listSql('policies', [['tenancy_id = ?', q.tenancyId], ['compartment_id = ?', q.compartmentId]], q);

export function listMembershipsSql(q: ListMembershipsQuery): SqlQuery {
  checkPaging(q.offset, q.limit);
  const clauses = ['tenancy_id = ?', LIVE];
  const params: SqlValue[] = [q.tenancyId];
  if (q.userId !== undefined) {
    clauses.push('user_id = ?');
    params.push(q.userId);
  }
  if (q.groupId !== undefined) {
    clauses.push('group_id = ?');
    params.push(q.groupId);
  }
  return {
    sql: `SELECT * FROM user_group_memberships WHERE ${clauses.join(' AND ')} ORDER BY created_at, id LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...params, q.limit + 1, q.offset],
  };
}
