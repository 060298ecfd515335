/** Domain records as Herald keeps them. Wire shapes live in src/api/wire. */

export type Tags = Record<string, string>;
export type DefinedTags = Record<string, Record<string, unknown>>;

export interface Tenancy {
  id: string;
  name: string;
  createdAt: number;
}

export type IamState = 'ACTIVE' | 'DELETED';

/** An IAM user of a tenancy. Names are unique among the tenancy's live users and never change. */
export interface User {
  id: string;
  tenancyId: string;
  name: string;
  description: string;
  email: string | null;
  lifecycleState: IamState;
  etag: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
  createdAt: number;
}

export interface ApiKey {
  tenancyId: string;
  userId: string;
  fingerprint: string;
  publicKeyPem: string;
  createdAt: number;
}

export type CompartmentState = 'ACTIVE' | 'DELETED';

/** The tenancy itself is the root compartment: its row has id === tenancyId and parentId null. */
export interface Compartment {
  id: string;
  tenancyId: string;
  parentId: string | null;
  name: string;
  description: string;
  lifecycleState: CompartmentState;
  etag: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
  createdAt: number;
}

export type TopicState = 'ACTIVE' | 'DELETING' | 'CREATING' | 'DELETED';

export interface Topic {
  id: string;
  tenancyId: string;
  compartmentId: string;
  name: string;
  shortId: string;
  description: string | null;
  freeformTags: Tags;
  definedTags: DefinedTags;
  lifecycleState: TopicState;
  etag: string;
  createdAt: number;
  updatedAt: number;
}

export const PROTOCOLS = ['CUSTOM_HTTPS', 'HTTPS', 'EMAIL', 'SLACK', 'PAGERDUTY', 'SMS', 'ORACLE_FUNCTIONS'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type SubscriptionState = 'PENDING' | 'ACTIVE' | 'DELETED';

export interface Subscription {
  id: string;
  tenancyId: string;
  compartmentId: string;
  topicId: string;
  protocol: Protocol;
  endpoint: string;
  metadata: string | null;
  lifecycleState: SubscriptionState;
  etag: string;
  createdAt: number;
  updatedAt: number;
  maxRetryDurationMs: number;
  freeformTags: Tags;
  definedTags: DefinedTags;
  /** SHA-256 (base64url) of the live confirmation token; null once confirmed. */
  confirmationTokenHash: string | null;
  confirmationExpiresAt: number | null;
  /** Bumped on every (re)issue so the derived token changes and old links die. */
  confirmationNonce: number;
  /** SHA-256 (base64url) of the unsubscribe token (the token itself is derived, never stored). */
  unsubscribeTokenHash: string;
  /** When the subscription became ACTIVE; fan-out compares it with the message's publish time. */
  activatedAt: number | null;
  deletedAt: number | null;
  /** Herald extension: the SNS filter policy (JSON text) a message body must match to be delivered; null = everything. */
  filterPolicy: string | null;
  /** Herald extension: most deliveries per second (token bucket, burst = rate); null = unlimited. */
  rateLimitPerSecond: number | null;
  /** Herald extension: written by the delivery engine, never by an etag write. */
  health: SubscriptionHealthRecord;
}

/** What went wrong on a subscription's latest failed attempt. */
export interface LastFailure {
  at: number;
  /** The HTTP status, when there was an answer. */
  statusCode: number | null;
  error: string;
}

/**
 * An endpoint's health: failing since its first failed attempt after a success, disabled once
 * that has lasted longer than the disable-after window (then its deliveries are held).
 */
export interface SubscriptionHealthRecord {
  failingSince: number | null;
  consecutiveFailures: number;
  lastFailure: LastFailure | null;
  disabledAt: number | null;
}

export const HEALTHY: SubscriptionHealthRecord = { failingSince: null, consecutiveFailures: 0, lastFailure: null, disabledAt: null };

export type MessageType = 'RAW_TEXT' | 'JSON';

export interface Message {
  id: string;
  tenancyId: string;
  topicId: string;
  title: string | null;
  body: string;
  messageType: MessageType;
  publishedAt: number;
  /**
   * The W3C traceparent of the publish (its span), kept so deliveries made later, on any node,
   * continue the same trace; null when tracing was off.
   */
  traceParent: string | null;
}

export interface RetryTokenRecord {
  tenancyId: string;
  token: string;
  operation: string;
  requestHash: string;
  /** null while the first request holding the token is still running. */
  response: string | null;
  createdAt: number;
}

export type SortOrder = 'ASC' | 'DESC';

export interface Page<T> {
  items: T[];
  /** Offset of the next page, or null when this was the last one. */
  nextOffset: number | null;
}
