import type { Delivery } from '../core/deliveries.js';
import type { Message, Subscription, Topic } from '../core/models.js';
import type { DeliveryStore } from '../core/ports/deliveries.js';

const MESSAGE_CACHE_SIZE = 20_000;
/**
 * Bodies reach 64 KB: the cache is bounded by their size too, or 20k of them would be 1.3 GB. It only has to
 * span the moments between a publish and its deliveries' first claims (a few seconds of messages at the rates
 * one node takes); a retry minutes later or a backlog bigger than this reads its messages by id, one query per
 * claimed batch. At 16 MB the cache held ~13,500 1 KB messages, a steady 20+ MB of old-space heap (soak RSS
 * 206 against 189 MB at 4 MB, and the backlog drain no slower).
 */
export const MESSAGE_CACHE_BYTES = 4 * 1024 * 1024;
/** A deleted or unsubscribed subscription stops receiving within about this long. */
const SUBSCRIPTION_TTL_MS = 1000;
const TOPIC_TTL_MS = 5000;

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
  private readonly messages = new Map<string, Message>();
  private messageBytes = 0;
  private readonly subscriptions = new Map<string, { value: Subscription; at: number }>();
  private readonly topics = new Map<string, { value: Topic; at: number }>();

  constructor(private readonly store: Pick<DeliveryStore, 'getMessagesByIds' | 'getSubscriptionsByIds' | 'getTopicsByIds'>) {}

  async load(deliveries: readonly Delivery[], now: number): Promise<LoadedContext[]> {
    const missingMessages = new Set<string>();
    const missingSubs = new Set<string>();
    const missingTopics = new Set<string>();
    for (const d of deliveries) {
      if (d.messageId !== null && !this.messages.has(d.messageId)) missingMessages.add(d.messageId);
      // A confirmation is checked against the subscription's current nonce, which a resend has just changed
      // (possibly on another node): a cached copy would cancel the new request as superseded.
      if (d.kind === 'CONFIRMATION' || !fresh(this.subscriptions.get(d.subscriptionId), now, SUBSCRIPTION_TTL_MS)) missingSubs.add(d.subscriptionId);
      if (!fresh(this.topics.get(d.topicId), now, TOPIC_TTL_MS)) missingTopics.add(d.topicId);
    }
    const [messages, subs, topics] = await Promise.all([
      this.store.getMessagesByIds([...missingMessages]),
      this.store.getSubscriptionsByIds([...missingSubs]),
      this.store.getTopicsByIds([...missingTopics]),
    ]);
    for (const m of messages) this.remember(m);
    for (const s of subs) this.subscriptions.set(s.id, { value: s, at: now });
    for (const t of topics) this.topics.set(t.id, { value: t, at: now });
    return deliveries.map((d) => ({
      message: d.messageId === null ? null : (this.messages.get(d.messageId) ?? null),
      subscription: this.subscriptions.get(d.subscriptionId)?.value,
      topic: this.topics.get(d.topicId)?.value,
    }));
  }

  /** The subscription changed (its controls were set on this node): read it afresh next time. */
  forget(subscriptionId: string): void {
    this.subscriptions.delete(subscriptionId);
  }

  /** Messages just published are already in hand; keep them so the first delivery needs no read. */
  remember(m: Message): void {
    if (this.messages.has(m.id)) return;
    const size = messageSize(m);
    while (this.messages.size > 0 && (this.messages.size >= MESSAGE_CACHE_SIZE || this.messageBytes + size > MESSAGE_CACHE_BYTES)) {
      const [oldestId, oldest] = this.messages.entries().next().value as [string, Message];
      this.messages.delete(oldestId);
      this.messageBytes -= messageSize(oldest);
    }
    this.messages.set(m.id, m);
    this.messageBytes += size;
  }
}

/** Roughly what a cached message holds: its strings (V8 stores ASCII at one byte a character). */
function messageSize(m: Message): number {
  return m.body.length + (m.title?.length ?? 0) + 200;
}

function fresh<T>(entry: { value: T; at: number } | undefined, now: number, ttl: number): boolean {
  return entry !== undefined && now - entry.at < ttl;
}
