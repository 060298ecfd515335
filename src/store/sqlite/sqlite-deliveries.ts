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
  SettledClaim,
} from '../../core/deliveries.js';
import type { Message, Page, Subscription, Topic } from '../../core/models.js';
import { MemoryRateBuckets, type RateTokenRequest } from '../../core/rate-bucket.js';
import { completionValues, mailValues, newDeliveryValues, tenancyCountValues, toAttempt, toCounts, toDelivery, toMail, toTenancyCounts } from '../delivery-rows.js';
import {
  byIdsSql,
  checkLimit,
  countRecentMessagesSql,
  DELIVERY_SQL as SQL,
  listDeadLettersSql,
  redriveSql,
  releaseFanoutSql,
} from '../delivery-sql.js';
import { checkScan, WALK_END, walkEnd, walkNext, walkStart, walkWindow } from '../claim-walk.js';
import { num, toMessage, toTopic, type Row, type SqlValue } from '../rows.js';
import { subscriptionOf, subscriptionsByIdsSql } from '../subscription-rows.js';
import { countsByTopic, toPage } from '../sql.js';
import type { SqliteDb } from './sqlite-db.js';
import { CLAIM_DELIVERIES, CLAIM_FANOUT, DUE_IDS, DUE_IDS_WALKING, exclusionLists, inList, INSERT_ATTEMPT, LAST_ATTEMPT_NO, NEXT_DUE_EXCLUDING, RELEASE_CLAIM } from './sqlite-delivery-sql.js';
import { applyHealth, settleClaims } from './sqlite-delivery-control.js';
import { claimedOf, idOf, type Lease } from '../claim-rows.js';
import type { BackgroundReads } from './checkpointer.js';
import type { ActivityStore, DeadLetterQuery, RedriveQuery, TenancyCounts } from '../../core/ports/activity.js';
import type { ClaimedDelivery, DeliveryStore, ReleasedClaim, WalkedClaim } from '../../core/ports/deliveries.js';
import type { MailboxStore } from '../../core/ports/mailbox.js';

const SUBSCRIPTIONS_BY_IDS = subscriptionsByIdsSql(inList);
const RELEASE_FANOUT = releaseFanoutSql(inList);

/**
 * The delivery side of SqliteStore, on the same connection (publishing is SqlitePublishing's). better-sqlite3 is
 * synchronous and SQLite has one writer, so claims need no locking beyond the
 * IMMEDIATE transaction.
 */
export class SqliteDeliveries implements DeliveryStore, ActivityStore, MailboxStore {
  private readonly wakeListeners = new Set<{ callback: () => void }>();
  /** SQLite has one node, so its rate-limit buckets need no sharing: memory holds them. */
  private readonly rateBuckets = new MemoryRateBuckets();

  constructor(
    private readonly sql: SqliteDb,
    /** Where reads of large tables are made instead of this connection, when there is such a thread. */
    private readonly background?: BackgroundReads,
  ) {}

  async claimFanout(limit: number, now: number, leaseUntil: number, owner: string): Promise<Message[]> {
    await this.sql.pass();
    checkLimit(limit);
    const rows = this.sql.relaxedTx(() => this.sql.all(CLAIM_FANOUT, leaseUntil, owner, now, limit));
    return rows.map(toMessage).sort((a, b) => a.publishedAt - b.publishedAt || (a.id < b.id ? -1 : 1));
  }

  async fanoutBatch(messageId: string, limit: number, now: number): Promise<{ created: number; done: boolean }> {
    await this.sql.pass();
    checkLimit(limit);
    return this.sql.relaxedTx(() => this.fanoutOne(messageId, limit, now));
  }

  async fanoutMany(messageIds: string[], limit: number, now: number): Promise<{ created: number; unfinished: string[] }> {
    await this.sql.pass();
    checkLimit(limit);
    // One transaction (one fsync) for the whole group instead of one per message.
    return this.sql.relaxedTx(() => {
      let created = 0;
      const unfinished: string[] = [];
      for (const id of messageIds) {
        const r = this.fanoutOne(id, limit, now);
        created += r.created;
        if (!r.done) unfinished.push(id);
      }
      return { created, unfinished };
    });
  }

  private fanoutOne(messageId: string, limit: number, now: number): { created: number; done: boolean } {
    const m = this.sql.get(SQL.fanoutMessage, messageId);
    if (m === undefined || num(m.fanout_state) !== 0) return { created: 0, done: true };
    const cursor = m.fanout_cursor === null ? '' : String(m.fanout_cursor);
    const topicId = String(m.topic_id);
    const scan = this.sql.get(SQL.fanoutScan, topicId, cursor, limit);
    const scanned = num(scan?.n ?? 0);
    const last = scanned > 0 ? String(scan?.last) : null;
    let created = 0;
    if (last !== null) {
      const tenancyId = String(m.tenancy_id);
      const publishedAt = num(m.published_at);
      created = this.sql.run(SQL.fanoutInsert, tenancyId, messageId, now, now, now, now, topicId, cursor, last, publishedAt);
    }
    const done = scanned < limit;
    this.sql.run(SQL.fanoutAdvance, last ?? (m.fanout_cursor as string | null), done ? 1 : 0, messageId);
    return { created, done };
  }

