import Database from 'better-sqlite3';
import type { CasResult, GuardedDelete } from '../../core/cas.js';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type {
  ApiKeyInsert,
  IdentityStore,
  ListIamQuery,
  ListMembershipsQuery,
  ListPoliciesQuery,
} from '../../core/iam/identity-store.js';
import type { AccessSnapshotRows, Group, Membership, Policy } from '../../core/iam/models.js';
import type { ApiKey, Compartment, Page, User } from '../../core/models.js';
import {
  compartmentContentsDetail,
  groupValues,
  membershipValues,
  policyValues,
  toAccessSnapshot,
  toGroup,
  toMembership,
  toPolicy,
} from '../identity-rows.js';
import {
  compartmentContentsSql,
  IAM_SQL as SQL,
  listGroupsSql,
  listMembershipsSql,
  listPoliciesSql,
  listUsersSql,
} from '../identity-sql.js';
import { apiKeyValues, compartmentValues, num, str, toCompartment, toUser, userValues, type Row, type SqlValue } from '../rows.js';
import { toPage, type CasUpdate } from '../sql.js';
import type { SqliteDb } from './sqlite-db.js';

type NamedTable = 'users' | 'iam_groups' | 'policies';
const ENTITY: Record<NamedTable, string> = { users: 'User', iam_groups: 'Group', policies: 'Policy' };

