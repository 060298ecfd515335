/**
 * Per-subscription rate limits. The tokens come from the store's bucket for the subscription, one for
 * every node (`DeliveryStore.takeRateTokens`: capacity N, refilled at N a second), so a limit of N holds
 * however many nodes deliver. A delivery without a token waits in memory for one, in order; the gate takes
 * what its waiting deliveries need from the store in one call for every subscription that needs tokens,
 * and again after about one token's refill time while some still wait (at most every `FETCH_EVERY_MS`).
 * Only as many wait as could start within `maxWaitMs` (a burst, then the full rate) (the claim's lease must outlast the
 * wait); the rest go back to the store in their place, as does one that has waited longer than that (other
 * nodes took the tokens), and the subscription is left out of claims until its queue has drained. Waiting
 * is neither an attempt nor a failure.
 */
import type { RateTokenRequest } from '../core/rate-bucket.js';

interface Waiting<T> {
  item: T;
  start: () => void;
  since: number;
}

interface Gate<T> {
  rate: number;
  /** Taken from the store and not yet used (only ever left over when the queue was handed back). */
  tokens: number;
  queue: Waiting<T>[];
  /** A take for this gate is on its way, or a timer will ask for one. */
  asking: boolean;
}

export interface RateGateOptions<T> {
  /** The longest a delivery may wait for its token in memory. */
  maxWaitMs: number;
  /** Takes tokens from the store's buckets (DeliveryStore.takeRateTokens). */
  take: (requests: readonly RateTokenRequest[], now: number) => Promise<number[]>;
  /** Deliveries that cannot wait: handed back to the store, due where they were. */
  handBack: (items: T[]) => void;
  /** A subscription's queue drained: claims may take its deliveries again. */
  onReopen: () => void;
  /** A take failed (the store is unreachable); the gate asks again. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** The least time between two takes for one subscription: at high limits a take gets a batch of tokens, not one. */
export const FETCH_EVERY_MS = 25;
/** How many gates may sit idle (nothing queued or asked) before the idle ones are dropped. */
const IDLE_GATES = 1000;

export class RateGates<T> {
  private readonly gates = new Map<string, Gate<T>>();
  private readonly now: () => number;
  /** Gates whose take goes out with the next batch. */
  private readonly due = new Set<string>();
  private flushing = false;
  private closed = false;

  constructor(private readonly o: RateGateOptions<T>) {
    this.now = o.now ?? Date.now;
  }

  /** Starts the delivery now if this node holds a token for the subscription, else queues it for one, or hands it back. */
  offer(subscriptionId: string, perSecond: number, item: T, start: () => void): void {
    let g = this.gates.get(subscriptionId);
    if (g === undefined) {
      if (this.gates.size >= IDLE_GATES) this.dropIdle();
      g = { rate: perSecond, tokens: 0, queue: [], asking: false };
      this.gates.set(subscriptionId, g);
    }
    // A changed limit applies from the next take (the store's bucket never holds more than the new burst).
    g.rate = perSecond;
    if (g.queue.length === 0 && g.tokens >= 1) {
      g.tokens -= 1;
      start();
      return;
    }
    if (g.queue.length >= this.waitRoom(g.rate)) {
      this.o.handBack([item]);
      return;
    }
    g.queue.push({ item, start, since: this.now() });
    if (!g.asking) this.ask(subscriptionId, g);
  }

  /** Subscriptions with deliveries waiting for tokens: claims leave them alone until they drain. */
  excluded(): string[] {
    const out: string[] = [];
    for (const [id, g] of this.gates) if (g.queue.length > 0) out.push(id);
    return out;
  }

  /** Hands back everything waiting (the engine is stopping); nothing is asked for after this. */
  handBackAll(): void {
    this.closed = true;
    for (const g of this.gates.values()) {
      const items = g.queue.splice(0).map((q) => q.item);
      if (items.length > 0) this.o.handBack(items);
    }
  }

  /** Waiting room per subscription: what its tokens can start within maxWaitMs, the burst included. */
  private waitRoom(rate: number): number {
    return rate + Math.floor((rate * this.o.maxWaitMs) / 1000);
  }

  /** Puts the gate's take in the next batch: every gate that needs tokens now asks in one store call. */
  private ask(subscriptionId: string, g: Gate<T>): void {
    g.asking = true;
    this.due.add(subscriptionId);
    if (this.due.size === 1 && !this.flushing) setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    // One take at a time: the running one schedules the next when it is back.
    if (this.closed || this.flushing || this.due.size === 0) return;
    this.flushing = true;
    const ids = [...this.due];
    this.due.clear();
    const asked: { id: string; g: Gate<T> }[] = [];
    const requests: RateTokenRequest[] = [];
    for (const id of ids) {
      const g = this.gates.get(id);
      if (g === undefined) continue;
      if (g.queue.length === 0) {
        g.asking = false;
        continue;
      }
      asked.push({ id, g });
      requests.push({ subscriptionId: id, perSecond: g.rate, want: Math.min(g.queue.length, g.rate) });
    }
    let granted: number[] | undefined;
    try {
      granted = requests.length === 0 ? [] : await this.o.take(requests, this.now());
    } catch (err) {
      this.o.onError?.(err);
    }
    this.flushing = false;
    asked.forEach(({ id, g }, i) => this.granted(id, g, granted?.[i] ?? 0));
    if (this.due.size > 0) setImmediate(() => void this.flush());
  }

  /** Starts what the tokens allow, in order; hands back what waited too long; asks again while some wait. */
  private granted(subscriptionId: string, g: Gate<T>, tokens: number): void {
    g.tokens += tokens;
    const now = this.now();
    const stale: T[] = [];
    while (g.queue.length > 0 && (g.tokens >= 1 || now - g.queue[0]!.since > this.o.maxWaitMs)) {
      const w = g.queue.shift()!;
      if (now - w.since > this.o.maxWaitMs) {
        stale.push(w.item);
        continue;
      }
      g.tokens -= 1;
      w.start();
    }
    if (stale.length > 0) this.o.handBack(stale);
    if (this.closed || this.gates.get(subscriptionId) !== g) {
      g.asking = false;
      return;
    }
    if (g.queue.length === 0) {
      g.asking = false;
      this.o.onReopen();
      return;
    }
    // About when the bucket has a token again (sooner ones were another node's to take).
    const wait = Math.max(FETCH_EVERY_MS, Math.ceil(1000 / g.rate));
    setTimeout(() => this.ask(subscriptionId, g), wait).unref();
  }

  private dropIdle(): void {
    for (const [id, g] of this.gates) if (g.queue.length === 0 && !g.asking) this.gates.delete(id);
  }
}
