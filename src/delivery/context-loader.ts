import type { Delivery } from '../core/deliveries.js';
import type { Message, Subscription, Topic } from '../core/models.js';
import type { DeliveryStore } from '../core/ports/deliveries.js';

/**
 * Bodies reach 64 KB: the cache is bounded by their size too, or 20k of them would be 1.3 GB. It only has to
 * span the moments between a publish and its deliveries' first claims (a few seconds of messages at the rates
 * one node takes); a retry minutes later or a backlog bigger than this reads its messages by id, one query per
 * claimed batch. At 16 MB the cache held ~13,500 1 KB messages, a steady 20+ MB of old-space heap (soak RSS
 * 206 against 189 MB at 4 MB).
 */
export const MESSAGE_CACHE_BYTES = 4 * 1024 * 1024;
const MESSAGE_CACHE_SIZE = 20_000;
/**
 * Messages read back from the store are kept apart, in a smaller budget: a backlog drained oldest first would
 * otherwise push out, with each message it reads back, the next ones it needs, and read every message once
 * instead of only those the cache had let go. They are kept at all for a big topic's message, which its
 * fan-out claims batch after batch.
 */
export const READ_BACK_BYTES = 1024 * 1024;
const READ_BACK_SIZE = 2_000;

/** A deleted or unsubscribed subscription stops receiving within about this long. */
const SUBSCRIPTION_TTL_MS = 1000;
const TOPIC_TTL_MS = 5000;
/**
 * Past these counts the stale entries are dropped (they would be read again anyway): without a bound every
 * subscription and topic a node ever delivered to stayed in memory, deleted ones included.
 */
export const MAX_CACHED_SUBSCRIPTIONS = 20_000;
const MAX_CACHED_TOPICS = 5_000;

export interface LoadedContext {
  message: Message | null;
  subscription: Subscription | undefined;
  topic: Topic | undefined;
}

/**
 * Batch-loads what a claimed batch needs in three queries at most. Messages
 * never change, so they are cached by id; subscriptions and topics are cached
 * briefly because their state matters (a deleted subscription must stop).
 */
export class ContextLoader {
  /** Messages published on this node, in publishing order. */
  private readonly published = new MessageFifo(MESSAGE_CACHE_BYTES, MESSAGE_CACHE_SIZE);
  /** Messages a claimed batch had to read from the store. */
  private readonly readBack = new MessageFifo(READ_BACK_BYTES, READ_BACK_SIZE);
  private readonly subscriptions: TtlCache<Subscription>;
  private readonly topics = new TtlCache<Topic>(TOPIC_TTL_MS, MAX_CACHED_TOPICS);

  constructor(
    private readonly store: Pick<DeliveryStore, 'getMessagesByIds' | 'getSubscriptionsByIds' | 'getTopicsByIds'>,
    opts: { maxCachedSubscriptions?: number } = {},
  ) {
    this.subscriptions = new TtlCache(SUBSCRIPTION_TTL_MS, opts.maxCachedSubscriptions ?? MAX_CACHED_SUBSCRIPTIONS);
  }

  /** How many subscriptions and topics are cached (fresh or stale), for tests and diagnostics. */
  cached(): { subscriptions: number; topics: number } {
    return { subscriptions: this.subscriptions.size, topics: this.topics.size };
  }