  async releaseFanout(messageIds: string[], owner: string): Promise<void> {
    await this.sql.pass();
    if (messageIds.length === 0) return;
    this.sql.relaxedTx(() => this.sql.run(RELEASE_FANOUT, JSON.stringify(messageIds), owner));
  }

  async insertDeliveries(deliveries: NewDelivery[]): Promise<void> {
    await this.sql.pass();
    if (deliveries.length === 0) return;
    this.sql.tx(() => {
      for (const d of deliveries) this.sql.run(SQL.insertDelivery, ...newDeliveryValues(d), d.createdAt, d.createdAt);
    });
  }

  async claimDeliveries(limit: number, now: number, leaseUntil: number, owner: string, exclude?: ClaimExclusions): Promise<ClaimedDelivery[]> {
    // Leaving anything out means walking past it: the same walk as a step's, unbounded and from the start.
    if (exclude !== undefined && exclusionLists(exclude) !== undefined) {
      return (await this.claimDeliveriesWalking(limit, now, leaseUntil, owner, exclude, null, Number.POSITIVE_INFINITY)).claimed;
    }
    await this.sql.pass();
    checkLimit(limit);
    return this.sql.relaxedTx(() => this.claimDue(this.sql.values(DUE_IDS, now, limit), { owner, leaseUntil, now }));
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
    await this.sql.pass();
    checkLimit(limit);
    checkScan(scan);
    const [endpoints, subscriptions] = exclusionLists(exclude) ?? ['[]', '[]'];
    const { start, endParams } = walkStart(now, from, scan);
    return this.sql.relaxedTx(() => {
      const end = endParams === undefined ? undefined : walkEnd(this.sql.get(WALK_END, ...endParams));
      const due = this.sql.values(DUE_IDS_WALKING, now, endpoints, subscriptions, ...walkWindow(now, start, end), limit);
      const claimed = this.claimDue(due, { owner, leaseUntil, now });
      return { claimed, next: walkNext(claimed, limit, end) };
    });
  }

  /** Claims the due rows ([id, next_attempt_at]) a walk found, in their order; inside the caller's transaction. */
  private claimDue(due: unknown[][], lease: Lease): ClaimedDelivery[] {
    if (due.length === 0) return [];
    const ids = due.map(idOf);
    const order = new Map(ids.map((id, i) => [id, i]));
    const rows = this.sql.values(CLAIM_DELIVERIES, lease.owner, lease.leaseUntil, lease.now, JSON.stringify(ids));
    const claimed = rows.map((r) => claimedOf(r, lease, num(due[order.get(idOf(r)) ?? 0]?.[1])));
    return claimed.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }

  async releaseClaims(claims: readonly ReleasedClaim[], owner: string): Promise<number> {
    await this.sql.pass();
    if (claims.length === 0) return 0;
    return this.sql.relaxedTx(() => {
      let released = 0;
      for (const c of claims) released += this.sql.run(RELEASE_CLAIM, c.dueAt, c.id, owner);
      return released;
    });
  }

  async completeAttempts(results: AttemptResult[], now: number, health?: HealthPolicy): Promise<DisabledSubscription[]> {
    await this.sql.pass();
    if (results.length === 0) return [];
    const values = results.map(completionValues);
    return this.sql.relaxedTx(() => {
      let delivered = 0;
      for (const v of values) {
        const row = [v.startedAt, v.durationMs, v.outcome, v.statusCode, v.reply, v.error, v.responseExcerpt, v.node, v.deliveryId];
        if (this.sql.run(INSERT_ATTEMPT, v.attemptNo, ...row) === 0) {
          // Its number was taken (or the delivery is unknown, and this inserts nothing either): after the last one.
          const last = this.sql.get(LAST_ATTEMPT_NO, v.deliveryId)?.n;
          if (last !== null && last !== undefined) this.sql.run(INSERT_ATTEMPT, Math.max(v.attemptNo, num(last) + 1), ...row);
        }
        const deliveredAt = v.nextState === 'DELIVERED' ? now : null;
        const applied = this.sql.run(
          SQL.applyTransition,
          v.nextState,
          v.nextAttemptAt,
          deliveredAt,
          v.error,
          v.lastStatus,
          now,
          v.deliveryId,
          v.leaseOwner,
        );
        if (applied > 0 && v.nextState === 'DELIVERED') delivered++;
      }
      if (delivered > 0) this.sql.run(SQL.addDelivered, 0, delivered);
      return health === undefined ? [] : applyHealth(this.sql, results, now, health);
    });
  }

  async settleClaims(claims: readonly SettledClaim[], owner: string, now: number): Promise<void> {
    if (claims.length === 0) return;
    await this.sql.pass();
    this.sql.relaxedTx(() => settleClaims(this.sql, claims, owner, now));
  }

