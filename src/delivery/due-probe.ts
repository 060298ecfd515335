import type { Logger } from 'pino';
import type { DeliveryStore } from '../core/ports/deliveries.js';

/**
 * How long the oldest due delivery in the store has waited. The attempts' median lag misses work that
 * waits in the store behind fresh deliveries (claims handed back by an endpoint at its cap are not claimed
 * again while publishes keep its room full); this sees it. Read on demand (the publish pacer asks only
 * while the thread is saturated), one store read at a time.
 */
export class DueProbe {
  #ageMs = 0;
  #pending: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<DeliveryStore, 'nextDueAt'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * ms since the oldest due delivery (or message awaiting fan-out) became due, as last read (0 when none
   * was due), and starts the next reading.
   */
  ageMs(): number {
    void this.read();
    return this.#ageMs;
  }

  /** One reading; while one is in flight, that one. */
  read(): Promise<void> {
    this.#pending ??= this.#read().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #read(): Promise<void> {
    try {
      const due = await this.store.nextDueAt();
      this.#ageMs = due === null ? 0 : Math.max(0, this.now() - due);
    } catch (err) {
      this.logger.warn({ err }, 'could not read the oldest due delivery');
    }
  }
}
