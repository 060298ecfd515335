import type { AttemptResult, ClaimExclusions, Delivery, DeliveryCounts, DuePosition, DisabledSubscription, HealthPolicy, NewDelivery, SettledClaim } from '../deliveries.js';
import type { Message, Subscription, Topic } from '../models.js';
import type { RateTokenRequest } from '../rate-bucket.js';

/** A claimed delivery; its nextAttemptAt is the lease's end, `dueAt` when it was due before the claim. */
export interface ClaimedDelivery extends Delivery {
  dueAt: number;
}

/** What claimDeliveriesWalking claimed, and where its walk of the due order goes on from. */
export interface WalkedClaim {
  claimed: ClaimedDelivery[];
  /** The last delivery claimed when it took `limit`, else the last entry it walked; null once it reached the end of what is due. */
  next: DuePosition | null;
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
  /**
   * Gives back the fan-out leases `owner` holds on these messages (a node that stops before their fan-out is done),
   * so any node claims them at once instead of after the lease. Leases of other owners are left alone.
   */
  releaseFanout(messageIds: string[], owner: string): Promise<void>;
  insertDeliveries(deliveries: NewDelivery[]): Promise<void>;
  /**
   * Claims up to `limit` deliveries that are PENDING and due, or IN_FLIGHT with
   * an expired lease: sets IN_FLIGHT, leaseOwner = owner, nextAttemptAt = leaseUntil.
   * Oldest due first. Deliveries `exclude` leaves out (of endpoints this node cannot take
   * more for, whatever their subscription, and of rate-limited subscriptions) are left alone.
   */
  claimDeliveries(limit: number, now: number, leaseUntil: number, owner: string, exclude?: ClaimExclusions): Promise<ClaimedDelivery[]>;
  /**
   * claimDeliveries leaving out `exclude`, in bounded steps: it walks at most `scan` entries of the due order
   * after `from` (from the start when null) and claims what it does not leave out among them, in due order, up
   * to `limit`. A big backlog of a full endpoint is then walked a step at a time, each step resuming where the
   * last stopped, instead of all at once by every claim.
   */
  claimDeliveriesWalking(
    limit: number,
    now: number,
    leaseUntil: number,
    owner: string,
    exclude: ClaimExclusions,
    from: DuePosition | null,
    scan: number,
  ): Promise<WalkedClaim>;
  /**
   * Hands claims back unattempted: each delivery still IN_FLIGHT under `owner`'s
   * lease becomes PENDING, due again at its `dueAt` (the time the claim replaced, so
   * it keeps its place in the queue), lease cleared; no attempt is recorded and
   * nothing else changes. Others' claims and finished deliveries are untouched.
   * Returns how many were handed back.
   */
  releaseClaims(claims: readonly ReleasedClaim[], owner: string): Promise<number>;
  /**
   * Records every attempt and applies each transition, all in one transaction. With a health
   * policy, also applies the batch's health deltas (see healthDeltas) to the subscriptions and
   * disables those that have had no success for longer than its window: their PENDING deliveries
   * become HELD in the same transaction. Returns the subscriptions it disabled.
   */
  completeAttempts(results: AttemptResult[], now: number, health?: HealthPolicy): Promise<DisabledSubscription[]>;
  /**
   * Settles claims without an attempt, only those still IN_FLIGHT under `owner`'s lease:
   * FILTERED is final; HELD keeps the delivery, paused from `now`, but only while its
   * subscription is still disabled (checked under a lock against a concurrent enable); a
   * claim to hold whose subscription was enabled meanwhile goes back PENDING, due now.
   */
  settleClaims(claims: readonly SettledClaim[], owner: string, now: number): Promise<void>;
  /**
   * Earliest nextAttemptAt of any PENDING or IN_FLIGHT delivery, or unfinished fan-out
   * (as 0). Deliveries `exclude` leaves out are not counted (as in claimDeliveries),
   * nor any due at or before `after`: the engine asks after a claim that took all that was
   * due then, so the excluded backlog already due is not walked again.
   */
  nextDueAt(exclude?: ClaimExclusions, after?: number): Promise<number | null>;

  getMessagesByIds(ids: string[]): Promise<Message[]>;
  /** Includes DELETED subscriptions (a delivery to one is cancelled). */
  getSubscriptionsByIds(ids: string[]): Promise<Subscription[]>;
  /** Includes DELETED topics (their name is still needed for headers). */
  getTopicsByIds(ids: string[]): Promise<Topic[]>;
  /** Installation-wide figures by state (/metrics). */
  countDeliveries(): Promise<DeliveryCounts>;
  /**
   * The undelivered backlog for publish backpressure, read often: pending plus in-flight deliveries
   * (one count of the due index alone, without telling the two apart) plus messages not yet fanned out.
   */
  countBacklog(): Promise<number>;
  /**
   * Takes up to `want` whole tokens (at most `perSecond`) from each subscription's rate-limit bucket, one bucket
   * for all the nodes of this store (core/rate-bucket.ts: full at first, capacity perSecond, refilled at perSecond
   * a second up to `now`). Returns how many each request got, in order. Several nodes then share one limit.
   */
  takeRateTokens(requests: readonly RateTokenRequest[], now: number): Promise<number[]>;

  /**
   * Subscribes to wake-ups from other nodes (PostgreSQL LISTEN/NOTIFY). Returns an
   * unsubscribe function. SQLite has one node, so it never calls back. Wake-ups are
   * hints only: the dispatcher still polls.
   */
  onWake(callback: () => void): Promise<() => Promise<void>>;
  /** Tells every node (including this one's listeners) that work may be due. */
  wake(): Promise<void>;
}
