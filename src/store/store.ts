import type {
  ApiKey,
  Compartment,
  Message,
  Page,
  RetryTokenRecord,
  SortOrder,
  Subscription,
  Tenancy,
  Topic,
  TopicState,
  User,
} from '../core/models.js';

export interface ListTopicsQuery {
  tenancyId: string;
  compartmentId: string;
  id?: string;
  name?: string;
  /** Upper-case; compared exactly. DELETED topics are never listed. */
  lifecycleState?: TopicState;
  sortBy: 'TIMECREATED' | 'LIFECYCLESTATE';
  sortOrder: SortOrder;
  offset: number;
  limit: number;
}

export interface ListSubscriptionsQuery {
  tenancyId: string;
  compartmentId?: string;
  topicId?: string;
  offset: number;
  limit: number;
}

/** Result of a compare-and-swap write guarded by an etag. */
export type CasResult<T> = { ok: true; value: T } | { ok: false; reason: 'not-found' | 'etag-mismatch' };

/**
 * The persistence port. Both backends implement it with the same semantics,
 * proven by test/store/store.contract.test.ts. Every read is scoped to a tenancy:
 * a row of another tenancy is indistinguishable from a missing one.
 *
 * Rows in state DELETED are kept for history (messages reference them).
 * Lists and topic reads hide them; subscription reads return them, because
 * OCI shows a deleted subscription as DELETED (the SDK's waiter depends on it).
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /** Applies numbered migrations not yet applied. Safe to call from several nodes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // --- installation settings (secrets shared by every node) ---
  /** Stores value under key unless a value exists; returns the value that won. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | undefined>;

  // --- identity ---
  countTenancies(): Promise<number>;
  /** Creates tenancy, its root compartment (id === tenancy.id), the user and the key in one transaction. */
  createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void>;
  getTenancy(id: string): Promise<Tenancy | undefined>;
  getUser(tenancyId: string, userId: string): Promise<User | undefined>;
  insertApiKey(key: ApiKey): Promise<void>;
  getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined>;
  listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]>;
  insertCompartment(c: Compartment): Promise<void>;
  getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined>;
  listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]>;

  // --- topics ---
  /** Throws ConflictError when a non-deleted topic of the tenancy has the same name. */
  insertTopic(t: Topic): Promise<void>;
  getTopic(tenancyId: string, id: string): Promise<Topic | undefined>;
  listTopics(q: ListTopicsQuery): Promise<Page<Topic>>;
  /** Replaces the topic row when its current etag equals expectedEtag. */
  replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>>;
  /**
   * Marks the topic DELETED (when its etag matches) and, in the same transaction,
   * every live subscription of it DELETED with deletedAt = now.
   */
  deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>>;

  // --- subscriptions ---
  insertSubscription(s: Subscription): Promise<void>;
  /** Includes DELETED subscriptions. */
  getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined>;
  /** Unscoped lookup (DELETED included) for the token-authorised confirmation/unsubscribe links. */
  getSubscriptionById(id: string): Promise<Subscription | undefined>;
  listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>>;
  replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>>;

  // --- messages ---
  /** Inserts every message in one transaction (group commit). All or nothing. */
  insertMessages(messages: Message[]): Promise<void>;
  getMessage(tenancyId: string, id: string): Promise<Message | undefined>;

  // --- opc-retry-token idempotency ---
  /**
   * Claims a token. Returns the existing record when the token is already
   * known (and not expired, i.e. createdAt > notBefore), otherwise inserts
   * `record` (with response null) and returns undefined.
   */
  claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined>;
  completeRetryToken(tenancyId: string, token: string, response: string): Promise<void>;
  releaseRetryToken(tenancyId: string, token: string): Promise<void>;
}
