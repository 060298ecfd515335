import type { ClientConfig, Pool, PoolClient } from 'pg';
import type {
  AttemptResult,
  Delivery,
  DeliveryAttempt,
  DeliveryCounts,
  MailRecord,
  NewDelivery,
  PublishOutcome,
  PublishPlan,
} from '../../core/deliveries.js';
import type { Message, Page, Subscription, Topic } from '../../core/models.js';
import { completionValues, mailValues, toAttempt, toCounts, toDelivery, toMail, type CompletionValues } from '../delivery-rows.js';
import {
  byIdsSql,
  checkLimit,
  countRecentMessagesSql,
  DELIVERY_SQL as SQL,
  DUE,
  listDeadLettersSql,
  nextDueAtExcludingSql,
  recentCounts,
  redriveSql,
  STATS_SHARDS,
  type InList,
  type NotInList,
} from '../delivery-sql.js';
import { num, toMessage, toSubscription, toTopic, type Row } from '../rows.js';
import { toPage } from '../sql.js';
import type { ClaimedDelivery, DeadLetterQuery, DeliveryStore, RedriveQuery, ReleasedClaim } from '../store.js';
import { WakeListener } from './notifier.js';
import { execute, first, rows, transaction } from './pg-query.js';

const inList: InList = (column, type) => `${column} = ANY(?::${type}[])`;
const notIn: NotInList = (column) => `${column} <> ALL(?::text[])`;

/**
 * Claims lock their rows with SKIP LOCKED, so concurrent nodes split the work;
 * after the lock, PostgreSQL re-checks the WHERE on the row's latest version, so a
 * row another node claimed (and moved into the future) in the meantime is skipped.
 */
const CLAIM_FANOUT =
  'WITH c AS (SELECT id FROM messages WHERE fanout_state = 0 AND fanout_lease_until <= ? ' +
  'ORDER BY published_at, id LIMIT ? FOR UPDATE SKIP LOCKED) ' +
  'UPDATE messages m SET fanout_lease_until = ?, fanout_lease_owner = ? FROM c WHERE m.id = c.id RETURNING m.*';
const claimDeliveriesSql = (skip: string): string =>
  `WITH c AS (SELECT id, next_attempt_at FROM deliveries WHERE ${DUE} AND next_attempt_at <= ?${skip} ` +
  'ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) ' +
  "UPDATE deliveries d SET state = 'IN_FLIGHT', lease_owner = ?, next_attempt_at = ?, updated_at = ? " +
  'FROM c WHERE d.id = c.id RETURNING d.*, c.next_attempt_at AS due_at';
const CLAIM_DELIVERIES = claimDeliveriesSql('');
/** The claim skipping some subscriptions (the list bound after `now`). */
const CLAIM_DELIVERIES_EXCLUDING = claimDeliveriesSql(` AND ${notIn('subscription_id')}`);
const NEXT_DUE_EXCLUDING = nextDueAtExcludingSql(notIn);

/**
 * Hands claims back (after LOCK_DELIVERIES: id order, as completions lock). One table probed by
 * primary key, the due time looked up in the array: a join with unnest was planned, on a freshly
 * grown table, as a scan of every due row per claim handed back.
 */
const RELEASE_CLAIMS =
  "UPDATE deliveries SET state = 'PENDING', lease_owner = NULL, next_attempt_at = (?::bigint[])[array_position(?::bigint[], id)] " +
  "WHERE id = ANY(?::bigint[]) AND state = 'IN_FLIGHT' AND lease_owner = ?";
/** Claims handed back per statement (the due lookup is linear in it). */
const RELEASE_CHUNK = 500;

const INSERT_DELIVERIES =
  'INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, next_attempt_at, ' +
  'confirmation_nonce, created_at, window_start_at, updated_at, state, attempts) ' +
  "SELECT t, tp, s, m, k, p, n, cn, c, c, c, 'PENDING', 0 FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], " +
  '?::text[], ?::text[], ?::bigint[], ?::int[], ?::bigint[]) AS u(t, tp, s, m, k, p, n, cn, c) ON CONFLICT DO NOTHING';

