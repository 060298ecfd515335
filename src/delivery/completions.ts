import type { Logger } from 'pino';
import type { AttemptResult, DisabledSubscription, HealthPolicy } from '../core/deliveries.js';
import type { DeliveryStore } from '../core/ports/deliveries.js';

/** Finished attempts recorded per transaction, at most. */
const COMPLETION_BATCH = 500;
/**
 * Completions commit at most this often (unless a batch fills): a commit per event-loop
 * turn would be a few attempts per fsync, and fsync blocks the loop.
 */
const COMPLETION_INTERVAL_MS = 5;

/**
 * Records finished attempts in batched transactions: per-delivery commits would cap
 * delivery at the fsync rate. Batches are written one after another, in order.
 */
export class CompletionWriter {
  private results: AttemptResult[] = [];
  private scheduled = false;
  private lastFlushAt = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<DeliveryStore, 'completeAttempts'>,
    private readonly logger: Logger,
    /**
     * Told after a batch that holds a retry, with the earliest retry's due time: the first retry is immediate, so look
     * for it now, not at the next poll.
     */
    private readonly retryQueued: (dueAt: number) => void,
    /** Endpoint health applied with each batch; absent, subscriptions are never disabled. */
    private readonly health?: HealthPolicy,
    /** Told of the subscriptions a batch disabled. */
    private readonly disabled: (subs: DisabledSubscription[]) => void = () => {},
  ) {}

  add(result: AttemptResult): void {
    this.results.push(result);
    this.schedule(false);
  }

  /** Writes what is collected without waiting for the interval, and resolves once every batch so far is written. */
  async drain(): Promise<void> {
    // A flush already waiting for its interval keeps its timer: wait for it to join the chain.
    for (;;) {
      if (!this.scheduled && this.results.length > 0) this.schedule(true);
      if (!this.scheduled) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    await this.chain;
  }

  private schedule(now: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      this.lastFlushAt = Date.now();
      this.chain = this.chain.then(() => this.flush());
    };
    const wait = this.lastFlushAt + COMPLETION_INTERVAL_MS - Date.now();
    if (now || wait <= 0 || this.results.length >= COMPLETION_BATCH) setImmediate(run);
    else setTimeout(run, wait);
  }

  private async flush(): Promise<void> {
    let retryAt = Number.POSITIVE_INFINITY;
    while (this.results.length > 0) {
      const batch = this.results.splice(0, COMPLETION_BATCH);
      for (const r of batch) if (r.transition.state === 'PENDING') retryAt = Math.min(retryAt, r.transition.nextAttemptAt);
      try {
        const disabled = await this.store.completeAttempts(batch, Date.now(), this.health);
        if (disabled.length > 0) this.disabled(disabled);
      } catch (err) {
        // The deliveries stay IN_FLIGHT and come back when their lease expires: at least once, never lost.
        this.logger.error({ err, count: batch.length }, 'could not record delivery attempts');
      }
    }
    if (retryAt !== Number.POSITIVE_INFINITY) this.retryQueued(retryAt);
  }
}
