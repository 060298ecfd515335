import type { Message } from '../../core/models.js';
import type { CompletionValues } from '../delivery-rows.js';
import { WALK_END, WALK_WINDOW } from '../claim-walk.js';
import { claimedColumns } from '../claim-rows.js';
import { DELIVERY_SQL, DUE, nextDueAtExcludingSql, notExcludedSql } from '../delivery-sql.js';
import type { InList, NotInList } from '../sql.js';
import { subscriptionsByIdsSql } from '../subscription-rows.js';
import { prepared } from './pg-query.js';

/** The SQL text of PostgresDeliveries: claims, releases, publishing, completions and wake-ups. */

export const inList: InList = (column, type) => `${column} = ANY(?::${type}[])`;
const notIn: NotInList = (column) => `${column} <> ALL(?::text[])`;

/**
 * Claims lock their rows with SKIP LOCKED, so concurrent nodes split the work;
 * after the lock, PostgreSQL re-checks the WHERE on the row's latest version, so a
 * row another node claimed (and moved into the future) in the meantime is skipped.
 */
export const CLAIM_FANOUT =
  'WITH c AS (SELECT id FROM messages WHERE fanout_state = 0 AND fanout_lease_until <= ? ' +
  'ORDER BY published_at, id LIMIT ? FOR UPDATE SKIP LOCKED) ' +
  'UPDATE messages m SET fanout_lease_until = ?, fanout_lease_owner = ? FROM c WHERE m.id = c.id RETURNING m.*';
/** A claim reads back what it did not set (claimedColumns, read by claimedOf), then the due time it replaced. */
const claimDeliveriesSql = (skip: string): string =>
  `WITH c AS (SELECT id, next_attempt_at FROM deliveries WHERE ${DUE} AND next_attempt_at <= ?${skip} ` +
  'ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) ' +
  "UPDATE deliveries d SET state = 'IN_FLIGHT', lease_owner = ?, next_attempt_at = ?, updated_at = ? " +
  `FROM c WHERE d.id = c.id RETURNING ${claimedColumns('d')}, c.next_attempt_at AS due_at`;
export const CLAIM_DELIVERIES = claimDeliveriesSql('');
/** The claim skipping excluded endpoints and subscriptions within one step's window (the two lists, then the window, bound after `now`). */
export const CLAIM_DELIVERIES_WALKING = claimDeliveriesSql(` AND ${notExcludedSql(notIn)} AND ${WALK_WINDOW}`);
export const NEXT_DUE_EXCLUDING = nextDueAtExcludingSql(notIn);

/**
 * Hands claims back (after LOCK_DELIVERIES: id order, as completions lock). One table probed by
 * primary key, the due time looked up in the array: a join with unnest was planned, on a freshly
 * grown table, as a scan of every due row per claim handed back.
 */
export const RELEASE_CLAIMS =
  "UPDATE deliveries SET state = 'PENDING', lease_owner = NULL, next_attempt_at = (?::bigint[])[array_position(?::bigint[], id)] " +
  "WHERE id = ANY(?::bigint[]) AND state = 'IN_FLIGHT' AND lease_owner = ?";
/** Claims handed back per statement (the due lookup is linear in it). */
export const RELEASE_CHUNK = 500;

export const INSERT_DELIVERIES =
  'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, next_attempt_at, ' +
  'confirmation_nonce, created_at, window_start_at, updated_at, state, attempts) ' +
  "SELECT t, tp, s, m, k, p, n, cn, c, c, c, 'PENDING', 0 FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], " +
  '?::text[], ?::text[], ?::bigint[], ?::int[], ?::bigint[]) AS u(t, tp, s, m, k, p, n, cn, c) ON CONFLICT DO NOTHING';

/**
 * The whole publish of a group in one statement (atomic by itself, one round trip):
 * messages of live topics are stored; those of topics with fewer than $8 subscriptions
 * are fanned out at once, the first deliveries (up to the claim budget) created IN_FLIGHT for
 * the publishing node, except what its ClaimExclusions leave out (endpoint keys, then
 * subscription ids, bound twice); other nodes are notified only when work is left for them. What it claimed comes
 * back as [INLINE_COLUMNS..., message_id] arrays (inlineClaimedOf): the rest of each row is the publish's own values.
 */
