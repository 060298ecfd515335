import { randomUUID } from 'node:crypto';
import type { ClientConfig, Pool, PoolClient } from 'pg';
import type {
  AttemptResult,
  ClaimExclusions,
  Delivery,
  DeliveryAttempt,
  DeliveryCounts,
  DuePosition,
  DisabledSubscription,
  HealthPolicy,
  MailRecord,
  NewDelivery,
  PublishOutcome,
  PublishPlan,
  SettledClaim,
} from '../../core/deliveries.js';
import type { Message, Page, Subscription, Topic } from '../../core/models.js';
import type { RateTokenRequest } from '../../core/rate-bucket.js';
import { completionValues, mailValues, tenancyCountValues, toAttempt, toCounts, toDelivery, toMail, toTenancyCounts } from '../delivery-rows.js';
import {
  byIdsSql,
  checkLimit,
  countRecentMessagesSql,
  DELIVERY_SQL as SQL,
  listDeadLettersSql,
  redriveSql,
  releaseFanoutSql,
  STATS_SHARDS,
} from '../delivery-sql.js';
import { CLAIMED_WIDTH, claimedOf, inlineClaimedOf, type Lease } from '../claim-rows.js';
import { checkScan, walkEnd, walkNext, walkStart, walkWindow } from '../claim-walk.js';
import { num, str, toMessage, toTopic, type Row } from '../rows.js';
import { subscriptionOf } from '../subscription-rows.js';
import { countsByTopic, toPage } from '../sql.js';
import type { ActivityStore, DeadLetterQuery, RedriveQuery, TenancyCounts } from '../../core/ports/activity.js';
import type { ClaimedDelivery, DeliveryStore, ReleasedClaim, WalkedClaim } from '../../core/ports/deliveries.js';
import type { MailboxStore } from '../../core/ports/mailbox.js';
import type { PublishStore } from '../../core/ports/messages.js';
import { WakeListener } from './notifier.js';
import { applyHealth, settleClaims } from './postgres-delivery-control.js';
import {
  columns,
  HOT,
  inList,
  INSERT_DELIVERIES,
  MESSAGE_TRACE,
  messageArrays,
  RELEASE_CHUNK,
  WAKE_SQL,
} from './postgres-delivery-sql.js';
import { execute, first, rows, transaction, values } from './pg-query.js';

/** ClaimExclusions as the two array parameters of notExcludedSql, or undefined when it excludes nothing. */
function exclusionLists(exclude: ClaimExclusions | undefined): [readonly string[], readonly string[]] | undefined {
  if (exclude === undefined || (exclude.endpoints.length === 0 && exclude.subscriptions.length === 0)) return undefined;
  return [exclude.endpoints, exclude.subscriptions];
}

const RELEASE_FANOUT = releaseFanoutSql(inList);

/** A claim's rows (claimedColumns, then the due time it replaced) in due order. */
const toClaimed = (claimed: unknown[][], lease: Lease): ClaimedDelivery[] =>
  claimed.map((v) => claimedOf(v, lease, num(v[CLAIMED_WIDTH]))).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);

/** What a publish claimed ([INLINE_COLUMNS..., message_id] arrays), as deliveries of the group's messages. */
function publishClaimed(claimed: unknown[][], messages: Message[], lease: Lease): Delivery[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  return claimed.map((v) => {
    const m = byId.get(str(v[4]));
    if (m === undefined) throw new Error(`The publish claimed a delivery of message ${String(v[4])}, which is not in its group.`);
    return inlineClaimedOf(v, m, lease);
  });
}

/** The delivery side of PostgresStore, on its pool, plus the LISTEN connection for wake-ups. */
export class PostgresDeliveries implements DeliveryStore, PublishStore, ActivityStore, MailboxStore {
  private readonly listener: WakeListener;
  /**
   * The payload of this instance's publish NOTIFYs, which its own listener ignores: the publishing node's engine
   * is told in-process of the work it can take (PublishOutcome.leftover), and the rest (deliveries held back from
   * its full endpoints) is for the other nodes; hearing its own NOTIFY would have it look for work it just left.
   */
  private readonly origin = randomUUID();
  /**
   * Whether this store has had PostgreSQL ANALYZE the delivery tables. A new database has no statistics until
   * autovacuum's first pass (up to a minute after the first writes): without them the claim of due deliveries was
   * planned as a bitmap scan of every due row and an external sort, 22 ms per claim of 256 against 5 ms by the due
   * index, so a backlog in a new install's first minute drained at a fraction of the speed. It runs once, after the
   * first claim that found a full batch due (a backlog exists); autovacuum keeps the statistics from then on.
   */
  private analyzed = false;

