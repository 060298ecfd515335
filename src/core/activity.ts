/**
 * Herald's views of what happened to messages: the per-message trace, dead letters
 * and their re-drive, a topic's recent messages and counts, the dev mailbox and the
 * webhook signing secret. Each is authorized like the OCI call it extends: reading
 * what was delivered for a topic is reading the topic, re-driving is publishing.
 */
import type { Delivery, DeliveryAttempt, MailRecord } from './deliveries.js';
import { InvalidParameterError, NotAuthorizedOrNotFoundError, NotFoundError } from './errors.js';
import type { Authorizer } from './iam/authorizer.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';
import type { SubscriptionLinks } from './links.js';
import type { Message, Page, Subscription, Topic } from './models.js';
import { checkSubscriptionId, type SubscriptionService } from './subscriptions.js';
import { checkTopicId, type TopicService } from './topics.js';
import type { TenancyCounts } from './ports/activity.js';
import type { Ports } from './ports/index.js';
import { addCounts, emptyCounts, latencyQuantile, rangeWindow, type StatsRange } from './stats.js';

/** The window of topicStats' recentMessages. */
export const RECENT_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How many topics one topicStats call may ask about. */
export const MAX_STATS_TOPICS = 100;

export interface MessageTrace {
  message: Message;
  deliveries: { delivery: Delivery; attempts: DeliveryAttempt[]; endpoint: string | null }[];
}

export interface DeliveryScope {
  topicId?: string;
  subscriptionId?: string;
}

/** How many topics the console's stats list. */
export const MAX_HEALTH_TOPICS = 50;

export interface StatsPoint {
  /** Bucket start, epoch ms. */
  t: number;
  published: number;
  delivered: number;
  failedAttempts: number;
  deadLetters: number;
  confirmations: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface TopicHealth {
  topicId: string;
  name: string;
  published: number;
  delivered: number;
  failedAttempts: number;
  /** delivered ÷ (delivered + dead letters) over the range; null when neither. */
  successRate: number | null;
  backlog: number;
  oldestPendingAt: number | null;
}

/** The console's stored history of one tenancy: every bucket of the range, oldest first, and its busiest topics. */
export interface TenancyStats {
  range: StatsRange;
  bucketSeconds: number;
  from: number;
  /** End of the last bucket (exclusive): the points cover [from, to). */
  to: number;
  points: StatsPoint[];
  topics: TopicHealth[];
}

type ActivityPorts = Pick<Ports, 'messages' | 'activity' | 'mailbox' | 'subscriptions' | 'stats'>;

export class ActivityService {
  constructor(
    private readonly store: ActivityPorts,
    private readonly topics: TopicService,
    private readonly subscriptions: SubscriptionService,
    private readonly links: SubscriptionLinks,
    private readonly authz: Authorizer,
    private readonly now: () => number = Date.now,
  ) {}

  /** A message with every delivery and attempt; needs read on its topic's compartment. */
  async trace(caller: Principal, messageId: string): Promise<MessageTrace> {
    const message = await this.store.messages.getMessage(caller.tenancyId, messageId);
    if (message === undefined) throw new NotFoundError('Message', messageId);
    // The topic may be DELETED by now; its compartment still decides who reads its history.
    const [topic] = await this.store.activity.getTopicsByIds([message.topicId]);
    await this.authz.require(caller, 'GetMessageTrace', topic?.compartmentId ?? caller.tenancyId, { refusal: () => new NotFoundError('Message', messageId) });
    const rows = await this.store.activity.getMessageDeliveries(caller.tenancyId, message.id);
    const subs = new Map((await this.store.activity.getSubscriptionsByIds([...new Set(rows.map((r) => r.delivery.subscriptionId))])).map((s) => [s.id, s]));
    return { message, deliveries: rows.map((r) => ({ ...r, endpoint: subs.get(r.delivery.subscriptionId)?.endpoint ?? null })) };
  }

  async deadLetters(caller: Principal, scope: DeliveryScope, page: { offset: number; limit: number }): Promise<Page<Delivery>> {
    const q = await this.scoped(caller, 'ListDeadLetters', scope);
    return this.store.activity.listDeadLetters({ tenancyId: caller.tenancyId, ...q, ...page });
  }

  /** Re-drives dead letters; naming neither topic nor subscription (only delivery ids) needs the right tenancy-wide. */
  async redrive(caller: Principal, scope: DeliveryScope & { deliveryIds?: number[] }): Promise<number> {
    const q = await this.scoped(caller, 'RedriveDeadLetters', scope);
    return this.store.activity.redrive({ tenancyId: caller.tenancyId, deliveryIds: scope.deliveryIds, ...q }, this.now());
  }

  async recentMessages(caller: Principal, topicId: string, limit: number): Promise<Message[]> {
    const topic = await this.topics.authorized(caller, 'ListRecentMessages', topicId);
    return this.store.activity.listRecentMessages(caller.tenancyId, topic.id, limit);
  }

  /**
   * Per topic: live subscriptions and messages of the last 24 hours. Topics the caller may
   * not inspect, or that are not theirs, count 0 like empty ones: nothing says they exist.
   */
  async topicStats(caller: Principal, topicIds: string[]): Promise<Record<string, { subscriptions: number; recentMessages: number }>> {
    if (topicIds.length > MAX_STATS_TOPICS) throw new InvalidParameterError(`At most ${MAX_STATS_TOPICS} topicId values.`);
    for (const id of topicIds) checkTopicId(id);
    const topics = (await this.store.activity.getTopicsByIds(topicIds)).filter((t) => t.tenancyId === caller.tenancyId && t.lifecycleState !== 'DELETED');
    const allowed = await this.authz.filterAllowed(caller, 'ListTopicActivity', topics.map((t) => t.compartmentId));
    const visible = topics.filter((t) => allowed.has(t.compartmentId)).map((t) => t.id);
    const recent = await this.store.activity.countRecentMessages(caller.tenancyId, visible, this.now() - RECENT_WINDOW_MS);
    const out: Record<string, { subscriptions: number; recentMessages: number }> = {};
    for (const topicId of topicIds) out[topicId] = { subscriptions: 0, recentMessages: 0 };
    const subscriptions = await this.store.subscriptions.countSubscriptionsByTopic(caller.tenancyId, visible);
    for (const topicId of visible) out[topicId] = { subscriptions: subscriptions[topicId] ?? 0, recentMessages: recent[topicId] ?? 0 };
    return out;
  }