/**
 * The whole publish of a group in one statement (atomic by itself, one round trip):
 * messages of live topics are stored; those of topics with fewer than $8 subscriptions
 * are fanned out at once, the first $9 deliveries created IN_FLIGHT for the publishing
 * node ($10 until $11); other nodes are notified only when work is left for them.
 */
const PUBLISH = `WITH input AS (
  SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[])
    WITH ORDINALITY AS i(id, tenancy_id, topic_id, title, body, message_type, published_at, ord)
), valid AS (
  SELECT i.*, (SELECT COUNT(*) FROM (SELECT 1 FROM subscriptions s WHERE s.topic_id = i.topic_id LIMIT ?::int) x) AS n
  FROM input i WHERE EXISTS (
    SELECT 1 FROM topics t WHERE t.tenancy_id = i.tenancy_id AND t.id = i.topic_id AND t.lifecycle_state <> 'DELETED')
), stored AS (
  INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at, fanout_state)
  SELECT id, tenancy_id, topic_id, title, body, message_type, published_at, CASE WHEN n < ?::int THEN 1 ELSE 0 END FROM valid
  RETURNING id, fanout_state
), fan AS (
  SELECT v.tenancy_id, s.topic_id, s.id AS subscription_id, v.id AS message_id, s.protocol,
         row_number() OVER (ORDER BY v.ord, s.id) AS rn
  FROM valid v JOIN subscriptions s ON s.topic_id = v.topic_id AND s.lifecycle_state = 'ACTIVE'
    AND s.activated_at IS NOT NULL AND s.activated_at <= v.published_at
  WHERE v.n < ?::int
), created AS (
  INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts,
                          next_attempt_at, lease_owner, window_start_at, created_at, updated_at)
  SELECT tenancy_id, topic_id, subscription_id, message_id, 'MESSAGE', protocol,
         CASE WHEN rn <= ?::int THEN 'IN_FLIGHT' ELSE 'PENDING' END, 0,
         CASE WHEN rn <= ?::int THEN ?::bigint ELSE ?::bigint END, CASE WHEN rn <= ?::int THEN ?::text END,
         ?::bigint, ?::bigint, ?::bigint
  FROM fan ON CONFLICT DO NOTHING
  RETURNING *
), leftover AS (
  SELECT EXISTS (SELECT 1 FROM stored WHERE fanout_state = 0) OR EXISTS (SELECT 1 FROM created WHERE state = 'PENDING') AS any
)
SELECT (SELECT COALESCE(array_agg(id), '{}') FROM stored) AS stored,
       (SELECT COALESCE(json_agg(c), '[]') FROM created c WHERE c.state = 'IN_FLIGHT') AS claimed,
       l.any AS leftover, (SELECT COUNT(*) FROM created) + (SELECT COUNT(*) FROM stored WHERE fanout_state = 0) AS added,
       CASE WHEN l.any THEN pg_notify(?, '') END AS notified
FROM leftover l`;

const MESSAGE_TRACE =
  "SELECT d.*, COALESCE((SELECT json_agg(a ORDER BY a.attempt_no) FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS attempt_rows " +
  "FROM deliveries d WHERE d.message_id = ? AND d.kind = 'MESSAGE' AND d.tenancy_id = ? ORDER BY d.id";

/** Locks a completion batch's deliveries in id order, so two batches never deadlock. */
const LOCK_DELIVERIES = 'SELECT id FROM deliveries WHERE id = ANY(?::bigint[]) ORDER BY id FOR UPDATE';

/**
 * A whole completion batch in one statement over parallel arrays. Runs after
 * LOCK_DELIVERIES, so its snapshot already holds every competing commit:
 * - every attempt of a known delivery is recorded; a number already taken (a late
 *   duplicate from another node after a lease expiry) is renumbered after the last;
 * - per delivery, the first result (in batch order) from the lease holder applies
 *   its transition, as applying them one by one would;
 * - deliveries moved to DELIVERED are added to a random shard of delivery_stats.
 */