export const PUBLISH = `WITH input AS (
  SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])
    WITH ORDINALITY AS i(id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent, ord)
), valid AS (
  SELECT i.*, (SELECT COUNT(*) FROM (SELECT 1 FROM subscriptions s WHERE s.topic_id = i.topic_id LIMIT ?::int) x) AS n
  FROM input i WHERE EXISTS (
    SELECT 1 FROM topics t WHERE t.tenancy_id = i.tenancy_id AND t.id = i.topic_id AND t.lifecycle_state <> 'DELETED')
), stored AS (
  INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent, fanout_state)
  SELECT id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent, CASE WHEN n < ?::int THEN 1 ELSE 0 END FROM valid
  RETURNING id, fanout_state
), fan0 AS (
  SELECT v.tenancy_id, s.topic_id, s.id AS subscription_id, v.id AS message_id, s.protocol, s.endpoint_key, v.ord,
         (COALESCE(s.endpoint_key, '') = ANY(?::text[]) OR s.id = ANY(?::text[])) AS held_back
  FROM valid v JOIN subscriptions s ON s.topic_id = v.topic_id AND s.lifecycle_state = 'ACTIVE'
    AND s.activated_at IS NOT NULL AND s.activated_at <= v.published_at
  WHERE v.n < ?::int
), fan AS (
  -- The claim budget goes to the subscriptions the publisher can start now; held-back ones wait PENDING.
  SELECT f.*, row_number() OVER (PARTITION BY f.held_back ORDER BY f.ord, f.subscription_id) AS rn FROM fan0 f
), created AS (
  INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, endpoint_key, state, attempts,
                          next_attempt_at, lease_owner, window_start_at, created_at, updated_at)
  SELECT tenancy_id, topic_id, subscription_id, message_id, 'MESSAGE', protocol, endpoint_key,
         CASE WHEN NOT held_back AND rn <= ?::int THEN 'IN_FLIGHT' ELSE 'PENDING' END, 0,
         CASE WHEN NOT held_back AND rn <= ?::int THEN ?::bigint ELSE ?::bigint END,
         CASE WHEN NOT held_back AND rn <= ?::int THEN ?::text END,
         ?::bigint, ?::bigint, ?::bigint
  FROM fan ON CONFLICT DO NOTHING
  RETURNING id, subscription_id, message_id, protocol, endpoint_key, state
), leftover AS (
  SELECT EXISTS (SELECT 1 FROM stored WHERE fanout_state = 0) OR EXISTS (SELECT 1 FROM created WHERE state = 'PENDING') AS any,
         EXISTS (SELECT 1 FROM stored WHERE fanout_state = 0)
           OR EXISTS (SELECT 1 FROM created WHERE state = 'PENDING'
                      AND NOT (COALESCE(endpoint_key, '') = ANY(?::text[]) OR subscription_id = ANY(?::text[]))) AS mine
)
SELECT (SELECT COALESCE(array_agg(id), '{}') FROM stored) AS stored,
       (SELECT COALESCE(json_agg(json_build_array(c.id, c.subscription_id, c.protocol, c.state, c.message_id)), '[]')
        FROM created c WHERE c.state = 'IN_FLIGHT') AS claimed,
       l.mine AS leftover, (SELECT COUNT(*) FROM created) + (SELECT COUNT(*) FROM stored WHERE fanout_state = 0) AS added,
       CASE WHEN l.any THEN pg_notify(?, ?) END AS notified
FROM leftover l`;

export const MESSAGE_TRACE =
  "SELECT d.*, COALESCE((SELECT json_agg(a ORDER BY a.attempt_no) FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS attempt_rows " +
  "FROM deliveries d WHERE d.message_id = ? AND d.kind = 'MESSAGE' AND d.tenancy_id = ? ORDER BY d.id";

/** Locks a completion batch's deliveries in id order, so two batches never deadlock. */
export const LOCK_DELIVERIES = 'SELECT id FROM deliveries WHERE id = ANY(?::bigint[]) ORDER BY id FOR UPDATE';

/**
 * A whole completion batch in one statement over parallel arrays. Runs after
 * LOCK_DELIVERIES, so its snapshot already holds every competing commit:
 * - every attempt of a known delivery is recorded; a number already taken (a late
 *   duplicate from another node after a lease expiry) is renumbered after the last;
 * - per delivery, the first result (in batch order) from the lease holder applies
 *   its transition, as applying them one by one would;
 * - deliveries moved to DELIVERED are added to a random shard of delivery_stats.
 */
export const COMPLETE_ATTEMPTS = `WITH input AS (
  SELECT * FROM unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::int[], ?::text[], ?::int[], ?::text[],
                       ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])
    WITH ORDINALITY AS i(delivery_id, lease_owner, attempt_no, started_at, duration_ms, outcome, status_code, reply,
                         error, response_excerpt, node, next_state, next_attempt_at, last_status, ord)
), known AS (
  SELECT i.*, d.state AS cur_state, d.lease_owner AS cur_owner FROM input i JOIN deliveries d ON d.id = i.delivery_id
), recorded AS (
  INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, duration_ms, outcome, status_code, reply, error, response_excerpt, node)
  SELECT k.delivery_id, GREATEST(k.attempt_no, COALESCE(p.max_no, 0) + row_number() OVER (PARTITION BY k.delivery_id ORDER BY k.ord)),
         k.started_at, k.duration_ms, k.outcome, k.status_code, k.reply, k.error, k.response_excerpt, k.node
  FROM known k
  -- One descent of the primary key per delivery, whatever the planner believes of the table's size: a
  -- never-analyzed table (autovacuum off) otherwise got a nested loop over the whole index per delivery.
  LEFT JOIN LATERAL (SELECT MAX(a.attempt_no) AS max_no FROM delivery_attempts a WHERE a.delivery_id = k.delivery_id) p ON true
  ON CONFLICT DO NOTHING
), winners AS (
  SELECT DISTINCT ON (delivery_id) * FROM known
  WHERE cur_state = 'IN_FLIGHT' AND cur_owner = lease_owner ORDER BY delivery_id, ord
), moved AS (
  UPDATE deliveries d SET state = w.next_state, next_attempt_at = COALESCE(w.next_attempt_at, d.next_attempt_at),
    delivered_at = CASE WHEN w.next_state = 'DELIVERED' THEN ?::bigint ELSE d.delivered_at END,
    attempts = d.attempts + 1, last_error = w.error, last_status = w.last_status, lease_owner = NULL, updated_at = ?::bigint
  FROM winners w WHERE d.id = w.delivery_id AND d.state = 'IN_FLIGHT' AND d.lease_owner = w.lease_owner
  RETURNING d.state
)
INSERT INTO delivery_stats (shard, delivered)
SELECT ?::int, COUNT(*) FROM moved WHERE state = 'DELIVERED' HAVING COUNT(*) > 0
ON CONFLICT (shard) DO UPDATE SET delivered = delivery_stats.delivered + excluded.delivered`;

