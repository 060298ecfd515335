/**
 * Per-subscription rate limits on one node: a token bucket per subscription, capacity N and
 * refilled at N per second, so bursts never exceed N. A delivery without a token waits in
 * memory for one (its claim's lease must outlast the wait, so only as many wait as can start
 * within `maxWaitMs`); the rest go back to the store in their place, and the subscription is
 * left out of claims until its queue has drained. Waiting is neither an attempt nor a failure.
 */

interface Waiting {
  start: () => void;
}

interface Bucket<T> {
  rate: number;
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
  queue: { waiting: Waiting; item: T }[];
  timer: NodeJS.Timeout | undefined;
}

export interface RateGateOptions<T> {
  /** The longest a delivery may wait for its token in memory. */
  maxWaitMs: number;
  /** Deliveries that cannot wait: handed back to the store, due where they were. */
  handBack: (items: T[]) => void;
  /** A subscription's queue drained: claims may take its deliveries again. */
  onReopen: () => void;
  now?: () => number;
}

/** How many buckets may sit idle (full, nothing queued) before the idle ones are dropped. */
const IDLE_BUCKETS = 1000;

export class RateGates<T> {
  private readonly buckets = new Map<string, Bucket<T>>();
  private readonly now: () => number;

  constructor(private readonly o: RateGateOptions<T>) {
    this.now = o.now ?? Date.now;
  }

  /** Starts the delivery now if the subscription has a token, queues it for one, or hands it back. */
  offer(subscriptionId: string, perSecond: number, item: T, start: () => void): void {
    const now = this.now();
    let b = this.buckets.get(subscriptionId);
    if (b === undefined) {
      if (this.buckets.size >= IDLE_BUCKETS) this.dropIdle(now);
      b = { rate: perSecond, tokens: perSecond, at: now, queue: [], timer: undefined };
      this.buckets.set(subscriptionId, b);
    }
    this.refill(b, now, perSecond);
    if (b.queue.length === 0 && b.tokens >= 1) {
      b.tokens -= 1;
      start();
      return;
    }
    if (b.queue.length < this.waitRoom(b.rate)) {
      b.queue.push({ waiting: { start }, item });
      this.arm(subscriptionId, b);
      return;
    }
    this.o.handBack([item]);
  }

  /** Subscriptions with deliveries waiting for tokens: claims leave them alone until they drain. */
  excluded(): string[] {
    const out: string[] = [];
    for (const [id, b] of this.buckets) if (b.queue.length > 0) out.push(id);
    return out;
  }

  /** Hands back everything waiting (the engine is stopping). */
  handBackAll(): void {
    for (const b of this.buckets.values()) {
      if (b.timer !== undefined) clearTimeout(b.timer);
      b.timer = undefined;
      const items = b.queue.splice(0).map((q) => q.item);
      if (items.length > 0) this.o.handBack(items);
    }
  }

  /** Waiting room per subscription: what its tokens can start within maxWaitMs, at least one. */
  private waitRoom(rate: number): number {
    return Math.max(1, Math.floor((rate * this.o.maxWaitMs) / 1000));
  }

  private refill(b: Bucket<T>, now: number, rate: number): void {
    if (rate !== b.rate) {
      // A changed limit applies at once; the bucket never holds more than the new burst.
      b.rate = rate;
      b.tokens = Math.min(b.tokens, rate);
    }
    b.tokens = Math.min(b.rate, b.tokens + ((now - b.at) * b.rate) / 1000);
    b.at = now;
  }

  private arm(subscriptionId: string, b: Bucket<T>): void {
    if (b.timer !== undefined) return;
    const wait = Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / b.rate));
    b.timer = setTimeout(() => {
      b.timer = undefined;
      if (this.buckets.get(subscriptionId) !== b) return;
      this.refill(b, this.now(), b.rate);
      while (b.queue.length > 0 && b.tokens >= 1) {
        b.tokens -= 1;
        b.queue.shift()!.waiting.start();
      }
      if (b.queue.length > 0) this.arm(subscriptionId, b);
      else this.o.onReopen();
    }, wait);
    b.timer.unref();
  }

  private dropIdle(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.queue.length > 0) continue;
      this.refill(b, now, b.rate);
      if (b.tokens >= b.rate) this.buckets.delete(id);
    }
  }
}
