import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptResult } from '../../src/core/deliveries.js';
import { healthDeltas, healthState } from '../../src/core/endpoint-health.js';
import { HEALTHY } from '../../src/core/models.js';

function result(subscriptionId: string, startedAt: number, health: 'success' | 'failure' | undefined, statusCode: number | null = 500): AttemptResult {
  return {
    deliveryId: startedAt,
    leaseOwner: 'n',
    attempt: { deliveryId: startedAt, attemptNo: 1, startedAt, durationMs: 1, outcome: health === 'success' ? 'SUCCESS' : 'FAILURE', statusCode, reply: null, error: health === 'success' ? null : `HTTP ${statusCode}`, responseExcerpt: null, node: 'n' },
    transition: health === 'success' ? { state: 'DELIVERED' } : { state: 'PENDING', nextAttemptAt: startedAt + 1 },
    ...(health === undefined ? {} : { health, subscriptionId }),
  };
}

describe('endpoint health', () => {
  it('folds a batch per subscription in start order: a success restarts the count from what followed it', () => {
    const deltas = healthDeltas([
      result('s2', 30, 'failure', 503),
      result('s1', 20, 'success'),
      result('s1', 10, 'failure'),
      result('s1', 40, 'failure', 502),
      result('s1', 50, 'failure', 504),
      result('s3', 5, undefined),
    ]);
    assert.deepEqual(deltas, [
      { subscriptionId: 's1', reset: true, failures: 2, firstFailureAt: 40, lastFailure: { at: 50, statusCode: 504, error: 'HTTP 504' } },
      { subscriptionId: 's2', reset: false, failures: 1, firstFailureAt: 30, lastFailure: { at: 30, statusCode: 503, error: 'HTTP 503' } },
    ]);
  });

  it('a batch ending in a success leaves no failures and no failing-since', () => {
    assert.deepEqual(healthDeltas([result('s', 1, 'failure'), result('s', 2, 'success')]), [
      { subscriptionId: 's', reset: true, failures: 0, firstFailureAt: null, lastFailure: { at: 1, statusCode: 500, error: 'HTTP 500' } },
    ]);
    assert.deepEqual(healthDeltas([result('s', 1, undefined)]), []);
  });

  it('reads DISABLED over FAILING over HEALTHY', () => {
    assert.equal(healthState(HEALTHY), 'HEALTHY');
    assert.equal(healthState({ ...HEALTHY, failingSince: 1, consecutiveFailures: 3 }), 'FAILING');
    assert.equal(healthState({ ...HEALTHY, failingSince: 1, disabledAt: 2 }), 'DISABLED');
  });
});
