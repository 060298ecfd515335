import type { SqlValue } from './rows.js';
import type { InList, NotInList, SqlQuery } from './sql.js';
import type { DeadLetterQuery, RedriveQuery } from '../core/ports/activity.js';

/**
 * SQL of the delivery tables that both backends run verbatim (`?` placeholders,
 * numbered for pg). Claims and batch writes differ per backend (SKIP LOCKED and
 * array parameters on PostgreSQL) and live next to each store.
 */

/**
 * Exactly the predicate of the deliveries_due partial index: SQLite uses a partial
 * index only when the query repeats its WHERE term.
 */
export const DUE = "state IN ('PENDING', 'IN_FLIGHT')";

/** A subscription that was ACTIVE when the message (its published_at bound to `?`) was published. */
const ACTIVE_AT_PUBLISH = "lifecycle_state = 'ACTIVE' AND activated_at IS NOT NULL AND activated_at <= ?";

export const DELIVERY_SQL = {
  /** Binds newDeliveryValues(d) and then createdAt twice (window start, updated). */
  insertDelivery:
    'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, next_attempt_at, ' +
    "confirmation_nonce, created_at, window_start_at, updated_at, state, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0) " +
    'ON CONFLICT DO NOTHING',
  /** The message's fan-out position. PostgreSQL appends FOR UPDATE to serialise batches of one message. */
  fanoutMessage: 'SELECT tenancy_id, topic_id, published_at, fanout_state, fanout_cursor FROM messages WHERE id = ?',
  /**
   * The next batch of the topic's subscriptions after the cursor, eligible or not (so
   * ineligible ones never stall the cursor): how many, and the last id. Index-only
   * on subscriptions_topic_id. An empty cursor ('') is before every id.
   */
  fanoutScan:
    'SELECT COUNT(*) AS n, MAX(id) AS last FROM ' +
    '(SELECT id FROM subscriptions WHERE topic_id = ? AND id > ? ORDER BY id LIMIT CAST(? AS INTEGER)) AS batch',
  /** One delivery per eligible subscription of the scanned id range, set-based; re-runs insert nothing twice. */
  fanoutInsert:
    'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, endpoint_key, state, attempts, ' +
    'next_attempt_at, window_start_at, created_at, updated_at) ' +
    "SELECT CAST(? AS TEXT), topic_id, id, CAST(? AS TEXT), 'MESSAGE', protocol, endpoint_key, 'PENDING', 0, " +
    'CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) ' +
    `FROM subscriptions WHERE topic_id = ? AND id > ? AND id <= ? AND ${ACTIVE_AT_PUBLISH} ` +
    'ON CONFLICT DO NOTHING',
  fanoutAdvance: 'UPDATE messages SET fanout_cursor = ?, fanout_state = ? WHERE id = ?',
  /** How many subscriptions the topic has, counting no further than `?`: decides inline fan-out. */
  countSubscriptionsUpTo: 'SELECT COUNT(*) AS n FROM (SELECT 1 FROM subscriptions WHERE topic_id = ? LIMIT CAST(? AS INTEGER)) AS s',

  /** Only the lease holder moves a delivery; everyone's attempt is recorded. */
  applyTransition:
    'UPDATE deliveries SET state = ?, next_attempt_at = COALESCE(?, next_attempt_at), ' +
    'delivered_at = COALESCE(?, delivered_at), attempts = attempts + 1, last_error = ?, last_status = ?, ' +
    "lease_owner = NULL, updated_at = ? WHERE id = ? AND state = 'IN_FLIGHT' AND lease_owner = ?",
  addDelivered:
    'INSERT INTO delivery_stats (shard, delivered) VALUES (?, ?) ' +
    'ON CONFLICT (shard) DO UPDATE SET delivered = delivery_stats.delivered + excluded.delivered',

  nextDueAt:
    `SELECT (SELECT MIN(next_attempt_at) FROM deliveries WHERE ${DUE}) AS due, ` +
    '(SELECT MIN(fanout_lease_until) FROM messages WHERE fanout_state = 0) AS fanout',

  messageDeliveries: "SELECT * FROM deliveries WHERE message_id = ? AND kind = 'MESSAGE' AND tenancy_id = ? ORDER BY id",
  messageAttempts:
    'SELECT a.* FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id ' +
    "WHERE d.message_id = ? AND d.kind = 'MESSAGE' AND d.tenancy_id = ? ORDER BY a.delivery_id, a.attempt_no",

  /** Served by messages_topic_recent (0005). */
  recentMessages:
    'SELECT * FROM messages WHERE topic_id = ? AND tenancy_id = ? ORDER BY published_at DESC, id DESC LIMIT CAST(? AS INTEGER)',

  /**
   * Live states through the partial indexes; DELIVERED from the counters (the
   * history only grows). One statement so the numbers come from one snapshot.
   */
  countDeliveries:
    'SELECT ' +
    `(SELECT COUNT(*) FROM deliveries WHERE ${DUE} AND state = 'PENDING') AS pending, ` +
    `(SELECT COUNT(*) FROM deliveries WHERE ${DUE} AND state = 'IN_FLIGHT') AS in_flight, ` +
    "(SELECT COUNT(*) FROM deliveries WHERE state = 'DEAD') AS dead, " +
    '(SELECT COALESCE(SUM(delivered), 0) FROM delivery_stats) AS delivered, ' +
    '(SELECT COUNT(*) FROM messages WHERE fanout_state = 0) AS backlog, ' +
    // Through the deliveries_held partial index (held rows only).
    "(SELECT COUNT(*) FROM deliveries WHERE state = 'HELD') AS held",
  /**
   * The backpressure reading: the live states counted on deliveries_due's entries alone (its WHERE is
   * DUE), never a table row, so it stays a few ms at a backlog of 50,000 where telling PENDING from
   * IN_FLIGHT (countDeliveries) reads every row, tens of ms on the thread that serves publishes. A message
   * whose fan-out has not ended counts as the deliveries it is still to make: its topic's subscriptions past
   * its cursor, on subscriptions_topic_id's entries alone (so inactive ones too: it errs on refusing).
   * Counted as one, a publisher to a topic of a hundred subscriptions was let 100 times past --max-backlog.
   */
  countBacklog:
    `SELECT (SELECT COUNT(*) FROM deliveries WHERE ${DUE}) + ` +
    "(SELECT COUNT(*) FROM messages m JOIN subscriptions s ON s.topic_id = m.topic_id AND s.id > COALESCE(m.fanout_cursor, '') " +
    'WHERE m.fanout_state = 0) AS backlog',
  /**
   * One tenancy's figures; binds the tenancy id five times, then `since` and the tenancy id again. Each count
   * walks an index that starts with the tenancy, the topic or the due time (topics_compartment,
   * subscriptions_compartment, deliveries_due, deliveries_dead_topic, messages_topic_recent), never the whole table.
   */
  countTenancy:
    'SELECT ' +
    "(SELECT COUNT(*) FROM topics WHERE tenancy_id = ? AND lifecycle_state <> 'DELETED') AS topics, " +
    "(SELECT COUNT(*) FROM subscriptions WHERE tenancy_id = ? AND lifecycle_state <> 'DELETED') AS subscriptions, " +
    `(SELECT COUNT(*) FROM deliveries WHERE ${DUE} AND state = 'PENDING' AND tenancy_id = ?) AS pending, ` +
    `(SELECT COUNT(*) FROM deliveries WHERE ${DUE} AND state = 'IN_FLIGHT' AND tenancy_id = ?) AS in_flight, ` +
    "(SELECT COUNT(*) FROM deliveries WHERE tenancy_id = ? AND state = 'DEAD') AS dead, " +
    '(SELECT COUNT(*) FROM messages WHERE published_at >= ? AND topic_id IN (SELECT id FROM topics WHERE tenancy_id = ?)) AS published',

  insertMail:
    'INSERT INTO mailbox (tenancy_id, topic_id, from_addr, to_addr, subject, text, headers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
  listMail: 'SELECT * FROM mailbox WHERE tenancy_id = ? ORDER BY created_at DESC, id DESC LIMIT CAST(? AS INTEGER)',
  listMailTo: 'SELECT * FROM mailbox WHERE tenancy_id = ? AND to_addr = ? ORDER BY created_at DESC, id DESC LIMIT CAST(? AS INTEGER)',
} as const;