  async nextDueAt(exclude?: ClaimExclusions, after?: number): Promise<number | null> {
    const excluded = exclusionLists(exclude);
    const row =
      excluded === undefined && after === undefined
        ? this.sql.get(SQL.nextDueAt)
        : this.sql.get(NEXT_DUE_EXCLUDING, after ?? Number.MIN_SAFE_INTEGER, ...(excluded ?? ['[]', '[]']));
    const times = [row?.due, row?.fanout].filter((v) => v !== null && v !== undefined).map(num);
    return times.length === 0 ? null : Math.min(...times);
  }

  async getMessagesByIds(ids: string[]): Promise<Message[]> {
    return ids.length === 0 ? [] : this.sql.all(byIdsSql('messages', inList), JSON.stringify(ids)).map(toMessage);
  }

  async getSubscriptionsByIds(ids: string[]): Promise<Subscription[]> {
    return ids.length === 0 ? [] : this.sql.values(SUBSCRIPTIONS_BY_IDS, JSON.stringify(ids)).map(subscriptionOf);
  }

  async getTopicsByIds(ids: string[]): Promise<Topic[]> {
    return ids.length === 0 ? [] : this.sql.all(byIdsSql('topics', inList), JSON.stringify(ids)).map(toTopic);
  }

  async getMessageDeliveries(tenancyId: string, messageId: string): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }[]> {
    // A read transaction: the attempts belong to the same snapshot as the deliveries.
    return this.sql.readTx(() => {
      const out = this.sql.all(SQL.messageDeliveries, messageId, tenancyId).map((r) => ({
        delivery: toDelivery(r),
        attempts: [] as DeliveryAttempt[],
      }));
      const byId = new Map(out.map((x) => [x.delivery.id, x.attempts]));
      for (const r of this.sql.all(SQL.messageAttempts, messageId, tenancyId)) byId.get(num(r.delivery_id))?.push(toAttempt(r));
      return out;
    });
  }

  async listRecentMessages(tenancyId: string, topicId: string, limit: number): Promise<Message[]> {
    checkLimit(limit);
    return this.sql.all(SQL.recentMessages, topicId, tenancyId, limit).map(toMessage);
  }

  async countRecentMessages(tenancyId: string, topicIds: string[], since: number): Promise<Record<string, number>> {
    if (topicIds.length === 0) return {};
    return countsByTopic(topicIds, this.sql.all(countRecentMessagesSql(inList), tenancyId, since, JSON.stringify(topicIds)));
  }

  async listDeadLetters(q: DeadLetterQuery): Promise<Page<Delivery>> {
    const { sql, params } = listDeadLettersSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toDelivery);
  }

  async redrive(q: RedriveQuery, now: number): Promise<number> {
    await this.sql.pass();
    const query = redriveSql(q, now, inList);
    if (query === undefined) return 0;
    const params = q.deliveryIds === undefined ? query.params : [...query.params, JSON.stringify(q.deliveryIds)];
    return this.sql.run(query.sql, ...params);
  }

  async countDeliveries(): Promise<DeliveryCounts> {
    return toCounts(await this.count(SQL.countDeliveries));
  }

  async countBacklog(): Promise<number> {
    return num((await this.count(SQL.countBacklog))?.backlog ?? 0);
  }

  async takeRateTokens(requests: readonly RateTokenRequest[], now: number): Promise<number[]> {
    return this.rateBuckets.take(requests, now);
  }

  async countTenancy(tenancyId: string, publishedSince: number): Promise<TenancyCounts> {
    return toTenancyCounts(await this.count(SQL.countTenancy, ...tenancyCountValues(tenancyId, publishedSince)));
  }

  /**
   * A count that walks every due delivery (or a tenancy's): 10-30 ms of the event loop at 200,000, the default
   * backlog limit, and the backlog is read every half second, just when it is large. Made on the checkpoint thread's
   * connection when there is one; here if that thread has stopped.
   */
  private async count(sql: string, ...params: SqlValue[]): Promise<Row | undefined> {
    if (this.background?.open === true) {
      try {
        return await this.background.read(sql, params);
      } catch (err) {
        if (this.background.open) throw err;
      }
    }
    return this.sql.get(sql, ...params);
  }

  async insertMail(mail: Omit<MailRecord, 'id'>): Promise<MailRecord> {
    await this.sql.pass();
    const row = this.sql.get(SQL.insertMail, ...mailValues(mail));
    return { ...mail, headers: { ...mail.headers }, id: num(row?.id) };
  }

  async listMail(tenancyId: string, limit: number, to?: string): Promise<MailRecord[]> {
    checkLimit(limit);
    const rows = to === undefined ? this.sql.all(SQL.listMail, tenancyId, limit) : this.sql.all(SQL.listMailTo, tenancyId, to, limit);
    return rows.map(toMail);
  }

  /** One node per SQLite file: wake-ups stay in this process. */
  async onWake(callback: () => void): Promise<() => Promise<void>> {
    const entry = { callback };
    this.wakeListeners.add(entry);
    return async () => {
      this.wakeListeners.delete(entry);
    };
  }

  async wake(): Promise<void> {
    for (const { callback } of [...this.wakeListeners]) {
      try {
        callback();
      } catch {
        // A wake-up is a hint; one listener's failure must not keep it from the others.
      }
    }
  }
}
