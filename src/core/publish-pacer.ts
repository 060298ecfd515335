/**
 * What the pacer reads at each tick: how late deliveries start (measured by the delivery engine) and how
 * busy the thread that runs both publishes and deliveries is (its event loop).
 */
export interface PacingSignals {
  /** How long after becoming due the deliveries started since the previous call were sent, ms (a median). */
  deliveryLagMs(): number;
  /** How long the oldest due delivery has waited, ms (a store read: asked only while the thread is saturated or publishes are paced). */
  oldestDueMs(): number;
  /** Share of the last tick the thread was busy, 0 to 1. */
  busy(): number;
}

export interface PacerOptions {
  /** Deliveries may start this late before publishes are paced; 0 turns pacing off. */
  readonly targetLagMs: number;
  /** No publish waits longer than this for its turn. */
  readonly maxWaitMs: number;
  /** How often the server calls tick(). */
  readonly tickMs: number;
  /** Publishing is only to blame when the thread is at least this busy; otherwise deliveries wait on their endpoints. */
  readonly busyAbove: number;
  /**
   * Pacing stops once the thread has stayed below this for CALM_TICKS. Lower than busyAbove: a thread paced at
   * the edge of saturation (or one that shares its cores with its database) swings across busyAbove from tick
   * to tick, and stopping at each dip let the whole line through at once.
   */
  readonly calmBelow: number;
}

export const DEFAULT_PACER_OPTIONS: Omit<PacerOptions, 'targetLagMs'> = {
  maxWaitMs: 2000,
  tickMs: 100,
  busyAbove: 0.9,
  calmBelow: 0.6,
};

/**
 * While paced, publishes may add this share of what was delivered meanwhile, by how late deliveries are
 * against the target: later than it, the backlog shrinks slowly; between half of it and it, the backlog is
 * held where it is; under half of it, the line of waiting publishes drains, a quarter faster than
 * deliveries. So the backlog settles where deliveries are between half the target and the target late,
 * rather than swinging between a held line and a burst of everyone waiting. Shrinking faster than 0.9 left
 * an open-loop publisher just under capacity queued in the pacer after every hiccup.
 */
const REFILL_LATE = 0.9;
const REFILL_ON_TARGET = 1;
const REFILL_EARLY = 1.25;
/** Ticks the thread must stay below calmBelow before pacing stops (a lull between bursts is not the end). */
const CALM_TICKS = 5;
/** Weight of the newest reading in the running averages. */
const EWMA = 0.2;

/** The pacer's state, for metrics. */
export interface PacerState {
  readonly paced: boolean;
  readonly waiting: number;
  /** Publishes that waited for their turn, since start. */
  readonly delayed: number;
}

/** The clock, injected so the policy is tested without waiting (the server's timer calls tick()). */
export interface PacerClock {
  now(): number;
}

/**
 * Keeps publishing from starving delivery. Publishes and deliveries share one thread, and a publisher at
 * full speed can take it all and leave the deliveries it causes to pile up. While deliveries start later
 * than the target and the thread is saturated, publishes are clocked by deliveries: each delivery made
 * earns about a delivery's worth of publishing (see REFILL_LATE), and a publish costs the deliveries a
 * publish makes on average. Publishers are so shaped to what delivery keeps up with and the backlog
 * settles near the target: a publisher
 * gets slower acknowledgements, never a refusal, and no publish waits longer than maxWaitMs (the backlog
 * limit still refuses above it). Nothing is paced while deliveries keep up, so bursts are still taken at
 * full speed and the backlog is still Herald's to absorb.
 */
export class PublishPacer {
  #paced = false;
  #credits = 0;
  /** Deliveries a publish makes, on average: #costDeliveries / #costMessages (at least one). */
  #cost = 0;
  /**
   * Messages published, and the deliveries made for them (at their publish, or since by a big topic's fan-out), both
   * decayed at each tick. A ratio of sums, not an average of each group's ratio: a big topic's message makes its
   * deliveries after the publish that reported it, and the two reports meet only in the sums.
   */
  #costMessages = 0;
  #costDeliveries = 0;
  /** Deliveries made per second, on average (sizes the credits banked). */
  #deliveryRate = 0;
  #deliveredThisTick = 0;
  #tickAt: number;
  #calm = 0;
  #queue: Array<{ resolve: () => void; at: number }> = [];
  #delayed = 0;
  /** The share of deliveries publishes may add while paced (REFILL_*), set at each tick from the lag. */
  #refill = REFILL_ON_TARGET;

  constructor(
    private readonly signals: PacingSignals,
    private readonly opts: PacerOptions,
    private readonly clock: PacerClock,
  ) {
    this.#tickAt = clock.now();
  }