const COMPLETE_ATTEMPTS = `WITH input AS (
  SELECT * FROM unnest(?::bigint[], ?::text[], ?::int[], ?::bigint[], ?::int[], ?::text[], ?::int[], ?::text[],
                       ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])
    WITH ORDINALITY AS i(delivery_id, lease_owner, attempt_no, started_at, duration_ms, outcome, status_code, reply,
                         error, response_excerpt, node, next_state, next_attempt_at, last_status, ord)
), known AS (
  SELECT i.*, d.state AS cur_state, d.lease_owner AS cur_owner FROM input i JOIN deliveries d ON d.id = i.delivery_id
), prior AS (
  SELECT delivery_id, MAX(attempt_no) AS max_no FROM delivery_attempts
  WHERE delivery_id IN (SELECT delivery_id FROM known) GROUP BY delivery_id
), recorded AS (
  INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, duration_ms, outcome, status_code, reply, error, response_excerpt, node)
  SELECT k.delivery_id, GREATEST(k.attempt_no, COALESCE(p.max_no, 0) + row_number() OVER (PARTITION BY k.delivery_id ORDER BY k.ord)),
         k.started_at, k.duration_ms, k.outcome, k.status_code, k.reply, k.error, k.response_excerpt, k.node
  FROM known k LEFT JOIN prior p ON p.delivery_id = k.delivery_id
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

function columns(values: CompletionValues[]): unknown[] {
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

const byDueThenId = (a: Row, b: Row): number => num(a.due_at) - num(b.due_at) || num(a.id) - num(b.id);

/** The delivery side of PostgresStore, on its pool, plus the LISTEN connection for wake-ups. */
export class PostgresDeliveries implements DeliveryStore {
  private readonly listener: WakeListener;

  constructor(
    private readonly pool: Pool,
    listenConfig: ClientConfig,
    private readonly channel: string,
  ) {
    this.listener = new WakeListener(listenConfig, channel);
  }

  async close(): Promise<void> {
    await this.listener.close();
  }

  async publishMessages(messages: Message[], plan: PublishPlan): Promise<PublishOutcome> {
    if (messages.length === 0) return { stored: new Set(), claimed: [], leftover: false, backlogAdded: 0 };
    const { now, inlineFanout, claim } = plan;
    const col = <K extends keyof Message>(k: K) => messages.map((m) => m[k]);
    const max = claim?.max ?? 0;
    const [row] = await rows(this.pool, PUBLISH, [
      col('id'),
      col('tenancyId'),
      col('topicId'),
      col('title'),
      col('body'),
      col('messageType'),
      col('publishedAt'),
      inlineFanout,
      inlineFanout,
      inlineFanout,
      max,
      max,
      claim?.leaseUntil ?? now,
      now,
      max,
      claim?.owner ?? null,
      now,
      now,
      now,
      this.channel,
    ]);
    return {
      stored: new Set((row?.stored as string[] | undefined) ?? []),
      claimed: ((row?.claimed as Row[] | undefined) ?? []).map(toDelivery),
      leftover: row?.leftover === true,
      backlogAdded: num(row?.added ?? 0),
    };
  }

  async claimFanout(limit: number, now: number, leaseUntil: number, owner: string): Promise<Message[]> {
    checkLimit(limit);
    const claimed = await rows(this.pool, CLAIM_FANOUT, [now, limit, leaseUntil, owner]);
    return claimed.map(toMessage).sort((a, b) => a.publishedAt - b.publishedAt || (a.id < b.id ? -1 : 1));
  }

  async fanoutBatch(messageId: string, limit: number, now: number): Promise<{ created: number; done: boolean }> {
    checkLimit(limit);
    return transaction(this.pool, (c) => fanoutOne(c, messageId, limit, now));
  }

  async fanoutMany(messageIds: string[], limit: number, now: number): Promise<{ created: number; unfinished: string[] }> {
    checkLimit(limit);
    // One transaction (one commit) for the whole group instead of one per message.
    return transaction(this.pool, async (c) => {
      let created = 0;
      const unfinished: string[] = [];
      for (const id of messageIds) {
        const r = await fanoutOne(c, id, limit, now);
        created += r.created;
        if (!r.done) unfinished.push(id);
      }
      return { created, unfinished };
    });
  }

  async insertDeliveries(deliveries: NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const col = <K extends keyof NewDelivery>(k: K) => deliveries.map((d) => d[k]);
    await rows(this.pool, INSERT_DELIVERIES, [
      col('tenancyId'),
      col('topicId'),
      col('subscriptionId'),
      col('messageId'),
      col('kind'),
      col('protocol'),
      col('nextAttemptAt'),
      col('confirmationNonce'),
      col('createdAt'),
    ]);
  }

  async claimDeliveries(limit: number, now: number, leaseUntil: number, owner: string, excludeSubscriptionIds?: readonly string[]): Promise<ClaimedDelivery[]> {
    checkLimit(limit);
    const claimed =
      excludeSubscriptionIds === undefined || excludeSubscriptionIds.length === 0
        ? await rows(this.pool, CLAIM_DELIVERIES, [now, limit, owner, leaseUntil, now])
        : await rows(this.pool, CLAIM_DELIVERIES_EXCLUDING, [now, excludeSubscriptionIds, limit, owner, leaseUntil, now]);
    return claimed.sort(byDueThenId).map((r): ClaimedDelivery => Object.assign(toDelivery(r), { dueAt: num(r.due_at) }));
  }

  async releaseClaims(claims: readonly ReleasedClaim[], owner: string): Promise<number> {
    if (claims.length === 0) return 0;
    const sorted = [...claims].sort((a, b) => a.id - b.id);
    return transaction(this.pool, async (c) => {
      let released = 0;
      for (let i = 0; i < sorted.length; i += RELEASE_CHUNK) {
        const part = sorted.slice(i, i + RELEASE_CHUNK);
        const ids = part.map((x) => x.id);
        await execute(c, LOCK_DELIVERIES, [ids]);
        released += await execute(c, RELEASE_CLAIMS, [part.map((x) => x.dueAt), ids, ids, owner]);
      }
      return released;
    });
  }

  async completeAttempts(results: AttemptResult[], now: number): Promise<void> {
    if (results.length === 0) return;
    const values = results.map(completionValues);
    const shard = Math.floor(Math.random() * STATS_SHARDS);
    await transaction(this.pool, async (c) => {
      await rows(c, LOCK_DELIVERIES, [[...new Set(values.map((v) => v.deliveryId))]]);
      await rows(c, COMPLETE_ATTEMPTS, [...columns(values), now, now, shard]);
    });
  }

  async nextDueAt(excludeSubscriptionIds?: readonly string[], after?: number): Promise<number | null> {
    const row =
      (excludeSubscriptionIds === undefined || excludeSubscriptionIds.length === 0) && after === undefined
        ? await first(this.pool, SQL.nextDueAt)
        : (await rows(this.pool, NEXT_DUE_EXCLUDING, [after ?? Number.MIN_SAFE_INTEGER, excludeSubscriptionIds ?? []]))[0];
    const times = [row?.due, row?.fanout].filter((v) => v !== null && v !== undefined).map(num);
    return times.length === 0 ? null : Math.min(...times);
  }

  async getMessagesByIds(ids: string[]): Promise<Message[]> {
    return ids.length === 0 ? [] : (await rows(this.pool, byIdsSql('messages', inList), [ids])).map(toMessage);
  }

  async getSubscriptionsByIds(ids: string[]): Promise<Subscription[]> {
    return ids.length === 0 ? [] : (await rows(this.pool, byIdsSql('subscriptions', inList), [ids])).map(toSubscription);
  }

  async getTopicsByIds(ids: string[]): Promise<Topic[]> {
    return ids.length === 0 ? [] : (await rows(this.pool, byIdsSql('topics', inList), [ids])).map(toTopic);
  }

  async getMessageDeliveries(tenancyId: string, messageId: string): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }[]> {
    // One statement, one snapshot: two queries could show a DELIVERED state without its last attempt.
    const found = await rows(this.pool, MESSAGE_TRACE, [messageId, tenancyId]);
    return found.map((r) => ({ delivery: toDelivery(r), attempts: (r.attempt_rows as Row[]).map(toAttempt) }));
  }

  async listRecentMessages(tenancyId: string, topicId: string, limit: number): Promise<Message[]> {
    checkLimit(limit);
    return (await rows(this.pool, SQL.recentMessages, [topicId, tenancyId, limit])).map(toMessage);
  }

  async countRecentMessages(tenancyId: string, topicIds: string[], since: number): Promise<Record<string, number>> {
    if (topicIds.length === 0) return {};
    return recentCounts(topicIds, await rows(this.pool, countRecentMessagesSql(inList), [tenancyId, since, topicIds]));
  }

  async listDeadLetters(q: DeadLetterQuery): Promise<Page<Delivery>> {
    const { sql, params } = listDeadLettersSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toDelivery);
  }

  async redrive(q: RedriveQuery, now: number): Promise<number> {
    const query = redriveSql(q, now, inList);
    if (query === undefined) return 0;
    const params = q.deliveryIds === undefined ? query.params : [...query.params, q.deliveryIds];
    const n = await execute(this.pool, query.sql, params);
    // Every node may pick them up, not only the one that served the request.
    if (n > 0) await this.wake();
    return n;
  }

  async countDeliveries(): Promise<DeliveryCounts> {
    return toCounts(await first(this.pool, SQL.countDeliveries));
  }

  async insertMail(mail: Omit<MailRecord, 'id'>): Promise<MailRecord> {
    const row = await first(this.pool, SQL.insertMail, mailValues(mail));
    return { ...mail, headers: { ...mail.headers }, id: num(row?.id) };
  }

  async listMail(limit: number, to?: string): Promise<MailRecord[]> {
    checkLimit(limit);
    const found = to === undefined ? await rows(this.pool, SQL.listMail, [limit]) : await rows(this.pool, SQL.listMailTo, [to, limit]);
    return found.map(toMail);
  }

  async onWake(callback: () => void): Promise<() => Promise<void>> {
    return this.listener.subscribe(callback);
  }

  async wake(): Promise<void> {
    await rows(this.pool, WAKE_SQL, [this.channel]);
  }
}

async function fanoutOne(c: PoolClient, messageId: string, limit: number, now: number): Promise<{ created: number; done: boolean }> {
  // The row lock serialises batches of one message (two nodes around a lease expiry).
  const m = await first(c, `${SQL.fanoutMessage} FOR UPDATE`, [messageId]);
  if (m === undefined || num(m.fanout_state) !== 0) return { created: 0, done: true };
  const cursor = m.fanout_cursor === null ? '' : String(m.fanout_cursor);
  const topicId = String(m.topic_id);
  const scan = await first(c, SQL.fanoutScan, [topicId, cursor, limit]);
  const scanned = num(scan?.n ?? 0);
  const last = scanned > 0 ? String(scan?.last) : null;
  let created = 0;
  if (last !== null) {
    const params = [String(m.tenancy_id), messageId, now, now, now, now, topicId, cursor, last, num(m.published_at)];
    created = await execute(c, SQL.fanoutInsert, params);
  }
  const done = scanned < limit;
  await rows(c, SQL.fanoutAdvance, [last ?? m.fanout_cursor, done ? 1 : 0, messageId]);
  return { created, done };
}
