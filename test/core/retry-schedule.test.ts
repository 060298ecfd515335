import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, MAX_RETRY_AFTER_MS, planRetry } from '../../src/core/retry-schedule.js';

const MIN = 60_000;

describe('retry schedule', () => {
  it('follows OCI: immediate, then 1, 2, 4, 8, 16, 32 minutes, then every 32 minutes', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoffDelayMs),
      [0, 1 * MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, 32 * MIN, 32 * MIN],
    );
  });

  // OCI documents the first attempt, an immediate retry, then 1, 2, 4, 8, 16, 32 minutes; Herald keeps retrying every
  // 32 minutes after that (the behaviour from 63 to 120 minutes is undocumented). Within 2 hours that is 9 attempts.
  it('makes 9 attempts in the default 2 hour window and then gives up', () => {
    let now = 0;
    let failures = 0;
    const attempts: number[] = [now];
    for (;;) {
      failures++;
      const d = planRetry({ failedAttempts: failures, now, windowStartAt: 0, maxRetryDurationMs: 120 * MIN, timeScale: 1 });
      if (!d.retry) break;
      now = d.at;
      attempts.push(now);
    }
    // 0, 0, 1, 3, 7, 15, 31, 63, 95 minutes; the next (127) is past 120.
    assert.deepEqual(attempts.map((t) => t / MIN), [0, 0, 1, 3, 7, 15, 31, 63, 95]);
    assert.equal(attempts.length, 9);
    assert.equal(failures, 9, 'the ninth failure is the one that gives up');
  });

  it('scales delays and the window together', () => {
    const d = planRetry({ failedAttempts: 3, now: 1000, windowStartAt: 1000, maxRetryDurationMs: 120 * MIN, timeScale: 0.001 });
    assert.deepEqual(d, { retry: true, at: 1000 + 2 * MIN * 0.001 });
    const closed = planRetry({ failedAttempts: 9, now: 1000 + 7200, windowStartAt: 1000, maxRetryDurationMs: 120 * MIN, timeScale: 0.001 });
    assert.deepEqual(closed, { retry: false });
  });

  it('honours Retry-After when longer than the schedule, clamped to 32 minutes', () => {
    const base = { failedAttempts: 1, now: 0, windowStartAt: 0, maxRetryDurationMs: 120 * MIN, timeScale: 1 };
    assert.deepEqual(planRetry({ ...base, retryAfterMs: 30_000 }), { retry: true, at: 30_000 });
    assert.deepEqual(planRetry({ ...base, retryAfterMs: 10 * 24 * 60 * MIN }), { retry: true, at: MAX_RETRY_AFTER_MS });
    assert.deepEqual(planRetry({ ...base, failedAttempts: 4, retryAfterMs: 1000 }), { retry: true, at: 4 * MIN });
    assert.deepEqual(planRetry({ ...base, retryAfterMs: -5 }), { retry: true, at: 0 });
  });

  it('never schedules past the subscription window', () => {
    const d = planRetry({ failedAttempts: 2, now: 0, windowStartAt: 0, maxRetryDurationMs: 30_000, timeScale: 1 });
    assert.deepEqual(d, { retry: false });
  });
});
