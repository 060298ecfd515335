/**
 * The IAM storage port: what the identity service and the authorizer need from
 * a backend. Both stores implement it with the same semantics, proven by
 * test/store/identity.contract.test.ts.
 *
 * Every read is scoped to a tenancy: another tenancy's row looks missing.
 * Deleted users, groups, memberships, policies and compartments stay as rows in
 * state DELETED (the SDK's waiters read them back); lists hide them and their
 * names are free again.
 */
import type { CasResult, GuardedDelete } from '../cas.js';
import type { ApiKey, Compartment, IamState, Page, SortOrder, User } from '../models.js';
import type { AccessSnapshotRows, Group, Membership, Policy } from './models.js';

export interface ListIamQuery {
  tenancyId: string;
  /** Exact, case-sensitive. */
  name?: string;
  lifecycleState?: IamState;
  /** TIMECREATED, or NAME (case-sensitive); ties broken by id. */
  sortBy: 'TIMECREATED' | 'NAME';
  sortOrder: SortOrder;
  offset: number;
  limit: number;
}

export interface ListPoliciesQuery extends ListIamQuery {
  /** Policies attached to this compartment only (not its subtree). */
  compartmentId: string;
}

export interface ListMembershipsQuery {
  tenancyId: string;
  userId?: string;
  groupId?: string;
  offset: number;
  limit: number;
}

export type ApiKeyInsert = 'ok' | 'duplicate' | 'limit';

export interface IdentityStore {
  // --- users (compartmentId is always the tenancy) ---
  /** Throws ConflictError when a live user of the tenancy has the same name. */
  insertUser(u: User): Promise<void>;
  /** DELETED included. */
  getUser(tenancyId: string, id: string): Promise<User | undefined>;
  listUsers(q: ListIamQuery): Promise<Page<User>>;
  replaceUser(next: User, expectedEtag: string): Promise<CasResult<User>>;
  /**
   * Marks the user DELETED when its etag matches and it is in no live group ('not-empty'
   * otherwise); in the same transaction removes its API keys and its console sign-in.
   */
  deleteUser(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<GuardedDelete<User>>;

  // --- API keys ---
  /** Inserts unless the user already has that fingerprint ('duplicate') or `max` keys ('limit'), atomically. */
  insertApiKeyLimited(key: ApiKey, max: number): Promise<ApiKeyInsert>;
  /** Removes the key; false when there was none. */
  deleteApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<boolean>;

  // --- groups ---
  /** Throws ConflictError when a live group of the tenancy has the same name. */
  insertGroup(g: Group): Promise<void>;
  getGroup(tenancyId: string, id: string): Promise<Group | undefined>;
  listGroups(q: ListIamQuery): Promise<Page<Group>>;
  replaceGroup(next: Group, expectedEtag: string): Promise<CasResult<Group>>;
  /** Marks the group DELETED when its etag matches and it has no live member ('not-empty' otherwise). */
  deleteGroup(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<GuardedDelete<Group>>;

  // --- memberships ---
  /**
   * Inserts when user and group are both live in the tenancy and the user is not already a
   * live member: 'ok', 'exists' (returns the live membership), or 'missing' (user or group gone).
   */
  insertMembership(m: Membership): Promise<{ result: 'ok' | 'missing' } | { result: 'exists'; existing: Membership }>;
  /** DELETED included. */
  getMembership(tenancyId: string, id: string): Promise<Membership | undefined>;
  /** Live memberships, oldest first; filtered by user and/or group. */
  listMemberships(q: ListMembershipsQuery): Promise<Page<Membership>>;
  /** Marks the membership DELETED; not-found when missing or already deleted. */
  deleteMembership(tenancyId: string, id: string): Promise<CasResult<Membership>>;

  // --- policies ---
  /** Throws ConflictError when a live policy of the tenancy has the same name. */
  insertPolicy(p: Policy): Promise<void>;
  getPolicy(tenancyId: string, id: string): Promise<Policy | undefined>;
  listPolicies(q: ListPoliciesQuery): Promise<Page<Policy>>;
  replacePolicy(next: Policy, expectedEtag: string): Promise<CasResult<Policy>>;
  deletePolicy(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Policy>>;

  // --- compartments (insert/get/list children stay on Store) ---
  /** Name and description changes; throws ConflictError when a live sibling has the new name. */
  replaceCompartment(next: Compartment, expectedEtag: string): Promise<CasResult<Compartment>>;
  /**
   * Marks the compartment DELETED when its etag matches and nothing live is in it: no child
   * compartment, topic, subscription, application, function or policy ('not-empty', naming what).
   */
  deleteCompartment(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<GuardedDelete<Compartment>>;
  /** DELETED included (Store.getCompartment hides them): the SDK's waiter reads a deleted compartment back. */
  getCompartmentAnyState(tenancyId: string, id: string): Promise<Compartment | undefined>;
  /** Every live compartment of the tenancy, the root included, in creation order. */
  listCompartmentTree(tenancyId: string): Promise<Compartment[]>;

  /** The live rows the authorizer evaluates policies over, read in one consistent snapshot. */
  loadAccessSnapshot(tenancyId: string): Promise<AccessSnapshotRows>;
  /** Every tenancy id (startup seeds each one's Administrators group and policy). */
  listTenancyIds(): Promise<string[]>;
}
