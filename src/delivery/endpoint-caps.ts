/**
 * What one node lets a single endpoint hold of its claimed deliveries (see endpointCap), so
 * a stalled endpoint cannot take the node's in-flight room from every other endpoint.
 */

/** A claim parked beyond its endpoint's cap goes back to the store if the endpoint has not started it within this long. */
export const PARK_MS = 1000;

/**
 * Most of the node's in-flight room one endpoint may take (deliveries running or queued for
 * its slots): 2 x perEndpoint, so a full queue behind the endpoint's busy slots refills them
 * from memory while the claim that tops it up runs, yet a stalled endpoint holds only that
 * much of maxInFlight (128 of 1,024 by default) and the other endpoints keep the rest. At the
 * cap the endpoint's deliveries are left out of claims until it has drained to
 * perEndpoint (nothing queued): reopening at the first free place would claim a batch to
 * fill one place. Claims leave them out by the endpoint's key, whatever subscription they
 * belong to (many subscriptions often share one endpoint: every Slack webhook is on
 * hooks.slack.com). Claims beyond the cap (up to a claim batch) wait in memory, outside the
 * room, for PARK_MS before they are handed back: a busy endpoint drains its backlog from
 * them without a round trip, a stalled one returns them to the queue in their place.
 */
export function endpointCap(opts: { perEndpoint: number; maxInFlight: number; claimBatch: number }): {
  cap: number;
  reopenAt: number;
  parkMax: number;
} {
  const cap = Math.max(1, Math.min(2 * opts.perEndpoint, opts.maxInFlight));
  return { cap, reopenAt: Math.min(opts.perEndpoint, cap - 1), parkMax: opts.claimBatch };
}

/** A claimed delivery waiting beyond its endpoint's cap: started when the endpoint has room, or handed back. */
export interface Parked<T> {
  /** What the caller needs to hand it back. */
  claim: T;
  start: () => void;
  parkedAt: number;
}

interface Endpoint<T> {
  /** Admitted deliveries: running, or queued for the endpoint's KeyedLimiter slots. */
  held: number;
  /** Claims beyond the cap, oldest first; they take none of the node's in-flight room. */
  parked: Parked<T>[];
  /** Reached its cap: its deliveries are left out of claims until it drains to the reopen mark. */
  closed: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface EndpointCapOptions<T> {
  /** Most admitted at once per endpoint. */
  cap: number;
  /** A closed endpoint reopens once nothing is parked and at most this many are held. */
  reopenAt: number;
  /** Most parked per endpoint; beyond it a claim is handed back at once. */
  parkMax: number;
  /** A parked claim the endpoint has not started within this long is handed back. */
  parkMs: number;
  onReopen: () => void;
  handBack: (claims: Parked<T>[]) => void;
}

/**
 * Per-endpoint caps on what one node holds, so a stalled endpoint cannot take the node's
 * in-flight room. An endpoint admits up to `cap` deliveries; at the cap it is closed and
 * its deliveries are excluded from claims until it has drained to `reopenAt` (then
 * `onReopen`). Claims that still arrive for it (a batch that filled it, a publish's own
 * claims) are parked without taking room and started in order as it frees places, so a
 * busy endpoint drains its backlog from memory; whatever it has not started within
 * `parkMs`, or beyond `parkMax`, is handed back to the store.
 */
export class EndpointCaps<T> {
  private readonly endpoints = new Map<string, Endpoint<T>>();

  constructor(private readonly o: EndpointCapOptions<T>) {}

  /** Starts the delivery now (admitted), parks it, or hands it back. */
  offer(key: string, p: Omit<Parked<T>, 'parkedAt'>, now: number): void {
    let e = this.endpoints.get(key);
    if (e === undefined) {
      e = { held: 0, parked: [], closed: false, timer: undefined };
      this.endpoints.set(key, e);
    }
    if (e.held < this.o.cap && e.parked.length === 0) {
      e.held++;
      if (e.held >= this.o.cap) e.closed = true;
      p.start();
      return;
    }
    e.closed = true;
    if (e.parked.length < this.o.parkMax) {
      e.parked.push({ ...p, parkedAt: now });
      if (e.timer === undefined) this.arm(key, e, this.o.parkMs);
      return;
    }
    this.o.handBack([{ ...p, parkedAt: now }]);
  }

  /** An admitted delivery is done: its place goes to the oldest parked one, if any. */
  finished(key: string): void {
    const e = this.endpoints.get(key);
    if (e === undefined) return;
    e.held--;
    const next = e.parked.shift();
    if (next !== undefined) {
      e.held++;
      if (e.parked.length === 0) this.disarm(e);
      next.start();
      return;
    }
    if (e.closed && e.held <= this.o.reopenAt) {
      e.closed = false;
      this.o.onReopen();
    }
    if (e.held === 0 && !e.closed) this.endpoints.delete(key);
  }

  isClosed(key: string): boolean {
    return this.endpoints.get(key)?.closed ?? false;
  }

  /** The keys of closed endpoints: claims leave their deliveries alone. */
  closedKeys(): string[] {
    const out: string[] = [];
    for (const [key, e] of this.endpoints) if (e.closed) out.push(key);
    return out;
  }

  /** Hands back everything parked (the engine is stopping). */
  handBackAll(): void {
    for (const e of this.endpoints.values()) this.handBackOlderThan(e, Infinity);
  }

  private handBackOlderThan(e: Endpoint<T>, cutoff: number): void {
    let n = 0;
    while (n < e.parked.length && e.parked[n]!.parkedAt <= cutoff) n++;
    if (n === 0) return;
    const back = e.parked.splice(0, n);
    if (e.parked.length === 0) this.disarm(e);
    this.o.handBack(back);
  }

  private arm(key: string, e: Endpoint<T>, ms: number): void {
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.endpoints.get(key) !== e) return;
      const now = Date.now();
      this.handBackOlderThan(e, now - this.o.parkMs);
      const oldest = e.parked[0];
      if (oldest !== undefined) this.arm(key, e, Math.max(1, oldest.parkedAt + this.o.parkMs - now));
    }, ms);
    e.timer.unref();
  }

  private disarm(e: Endpoint<T>): void {
    if (e.timer !== undefined) clearTimeout(e.timer);
    e.timer = undefined;
  }
}