  async load(deliveries: readonly Delivery[], now: number): Promise<LoadedContext[]> {
    // What the batch uses is held here, not looked up in the caches again at the end: what is read back may be
    // more than the caches hold (adding it lets go of older entries, some of them this batch's own), and another
    // batch may prune or forget entries while this one waits for the store.
    const batchMessages = new Map<string, Message>();
    const batchSubs = new Map<string, Subscription>();
    const batchTopics = new Map<string, Topic>();
    const missingMessages = new Set<string>();
    const missingSubs = new Set<string>();
    const missingTopics = new Set<string>();
    for (const d of deliveries) {
      if (d.messageId !== null && !batchMessages.has(d.messageId)) {
        const cached = this.published.get(d.messageId) ?? this.readBack.get(d.messageId);
        if (cached === undefined) missingMessages.add(d.messageId);
        else batchMessages.set(d.messageId, cached);
      }
      // A confirmation is checked against the subscription's current nonce, which a resend has just changed
      // (possibly on another node): a cached copy would cancel the new request as superseded.
      const sub = d.kind === 'CONFIRMATION' ? undefined : this.subscriptions.fresh(d.subscriptionId, now);
      if (sub !== undefined) batchSubs.set(d.subscriptionId, sub);
      else missingSubs.add(d.subscriptionId);
      const topic = this.topics.fresh(d.topicId, now);
      if (topic !== undefined) batchTopics.set(d.topicId, topic);
      else missingTopics.add(d.topicId);
    }
    const [messages, subs, topics] = await Promise.all([
      this.store.getMessagesByIds([...missingMessages]),
      this.store.getSubscriptionsByIds([...missingSubs]),
      this.store.getTopicsByIds([...missingTopics]),
    ]);
    for (const m of messages) {
      batchMessages.set(m.id, m);
      this.readBack.add(m);
    }
    // A subscription or topic the store no longer returns is gone for this batch, whatever an older copy says.
    for (const id of missingSubs) if (!batchSubs.has(id)) this.subscriptions.delete(id);
    for (const id of missingTopics) if (!batchTopics.has(id)) this.topics.delete(id);
    for (const sub of subs) {
      batchSubs.set(sub.id, sub);
      this.subscriptions.set(sub.id, sub, now);
    }
    for (const t of topics) {
      batchTopics.set(t.id, t);
      this.topics.set(t.id, t, now);
    }
    return deliveries.map((d) => ({
      message: d.messageId === null ? null : (batchMessages.get(d.messageId) ?? null),
      subscription: batchSubs.get(d.subscriptionId),
      topic: batchTopics.get(d.topicId),
    }));
  }

  /** The subscription changed (its controls were set on this node): read it afresh next time. */
  forget(subscriptionId: string): void {
    this.subscriptions.delete(subscriptionId);
  }

  /** Messages just published are already in hand; keep them so the first delivery needs no read. */
  remember(m: Message): void {
    this.published.add(m);
  }
}

/** Messages in insertion order, the oldest let go first once a count or byte budget would be passed. */
class MessageFifo {
  private readonly entries = new Map<string, Message>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxCount: number,
  ) {}

  get(id: string): Message | undefined {
    return this.entries.get(id);
  }

  add(m: Message): void {
    if (this.entries.has(m.id)) return;
    const size = messageSize(m);
    while (this.entries.size > 0 && (this.entries.size >= this.maxCount || this.bytes + size > this.maxBytes)) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Message];
      this.entries.delete(oldestId);
      this.bytes -= messageSize(oldest);
    }
    this.entries.set(m.id, m);
    this.bytes += size;
  }
}

/** Roughly what a cached message holds: its strings (V8 stores ASCII at one byte a character). */
function messageSize(m: Message): number {
  return m.body.length + (m.title?.length ?? 0) + 200;
}

/**
 * Values that are good for `ttl` after they were read. Past `max` entries the stale ones are dropped, at most once
 * a `ttl` (nothing turns stale sooner), so a map that holds more than `max` fresh ones is not walked per batch.
 */
class TtlCache<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  fresh(id: string, now: number): T | undefined {
    const entry = this.entries.get(id);
    return entry !== undefined && now - entry.at < this.ttl ? entry.value : undefined;
  }

  set(id: string, value: T, now: number): void {
    this.entries.set(id, { value, at: now });
    if (this.entries.size <= this.max || now - this.prunedAt < this.ttl) return;
    this.prunedAt = now;
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttl) this.entries.delete(key);
  }

  delete(id: string): void {
    this.entries.delete(id);
  }
}
