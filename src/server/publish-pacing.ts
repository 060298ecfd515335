import { DEFAULT_PACER_OPTIONS, PublishPacer, type PacerClock, type PacingSignals } from '../core/publish-pacer.js';
import type { PublishedListener } from '../core/messages.js';
import type { DeliveryMetrics } from '../delivery/metrics.js';
import { loopBusyShare } from '../telemetry/loop-busy.js';

/** Real time for the pacer. */
const REAL_CLOCK: PacerClock = { now: Date.now };

export interface PublishPacing {
  /** Never paces with --delivery-lag-target off (a target of 0), and then does not tick either. */
  readonly pacer: PublishPacer;
  /** Tells the pacer of every delivery made (a DeliveryMetrics target beside the Prometheus one). */
  readonly deliveries: DeliveryMetrics;
  /** Tells the pacer what each durable group of publishes made (a MessageService listener). */
  readonly published: PublishedListener;
  stop(): void;
}

/**
 * The publish pacer of this process, ticking on a timer: deliveries' lag from the engine, the busy share
 * from the event loop that runs both publishes and deliveries.
 */
export function startPublishPacing(lag: Pick<PacingSignals, 'deliveryLagMs' | 'oldestDueMs'>, targetLagMs: number): PublishPacing {
  const pacer = new PublishPacer({ deliveryLagMs: () => lag.deliveryLagMs(), oldestDueMs: () => lag.oldestDueMs(), busy: loopBusyShare() }, { ...DEFAULT_PACER_OPTIONS, targetLagMs }, REAL_CLOCK);
  const timer = targetLagMs > 0 ? setInterval(() => pacer.tick(), DEFAULT_PACER_OPTIONS.tickMs) : undefined;
  timer?.unref();
  return {
    pacer,
    deliveries: {
      attempt: () => pacer.delivered(1),
      // Settled without an attempt: the pacer counts the work done all the same (attempted ones were counted above).
      finished: (_d, state) => {
        if (state === 'FILTERED') pacer.delivered(1);
      },
      fannedOut: (deliveries) => pacer.fannedOut(deliveries),
    },
    published: (batch, outcome) => pacer.published(batch.length, outcome.backlogAdded),
    stop() {
      if (timer !== undefined) clearInterval(timer);
      pacer.close();
    },
  };
}