/**
 * A delivery ClaimExclusions does not leave out (binds the endpoint keys, then the subscription ids). A
 * delivery without a key (a confirmation, or one older than keys) is never left out by endpoint.
 */
export function notExcludedSql(notIn: NotInList): string {
  return `${notIn("COALESCE(endpoint_key, '')")} AND ${notIn('subscription_id')}`;
}

/**
 * nextDueAt skipping what is excluded (binds `after`, then notExcludedSql's lists): ORDER BY ...
 * LIMIT 1 rather than MIN, so the walk of deliveries_due from `after` stops at the first
 * delivery not excluded.
 */
export function nextDueAtExcludingSql(notIn: NotInList): string {
  return (
    `SELECT (SELECT next_attempt_at FROM deliveries WHERE ${DUE} AND next_attempt_at > ? AND ${notExcludedSql(notIn)} ` +
    'ORDER BY next_attempt_at LIMIT 1) AS due, (SELECT MIN(fanout_lease_until) FROM messages WHERE fanout_state = 0) AS fanout'
  );
}

/** How many rows the shards of delivery_stats spread over. */
export const STATS_SHARDS = 16;

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Invalid limit: ${limit}`);
}

export function checkPaging(offset: number, limit: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`Invalid offset: ${offset}`);
  checkLimit(limit);
}

function filters(q: { tenancyId: string; topicId?: string; subscriptionId?: string }): { where: string[]; params: SqlValue[] } {
  const where = ['tenancy_id = ?', "state = 'DEAD'"];
  const params: SqlValue[] = [q.tenancyId];
  if (q.topicId !== undefined) {
    where.push('topic_id = ?');
    params.push(q.topicId);
  }
  if (q.subscriptionId !== undefined) {
    where.push('subscription_id = ?');
    params.push(q.subscriptionId);
  }
  return { where, params };
}

/** Fetches one row past the page (see toPage). Served by the deliveries_dead_* partial indexes. */
export function listDeadLettersSql(q: DeadLetterQuery): SqlQuery {
  checkPaging(q.offset, q.limit);
  const { where, params } = filters(q);
  return {
    sql: `SELECT * FROM deliveries WHERE ${where.join(' AND ')} ORDER BY updated_at, id LIMIT CAST(? AS INTEGER) OFFSET ?`,
    params: [...params, q.limit + 1, q.offset],
  };
}

/**
 * The re-drive UPDATE; the id list, when given, is the last parameter (bound by the
 * caller in its backend's list form). Undefined when the id list is empty: nothing matches.
 */
export function redriveSql(q: RedriveQuery, now: number, inList: InList): SqlQuery | undefined {
  if (q.deliveryIds !== undefined && q.deliveryIds.length === 0) return undefined;
  const { where, params } = filters(q);
  if (q.deliveryIds !== undefined) where.push(inList('id', 'bigint'));
  return {
    sql:
      "UPDATE deliveries SET state = 'PENDING', next_attempt_at = ?, window_start_at = ?, lease_owner = NULL, updated_at = ? " +
      `WHERE ${where.join(' AND ')}`,
    params: [now, now, now, ...params],
  };
}

/** Per-topic counts of messages published at or after a time; the topic id list is the last parameter. */
export function countRecentMessagesSql(inList: InList): string {
  return `SELECT topic_id, COUNT(*) AS n FROM messages WHERE tenancy_id = ? AND published_at >= ? AND ${inList('topic_id', 'text')} GROUP BY topic_id`;
}

/** Gives back `owner`'s fan-out leases on the listed messages (ids, then owner): claimable at once by any node. */
export function releaseFanoutSql(inList: InList): string {
  return `UPDATE messages SET fanout_lease_until = 0, fanout_lease_owner = NULL WHERE ${inList('id', 'text')} AND fanout_lease_owner = ? AND fanout_state = 0`;
}

/** Unscoped batch lookups by primary key (DELETED rows included). */
export function byIdsSql(table: 'messages' | 'subscriptions' | 'topics', inList: InList): string {
  return `SELECT * FROM ${table} WHERE ${inList('id', 'text')}`;
}
