import type { Delivery, FinalState } from '../core/deliveries.js';

/**
 * What the delivery engine reports of each attempt and each delivery that ends; the server backs it with
 * Prometheus counters. The delivery itself is passed (its protocol, kind, tenancy, topic and subscription),
 * and the message's publishedAt when it has one, so a consumer can tell notifications from confirmation
 * handshakes and measure publish→delivery.
 */
export interface DeliveryMetrics {
  attempt(d: Delivery, outcome: 'success' | 'failure', durationMs: number): void;
  finished(d: Delivery, state: FinalState, publishedAt: number | null): void;
  /** The fan-out of big topics' messages (after their publish) created `deliveries` deliveries. */
  fannedOut(deliveries: number): void;
}

export const NO_METRICS: DeliveryMetrics = {
  attempt() {},
  finished() {},
  fannedOut() {},
};
