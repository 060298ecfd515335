/**
 * Subscriptions as the delivery engine's batch loader reads them (getSubscriptionsByIds, both backends): arrays of
 * values (SqliteDb.values, pg's array row mode), not objects. A big topic's deliveries are each for another
 * subscription, and a subscription is cached for a second only, so a claim of 256 deliveries read 256 of them: on a
 * 10,000-subscription topic 2.2 ms of the event loop per read as objects, 0.4 ms as arrays.
 * toSubscription, for rows read as objects, is the same mapping (a contract test holds the two reads together).
 */
import type { DefinedTags, LastFailure, Protocol, Subscription, SubscriptionState, Tags } from '../core/models.js';
import type { InList } from './sql.js';
import { json, num, numOrNull, str, strOrNull, SUBSCRIPTION_COLUMNS, type Row } from './rows.js';

/** What a subscription row holds: the columns it is written with (less the key derived from its endpoint), then its health. */
const COLUMNS = [
  ...SUBSCRIPTION_COLUMNS.filter((c): c is Exclude<(typeof SUBSCRIPTION_COLUMNS)[number], 'endpoint_key'> => c !== 'endpoint_key'),
  'failing_since',
  'consecutive_failures',
  'last_failure',
  'disabled_at',
] as const;

/** Each column's place in a row, so the mapping below names columns instead of counting them. */
const AT = Object.fromEntries(COLUMNS.map((c, i) => [c, i])) as Record<(typeof COLUMNS)[number], number>;

/** Unscoped batch lookup by primary key (DELETED rows included), read as subscriptionOf's arrays. */
export function subscriptionsByIdsSql(inList: InList): string {
  return `SELECT ${COLUMNS.join(', ')} FROM subscriptions WHERE ${inList('id', 'text')}`;
}

export const subscriptionOf = (v: unknown[]): Subscription => ({
  id: str(v[AT.id]),
  tenancyId: str(v[AT.tenancy_id]),
  compartmentId: str(v[AT.compartment_id]),
  topicId: str(v[AT.topic_id]),
  protocol: str(v[AT.protocol]) as Protocol,
  endpoint: str(v[AT.endpoint]),
  metadata: strOrNull(v[AT.metadata]),
  lifecycleState: str(v[AT.lifecycle_state]) as SubscriptionState,
  etag: str(v[AT.etag]),
  createdAt: num(v[AT.created_at]),
  updatedAt: num(v[AT.updated_at]),
  maxRetryDurationMs: num(v[AT.max_retry_duration_ms]),
  freeformTags: json<Tags>(v[AT.freeform_tags]),
  definedTags: json<DefinedTags>(v[AT.defined_tags]),
  confirmationTokenHash: strOrNull(v[AT.confirmation_token_hash]),
  confirmationExpiresAt: numOrNull(v[AT.confirmation_expires_at]),
  confirmationNonce: num(v[AT.confirmation_nonce]),
  unsubscribeTokenHash: str(v[AT.unsubscribe_token_hash]),
  activatedAt: numOrNull(v[AT.activated_at]),
  deletedAt: numOrNull(v[AT.deleted_at]),
  filterPolicy: strOrNull(v[AT.filter_policy]),
  rateLimitPerSecond: numOrNull(v[AT.rate_limit]),
  health: {
    failingSince: numOrNull(v[AT.failing_since]),
    consecutiveFailures: num(v[AT.consecutive_failures] ?? 0),
    lastFailure: v[AT.last_failure] === null || v[AT.last_failure] === undefined ? null : json<LastFailure>(v[AT.last_failure]),
    disabledAt: numOrNull(v[AT.disabled_at]),
  },
});

/** A subscription from a row read as an object (the catalog's reads): the same mapping, by column name. */
export const toSubscription = (r: Row): Subscription => subscriptionOf(COLUMNS.map((c) => r[c]));
