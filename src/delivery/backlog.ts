import type { Logger } from 'pino';
import type { DeliveryStore } from '../core/ports/deliveries.js';

/**
 * Keeps a recent reading of the undelivered backlog (pending and in-flight
 * deliveries plus those big topics' fan-outs are still to make) for publish
 * backpressure, so a publish never waits on a COUNT. Shared by every node through
 * the store.
 */
export class BacklogMonitor {
  private value = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** What added() counted while a read was in flight: the read's snapshot may predate it. */
  private addedDuringRead = 0;

  constructor(
    private readonly store: Pick<DeliveryStore, 'countBacklog'>,
    private readonly logger: Logger,
    private readonly intervalMs = 500,
  ) {}

  backlog(): number {
    return this.value;
  }

  /**
   * Counts work this node just added, so the reading does not lag a burst by a whole
   * interval (completed work is only subtracted at the next reading: errs on refusing).
   */
  added(n: number): void {
    this.value += n;
    if (this.reading) this.addedDuringRead += n;
  }

  async start(): Promise<void> {
    await this.read();
    this.timer = setInterval(() => void this.read(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    this.addedDuringRead = 0;
    try {
      const backlog = await this.store.countBacklog();
      // Work added during the read may be missing from its snapshot: keep it, so the reading
      // can only over-count (by publishes committed before the snapshot but counted after).
      this.value = backlog + this.addedDuringRead;
    } catch (err) {
      this.logger.warn({ err }, 'could not read the delivery backlog');
    } finally {
      this.reading = false;
    }
  }
}
