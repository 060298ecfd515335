import type { DisabledSubscription } from '../core/deliveries.js';
import type { HealthDelta } from '../core/endpoint-health.js';
import type { LastFailure } from '../core/models.js';
import { json, num, str, type Row, type SqlValue } from './rows.js';
import type { InList } from './sql.js';

/** Held deliveries of a subscription or a topic (the column bound last) back to the queue, due now. */
function releaseHeldSql(scope: 'subscription_id' | 'topic_id'): string {
  return (
    "UPDATE deliveries SET state = 'PENDING', window_start_at = window_start_at + (CAST(? AS BIGINT) - COALESCE(held_at, CAST(? AS BIGINT))), " +
    `next_attempt_at = CAST(? AS BIGINT), held_at = NULL, lease_owner = NULL, updated_at = CAST(? AS BIGINT) WHERE state = 'HELD' AND ${scope} = ?`
  );
}

/**
 * SQL of delivery control (endpoint health, held deliveries, replay) that both backends run
 * verbatim (`?` placeholders, numbered for pg). Casts give pg the parameter types.
 */
export const CONTROL_SQL = {
  /**
   * A batch's health delta on SQLite (binds healthValues; PostgreSQL sends a whole batch's deltas in one
   * statement, postgres-delivery-control.ts). A healthy subscription with only successes is not written at
   * all: the hot path costs one read of the row per batch.
   */
  applyHealth:
    'UPDATE subscriptions SET ' +
    'failing_since = CASE WHEN CAST(? AS INTEGER) = 1 THEN CAST(? AS BIGINT) ELSE COALESCE(failing_since, CAST(? AS BIGINT)) END, ' +
    'consecutive_failures = CASE WHEN CAST(? AS INTEGER) = 1 THEN CAST(? AS INTEGER) ELSE consecutive_failures + CAST(? AS INTEGER) END, ' +
    'last_failure = COALESCE(CAST(? AS TEXT), last_failure) ' +
    'WHERE id = ? AND (CAST(? AS INTEGER) > 0 OR failing_since IS NOT NULL OR consecutive_failures <> 0)',
  /** Binds now, id, the failing-since cutoff (now - window). */
  disableIfDue:
    'UPDATE subscriptions SET disabled_at = CAST(? AS BIGINT) WHERE id = ? AND disabled_at IS NULL ' +
    "AND lifecycle_state = 'ACTIVE' AND failing_since IS NOT NULL AND failing_since <= CAST(? AS BIGINT) " +
    'RETURNING id, tenancy_id, topic_id, protocol, endpoint, failing_since, consecutive_failures, last_failure, disabled_at',
  /** A subscription just disabled: its waiting deliveries are held (binds now, now, id). Spelled for deliveries_due. */
  holdPending:
    "UPDATE deliveries SET state = 'HELD', held_at = CAST(? AS BIGINT), updated_at = CAST(? AS BIGINT) " +
    "WHERE state IN ('PENDING', 'IN_FLIGHT') AND state = 'PENDING' AND subscription_id = ?",
  /** Binds now, id, owner. */
  settleFiltered:
    "UPDATE deliveries SET state = 'FILTERED', lease_owner = NULL, updated_at = CAST(? AS BIGINT) " +
    "WHERE id = ? AND state = 'IN_FLIGHT' AND lease_owner = ?",
  /** Binds now, now, id, owner, subscription id: only while the subscription is still disabled (and not deleted meanwhile). */
  settleHeld:
    "UPDATE deliveries SET state = 'HELD', held_at = CAST(? AS BIGINT), lease_owner = NULL, updated_at = CAST(? AS BIGINT) " +
    "WHERE id = ? AND state = 'IN_FLIGHT' AND lease_owner = ? " +
    "AND EXISTS (SELECT 1 FROM subscriptions WHERE id = ? AND disabled_at IS NOT NULL AND lifecycle_state = 'ACTIVE')",
  /** A hold that lost to an enable: back in the queue, due now (binds now, id, owner). */
  unclaimNow:
    "UPDATE deliveries SET state = 'PENDING', lease_owner = NULL, next_attempt_at = CAST(? AS BIGINT) " +
    "WHERE id = ? AND state = 'IN_FLIGHT' AND lease_owner = ?",
  /** Binds tenancy id, id. */
  enable:
    'UPDATE subscriptions SET disabled_at = NULL, failing_since = NULL, consecutive_failures = 0 ' +
    'WHERE tenancy_id = ? AND id = ? AND disabled_at IS NOT NULL RETURNING id',
  /**
   * Held deliveries go out now, oldest (lowest id) first through the queue's order; the retry
   * window moves on by the time held. Binds now, now, now, now, subscription id.
   */
  releaseHeld: releaseHeldSql('subscription_id'),
  /** releaseHeld for every subscription of a topic (binds now x4, topic id): walks deliveries_held, held rows only. */
  releaseHeldOfTopic: releaseHeldSql('topic_id'),
  countHeld: "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'HELD' AND subscription_id = ?",
  isDisabled: 'SELECT disabled_at FROM subscriptions WHERE id = ?',
  /** Served by messages_topic_recent (topic_id, published_at, id). Binds topic, tenancy, since, until, after-time twice, after-id, limit. */
  messagesInWindow:
    'SELECT * FROM messages WHERE topic_id = ? AND tenancy_id = ? AND published_at >= CAST(? AS BIGINT) AND published_at < CAST(? AS BIGINT) ' +
    'AND (published_at > CAST(? AS BIGINT) OR (published_at = CAST(? AS BIGINT) AND id > ?)) ORDER BY published_at, id LIMIT CAST(? AS INTEGER)',
} as const;

