/**
 * OCI's documented schedule: after a failed attempt an immediate retry, then
 * 1, 2, 4, 8, 16, 32 minutes, then every 32 minutes until the subscription's
 * maxRetryDuration has passed since the delivery's window opened.
 */
const MINUTE = 60_000;
export const BACKOFF_MS: readonly number[] = [0, 1, 2, 4, 8, 16, 32].map((m) => m * MINUTE);
/** A receiver's Retry-After is honoured up to the schedule's longest step. */
export const MAX_RETRY_AFTER_MS = 32 * MINUTE;

/** Delay before the next attempt after `failedAttempts` failures (1-based), before scaling. */
export function backoffDelayMs(failedAttempts: number): number {
  const i = Math.max(1, failedAttempts) - 1;
  return BACKOFF_MS[Math.min(i, BACKOFF_MS.length - 1)]!;
}

export interface RetryInput {
  /** Failures so far, including the one just seen. */
  failedAttempts: number;
  now: number;
  windowStartAt: number;
  maxRetryDurationMs: number;
  /** Multiplies every delay and the window (HERALD_RETRY_TIME_SCALE), so tests run the schedule in milliseconds. */
  timeScale: number;
  retryAfterMs?: number;
}

export type RetryDecision = { retry: true; at: number } | { retry: false };

/** Decides when to try again, or that the window has closed and the delivery is a dead letter. */
export function planRetry(input: RetryInput): RetryDecision {
  let delay = backoffDelayMs(input.failedAttempts);
  if (input.retryAfterMs !== undefined && Number.isFinite(input.retryAfterMs)) {
    delay = Math.max(delay, Math.min(Math.max(0, input.retryAfterMs), MAX_RETRY_AFTER_MS));
  }
  const at = input.now + Math.round(delay * input.timeScale);
  const closesAt = input.windowStartAt + Math.round(input.maxRetryDurationMs * input.timeScale);
  return at <= closesAt ? { retry: true, at } : { retry: false };
}
