import type {
  AttemptResult,
  Delivery,
  DeliveryAttempt,
  DeliveryCounts,
  MailRecord,
  NewDelivery,
  PublishOutcome,
  PublishPlan,
} from '../core/deliveries.js';
import type { RetentionStore } from '../core/retention.js';
import type { ConsoleStore } from './console-store.js';
import type { FunctionStore } from './function-store.js';
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

export type { CasResult } from '../core/cas.js';
import type { CasResult } from '../core/cas.js';
import type { IdentityStore } from '../core/iam/identity-store.js';

/**
 * The persistence port. Both backends implement it with the same semantics,
 * proven by test/store/store.contract.test.ts. Every read is scoped to a tenancy:
 * a row of another tenancy is indistinguishable from a missing one.
 *
 * Rows in state DELETED are kept for history (messages reference them).
 * Lists and topic reads hide them; subscription reads return them, because
 * OCI shows a deleted subscription as DELETED (the SDK's waiter depends on it).
 */
export interface Store extends DeliveryStore, FunctionStore, ConsoleStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Users, groups, memberships, policies, compartment changes and key revocation (the IAM port). */
  readonly identity: IdentityStore;

  /** Applies numbered migrations not yet applied. Safe to call from several nodes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Pruning of what is older than the retention window. */
  readonly retention: RetentionStore;
  /** How big the store is, for /metrics. */
  storageStats(): Promise<StorageStats>;

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

/** What the checkpointer of an SQLite store has done. */
export interface WalStats {
  /** WAL restarts (the writer starts again at the file's beginning). */
  restarts: number;
  /** Times the writers were held for a restart, and for how long in all (ms). */
  pauses: number;
  pauseMsTotal: number;
  /** Longest hold over the last minute (ms). */
  pauseMsMaxRecent: number;
}

export interface StorageStats {
  /** SQLite: the database file; PostgreSQL: Herald's tables with their indexes and TOAST. */
  databaseBytes: number;
  /** SQLite only: the WAL file, and what its checkpointer did. */
  walBytes?: number;
  wal?: WalStats;
  /** PostgreSQL only: whether the server runs autovacuum (without it Herald vacuums what it prunes). */
  autovacuum?: boolean;
}

export interface DeadLetterQuery {
  tenancyId: string;
  topicId?: string;
  subscriptionId?: string;
  offset: number;
  limit: number;
}

export interface RedriveQuery {
  tenancyId: string;
  deliveryIds?: number[];
  topicId?: string;
  subscriptionId?: string;
}

/** Live topics and subscriptions, unfinished and dead deliveries, and recent messages of one tenancy. */
export interface TenancyCounts {
  topics: number;
  subscriptions: number;
  pending: number;
  inFlight: number;
  dead: number;
  /** Messages published at or after the time asked for. */
  published: number;
}

/** A claimed delivery; its nextAttemptAt is the lease's end, `dueAt` when it was due before the claim. */
export interface ClaimedDelivery extends Delivery {
  dueAt: number;
}

/** A claim handed back by releaseClaims, and the due time it goes back to. */
export interface ReleasedClaim {
  id: number;
  dueAt: number;
}

/**
 * The delivery engine's side of the store. Work is claimed under a lease so a
 * crashed node's claims come back when the lease runs out; PostgreSQL claims
 * with FOR UPDATE SKIP LOCKED so several nodes share the work.
 */