/**
 * Replay: a finished delivery of each listed message starts over (binds state, now, now, now-or-null
 * held_at, now, subscription id, then the message id list). Through deliveries_message.
 */
export function replayResetSql(inList: InList): string {
  return (
    'UPDATE deliveries SET state = ?, next_attempt_at = CAST(? AS BIGINT), window_start_at = CAST(? AS BIGINT), held_at = CAST(? AS BIGINT), ' +
    "lease_owner = NULL, updated_at = CAST(? AS BIGINT) WHERE kind = 'MESSAGE' AND subscription_id = ? " +
    `AND state IN ('DELIVERED', 'DEAD', 'FILTERED', 'CANCELLED') AND ${inList('message_id', 'text')}`
  );
}

/**
 * Replay: a delivery for each listed message the subscription never had one for (binds subscription
 * id, protocol, subscription id (for its stored endpoint key), state, now x4, held_at, subscription id, then
 * the message id list).
 */
export function replayInsertSql(inList: InList): string {
  return (
    'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, endpoint_key, state, attempts, ' +
    'next_attempt_at, window_start_at, created_at, updated_at, held_at) ' +
    "SELECT m.tenancy_id, m.topic_id, CAST(? AS TEXT), m.id, 'MESSAGE', CAST(? AS TEXT), " +
    '(SELECT s.endpoint_key FROM subscriptions s WHERE s.id = CAST(? AS TEXT)), CAST(? AS TEXT), 0, ' +
    'CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM messages m ' +
    "WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.kind = 'MESSAGE' AND d.message_id = m.id AND d.subscription_id = ?) " +
    `AND ${inList('m.id', 'text')} ON CONFLICT DO NOTHING`
  );
}

/** A health delta as both stores bind it: the reset as 0 or 1, the last failure as JSON text. */
export function healthFields(d: HealthDelta): { id: string; reset: number; firstFailureAt: number | null; failures: number; lastFailure: string | null } {
  return {
    id: d.subscriptionId,
    reset: d.reset ? 1 : 0,
    firstFailureAt: d.firstFailureAt,
    failures: d.failures,
    lastFailure: d.lastFailure === null ? null : JSON.stringify(d.lastFailure),
  };
}

/** The parameters of CONTROL_SQL.applyHealth. */
export function healthValues(d: HealthDelta): SqlValue[] {
  const f = healthFields(d);
  return [f.reset, f.firstFailureAt, f.firstFailureAt, f.reset, f.failures, f.failures, f.lastFailure, f.id, f.failures];
}

export function toDisabled(r: Row, heldCount: number): DisabledSubscription {
  return {
    subscriptionId: str(r.id),
    tenancyId: str(r.tenancy_id),
    topicId: str(r.topic_id),
    protocol: str(r.protocol),
    endpoint: str(r.endpoint),
    failingSince: num(r.failing_since),
    disabledAt: num(r.disabled_at),
    consecutiveFailures: num(r.consecutive_failures),
    lastFailure: r.last_failure === null || r.last_failure === undefined ? null : json<LastFailure>(r.last_failure),
    heldCount,
  };
}