  /**
   * @param pool the store's pool: publishes and everything a client is answered for wait for their commit's WAL flush.
   * @param bookkeeping a pool whose sessions run with `synchronous_commit = off`, for the engine's own writes (claims,
   *   fan-out steps, attempt results, releases, settlements, rate tokens). Their commits return before the WAL
   *   flush; a later durable commit (a publish) flushes them too, since the WAL is flushed in order, and the WAL
   *   writer does within 3 × `wal_writer_delay`. The database server's crash can lose the latest of them, which
   *   puts those deliveries back to be sent again (at least once); never an acknowledged message. A Herald crash
   *   loses nothing: the commit is done in the server. This is the contract SQLite's `NORMAL` bookkeeping has.
   */
  constructor(
    private readonly pool: Pool,
    private readonly bookkeeping: Pool,
    listenConfig: ClientConfig,
    private readonly channel: string,
  ) {
    this.listener = new WakeListener(listenConfig, channel, this.origin);
  }

  async close(): Promise<void> {
    await this.listener.close();
  }

  async publishMessages(messages: Message[], plan: PublishPlan): Promise<PublishOutcome> {
    if (messages.length === 0) return { stored: new Set(), claimed: [], leftover: false, backlogAdded: 0 };
    const { now, inlineFanout, claim } = plan;
    const max = claim?.max ?? 0;
    const exclude = exclusionLists(claim?.exclude) ?? [[], []];
    const [row] = await rows(this.pool, HOT.publish, [
      ...messageArrays(messages),
      inlineFanout,
      inlineFanout,
      ...exclude,
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
      ...exclude,
      this.channel,
      this.origin,
    ]);
    return {
      stored: new Set((row?.stored as string[] | undefined) ?? []),
      claimed: publishClaimed((row?.claimed as unknown[][] | undefined) ?? [], messages, { owner: claim?.owner ?? '', leaseUntil: claim?.leaseUntil ?? now, now }),
      leftover: row?.leftover === true,
      backlogAdded: num(row?.added ?? 0),
    };
  }

  async claimFanout(limit: number, now: number, leaseUntil: number, owner: string): Promise<Message[]> {
    checkLimit(limit);
    const claimed = await rows(this.bookkeeping, HOT.claimFanout, [now, limit, leaseUntil, owner]);
    return claimed.map(toMessage).sort((a, b) => a.publishedAt - b.publishedAt || (a.id < b.id ? -1 : 1));
  }

  async fanoutBatch(messageId: string, limit: number, now: number): Promise<{ created: number; done: boolean }> {
    checkLimit(limit);
    return transaction(this.bookkeeping, (c) => fanoutOne(c, messageId, limit, now));
  }

