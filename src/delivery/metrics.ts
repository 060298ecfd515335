/** What the delivery engine reports; the server backs it with Prometheus counters. */
export interface DeliveryMetrics {
  attempt(protocol: string, outcome: 'success' | 'failure', durationMs: number): void;
  finished(protocol: string, state: 'DELIVERED' | 'DEAD' | 'CANCELLED'): void;
}

export const NO_METRICS: DeliveryMetrics = {
  attempt() {},
  finished() {},
};
