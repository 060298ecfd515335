/** Delivery records: one per (message, subscription), plus confirmation sends. */

import type { LastFailure } from './models.js';

export type DeliveryKind = 'MESSAGE' | 'CONFIRMATION';

/**
 * PENDING: waiting for nextAttemptAt. IN_FLIGHT: leased by a node until nextAttemptAt
 * (an expired lease makes it claimable again). DELIVERED and DEAD are final until a
 * re-drive or replay; CANCELLED means the subscription went away before delivery;
 * FILTERED means its filter policy refused the message (final until a replay). HELD:
 * its subscription is disabled; not attempted, its retry window paused, until enabled.
 */
export type DeliveryState = 'PENDING' | 'IN_FLIGHT' | 'DELIVERED' | 'DEAD' | 'CANCELLED' | 'FILTERED' | 'HELD';

/** The final states a delivery reaches on a node (metrics count them). */
export type FinalState = 'DELIVERED' | 'DEAD' | 'CANCELLED' | 'FILTERED';

export interface Delivery {
  id: number;
  tenancyId: string;
  topicId: string;
  subscriptionId: string;
  /** null for CONFIRMATION deliveries. */
  messageId: string | null;
  kind: DeliveryKind;
  protocol: string;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due (PENDING) or when the lease runs out (IN_FLIGHT). */
  nextAttemptAt: number;
  /** Start of the retry window (creation, or the last re-drive). */
  windowStartAt: number;
  leaseOwner: string | null;
  /** For CONFIRMATION deliveries: the confirmation nonce whose link is sent. */
  confirmationNonce: number | null;
  lastError: string | null;
  lastStatus: string | null;
  deliveredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export type AttemptOutcome = 'SUCCESS' | 'FAILURE';

export interface DeliveryAttempt {
  deliveryId: number;
  /** 1-based. */
  attemptNo: number;
  startedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** HTTP status code, when there was an HTTP answer. */
  statusCode: number | null;
  /** SMTP reply line, or another protocol's short status text. */
  reply: string | null;
  error: string | null;
  /** The first few hundred bytes of the response body. */
  responseExcerpt: string | null;
  /** Which node made the attempt. */
  node: string | null;
}

/** What a finished attempt does to its delivery. */
export type DeliveryTransition =
  | { state: 'DELIVERED' }
  | { state: 'PENDING'; nextAttemptAt: number }
  | { state: 'DEAD' }
  | { state: 'CANCELLED' };

export interface AttemptResult {
  deliveryId: number;
  /** Only the node holding the lease may move the delivery; a late result is still recorded as an attempt. */
  leaseOwner: string;
  attempt: DeliveryAttempt;
  transition: DeliveryTransition;
  /**
   * How the attempt reflects on the endpoint's health: set when the endpoint was actually tried
   * with a message (not for confirmations, cancellations or a message that no longer exists).
   */
  health?: 'success' | 'failure';
  /** The delivery's subscription: set with `health`. */
  subscriptionId?: string;
}

/** Claims settled without an attempt: FILTERED (final) or HELD (the subscription is disabled). */
export interface SettledClaim {
  id: number;
  subscriptionId: string;
  state: 'FILTERED' | 'HELD';
}

/** A subscription the completion of a batch disabled: no success for longer than the window. */
export interface DisabledSubscription {
  subscriptionId: string;
  tenancyId: string;
  topicId: string;
  protocol: string;
  endpoint: string;
  failingSince: number;
  disabledAt: number;
  consecutiveFailures: number;
  lastFailure: LastFailure | null;
  /** Its pending deliveries that became HELD with it. */
  heldCount: number;
}

/** Endpoint-health settings the completion of attempts applies. */
export interface HealthPolicy {
  /** Disable a subscription after this long without a successful delivery (from its first failure). */
  disableAfterMs: number;
}

export interface NewDelivery {
  tenancyId: string;
  topicId: string;
  subscriptionId: string;
  messageId: string | null;
  kind: DeliveryKind;
  protocol: string;
  nextAttemptAt: number;
  confirmationNonce: number | null;
  createdAt: number;
}

export interface MailRecord {
  id: number;
  /** The tenancy and topic of the subscription it was sent for ('' for mail captured before owners were kept). */
  tenancyId: string;
  topicId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  /** X-OCI-NS-* and other headers the mail carried, for display. */
  headers: Record<string, string>;
  createdAt: number;
}

export interface DeliveryCounts {
  pending: number;
  inFlight: number;
  delivered: number;
  dead: number;
  /** Messages whose fan-out has not finished. */
  fanoutBacklog: number;
  /** Deliveries of disabled subscriptions, kept until they are enabled (not part of the backlog). */
  held: number;
}

/**
 * What a claim leaves alone: the deliveries of endpoints (endpointKeyOf) the node has no room for, and
 * those of subscriptions waiting for rate-limit tokens. Empty lists exclude nothing and cost nothing.
 */
export interface ClaimExclusions {
  readonly endpoints: readonly string[];
  readonly subscriptions: readonly string[];
}

/** A place in the due order: the due time, then the delivery id. */
export interface DuePosition {
  readonly at: number;
  readonly id: number;
}

/**
 * How a group of publishes is fanned out inside its own transaction. Small topics get
 * their deliveries in the same commit as the message (one fsync, not three); some of
 * those can be created already claimed by the committing node, so they are sent
 * without a claim round trip. Bigger topics are left to the engine's batched fan-out.
 */
export interface PublishPlan {
  now: number;
  /** A topic with fewer subscriptions than this is fanned out in the publish transaction. */
  inlineFanout: number;
  /**
   * Up to `max` of the created deliveries start IN_FLIGHT, leased to `owner` until `leaseUntil`; none of those
   * `exclude` leaves out (a full endpoint's, or a subscription's waiting for rate-limit tokens): those are created
   * PENDING, due at `now`, and are not `leftover` (the node claims them when it has room again).
   */
  claim?: { owner: string; leaseUntil: number; max: number; exclude?: ClaimExclusions };
}

export interface PublishOutcome {
  /** Ids of the messages stored; a message whose topic is missing or deleted is not. */
  stored: ReadonlySet<string>;
  /** Deliveries created already claimed for the plan's owner. */
  claimed: Delivery[];
  /**
   * Whether work is left that the publishing node's engine can take now: unclaimed deliveries of subscriptions
   * the claim did not exclude, or an unfinished fan-out. (Other nodes are told of excluded ones too.)
   */
  leftover: boolean;
  /** What the group added to the backlog as DeliveryCounts counts it: deliveries created plus messages left to fan out. */
  backlogAdded: number;
}
