/**
 * Herald's delivery controls, beyond what OCI Notifications offers: filter policies, endpoint
 * health (and enabling a disabled subscription), replay of retained messages, and rate limits.
 * Reads need GetSubscription, changes UpdateSubscription, on the subscription's compartment.
 */
import { ConflictError, IncorrectStateError, InvalidParameterError } from './errors.js';
import { matchesFilterPolicy, parseFilterPolicy, parseMessageBody, type CompiledFilterPolicy } from './filter-policy/index.js';
import { healthState, type HealthState } from './endpoint-health.js';
import type { LastFailure, Page, Subscription } from './models.js';
import { redactEndpoint, type OperationsEvents } from './operations-events.js';
import type { Ports } from './ports/index.js';
import type { Principal } from './iam/principal.js';
import type { SubscriptionService } from './subscriptions.js';

/** Most deliveries per second a rate limit may allow (per subscription). */
export const MAX_RATE_LIMIT = 10_000;
/** Messages replayed per transaction: a long window must not hold SQLite's writer for long. */
const REPLAY_PAGE = 500;

/** Told when a subscription's controls change, so deliveries follow at once (the delivery engine). */
export interface SubscriptionWatcher {
  subscriptionChanged(subscriptionId: string): void;
}

export interface SubscriptionHealth {
  state: HealthState;
  /** Since when the state holds: disabledAt, or failingSince, or null when healthy. */
  since: number | null;
  failingSince: number | null;
  disabledAt: number | null;
  consecutiveFailures: number;
  lastFailure: LastFailure | null;
  heldDeliveries: number;
  /** The disable-after window in force, in milliseconds. */
  disableAfterMs: number;
}

export interface DeliveryControlOptions {
  disableAfterMs: number;
  /** Replay reaches no further back than this (what retention keeps). */
  messageRetentionMs: number;
  now?: () => number;
}

export class DeliveryControlService {
  private readonly replaying = new Set<string>();
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<Ports, 'deliveryControl'>,
    private readonly subscriptions: SubscriptionService,
    private readonly watcher: SubscriptionWatcher,
    private readonly events: OperationsEvents,
    private readonly opts: DeliveryControlOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async getFilterPolicy(caller: Principal, id: string): Promise<unknown> {
    const sub = await this.subscriptions.authorized(caller, 'GetSubscription', id);
    return sub.filterPolicy === null ? null : JSON.parse(sub.filterPolicy);
  }

  /** Validates the policy (SNS's language and limits) and applies it to deliveries from now on. */
  async setFilterPolicy(caller: Principal, id: string, policy: unknown, ifMatch?: string): Promise<Subscription> {
    if (policy === undefined || policy === null) throw new InvalidParameterError('filterPolicy is required (DELETE removes a policy).');
    const text = JSON.stringify(policy);
    // Checked as the text that is stored: SNS's size limit is on the JSON.
    parseFilterPolicy(text);
    return this.changed(await this.subscriptions.updateControls(caller, id, { filterPolicy: text }, ifMatch));
  }

  async deleteFilterPolicy(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    this.changed(await this.subscriptions.updateControls(caller, id, { filterPolicy: null }, ifMatch));
  }

  /** Whether a sample message body would pass a policy (the console's "test" box); nothing is stored. */
  testFilterPolicy(policy: unknown, message: unknown): boolean {
    if (typeof message !== 'string') throw new InvalidParameterError('message must be a string: the message body to test.');
    if (policy === undefined || policy === null) throw new InvalidParameterError('filterPolicy is required.');
    // Checked as setFilterPolicy checks it, the size of its JSON text included.
    return matchesFilterPolicy(parseFilterPolicy(JSON.stringify(policy)), parseMessageBody(message));
  }

  async getRateLimit(caller: Principal, id: string): Promise<number | null> {
    return (await this.subscriptions.authorized(caller, 'GetSubscription', id)).rateLimitPerSecond;
  }

  async setRateLimit(caller: Principal, id: string, perSecond: unknown, ifMatch?: string): Promise<Subscription> {
    if (typeof perSecond !== 'number' || !Number.isInteger(perSecond) || perSecond < 1 || perSecond > MAX_RATE_LIMIT) {
      throw new InvalidParameterError(`perSecond must be a whole number of deliveries per second from 1 to ${MAX_RATE_LIMIT}.`);
    }
    return this.changed(await this.subscriptions.updateControls(caller, id, { rateLimitPerSecond: perSecond }, ifMatch));
  }

  async deleteRateLimit(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    this.changed(await this.subscriptions.updateControls(caller, id, { rateLimitPerSecond: null }, ifMatch));
  }

  async health(caller: Principal, id: string): Promise<SubscriptionHealth> {
    return this.healthOf(await this.subscriptions.authorized(caller, 'GetSubscription', id));
  }

  /** The health state of each subscription of a topic, a page at a time (the console's badges): listing needs ListSubscriptions. */
  async topicHealth(caller: Principal, topicId: string, page: { offset: number; limit: number }): Promise<Page<Subscription>> {
    return this.subscriptions.list(caller, { topicId, ...page });
  }