  /**
   * The console overview's counts, for the caller's tenancy only; tenancy-wide figures, so they need
   * inspect ons-topics in the tenancy (a person with narrower rights sees no counts of what they cannot list).
   */
  async overview(caller: Principal, publishedSince: number): Promise<TenancyCounts> {
    await this.authz.require(caller, 'ListTopicActivity', caller.tenancyId);
    return this.store.activity.countTenancy(caller.tenancyId, publishedSince);
  }

  /**
   * The console's history from the stored per-minute counters, tenancy-wide like the overview (and authorized
   * like it). The topic list names live topics only; the points count deleted topics' past traffic too.
   */
  async stats(caller: Principal, range: StatsRange): Promise<TenancyStats> {
    await this.authz.require(caller, 'ListTopicActivity', caller.tenancyId);
    const w = rangeWindow(range, this.now());
    const [buckets, rows] = await Promise.all([
      this.store.stats.statsByBucket(caller.tenancyId, w.from, w.to, w.bucketMs),
      this.store.stats.topicActivity(caller.tenancyId, w.from, w.to, MAX_HEALTH_TOPICS),
    ]);
    const byStart = new Map(buckets.map((b) => [b.start, b]));
    const points: StatsPoint[] = [];
    for (let i = 0; i < w.buckets; i++) {
      const t = w.from + i * w.bucketMs;
      const c = emptyCounts();
      const hit = byStart.get(t);
      if (hit !== undefined) addCounts(c, hit);
      const { published, delivered, failedAttempts, deadLetters, confirmations } = c;
      points.push({ t, published, delivered, failedAttempts, deadLetters, confirmations, p50Ms: latencyQuantile(c.latency, 0.5), p99Ms: latencyQuantile(c.latency, 0.99) });
    }
    // Rights held in the tenancy hold in every compartment below it; the filter stays so a narrower rule never leaks.
    const allowed = await this.authz.filterAllowed(caller, 'ListTopicActivity', rows.map((r) => r.compartmentId));
    const topics = rows
      .filter((r) => allowed.has(r.compartmentId))
      .map((r): TopicHealth => ({
        topicId: r.topicId,
        name: r.name,
        published: r.published,
        delivered: r.delivered,
        failedAttempts: r.failedAttempts,
        successRate: r.delivered + r.deadLetters === 0 ? null : r.delivered / (r.delivered + r.deadLetters),
        backlog: r.backlog,
        oldestPendingAt: r.oldestPendingAt,
      }));
    return { range, bucketSeconds: w.bucketMs / 1000, from: w.from, to: w.to, points, topics };
  }

  /** The tenancy's captured mail, only that sent for topics the caller may read. */
  async mailbox(caller: Principal, limit: number, to?: string): Promise<MailRecord[]> {
    const mails = await this.store.mailbox.listMail(caller.tenancyId, limit, to);
    const topics = await this.store.activity.getTopicsByIds([...new Set(mails.map((m) => m.topicId))]);
    const home = new Map(topics.filter((t) => t.tenancyId === caller.tenancyId).map((t) => [t.id, t.compartmentId]));
    const allowed = await this.authz.filterAllowed(caller, 'ReadMailbox', [...home.values()]);
    return mails.filter((m) => {
      const compartmentId = home.get(m.topicId);
      return compartmentId !== undefined && allowed.has(compartmentId);
    });
  }

  async signingSecret(caller: Principal, subscriptionId: string): Promise<{ subscription: Subscription; secret: string }> {
    const sub = await this.subscriptions.authorized(caller, 'GetSigningSecret', subscriptionId);
    if (sub.lifecycleState === 'DELETED') throw new NotFoundError('Subscription', sub.id);
    return { subscription: sub, secret: this.links.signingSecret(sub.id) };
  }

  /** Authorizes `op` on what the scope names: a topic, a subscription (on its topic), or else the whole tenancy. */
  private async scoped(caller: Principal, op: OperationName, scope: DeliveryScope): Promise<DeliveryScope> {
    let topic: Topic | undefined;
    if (scope.subscriptionId !== undefined) {
      checkSubscriptionId(scope.subscriptionId);
      const sub = await this.subscriptions.authorized(caller, 'GetSubscription', scope.subscriptionId);
      [topic] = await this.store.activity.getTopicsByIds([sub.topicId]);
    }
    if (scope.topicId !== undefined) {
      checkTopicId(scope.topicId);
      const [named] = await this.store.activity.getTopicsByIds([scope.topicId]);
      if (named === undefined || named.tenancyId !== caller.tenancyId) throw new NotFoundError('Topic', scope.topicId);
      topic = named;
    }
    const where = topic?.compartmentId ?? caller.tenancyId;
    await this.authz.require(caller, op, where, {
      refusal: () => (topic === undefined ? new NotAuthorizedOrNotFoundError() : new NotFoundError('Topic', topic.id)),
    });
    return { topicId: scope.topicId, subscriptionId: scope.subscriptionId };
  }
}