/** The live-name partial unique indexes are the only UNIQUE constraints naming these tables' name column. */
function nameConflict(err: unknown, table: NamedTable, name: string): unknown {
  if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes(` ${table}.name`)) {
    return new ConflictError(`${ENTITY[table]} with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

/**
 * The IAM side of SqliteStore, on the same connection. SQLite has one writer and
 * transactions are IMMEDIATE, so the guards' checks and the writes they protect are atomic.
 */
export class SqliteIdentity implements IdentityStore {

  constructor(private readonly sql: SqliteDb) {
  }

  private async insertNamed(table: NamedTable, sql: string, values: SqlValue[], name: string): Promise<void> {
    await this.sql.pass();
    try {
      this.sql.run(sql, ...values);
    } catch (err) {
      throw nameConflict(err, table, name);
    }
  }

  /** An etag-guarded UPDATE; a miss is explained by the live row's etag, read in the same transaction. */
  private async cas<T>(etagSql: string, u: CasUpdate, values: SqlValue[], tenancyId: string, id: string, etag: string, map: (r: Row) => T): Promise<CasResult<T>> {
    await this.sql.pass();
    return this.sql.cas(etagSql, tenancyId, id, () => this.sql.casUpdate(u, values, tenancyId, id, etag), map);
  }

  /**
   * A soft delete that first checks the etag, then `blocked` (a detail when something still depends
   * on the row), then runs `after` with the deleted row, all in one transaction.
   */
  private async guardedDelete<T>(
    etagSql: string,
    deleteSql: string,
    tenancyId: string,
    id: string,
    expectedEtag: string,
    map: (r: Row) => T,
    blocked: (cur: Row) => string | undefined,
    after: () => void = () => {},
  ): Promise<GuardedDelete<T>> {
    await this.sql.pass();
    return this.sql.tx((): GuardedDelete<T> => {
      const cur = this.sql.get(etagSql, tenancyId, id);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      const detail = blocked(cur);
      if (detail !== undefined) return { ok: false, reason: 'not-empty', detail };
      const row = this.sql.get(deleteSql, tenancyId, id, expectedEtag);
      if (row === undefined) return { ok: false, reason: 'not-found' };
      after();
      return { ok: true, value: map(row) };
    });
  }

  private count(sql: string, ...params: SqlValue[]): number {
    return num(this.sql.get(sql, ...params)?.n ?? 0);
  }

  // --- users ---

  insertUser(u: User): Promise<void> {
    return this.insertNamed('users', SQL.insertUser, userValues(u), u.name);
  }

  async getUser(tenancyId: string, id: string): Promise<User | undefined> {
    const row = this.sql.get(SQL.getUser, tenancyId, id);
    return row && toUser(row);
  }

  async listUsers(q: ListIamQuery): Promise<Page<User>> {
    const { sql, params } = listUsersSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toUser);
  }

  replaceUser(next: User, expectedEtag: string): Promise<CasResult<User>> {
    return this.cas(SQL.userEtag, SQL.replaceUser, userValues(next), next.tenancyId, next.id, expectedEtag, toUser);
  }

  deleteUser(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<GuardedDelete<User>> {
    return this.guardedDelete(
      SQL.userEtag,
      SQL.deleteUser,
      tenancyId,
      id,
      expectedEtag,
      toUser,
      () => {
        const n = this.count(SQL.countUserGroups, tenancyId, id);
        return n > 0 ? `it is still a member of ${n} ${n === 1 ? 'group' : 'groups'}` : undefined;
      },
      () => {
        this.sql.run(SQL.deleteUserApiKeys, tenancyId, id);
        this.sql.run(SQL.deleteUserConsoleLogin, tenancyId, id);
      },
    );
  }

  // --- API keys ---

  async insertApiKeyLimited(key: ApiKey, max: number): Promise<ApiKeyInsert> {
    await this.sql.pass();
    return this.sql.tx((): ApiKeyInsert => {
      // A key must not outlive its user: one added after the delete would still sign requests.
      if (this.sql.get(SQL.liveUser, key.tenancyId, key.userId) === undefined) throw new NotFoundError('User', key.userId);
      if (this.sql.get(SQL.hasApiKey, key.tenancyId, key.userId, key.fingerprint) !== undefined) return 'duplicate';
      if (this.count(SQL.countApiKeys, key.tenancyId, key.userId) >= max) return 'limit';
      this.sql.run(SQL.insertApiKey, ...apiKeyValues(key));
      return 'ok';
    });
  }

  async deleteApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<boolean> {
    await this.sql.pass();
    return this.sql.run(SQL.deleteApiKey, tenancyId, userId, fingerprint) > 0;
  }

  // --- groups ---

  insertGroup(g: Group): Promise<void> {
    return this.insertNamed('iam_groups', SQL.insertGroup, groupValues(g), g.name);
  }

  async getGroup(tenancyId: string, id: string): Promise<Group | undefined> {
    const row = this.sql.get(SQL.getGroup, tenancyId, id);
    return row && toGroup(row);
  }

  async listGroups(q: ListIamQuery): Promise<Page<Group>> {
    const { sql, params } = listGroupsSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toGroup);
  }

  replaceGroup(next: Group, expectedEtag: string): Promise<CasResult<Group>> {
    return this.cas(SQL.groupEtag, SQL.replaceGroup, groupValues(next), next.tenancyId, next.id, expectedEtag, toGroup);
  }

  deleteGroup(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<GuardedDelete<Group>> {
    return this.guardedDelete(SQL.groupEtag, SQL.deleteGroup, tenancyId, id, expectedEtag, toGroup, () => {
      const n = this.count(SQL.countGroupMembers, tenancyId, id);
      return n > 0 ? `it still has ${n} ${n === 1 ? 'member' : 'members'}` : undefined;
    });
  }

  // --- memberships ---

  async insertMembership(m: Membership): Promise<{ result: 'ok' | 'missing' } | { result: 'exists'; existing: Membership }> {
    await this.sql.pass();
    return this.sql.tx(() => {
      if (this.sql.get(SQL.liveUser, m.tenancyId, m.userId) === undefined) return { result: 'missing' as const };
      if (this.sql.get(SQL.liveGroup, m.tenancyId, m.groupId) === undefined) return { result: 'missing' as const };
      if (this.sql.get(SQL.insertMembership, ...membershipValues(m)) !== undefined) return { result: 'ok' as const };
      const existing = this.sql.get(SQL.liveMembership, m.tenancyId, m.userId, m.groupId);
      if (existing === undefined) throw new Error(`Membership of ${m.userId} in ${m.groupId} conflicted but is not live`);
      return { result: 'exists' as const, existing: toMembership(existing) };
    });
  }

  async getMembership(tenancyId: string, id: string): Promise<Membership | undefined> {
    const row = this.sql.get(SQL.getMembership, tenancyId, id);
    return row && toMembership(row);
  }

  async listMemberships(q: ListMembershipsQuery): Promise<Page<Membership>> {
    const { sql, params } = listMembershipsSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toMembership);
  }

  async deleteMembership(tenancyId: string, id: string): Promise<CasResult<Membership>> {
    await this.sql.pass();
    const row = this.sql.get(SQL.deleteMembership, tenancyId, id);
    return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toMembership(row) };
  }

  // --- policies ---

  insertPolicy(p: Policy): Promise<void> {
    return this.insertNamed('policies', SQL.insertPolicy, policyValues(p), p.name);
  }

  async getPolicy(tenancyId: string, id: string): Promise<Policy | undefined> {
    const row = this.sql.get(SQL.getPolicy, tenancyId, id);
    return row && toPolicy(row);
  }

  async listPolicies(q: ListPoliciesQuery): Promise<Page<Policy>> {
    const { sql, params } = listPoliciesSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toPolicy);
  }

  replacePolicy(next: Policy, expectedEtag: string): Promise<CasResult<Policy>> {
    return this.cas(SQL.policyEtag, SQL.replacePolicy, policyValues(next), next.tenancyId, next.id, expectedEtag, toPolicy);
  }

  async deletePolicy(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<CasResult<Policy>> {
    await this.sql.pass();
    return this.sql.tx((): CasResult<Policy> => {
      const row = this.sql.get(SQL.deletePolicy, tenancyId, id, expectedEtag);
      if (row !== undefined) return { ok: true, value: toPolicy(row) };
      return { ok: false, reason: this.sql.get(SQL.policyEtag, tenancyId, id) === undefined ? 'not-found' : 'etag-mismatch' };
    });
  }

  // --- compartments ---

  async replaceCompartment(next: Compartment, expectedEtag: string): Promise<CasResult<Compartment>> {
    await this.sql.pass();
    return this.sql.tx((): CasResult<Compartment> => {
      const cur = this.sql.get(SQL.compartmentEtag, next.tenancyId, next.id);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      const parentId = cur.parent_id === null ? null : str(cur.parent_id);
      if (parentId !== null && this.sql.get(SQL.liveSiblingNamed, next.tenancyId, parentId, next.name, next.id) !== undefined) {
        throw new ConflictError(`Compartment with name "${next.name}" already exists in compartment ${parentId}.`);
      }
      const u = SQL.replaceCompartment;
      const row = this.sql.get(u.sql, ...u.params(compartmentValues(next), next.tenancyId, next.id, expectedEtag));
      return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toCompartment(row) };
    });
  }

  deleteCompartment(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<GuardedDelete<Compartment>> {
    return this.guardedDelete(SQL.compartmentEtag, SQL.deleteCompartment, tenancyId, id, expectedEtag, toCompartment, (cur) => {
      if (cur.parent_id === null) return 'it is the root compartment of the tenancy';
      const { sql, params } = compartmentContentsSql(tenancyId, id);
      const row = this.sql.get(sql, ...params);
      return row && compartmentContentsDetail(row);
    });
  }

  async getCompartmentAnyState(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = this.sql.get(SQL.getCompartmentAnyState, tenancyId, id);
    return row && toCompartment(row);
  }

  async listCompartmentTree(tenancyId: string): Promise<Compartment[]> {
    return this.sql.all(SQL.listCompartmentTree, tenancyId).map(toCompartment);
  }

  /** One read transaction: WAL gives it a consistent snapshot even while other processes write. */
  async loadAccessSnapshot(tenancyId: string): Promise<AccessSnapshotRows> {
    const results = this.sql.readTx(() => SQL.snapshot.map((sql) => this.sql.all(sql, tenancyId)));
    return toAccessSnapshot(results);
  }

  async listTenancyIds(): Promise<string[]> {
    return this.sql.all(SQL.listTenancyIds).map((r) => str(r.id));
  }
}
