import { DatabaseError, type Pool, type PoolClient } from 'pg';
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
import { casMiss, execute, first, rows, transaction, type Queryable } from './pg-query.js';

type NamedTable = 'users' | 'iam_groups' | 'policies';
const ENTITY: Record<NamedTable, string> = { users: 'User', iam_groups: 'Group', policies: 'Policy' };

function nameConflict(err: unknown, table: NamedTable, name: string): unknown {
  if (err instanceof DatabaseError && err.code === '23505' && err.constraint === `${table}_live_name`) {
    return new ConflictError(`${ENTITY[table]} with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

const FOR_UPDATE = ' FOR UPDATE';
const FOR_SHARE = ' FOR SHARE';

/**
 * The IAM side of PostgresStore. Guarded deletes lock the row FOR UPDATE before
 * checking what depends on it; writers that add a dependant (a membership, an API
 * key) lock the rows they depend on, so each pair serialises: either the delete sees
 * the new dependant, or the writer sees the row gone.
 */
export class PostgresIdentity implements IdentityStore {
  constructor(private readonly pool: Pool) {}

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  private async count(db: Queryable, sql: string, params: SqlValue[]): Promise<number> {
    return num((await first(db, sql, params))?.n ?? 0);
  }

  private async insertNamed(table: NamedTable, sql: string, values: SqlValue[], name: string): Promise<void> {
    try {
      await execute(this.pool, sql, values);
    } catch (err) {
      throw nameConflict(err, table, name);
    }
  }

  /**
   * An etag-guarded UPDATE; a miss is explained by looking the row up afterwards, which
   * is what was true at that later instant (as good as any linearisation).
   */
  private async cas<T>(etagSql: string, u: CasUpdate, values: SqlValue[], tenancyId: string, id: string, etag: string, map: (r: Row) => T): Promise<CasResult<T>> {
    const row = await first(this.pool, u.sql, u.params(values, tenancyId, id, etag));
    if (row !== undefined) return { ok: true, value: map(row) };
    return casMiss(this.pool, etagSql, tenancyId, id);
  }

  /** Locks the live row, checks its etag, then `blocked`, deletes it and runs `after`, in one transaction. */
  private guardedDelete<T>(
    etagSql: string,
    deleteSql: string,
    tenancyId: string,
    id: string,
    expectedEtag: string,
    map: (r: Row) => T,
    blocked: (c: PoolClient, cur: Row) => Promise<string | undefined>,
    after: (c: PoolClient) => Promise<void> = async () => {},
  ): Promise<GuardedDelete<T>> {
    return this.tx(async (c): Promise<GuardedDelete<T>> => {
      const cur = await first(c, etagSql + FOR_UPDATE, [tenancyId, id]);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      const detail = await blocked(c, cur);
      if (detail !== undefined) return { ok: false, reason: 'not-empty', detail };
      const row = await first(c, deleteSql, [tenancyId, id, expectedEtag]);
      if (row === undefined) return { ok: false, reason: 'not-found' };
      await after(c);
      return { ok: true, value: map(row) };
    });
  }

  // --- users ---

  insertUser(u: User): Promise<void> {
    return this.insertNamed('users', SQL.insertUser, userValues(u), u.name);
  }

  async getUser(tenancyId: string, id: string): Promise<User | undefined> {
    const row = await first(this.pool, SQL.getUser, [tenancyId, id]);
    return row && toUser(row);
  }

  async listUsers(q: ListIamQuery): Promise<Page<User>> {
    const { sql, params } = listUsersSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toUser);
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
      async (c) => {
        const n = await this.count(c, SQL.countUserGroups, [tenancyId, id]);
        return n > 0 ? `it is still a member of ${n} ${n === 1 ? 'group' : 'groups'}` : undefined;
      },
      async (c) => {
        await execute(c, SQL.deleteUserApiKeys, [tenancyId, id]);
        await execute(c, SQL.deleteUserConsoleLogin, [tenancyId, id]);
      },
    );
  }

  // --- API keys ---

  async insertApiKeyLimited(key: ApiKey, max: number): Promise<ApiKeyInsert> {
    return this.tx(async (c): Promise<ApiKeyInsert> => {
      // FOR UPDATE serialises this user's key inserts (so the count holds) and orders them with
      // its delete: a key must not outlive its user, as it would still sign requests.
      if ((await first(c, SQL.liveUser + FOR_UPDATE, [key.tenancyId, key.userId])) === undefined) {
        throw new NotFoundError('User', key.userId);
      }
      if ((await first(c, SQL.hasApiKey, [key.tenancyId, key.userId, key.fingerprint])) !== undefined) return 'duplicate';
      if ((await this.count(c, SQL.countApiKeys, [key.tenancyId, key.userId])) >= max) return 'limit';
      await execute(c, SQL.insertApiKey, apiKeyValues(key));
      return 'ok';
    });
  }

  async deleteApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<boolean> {
    return (await execute(this.pool, SQL.deleteApiKey, [tenancyId, userId, fingerprint])) > 0;
  }

  // --- groups ---

  insertGroup(g: Group): Promise<void> {
    return this.insertNamed('iam_groups', SQL.insertGroup, groupValues(g), g.name);
  }

  async getGroup(tenancyId: string, id: string): Promise<Group | undefined> {
    const row = await first(this.pool, SQL.getGroup, [tenancyId, id]);
    return row && toGroup(row);
  }

  async listGroups(q: ListIamQuery): Promise<Page<Group>> {
    const { sql, params } = listGroupsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toGroup);
  }

  replaceGroup(next: Group, expectedEtag: string): Promise<CasResult<Group>> {
    return this.cas(SQL.groupEtag, SQL.replaceGroup, groupValues(next), next.tenancyId, next.id, expectedEtag, toGroup);
  }

  deleteGroup(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<GuardedDelete<Group>> {
    return this.guardedDelete(SQL.groupEtag, SQL.deleteGroup, tenancyId, id, expectedEtag, toGroup, async (c) => {
      const n = await this.count(c, SQL.countGroupMembers, [tenancyId, id]);
      return n > 0 ? `it still has ${n} ${n === 1 ? 'member' : 'members'}` : undefined;
    });
  }

  // --- memberships ---

  async insertMembership(m: Membership): Promise<{ result: 'ok' | 'missing' } | { result: 'exists'; existing: Membership }> {
    return this.tx(async (c) => {
      if ((await first(c, SQL.liveUser + FOR_SHARE, [m.tenancyId, m.userId])) === undefined) return { result: 'missing' as const };
      if ((await first(c, SQL.liveGroup + FOR_SHARE, [m.tenancyId, m.groupId])) === undefined) return { result: 'missing' as const };
      // DO NOTHING waits for a racing insert of the same pair; the next statement then sees its row.
      if ((await first(c, SQL.insertMembership, membershipValues(m))) !== undefined) return { result: 'ok' as const };
      const existing = await first(c, SQL.liveMembership, [m.tenancyId, m.userId, m.groupId]);
      if (existing === undefined) throw new Error(`Membership of ${m.userId} in ${m.groupId} conflicted but is not live`);
      return { result: 'exists' as const, existing: toMembership(existing) };
    });
  }

  async getMembership(tenancyId: string, id: string): Promise<Membership | undefined> {
    const row = await first(this.pool, SQL.getMembership, [tenancyId, id]);
    return row && toMembership(row);
  }

  async listMemberships(q: ListMembershipsQuery): Promise<Page<Membership>> {
    const { sql, params } = listMembershipsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toMembership);
  }

  async deleteMembership(tenancyId: string, id: string): Promise<CasResult<Membership>> {
    const row = await first(this.pool, SQL.deleteMembership, [tenancyId, id]);
    return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toMembership(row) };
  }

  // --- policies ---

  insertPolicy(p: Policy): Promise<void> {
    return this.insertNamed('policies', SQL.insertPolicy, policyValues(p), p.name);
  }

  async getPolicy(tenancyId: string, id: string): Promise<Policy | undefined> {
    const row = await first(this.pool, SQL.getPolicy, [tenancyId, id]);
    return row && toPolicy(row);
  }

  async listPolicies(q: ListPoliciesQuery): Promise<Page<Policy>> {
    const { sql, params } = listPoliciesSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toPolicy);
  }

  replacePolicy(next: Policy, expectedEtag: string): Promise<CasResult<Policy>> {
    return this.cas(SQL.policyEtag, SQL.replacePolicy, policyValues(next), next.tenancyId, next.id, expectedEtag, toPolicy);
  }

  async deletePolicy(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<CasResult<Policy>> {
    const row = await first(this.pool, SQL.deletePolicy, [tenancyId, id, expectedEtag]);
    if (row !== undefined) return { ok: true, value: toPolicy(row) };
    return { ok: false, reason: (await first(this.pool, SQL.policyEtag, [tenancyId, id])) === undefined ? 'not-found' : 'etag-mismatch' };
  }

  // --- compartments ---

  async replaceCompartment(next: Compartment, expectedEtag: string): Promise<CasResult<Compartment>> {
    return this.tx(async (c): Promise<CasResult<Compartment>> => {
      const cur = await first(c, SQL.compartmentEtag + FOR_UPDATE, [next.tenancyId, next.id]);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      const parentId = cur.parent_id === null ? null : str(cur.parent_id);
      if (parentId !== null) {
        // Two siblings renamed to the same name at once serialise here, so one sees the other.
        await first(c, SQL.compartmentRow + FOR_UPDATE, [next.tenancyId, parentId]);
        if ((await first(c, SQL.liveSiblingNamed, [next.tenancyId, parentId, next.name, next.id])) !== undefined) {
          throw new ConflictError(`Compartment with name "${next.name}" already exists in compartment ${parentId}.`);
        }
      }
      const u = SQL.replaceCompartment;
      const row = await first(c, u.sql, u.params(compartmentValues(next), next.tenancyId, next.id, expectedEtag));
      return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toCompartment(row) };
    });
  }

  deleteCompartment(tenancyId: string, id: string, expectedEtag: string, _now: number): Promise<GuardedDelete<Compartment>> {
    return this.guardedDelete(SQL.compartmentEtag, SQL.deleteCompartment, tenancyId, id, expectedEtag, toCompartment, async (c, cur) => {
      if (cur.parent_id === null) return 'it is the root compartment of the tenancy';
      const { sql, params } = compartmentContentsSql(tenancyId, id);
      const row = await first(c, sql, params);
      return row && compartmentContentsDetail(row);
    });
  }

  async getCompartmentAnyState(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = await first(this.pool, SQL.getCompartmentAnyState, [tenancyId, id]);
    return row && toCompartment(row);
  }

  async listCompartmentTree(tenancyId: string): Promise<Compartment[]> {
    return (await rows(this.pool, SQL.listCompartmentTree, [tenancyId])).map(toCompartment);
  }

  /** REPEATABLE READ: every query of the snapshot sees the same committed state. */
  async loadAccessSnapshot(tenancyId: string): Promise<AccessSnapshotRows> {
    return this.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const results: Row[][] = [];
      for (const sql of SQL.snapshot) results.push(await rows(c, sql, [tenancyId]));
      return toAccessSnapshot(results);
    });
  }

  async listTenancyIds(): Promise<string[]> {
    return (await rows(this.pool, SQL.listTenancyIds)).map((r) => str(r.id));
  }
}