  async fanoutMany(messageIds: string[], limit: number, now: number): Promise<{ created: number; unfinished: string[] }> {
    checkLimit(limit);
    // One transaction (one commit) for the whole group instead of one per message.
    return transaction(this.bookkeeping, async (c) => {
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

  async releaseFanout(messageIds: string[], owner: string): Promise<void> {
    if (messageIds.length === 0) return;
    await rows(this.bookkeeping, RELEASE_FANOUT, [messageIds, owner]);
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

  async claimDeliveries(limit: number, now: number, leaseUntil: number, owner: string, exclude?: ClaimExclusions): Promise<ClaimedDelivery[]> {
    // Leaving anything out means walking past it: the same walk as a step's, unbounded and from the start.
    if (exclude !== undefined && exclusionLists(exclude) !== undefined) {
      return (await this.claimDeliveriesWalking(limit, now, leaseUntil, owner, exclude, null, Number.POSITIVE_INFINITY)).claimed;
    }
    checkLimit(limit);
    return this.claimedBatch(toClaimed(await values(this.bookkeeping, HOT.claim, [now, limit, owner, leaseUntil, now]), { owner, leaseUntil, now }), limit);
  }

  /** A claim's result; a full one means a backlog, so the planner should know the tables by now (see analyzed). */
  private claimedBatch(claimed: ClaimedDelivery[], limit: number): ClaimedDelivery[] {
    if (claimed.length === limit && !this.analyzed) {
      this.analyzed = true;
      // Statistics only steer plans: a failure changes no result, and autovacuum analyzes the tables in time anyway.
      execute(this.pool, 'ANALYZE deliveries, delivery_attempts, messages').catch(() => undefined);
    }
    return claimed;
  }

  async claimDeliveriesWalking(
    limit: number,
    now: number,
    leaseUntil: number,
    owner: string,
    exclude: ClaimExclusions,
    from: DuePosition | null,
    scan: number,
  ): Promise<WalkedClaim> {
    checkLimit(limit);
    checkScan(scan);
    const [endpoints, subscriptions] = exclusionLists(exclude) ?? [[], []];
    const { start, endParams } = walkStart(now, from, scan);
    // Two statements, no transaction: the step's end only bounds how far it walks.
    const end = endParams === undefined ? undefined : walkEnd(await first(this.pool, HOT.walkEnd, endParams));
    const claimed = toClaimed(
      await values(this.bookkeeping, HOT.claimWalking, [now, endpoints, subscriptions, ...walkWindow(now, start, end), limit, owner, leaseUntil, now]),
      { owner, leaseUntil, now },
    );
    return { claimed: this.claimedBatch(claimed, limit), next: walkNext(claimed, limit, end) };
  }

  async releaseClaims(claims: readonly ReleasedClaim[], owner: string): Promise<number> {
    if (claims.length === 0) return 0;
    const sorted = [...claims].sort((a, b) => a.id - b.id);
    return transaction(this.bookkeeping, async (c) => {
      let released = 0;
      for (let i = 0; i < sorted.length; i += RELEASE_CHUNK) {
        const part = sorted.slice(i, i + RELEASE_CHUNK);
        const ids = part.map((x) => x.id);
        await execute(c, HOT.lockDeliveries, [ids]);
        released += await execute(c, HOT.releaseClaims, [part.map((x) => x.dueAt), ids, ids, owner]);
      }
      return released;
    });
  }

  async completeAttempts(results: AttemptResult[], now: number, health?: HealthPolicy): Promise<DisabledSubscription[]> {
    if (results.length === 0) return [];
    const values = results.map(completionValues);
    const shard = Math.floor(Math.random() * STATS_SHARDS);
    return transaction(this.bookkeeping, async (c) => {
      await rows(c, HOT.lockDeliveries, [[...new Set(values.map((v) => v.deliveryId))]]);
      await rows(c, HOT.completeAttempts, [...columns(values), now, now, shard]);
      return health === undefined ? [] : applyHealth(c, results, now, health);
    });
  }

  async settleClaims(claims: readonly SettledClaim[], owner: string, now: number): Promise<void> {
    await settleClaims(this.bookkeeping, claims, owner, now);
  }

  async nextDueAt(exclude?: ClaimExclusions, after?: number): Promise<number | null> {
    const excluded = exclusionLists(exclude);
    const row =
      excluded === undefined && after === undefined
        ? await first(this.pool, HOT.nextDueAt)
        : (await rows(this.pool, HOT.nextDueExcluding, [after ?? Number.MIN_SAFE_INTEGER, ...(excluded ?? [[], []])]))[0];
    const times = [row?.due, row?.fanout].filter((v) => v !== null && v !== undefined).map(num);
    return times.length === 0 ? null : Math.min(...times);
  }

  async getMessagesByIds(ids: string[]): Promise<Message[]> {
    return ids.length === 0 ? [] : (await rows(this.pool, byIdsSql('messages', inList), [ids])).map(toMessage);
  }

  async getSubscriptionsByIds(ids: string[]): Promise<Subscription[]> {
    return ids.length === 0 ? [] : (await values(this.pool, HOT.subscriptionsByIds, [ids])).map(subscriptionOf);
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
    return countsByTopic(topicIds, await rows(this.pool, countRecentMessagesSql(inList), [tenancyId, since, topicIds]));
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

  async countBacklog(): Promise<number> {
    return num((await first(this.pool, SQL.countBacklog))?.backlog ?? 0);
  }

  async takeRateTokens(requests: readonly RateTokenRequest[], now: number): Promise<number[]> {
    if (requests.length === 0) return [];
    const ids = requests.map((r) => r.subscriptionId);
    // One statement cannot upsert a row twice.
    if (new Set(ids).size !== ids.length) throw new Error('takeRateTokens takes one request per subscription');
    const wants = requests.map((r) => Math.max(0, Math.min(r.want, r.perSecond)));
    const taken = await rows(this.bookkeeping, HOT.takeRateTokens, [ids, requests.map((r) => r.perSecond), wants, now]);
    const granted = new Map(taken.map((r) => [String(r.subscription_id), num(r.granted)]));
    return ids.map((id) => granted.get(id) ?? 0);
  }

  async countTenancy(tenancyId: string, publishedSince: number): Promise<TenancyCounts> {
    return toTenancyCounts(await first(this.pool, SQL.countTenancy, tenancyCountValues(tenancyId, publishedSince)));
  }

  async insertMail(mail: Omit<MailRecord, 'id'>): Promise<MailRecord> {
    const row = await first(this.pool, SQL.insertMail, mailValues(mail));
    return { ...mail, headers: { ...mail.headers }, id: num(row?.id) };
  }

  async listMail(tenancyId: string, limit: number, to?: string): Promise<MailRecord[]> {
    checkLimit(limit);
    const found = to === undefined ? await rows(this.pool, SQL.listMail, [tenancyId, limit]) : await rows(this.pool, SQL.listMailTo, [tenancyId, to, limit]);
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
