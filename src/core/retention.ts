import { RETRY_TOKEN_TTL_MS } from './idempotency.js';

/** Where a pruning pass goes on from: the last message it looked at, in (publishedAt, id) order. */
export interface PruneCursor {
  publishedAt: number;
  id: string;
}

export interface PruneBatch {
  /** Messages looked at: published before the cutoff, after the cursor, oldest first. */
  scanned: number;
  /** Of those, deleted with their deliveries and attempts. */
  pruned: number;
  /** Of those, kept: a delivery of theirs is not finished (or their fan-out is not). */
  held: number;
  /** publishedAt of the oldest held message of the batch. */
  oldestHeldAt: number | null;
  /** Where the next batch starts; undefined when the batch reached the cutoff. */
  next: PruneCursor | undefined;
}

/**
 * The storage side of retention. A message is pruned only when every delivery of it has
 * finished (DELIVERED, DEAD or CANCELLED: nothing pending, in flight or held) and its
 * fan-out is done; it goes with its deliveries (dead letters included) and their attempts,
 * in one transaction per batch. Several nodes may prune at once (rows another node is
 * working on are left for it).
 */
export interface RetentionStore {
  /**
   * How long one batch should take: short where the store runs on the event loop (SQLite),
   * longer where the work happens in a database server and only a connection waits.
   */
  readonly batchBudgetMs: number;
  pruneMessages(cutoff: number, after: PruneCursor | undefined, limit: number): Promise<PruneBatch>;
  /**
   * Deletes up to `limit` of the other rows that only grow, created before `cutoff`:
   * finished confirmation deliveries (with their attempts) and dev-mailbox mail. Returns how many.
   */
  pruneRecords(cutoff: number, limit: number): Promise<number>;
  /** Deletes up to `limit` opc-retry-token records created before `notBefore`. Returns how many. */
  pruneRetryTokens(notBefore: number, limit: number): Promise<number>;
  /**
   * Called after a sweep (started at `now`) that deleted `deleted` rows: lets the store reclaim
   * their space when nothing else will (PostgreSQL with autovacuum off). Failures are reported.
   */
  reclaim(deleted: number, now: number): Promise<void>;
}

export interface RetentionOptions {
  /** Messages older than this are pruned (once every delivery of theirs has finished). */
  retentionMs: number;
  /** Time between the starts of two sweeps. */
  intervalMs: number;
  /** A batch aims to take about this long (default: the store's batchBudgetMs); its size adapts between the bounds below. */
  batchBudgetMs?: number;
  minBatch: number;
  maxBatch: number;
}

/** A sweep every tenth of the window, at least every minute, at most every 100 ms. */
export function retentionOptions(retentionMs: number): RetentionOptions {
  return {
    retentionMs,
    intervalMs: Math.min(60_000, Math.max(100, Math.round(retentionMs / 10))),
    minBatch: 10,
    maxBatch: 5000,
  };
}

export interface RetentionStats {
  /** Messages pruned since start. */
  prunedTotal: number;
  /** Other rows pruned since start (confirmations, mail, retry tokens). */
  recordsPrunedTotal: number;
  /** Messages past the window kept by the last sweep because a delivery of theirs is unfinished. */
  heldMessages: number;
  /** publishedAt of the oldest of them. */
  oldestHeldAt: number | null;
  sweeps: number;
  lastSweepAt: number | null;
}

export interface SweepResult {
  pruned: number;
  held: number;
  oldestHeldAt: number | null;
  records: number;
}

/** Deletes what is older than the retention window, in small batches that yield to the event loop. */
export class RetentionService {
  #batch: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopping = false;
  readonly #stats: RetentionStats = { prunedTotal: 0, recordsPrunedTotal: 0, heldMessages: 0, oldestHeldAt: null, sweeps: 0, lastSweepAt: null };

  constructor(
    private readonly store: RetentionStore,
    private readonly opts: RetentionOptions,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.#batch = Math.max(opts.minBatch, Math.min(opts.maxBatch, 100));
  }

  stats(): RetentionStats {
    return { ...this.#stats };
  }

  start(): void {
    const schedule = (): void => {
      if (this.#stopping) return;
      this.#timer = setTimeout(() => {
        this.#running = this.sweep()
          .catch((err: unknown) => this.onError(err))
          .finally(() => {
            this.#running = undefined;
            schedule();
          });
      }, this.opts.intervalMs);
      this.#timer.unref();
    };
    schedule();
  }

  /** Stops scheduling and waits for a sweep in progress to finish its current batch. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass over everything older than the window. */
  async sweep(): Promise<SweepResult> {
    const now = this.now();
    const cutoff = now - this.opts.retentionMs;
    const out: SweepResult = { pruned: 0, held: 0, oldestHeldAt: null, records: 0 };
    let cursor: PruneCursor | undefined;
    do {
      const b = await this.#timed(() => this.store.pruneMessages(cutoff, cursor, this.#batch));
      out.pruned += b.pruned;
      out.held += b.held;
      if (b.oldestHeldAt !== null && (out.oldestHeldAt === null || b.oldestHeldAt < out.oldestHeldAt)) out.oldestHeldAt = b.oldestHeldAt;
      this.#stats.prunedTotal += b.pruned;
      cursor = b.next;
      await yieldToEventLoop();
    } while (cursor !== undefined && !this.#stopping);
    out.records += await this.#drain((limit) => this.store.pruneRecords(cutoff, limit));
    out.records += await this.#drain((limit) => this.store.pruneRetryTokens(now - RETRY_TOKEN_TTL_MS, limit));
    if (out.pruned + out.records > 0 && !this.#stopping) {
      await this.store.reclaim(out.pruned + out.records, now).catch((err: unknown) => this.onError(err));
    }
    if (!this.#stopping) {
      // A sweep cut short by stop() saw only part of the held messages: keep the last full count.
      this.#stats.heldMessages = out.held;
      this.#stats.oldestHeldAt = out.oldestHeldAt;
    }
    this.#stats.sweeps++;
    this.#stats.lastSweepAt = now;
    return out;
  }

  async #drain(prune: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const limit = this.#batch;
      const n = await this.#timed(() => prune(limit));
      total += n;
      this.#stats.recordsPrunedTotal += n;
      if (n < limit || this.#stopping) return total;
      await yieldToEventLoop();
    }
  }

  /** Runs one batch and sizes the next so a batch takes about the budget. */
  async #timed<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const out = await fn();
    const ms = performance.now() - t0;
    const { minBatch, maxBatch } = this.opts;
    const batchBudgetMs = this.opts.batchBudgetMs ?? this.store.batchBudgetMs;
    if (ms > batchBudgetMs) this.#batch = Math.max(minBatch, Math.floor(this.#batch / 2));
    else if (ms < batchBudgetMs / 2) this.#batch = Math.min(maxBatch, this.#batch * 2);
    return out;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