  get state(): PacerState {
    return { paced: this.#paced, waiting: this.#queue.length, delayed: this.#delayed };
  }

  /**
   * Resolves when the publish may go on: at once (undefined, no promise) while publishes are not paced,
   * otherwise when deliveries have earned its turn or after maxWaitMs, whichever is first. Pacing only
   * delays: refusing is the backlog limit's job, so nothing that would be accepted is refused for it.
   */
  admit(): Promise<void> | undefined {
    if (!this.#paced) return undefined;
    if (this.#queue.length === 0 && this.#credits >= this.#cost) {
      this.#credits -= this.#cost;
      return undefined;
    }
    this.#delayed++;
    return new Promise<void>((resolve) => this.#queue.push({ resolve, at: this.clock.now() }));
  }

  /** A group of `messages` publishes made `deliveries` deliveries at once: what a publish costs. */
  published(messages: number, deliveries: number): void {
    if (messages <= 0) return;
    this.#costMessages += messages;
    this.#addCost(deliveries);
  }

  /**
   * A big topic's fan-out made `deliveries` deliveries after the publish (which made none of them): they are what
   * its publishes cost. Left out, a publish to a topic of a thousand subscriptions would cost next to nothing, and
   * pacing would hold no publish back while its deliveries fell ever further behind.
   */
  fannedOut(deliveries: number): void {
    this.#addCost(deliveries);
  }

  #addCost(deliveries: number): void {
    this.#costDeliveries += deliveries;
    // At least one message's weight: a fan-out of messages this node did not publish lately (another node's, or
    // its own after a quiet spell) must not divide by the next to nothing that has decayed.
    if (this.#costMessages > 0) this.#cost = this.#costDeliveries / Math.max(1, this.#costMessages);
  }

  /** `n` deliveries were made (attempted or settled): while paced, they earn the waiting publishes their turn. */
  delivered(n: number): void {
    this.#deliveredThisTick += n;
    if (!this.#paced) return;
    // At most a tick's deliveries are banked, so a pause is not followed by a burst.
    this.#credits = Math.min(this.#credits + n * this.#refill, Math.max(this.#cost, (this.#refill * this.#deliveryRate * this.opts.tickMs) / 1000));
    while (this.#queue.length > 0 && this.#credits >= this.#cost) {
      this.#credits -= this.#cost;
      this.#queue.shift()!.resolve();
    }
  }

  /** Reads the signals and turns pacing on or off; the server calls it every tickMs. */
  tick(): void {
    const now = this.clock.now();
    const delivered = this.#deliveredThisTick;
    const rate = (delivered * 1000) / Math.max(1, now - this.#tickAt);
    this.#deliveryRate = this.#deliveryRate === 0 ? rate : this.#deliveryRate * (1 - EWMA) + rate * EWMA;
    this.#deliveredThisTick = 0;
    this.#tickAt = now;
    // Older publishes weigh less in what a publish costs; the ratio stays until new reports move it.
    this.#costMessages *= 1 - EWMA;
    this.#costDeliveries *= 1 - EWMA;
    // A publish let in to wait is never kept past maxWaitMs, even if deliveries stalled meanwhile.
    while (this.#queue.length > 0 && now - this.#queue[0]!.at >= this.opts.maxWaitMs) this.#queue.shift()!.resolve();
    const busyShare = this.signals.busy();
    const busy = busyShare >= this.opts.busyAbove;
    // Deliveries are as late as those sent lately were, or as the oldest still waiting is, if more. While paced the
    // oldest is always asked: the deliveries a paced publish claims for itself go out at once, and their lag alone
    // would read as caught up over a backlog still waiting in the store.
    const median = this.signals.deliveryLagMs();
    const lag = busy || this.#paced ? Math.max(median, this.signals.oldestDueMs()) : median;
    // A tick without a single delivery made: what is due waits on its endpoints (every send held, or failing
    // slowly), not on publishing, and holding publishes would earn nobody anything.
    const stuck = delivered === 0;
    if (!this.#paced) {
      if (this.opts.targetLagMs > 0 && lag > this.opts.targetLagMs && busy && !stuck) {
        this.#paced = true;
        this.#credits = 0;
        this.#calm = 0;
        this.#refill = REFILL_LATE;
      }
      return;
    }
    this.#calm = busyShare >= this.opts.calmBelow ? 0 : this.#calm + 1;
    const early = lag <= this.opts.targetLagMs / 2;
    // Caught up (with margin, or it would flap at the target) and nobody waits, or nothing was delivered to
    // earn the waiting their turn, or the thread has room again.
    if ((early && this.#queue.length === 0) || stuck || this.#calm >= CALM_TICKS) {
      this.#stop();
      return;
    }
    this.#refill = early ? REFILL_EARLY : lag > this.opts.targetLagMs ? REFILL_LATE : REFILL_ON_TARGET;
  }

  /** Lets everything waiting through (shutdown). */
  close(): void {
    this.#stop();
  }

  #stop(): void {
    this.#paced = false;
    const waiting = this.#queue;
    this.#queue = [];
    for (const w of waiting) w.resolve();
  }
}