export interface DeliveryStore {
  /**
   * The publish path: stores every message whose topic exists (not DELETED) and fans it
   * out per the plan, all in one transaction (group commit). Messages of missing topics
   * are skipped, not failed, so one bad publish cannot sink its group.
   */
  publishMessages(messages: Message[], plan: PublishPlan): Promise<PublishOutcome>;
  /**
   * Claims up to `limit` messages whose fan-out is unfinished and not leased
   * by a live node, leasing them until leaseUntil.
   */
  claimFanout(limit: number, now: number, leaseUntil: number, owner: string): Promise<Message[]>;
  /**
   * Creates MESSAGE deliveries (state PENDING, due at `now`) for the next `limit`
   * subscriptions of the message's topic, in subscription-id order after the
   * message's fan-out cursor, that were ACTIVE at publish time: lifecycle ACTIVE,
   * activatedAt <= publishedAt. Advances the cursor in the same transaction and,
   * when fewer than `limit` were found, marks the fan-out done. Returns how many
   * were created and whether the fan-out is done.
   */
  fanoutBatch(messageId: string, limit: number, now: number): Promise<{ created: number; done: boolean }>;
  /** fanoutBatch for each message, all in one transaction; returns the ids whose fan-out is not done. */
  fanoutMany(messageIds: string[], limit: number, now: number): Promise<{ created: number; unfinished: string[] }>;
  insertDeliveries(deliveries: NewDelivery[]): Promise<void>;
  /**
   * Claims up to `limit` deliveries that are PENDING and due, or IN_FLIGHT with
   * an expired lease: sets IN_FLIGHT, leaseOwner = owner, nextAttemptAt = leaseUntil.
   * Oldest due first. Deliveries of the excluded subscriptions (those of endpoints
   * this node cannot take more for) are left alone; an empty list excludes nothing
   * and costs nothing.
   */
  claimDeliveries(limit: number, now: number, leaseUntil: number, owner: string, excludeSubscriptionIds?: readonly string[]): Promise<ClaimedDelivery[]>;
  /**
   * Hands claims back unattempted: each delivery still IN_FLIGHT under `owner`'s
   * lease becomes PENDING, due again at its `dueAt` (the time the claim replaced, so
   * it keeps its place in the queue), lease cleared; no attempt is recorded and
   * nothing else changes. Others' claims and finished deliveries are untouched.
   * Returns how many were handed back.
   */
  releaseClaims(claims: readonly ReleasedClaim[], owner: string): Promise<number>;
  /** Records every attempt and applies each transition, all in one transaction. */
  completeAttempts(results: AttemptResult[], now: number): Promise<void>;
  /**
   * Earliest nextAttemptAt of any PENDING or IN_FLIGHT delivery, or unfinished fan-out
   * (as 0). Deliveries of the excluded subscriptions are not counted (as in claimDeliveries),
   * nor any due at or before `after`: the engine asks after a claim that took all that was
   * due then, so the excluded backlog already due is not walked again.
   */
  nextDueAt(excludeSubscriptionIds?: readonly string[], after?: number): Promise<number | null>;

  getMessagesByIds(ids: string[]): Promise<Message[]>;
  /** Includes DELETED subscriptions (a delivery to one is cancelled). */
  getSubscriptionsByIds(ids: string[]): Promise<Subscription[]>;
  /** Includes DELETED topics (their name is still needed for headers). */
  getTopicsByIds(ids: string[]): Promise<Topic[]>;

  /** Every delivery of the message (tenancy-scoped) with its attempts, oldest attempt first. */
  getMessageDeliveries(tenancyId: string, messageId: string): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }[]>;
  /** The topic's messages (tenancy-scoped), newest first: by publishedAt, then id, descending. */
  listRecentMessages(tenancyId: string, topicId: string, limit: number): Promise<Message[]>;
  /**
   * How many messages of each topic (tenancy-scoped) were published at or after
   * `since`; every requested topic id is a key, 0 when none.
   */
  countRecentMessages(tenancyId: string, topicIds: string[], since: number): Promise<Record<string, number>>;
  listDeadLetters(q: DeadLetterQuery): Promise<Page<Delivery>>;
  /** Moves matching DEAD deliveries back to PENDING, due now, with a fresh window. Returns how many. */
  redrive(q: RedriveQuery, now: number): Promise<number>;
  countDeliveries(): Promise<DeliveryCounts>;
  /** One tenancy's own figures (the console overview), read in one statement. */
  countTenancy(tenancyId: string, publishedSince: number): Promise<TenancyCounts>;

  insertMail(mail: Omit<MailRecord, 'id'>): Promise<MailRecord>;
  /** The tenancy's mail, newest first. */
  listMail(tenancyId: string, limit: number, to?: string): Promise<MailRecord[]>;

  /**
   * Subscribes to wake-ups from other nodes (PostgreSQL LISTEN/NOTIFY). Returns an
   * unsubscribe function. SQLite has one node, so it never calls back. Wake-ups are
   * hints only: the dispatcher still polls.
   */
  onWake(callback: () => void): Promise<() => Promise<void>>;
  /** Tells every node (including this one's listeners) that work may be due. */
  wake(): Promise<void>;
}