/** Tells every node's listener to look for work (delivered at commit). */
export const WAKE_SQL = "SELECT pg_notify(?, '')";

export function columns(values: CompletionValues[]): unknown[] {
  const col = <K extends keyof CompletionValues>(k: K) => values.map((v) => v[k]);
  return [
    col('deliveryId'),
    col('leaseOwner'),
    col('attemptNo'),
    col('startedAt'),
    col('durationMs'),
    col('outcome'),
    col('statusCode'),
    col('reply'),
    col('error'),
    col('responseExcerpt'),
    col('node'),
    col('nextState'),
    col('nextAttemptAt'),
    col('lastStatus'),
  ];
}

/**
 * A group of messages as the parallel arrays the message inserts unnest (id, tenancy, topic, title, body, type,
 * publishedAt, traceparent): one statement for any group size, the same column order in both statements.
 */
export function messageArrays(messages: readonly Message[]): unknown[][] {
  const col = <K extends keyof Message>(k: K): unknown[] => messages.map((m) => m[k]);
  return [col('id'), col('tenancyId'), col('topicId'), col('title'), col('body'), col('messageType'), col('publishedAt'), col('traceParent')];
}

/**
 * Takes tokens from rate-limit buckets (core/rate-bucket.ts's takeTokens, in SQL): $1 subscription ids, $2 their
 * limits, $3 how many each wants (≤ its limit), $4 now. A missing bucket is full; one whose `at` is ahead of this
 * node's clock refills nothing. Rows in id order, so two nodes' takes cannot deadlock.
 */
const AVAILABLE = 'LEAST(EXCLUDED.per_second, b.tokens + GREATEST(0, EXCLUDED.at - b.at) * EXCLUDED.per_second / 1000.0)';
export const TAKE_RATE_TOKENS = `
  INSERT INTO rate_buckets AS b (subscription_id, per_second, tokens, at, granted)
  SELECT r.id, r.rate, r.rate - LEAST(r.want, r.rate), $4, LEAST(r.want, r.rate)
  FROM unnest($1::text[], $2::int[], $3::int[]) AS r(id, rate, want)
  ORDER BY r.id
  ON CONFLICT (subscription_id) DO UPDATE SET
    per_second = EXCLUDED.per_second,
    granted = GREATEST(0, LEAST(EXCLUDED.granted, floor(${AVAILABLE})))::int,
    tokens = ${AVAILABLE} - GREATEST(0, LEAST(EXCLUDED.granted, floor(${AVAILABLE}))),
    at = GREATEST(b.at, EXCLUDED.at)
  RETURNING subscription_id, granted`;

const SUBSCRIPTIONS_BY_IDS = subscriptionsByIdsSql(inList);

/** The statements run per publish group, claim or completion batch: prepared on each connection (pg-query's `prepared`). */
export const HOT = {
  publish: prepared('publish', PUBLISH),
  claimFanout: prepared('claim_fanout', CLAIM_FANOUT),
  claim: prepared('claim', CLAIM_DELIVERIES),
  claimWalking: prepared('claim_walking', CLAIM_DELIVERIES_WALKING),
  lockDeliveries: prepared('lock_deliveries', LOCK_DELIVERIES),
  completeAttempts: prepared('complete_attempts', COMPLETE_ATTEMPTS),
  subscriptionsByIds: prepared('subscriptions_by_ids', SUBSCRIPTIONS_BY_IDS),
  takeRateTokens: prepared('take_rate_tokens', TAKE_RATE_TOKENS),
  walkEnd: prepared('walk_end', WALK_END),
  releaseClaims: prepared('release_claims', RELEASE_CLAIMS),
  nextDueAt: prepared('next_due_at', DELIVERY_SQL.nextDueAt),
  nextDueExcluding: prepared('next_due_excluding', NEXT_DUE_EXCLUDING),
};