  /**
   * Enables a disabled subscription: its failure record is cleared and its held deliveries go out,
   * oldest first. Enabling one that is not disabled changes nothing and answers its health.
   */
  async enable(caller: Principal, id: string): Promise<SubscriptionHealth> {
    const sub = await this.subscriptions.authorized(caller, 'UpdateSubscription', id);
    if (sub.lifecycleState === 'DELETED') throw new IncorrectStateError(`Subscription ${id} is DELETED.`);
    const { wasDisabled, released } = await this.store.deliveryControl.enableSubscription(sub.tenancyId, id, this.now());
    this.watcher.subscriptionChanged(id);
    if (wasDisabled) {
      await this.events.publish(sub.tenancyId, {
        type: 'subscription.enabled',
        time: new Date(this.now()).toISOString(),
        subscriptionId: id,
        topicId: sub.topicId,
        protocol: sub.protocol,
        endpoint: redactEndpoint(sub.endpoint),
        failingSince: sub.health.failingSince === null ? null : new Date(sub.health.failingSince).toISOString(),
        consecutiveFailures: sub.health.consecutiveFailures,
        lastError: sub.health.lastFailure?.error ?? null,
        lastStatusCode: sub.health.lastFailure?.statusCode ?? null,
        deliveries: released,
        reason: 'enabled-by-request',
      });
    }
    return this.healthOf(await this.subscriptions.authorized(caller, 'GetSubscription', id));
  }

  /**
   * Delivers again every retained message published to the subscription's topic in [since, until)
   * (until defaults to now) that its current filter policy passes, keeping their message ids. Only
   * messages published since the subscription became active; one with a delivery still to make is
   * skipped. Held when the subscription is disabled. One replay per subscription at a time (per node).
   */
  async replay(caller: Principal, id: string, input: { since?: unknown; until?: unknown }): Promise<{ replayed: number }> {
    const sub = await this.subscriptions.authorized(caller, 'UpdateSubscription', id);
    if (sub.lifecycleState !== 'ACTIVE' || sub.activatedAt === null) {
      throw new IncorrectStateError(`Subscription ${id} is ${sub.lifecycleState}; only an ACTIVE subscription can be replayed to.`);
    }
    const now = this.now();
    const since = parseTime(input.since, 'since');
    const until = input.until === undefined || input.until === null ? now : parseTime(input.until, 'until');
    if (since >= until) throw new InvalidParameterError('since must be earlier than until.');
    const oldest = now - this.opts.messageRetentionMs;
    if (since < oldest) {
      throw new InvalidParameterError(`since is older than the message retention allows (${new Date(oldest).toISOString()}); older messages are not kept.`);
    }
    if (this.replaying.has(id)) throw new ConflictError(`A replay to subscription ${id} is already running.`);
    this.replaying.add(id);
    try {
      const policy: CompiledFilterPolicy | null = sub.filterPolicy === null ? null : parseFilterPolicy(sub.filterPolicy);
      let replayed = 0;
      let after: { publishedAt: number; id: string } | undefined;
      for (;;) {
        const page = await this.store.deliveryControl.listMessagesInWindow({
          tenancyId: sub.tenancyId,
          topicId: sub.topicId,
          since: Math.max(since, sub.activatedAt),
          until,
          after,
          limit: REPLAY_PAGE,
        });
        const chosen = policy === null ? page : page.filter((m) => matchesFilterPolicy(policy, parseMessageBody(m.body)));
        replayed += await this.store.deliveryControl.replayMessages(sub, chosen.map((m) => m.id), this.now());
        const last = page.at(-1);
        if (page.length < REPLAY_PAGE || last === undefined) break;
        after = { publishedAt: last.publishedAt, id: last.id };
      }
      this.watcher.subscriptionChanged(id);
      return { replayed };
    } finally {
      this.replaying.delete(id);
    }
  }

  private changed(sub: Subscription): Subscription {
    this.watcher.subscriptionChanged(sub.id);
    return sub;
  }

  private async healthOf(sub: Subscription): Promise<SubscriptionHealth> {
    const h = sub.health;
    const state = healthState(h);
    return {
      state,
      since: h.disabledAt ?? h.failingSince,
      failingSince: h.failingSince,
      disabledAt: h.disabledAt,
      consecutiveFailures: h.consecutiveFailures,
      lastFailure: h.lastFailure,
      heldDeliveries: await this.store.deliveryControl.countHeld(sub.id),
      disableAfterMs: this.opts.disableAfterMs,
    };
  }
}

function parseTime(v: unknown, name: string): number {
  if (typeof v !== 'string' || v === '') throw new InvalidParameterError(`${name} must be an RFC 3339 time, such as 2026-11-30T08:00:00Z.`);
  const t = Date.parse(v);
  if (!Number.isFinite(t) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) throw new InvalidParameterError(`${name} (${v}) is not an RFC 3339 time, such as 2026-11-30T08:00:00Z.`);
  return t;
}
