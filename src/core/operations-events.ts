/**
 * Herald's operational events (a subscription disabled or enabled) go to a topic named
 * `herald-operations` in each tenancy's root compartment, so operators subscribe to them as
 * to any topic: email, a webhook, a function.
 */
import { ConflictError } from './errors.js';
import { newEtag, newOcid, newShortId } from './ids.js';
import type { DisabledSubscription } from './deliveries.js';
import type { Topic } from './models.js';
import type { Ports } from './ports/index.js';

export const OPERATIONS_TOPIC = 'herald-operations';
const topicKey = (tenancyId: string): string => `operations.topic.${tenancyId}`;

export type OperationsEventType = 'subscription.disabled' | 'subscription.enabled';

export interface OperationsEvent {
  type: OperationsEventType;
  /** ISO time of the transition. */
  time: string;
  subscriptionId: string;
  topicId: string;
  protocol: string;
  /** The endpoint with its secrets (query string, user info, path tokens) cut off. */
  endpoint: string;
  failingSince: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastStatusCode: number | null;
  /** Deliveries held (on disable) or released (on enable). */
  deliveries: number;
  reason: 'no-success-within-window' | 'enabled-by-request';
}

/** Where events are published: Herald itself is the publisher, so no caller's policy applies. */
export interface SystemPublisher {
  publishAsHerald(tenancyId: string, topicId: string, title: string, body: string): Promise<unknown>;
}

/**
 * An endpoint as events show it: URLs keep their scheme and host only (Slack and PagerDuty carry
 * their secret in the path, webhooks often in the query); addresses, numbers and OCIDs stay whole.
 */
export function redactEndpoint(endpoint: string): string {
  // Decided by the parser subscription creation uses, which also reads `https:user:pw@host` or ` https:/host`.
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return /^\s*https?:/i.test(endpoint) ? '…' : endpoint;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return endpoint;
  return u.pathname === '/' && u.search === '' ? u.origin : `${u.origin}/…`;
}

/** The event for a subscription a delivery batch disabled. */
export function disabledEvent(d: DisabledSubscription): OperationsEvent {
  return {
    type: 'subscription.disabled',
    time: new Date(d.disabledAt).toISOString(),
    subscriptionId: d.subscriptionId,
    topicId: d.topicId,
    protocol: d.protocol,
    endpoint: redactEndpoint(d.endpoint),
    failingSince: new Date(d.failingSince).toISOString(),
    consecutiveFailures: d.consecutiveFailures,
    lastError: d.lastFailure?.error ?? null,
    lastStatusCode: d.lastFailure?.statusCode ?? null,
    deliveries: d.heldCount,
    reason: 'no-success-within-window',
  };
}

/**
 * Keeps each tenancy's operations topic and publishes to it. The topic is made once per tenancy
 * (a setting records it), so one an operator deletes stays deleted and its events are dropped.
 */
export class OperationsEvents {
  private readonly topics = new Map<string, string | null>();

  constructor(
    private readonly store: Pick<Ports, 'settings' | 'topics' | 'identity'>,
    private readonly publisher: SystemPublisher,
    private readonly onError: (err: unknown, event: OperationsEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** At every start: the topic of each tenancy that has none yet. */
  async ensureTopics(): Promise<void> {
    for (const tenancyId of await this.store.identity.listTenancyIds()) await this.ensureTopic(tenancyId);
  }

  async ensureTopic(tenancyId: string): Promise<string | null> {
    const recorded = await this.store.settings.getSetting(topicKey(tenancyId));
    if (recorded !== undefined) return recorded;
    const existing = await this.findByName(tenancyId);
    const id = existing ?? (await this.create(tenancyId));
    return this.store.settings.putSettingIfAbsent(topicKey(tenancyId), id);
  }

  /** Publishes the event; failures are reported, never thrown (a delivery batch or an enable must not fail for it). */
  async publish(tenancyId: string, event: OperationsEvent): Promise<void> {
    try {
      const topicId = await this.topicOf(tenancyId);
      if (topicId === null) return;
      await this.publisher.publishAsHerald(tenancyId, topicId, `Herald: ${event.type} ${event.subscriptionId}`, JSON.stringify(event));
    } catch (err) {
      this.onError(err, event);
    }
  }

  private async topicOf(tenancyId: string): Promise<string | null> {
    const cached = this.topics.get(tenancyId);
    if (cached !== undefined) return cached;
    const id = await this.ensureTopic(tenancyId);
    const live = id === null ? undefined : await this.store.topics.getTopic(tenancyId, id);
    const found = live === undefined || live.lifecycleState !== 'ACTIVE' ? null : live.id;
    this.topics.set(tenancyId, found);
    return found;
  }

  private async findByName(tenancyId: string): Promise<string | undefined> {
    const page = await this.store.topics.listTopics({
      tenancyId,
      compartmentId: tenancyId,
      name: OPERATIONS_TOPIC,
      lifecycleState: 'ACTIVE',
      sortBy: 'TIMECREATED',
      sortOrder: 'ASC',
      offset: 0,
      limit: 1,
    });
    return page.items[0]?.id;
  }

  private async create(tenancyId: string): Promise<string> {
    const t = this.now();
    const topic: Topic = {
      id: newOcid('onstopic'),
      tenancyId,
      compartmentId: tenancyId,
      name: OPERATIONS_TOPIC,
      shortId: newShortId(),
      description: 'Herald operational events: subscriptions disabled after failing for too long, and enabled again.',
      freeformTags: {},
      definedTags: {},
      lifecycleState: 'ACTIVE',
      etag: newEtag(),
      createdAt: t,
      updatedAt: t,
    };
    try {
      await this.store.topics.insertTopic(topic);
      return topic.id;
    } catch (err) {
      // Another node made it at the same moment.
      if (!(err instanceof ConflictError)) throw err;
      const found = await this.findByName(tenancyId);
      if (found === undefined) throw err;
      return found;
    }
  }
}
