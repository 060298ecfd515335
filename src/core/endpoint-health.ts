/**
 * Endpoint health: what a batch of finished attempts does to each subscription's failure
 * record, and how the record reads as a state. Pure: the stores apply the deltas in the
 * same transaction that records the attempts.
 */
import type { AttemptResult } from './deliveries.js';
import type { LastFailure, SubscriptionHealthRecord } from './models.js';

/** Disable after 5 days without a success, as Svix does. */
export const DEFAULT_ENDPOINT_DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;

export type HealthState = 'HEALTHY' | 'FAILING' | 'DISABLED';

/** One subscription's change from one batch. */
export interface HealthDelta {
  subscriptionId: string;
  /** A success was seen: the record restarts from what followed it. */
  reset: boolean;
  /** Failures after the last success in the batch (all of them when there was none). */
  failures: number;
  /** The first of those failures: the record's failingSince when it had none. */
  firstFailureAt: number | null;
  lastFailure: LastFailure | null;
}

/**
 * Folds a batch into one delta per subscription, attempts taken in the order they started
 * (two nodes' or two slots' attempts may finish out of order).
 */
export function healthDeltas(results: readonly AttemptResult[]): HealthDelta[] {
  const tried = results.filter((r) => r.health !== undefined);
  if (tried.length === 0) return [];
  tried.sort((a, b) => a.attempt.startedAt - b.attempt.startedAt);
  const bySub = new Map<string, HealthDelta>();
  for (const r of tried) {
    const subscriptionId = subscriptionOf(r);
    let d = bySub.get(subscriptionId);
    if (d === undefined) {
      d = { subscriptionId, reset: false, failures: 0, firstFailureAt: null, lastFailure: null };
      bySub.set(subscriptionId, d);
    }
    if (r.health === 'success') {
      d.reset = true;
      d.failures = 0;
      d.firstFailureAt = null;
      continue;
    }
    d.failures++;
    d.firstFailureAt ??= r.attempt.startedAt;
    d.lastFailure = { at: r.attempt.startedAt, statusCode: r.attempt.statusCode, error: (r.attempt.error ?? 'failed').slice(0, 500) };
  }
  // Sorted so that concurrent batches of two nodes lock subscription rows in the same order.
  return [...bySub.values()].sort((a, b) => (a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0));
}

function subscriptionOf(r: AttemptResult): string {
  if (r.subscriptionId === undefined) throw new RangeError(`Attempt result ${r.deliveryId} with a health outcome has no subscription id`);
  return r.subscriptionId;
}

export function healthState(h: SubscriptionHealthRecord): HealthState {
  if (h.disabledAt !== null) return 'DISABLED';
  return h.failingSince !== null ? 'FAILING' : 'HEALTHY';
}
