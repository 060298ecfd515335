/** The SQL text of SqliteDeliveries: claims, releases, publishing and completions (PostgreSQL's is postgres-delivery-sql.ts). */
import type { ClaimExclusions } from '../../core/deliveries.js';
import { WALK_WINDOW } from '../claim-walk.js';
import { DUE, nextDueAtExcludingSql, notExcludedSql } from '../delivery-sql.js';
import { claimedColumns, INLINE_COLUMNS } from '../claim-rows.js';
import type { InList, NotInList } from '../sql.js';

/** A list parameter is bound as one JSON array text: one cached statement for any length. */
export const inList: InList = (column) => `${column} IN (SELECT value FROM json_each(?))`;
const notIn: NotInList = (column) => `${column} NOT IN (SELECT value FROM json_each(?))`;

export const CLAIM_FANOUT =
  'UPDATE messages SET fanout_lease_until = ?, fanout_lease_owner = ? WHERE id IN ' +
  '(SELECT id FROM messages WHERE fanout_state = 0 AND fanout_lease_until <= ? ORDER BY published_at, id LIMIT CAST(? AS INTEGER)) RETURNING *';
/** The due time comes from the index (deliveries_due covers it), for ClaimedDelivery.dueAt. */
export const DUE_IDS = `SELECT id, next_attempt_at FROM deliveries WHERE ${DUE} AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT CAST(? AS INTEGER)`;
/**
 * DUE_IDS skipping excluded endpoints and subscriptions within one step's window of the due order: a walk of
 * deliveries_due in order, stopping after `limit` or at the window's end.
 */
export const DUE_IDS_WALKING =
  `SELECT id, next_attempt_at FROM deliveries WHERE ${DUE} AND next_attempt_at <= ? AND ${notExcludedSql(notIn)} ` +
  `AND ${WALK_WINDOW} ORDER BY next_attempt_at, id LIMIT CAST(? AS INTEGER)`;
/**
 * The claim returns only what it did not set itself (claimedColumns, read by claimedOf): state, lease, due time
 * and updated_at are the caller's values. Reading every column back, as objects, cost more than the UPDATE.
 */
export const CLAIM_DELIVERIES =
  "UPDATE deliveries SET state = 'IN_FLIGHT', lease_owner = ?, next_attempt_at = ?, updated_at = ? " +
  `WHERE ${inList('id', 'bigint')} RETURNING ${claimedColumns()}`;
/** Only the lease holder's claim goes back, and only while it is still IN_FLIGHT. */
export const RELEASE_CLAIM =
  "UPDATE deliveries SET state = 'PENDING', lease_owner = NULL, next_attempt_at = ? WHERE id = ? AND state = 'IN_FLIGHT' AND lease_owner = ?";
export const NEXT_DUE_EXCLUDING = nextDueAtExcludingSql(notIn);
/** Publishing to a missing or deleted topic stores nothing (the caller answers 404). */
export const TOPIC_LIVE = "SELECT 1 AS live FROM topics WHERE tenancy_id = ? AND id = ? AND lifecycle_state <> 'DELETED'";
export const INSERT_MESSAGE =
  'INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent, fanout_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
/**
 * Inline fan-out of a whole (small) topic, created already claimed by the publishing node. It returns what the
 * publish does not know (INLINE_COLUMNS, read by inlineClaimedOf): every other column is one of its parameters.
 */
export const FANOUT_CLAIMED =
  'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, endpoint_key, state, attempts, ' +
  'next_attempt_at, lease_owner, window_start_at, created_at, updated_at) ' +
  "SELECT ?, topic_id, id, ?, 'MESSAGE', protocol, endpoint_key, 'IN_FLIGHT', 0, ?, ?, ?, ?, ? FROM subscriptions " +
  `WHERE topic_id = ? AND lifecycle_state = 'ACTIVE' AND activated_at IS NOT NULL AND activated_at <= ? RETURNING ${INLINE_COLUMNS}`;
/**
 * The same, but what ClaimExclusions leaves out (JSON lists of endpoint keys and subscription ids: a full
 * endpoint on the publishing node, a rate-limited subscription) gets its delivery PENDING, due now, unclaimed.
 */
export const FANOUT_CLAIMED_EXCEPT =
  "WITH fan AS (SELECT *, (COALESCE(endpoint_key, '') IN (SELECT value FROM json_each(?)) OR id IN (SELECT value FROM json_each(?))) AS ex " +
  "FROM subscriptions WHERE topic_id = ? AND lifecycle_state = 'ACTIVE' AND activated_at IS NOT NULL AND activated_at <= ?) " +
  'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, endpoint_key, state, attempts, ' +
  'next_attempt_at, lease_owner, window_start_at, created_at, updated_at) ' +
  "SELECT ?, topic_id, id, ?, 'MESSAGE', protocol, endpoint_key, CASE WHEN ex THEN 'PENDING' ELSE 'IN_FLIGHT' END, 0, " +
  `CASE WHEN ex THEN ? ELSE ? END, CASE WHEN ex THEN NULL ELSE ? END, ?, ?, ? FROM fan RETURNING ${INLINE_COLUMNS}`;
/**
 * An attempt row under the number the caller gives: nothing when a row has that number already (a late duplicate,
 * from two nodes around a lease expiry: the caller then numbers it after the last one, LAST_ATTEMPT_NO) or when the
 * delivery is unknown (selected from deliveries). The last number is not read inside this statement: an INSERT whose
 * SELECT reads its own table has SQLite copy the rows into a temporary table first, which cost ~3 µs a row here.
 */
export const INSERT_ATTEMPT =
  'INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, duration_ms, outcome, status_code, reply, error, response_excerpt, node) ' +
  'SELECT d.id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM deliveries d WHERE d.id = ? ON CONFLICT DO NOTHING';
/** The delivery's last recorded attempt number (null: none). */
export const LAST_ATTEMPT_NO = 'SELECT MAX(attempt_no) AS n FROM delivery_attempts WHERE delivery_id = ?';

/** ClaimExclusions as the two JSON list parameters of notExcludedSql, or undefined when it excludes nothing. */
export function exclusionLists(exclude: ClaimExclusions | undefined): [string, string] | undefined {
  if (exclude === undefined || (exclude.endpoints.length === 0 && exclude.subscriptions.length === 0)) return undefined;
  return [JSON.stringify(exclude.endpoints), JSON.stringify(exclude.subscriptions)];
}
