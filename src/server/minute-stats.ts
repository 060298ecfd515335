import type { Delivery, FinalState } from '../core/deliveries.js';
import type { Message } from '../core/models.js';
import type { StatsStore } from '../core/ports/stats.js';
import { MINUTE_MS, MinuteTally, STATS_RETENTION_MS } from '../core/stats.js';
import type { DeliveryMetrics } from '../delivery/metrics.js';

export interface MinuteStatsOptions {
  /** How often the tally is written (default 5 s): one transaction per flush, never one per delivery. */
  flushMs?: number;
  /** How often minutes older than STATS_RETENTION_MS are pruned, after a flush (default 10 minutes). */
  pruneEveryMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

/** Rows one prune deletes at most: a node's flushes add far fewer than this per prune interval. */
const PRUNE_LIMIT = 5000;

/**
 * Keeps the console's per-minute counters: told of every published group (a MessageService listener) and of
 * every attempt and finished delivery (a DeliveryMetrics beside the Prometheus one), it counts in memory and
 * adds the counts to the stored minutes every few seconds, and once more on stop.
 */
export class MinuteStatsRecorder implements DeliveryMetrics {
  private readonly tally = new MinuteTally();
  private readonly flushMs: number;
  private readonly pruneEveryMs: number;
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  /** The flush under way; the next waits for it, so two never write the same rows at once. */
  private running: Promise<void> = Promise.resolve();
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: StatsStore,
    opts: MinuteStatsOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 5000;
    this.pruneEveryMs = opts.pruneEveryMs ?? 10 * MINUTE_MS;
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => {});
  }

  /** The MessageService listener: messages of a durable group, counted at their publish time. */
  published(messages: readonly Message[]): void {
    for (const m of messages) this.tally.published(m.tenancyId, m.topicId, m.publishedAt);
  }

  attempt(d: Delivery, outcome: 'success' | 'failure'): void {
    this.tally.attempt(d, outcome, this.now());
  }

  finished(d: Delivery, state: FinalState, publishedAt: number | null): void {
    this.tally.finished(d, state, publishedAt, this.now());
  }

  /** The console's minutes count messages and attempts, not the rows a fan-out creates. */
  fannedOut(): void {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Writes what was counted so far (and prunes, when due). Tests call it instead of waiting for the timer. */
  flush(): Promise<void> {
    const next = this.running.then(() => this.write());
    this.running = next;
    return next;
  }

  /** Stops the timer and writes the rest; call after the engine has stopped, before the store closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    const rows = this.tally.take();
    try {
      await this.store.addMinuteStats(rows);
    } catch (err) {
      // Kept for the next flush, except minutes already past retention (an outage must not grow it without end).
      const keepAfter = this.now() - STATS_RETENTION_MS;
      this.tally.restore(rows.filter((r) => r.minute >= keepAfter));
      this.onError(err);
      return;
    }
    const now = this.now();
    if (now - this.lastPrune < this.pruneEveryMs) return;
    this.lastPrune = now;
    const pruned = await this.store.pruneMinuteStats(now - STATS_RETENTION_MS, PRUNE_LIMIT).catch((err: unknown) => {
      this.onError(err);
      return 0;
    });
    // A full batch may have left more behind (a long outage, many topics): the next flush goes on.
    if (pruned >= PRUNE_LIMIT) this.lastPrune = Number.NEGATIVE_INFINITY;
  }
}

/** One DeliveryMetrics that tells each of `targets` (the Prometheus counters and the minute stats). */
export function teeMetrics(...targets: readonly DeliveryMetrics[]): DeliveryMetrics {
  return {
    attempt: (d, outcome, durationMs) => {
      for (const t of targets) t.attempt(d, outcome, durationMs);
    },
    finished: (d, state, publishedAt) => {
      for (const t of targets) t.finished(d, state, publishedAt);
    },
    fannedOut: (deliveries) => {
      for (const t of targets) t.fannedOut(deliveries);
    },
  };
}
