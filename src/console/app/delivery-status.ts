import type { Attempt, Delivery } from './api';
import { clockSeconds } from './time';

/**
 * A delivery's state in words. PENDING after a failed attempt is a retry waiting for its time, which "PENDING"
 * alone hides; the delivery's `attempts` counts attempts made, the last of which failed.
 */
export function deliveryStateText(d: Pick<Delivery, 'state' | 'attempts' | 'timeNextAttempt'>): string {
  if (d.state !== 'PENDING' || d.attempts === 0) return d.state;
  const next = d.timeNextAttempt === null ? 'soon' : clockSeconds(Date.parse(d.timeNextAttempt));
  return `retrying (attempt ${d.attempts} failed; next at ${next})`;
}

/**
 * The attempts made after a re-drive. A re-drive resets the delivery's retry window (timeWindowStart) to its own
 * time; attempts started at or after it, when earlier attempts started before it, are the re-drive's. Without
 * earlier attempts the window start is simply the delivery's creation.
 */
export function redrivenAttempts(d: Pick<Delivery, 'timeWindowStart' | 'attemptHistory'>): Set<number> {
  const out = new Set<number>();
  if (d.timeWindowStart == null) return out;
  const windowStart = Date.parse(d.timeWindowStart);
  const started = (a: Attempt): number | null => (a.timeStarted === null ? null : Date.parse(a.timeStarted));
  const history = d.attemptHistory ?? [];
  if (!history.some((a) => { const t = started(a); return t !== null && t < windowStart; })) return out;
  for (const a of history) {
    const t = started(a);
    if (t !== null && t >= windowStart) out.add(a.attempt);
  }
  return out;
}
