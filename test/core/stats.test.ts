import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MinuteStatsRow } from '../../src/core/ports/stats.js';
import { addCounts, emptyCounts, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, latencyBucket, latencyQuantile, MinuteTally, MINUTE_MS, rangeWindow } from '../../src/core/stats.js';

/** The pure half of the console's stored history: the tally a node keeps between flushes, the histogram, the ranges. */

const M = 1_700_000_040_000; // a minute boundary
const notification = { tenancyId: 'ten-a', topicId: 'topic-1', kind: 'MESSAGE' as const };
const handshake = { ...notification, kind: 'CONFIRMATION' as const };

const byKey = (rows: MinuteStatsRow[]): Map<string, MinuteStatsRow> => new Map(rows.map((r) => [`${r.tenancyId}/${r.topicId}/${r.minute}`, r]));

describe('MinuteTally', () => {
  it('counts delivered notifications apart from delivered confirmation handshakes', () => {
    const t = new MinuteTally();
    t.finished(notification, 'DELIVERED', M, M + 5);
    t.finished(notification, 'DELIVERED', M, M + 7);
    t.finished(handshake, 'DELIVERED', null, M + 9);
    t.finished(handshake, 'DEAD', null, M + 9); // a handshake that never got through is no dead letter
    const [row] = t.take();
    assert.deepEqual({ delivered: row?.delivered, confirmations: row?.confirmations, deadLetters: row?.deadLetters }, { delivered: 2, confirmations: 1, deadLetters: 0 });
  });

  it("counts failed notification attempts and dead letters, not a handshake's failures, successes or cancellations", () => {
    const t = new MinuteTally();
    t.attempt(notification, 'failure', M);
    t.attempt(notification, 'failure', M);
    t.attempt(notification, 'success', M);
    t.attempt(handshake, 'failure', M);
    t.finished(notification, 'DEAD', M, M + 1);
    t.finished(notification, 'CANCELLED', M, M + 1);
    const [row] = t.take();
    assert.equal(row?.failedAttempts, 2);
    assert.equal(row?.deadLetters, 1);
    assert.equal(row?.delivered, 0);
    assert.deepEqual(row?.latency, new Array<number>(LATENCY_BUCKETS).fill(0), 'only a delivery measures latency');
  });

  it('keys counts by tenancy, topic and minute of the event, and take() empties it', () => {
    const t = new MinuteTally();
    t.published('ten-a', 'topic-1', M + 59_999);
    t.published('ten-a', 'topic-1', M + 60_000, 2);
    t.published('ten-b', 'topic-1', M);
    t.published('ten-a', 'topic-2', M);
    const rows = byKey(t.take());
    assert.equal(rows.size, 4);
    assert.equal(rows.get(`ten-a/topic-1/${M}`)?.published, 1);
    assert.equal(rows.get(`ten-a/topic-1/${M + MINUTE_MS}`)?.published, 2);
    assert.equal(t.size, 0);
    assert.deepEqual(t.take(), []);
  });

  it('counts what comes after take() in rows of its own, never in a row it handed out', () => {
    const t = new MinuteTally();
    t.finished(notification, 'DELIVERED', M, M + 5);
    const first = t.take();
    t.finished(notification, 'DELIVERED', M, M + 6);
    t.finished(notification, 'DELIVERED', M, M + 7);
    const second = t.take();
    assert.deepEqual(first.map((r) => r.delivered), [1], 'a taken row is not counted into');
    assert.deepEqual(second.map((r) => r.delivered), [2]);
    // Runs of one row, broken by another tenancy, topic or minute, land where each belongs.
    t.published('ten-a', 'topic-1', M);
    t.published('ten-a', 'topic-2', M);
    t.published('ten-a', 'topic-1', M + 1);
    t.published('ten-b', 'topic-1', M + 2);
    t.published('ten-a', 'topic-1', M + MINUTE_MS);
    const rows = byKey(t.take());
    assert.deepEqual(
      [...rows].map(([k, r]) => [k, r.published]),
      [
        [`ten-a/topic-1/${M}`, 2],
        [`ten-a/topic-2/${M}`, 1],
        [`ten-b/topic-1/${M}`, 1],
        [`ten-a/topic-1/${M + MINUTE_MS}`, 1],
      ],
    );
  });

  it('adds restored rows to what was counted since', () => {
    const t = new MinuteTally();
    t.published('ten-a', 'topic-1', M);
    const failed = t.take();
    t.published('ten-a', 'topic-1', M + 1);
    t.restore(failed);
    assert.deepEqual(t.take().map((r) => r.published), [2]);
  });

  it('puts each delivery in the latency bucket of publish→delivery', () => {
    const t = new MinuteTally();
    t.finished(notification, 'DELIVERED', M, M + 3); // (2, 4]
    t.finished(notification, 'DELIVERED', M, M + 4); // (2, 4]
    t.finished(notification, 'DELIVERED', M, M + 1000); // (512, 1024]
    t.finished(notification, 'DELIVERED', null, M + 10); // publishedAt unknown: delivered, unmeasured
    const [row] = t.take();
    assert.equal(row?.delivered, 4);
    assert.equal(row?.latency[2], 2);
    assert.equal(row?.latency[10], 1);
    assert.equal(row?.latency.reduce((a, b) => a + b, 0), 3);
  });
});

describe('latency histogram', () => {
  it('has log-spaced bounds from 1 ms to 2^19 ms and an overflow bucket', () => {
    assert.equal(LATENCY_BOUNDS_MS[0], 1);
    assert.equal(LATENCY_BOUNDS_MS.at(-1), 524_288);
    assert.equal(LATENCY_BUCKETS, 21);
    assert.deepEqual([0, -5, 1, 1.5, 2, 3, 4, 5, 524_288, 524_289, 3_600_000].map(latencyBucket), [0, 0, 0, 1, 1, 2, 2, 3, 19, 20, 20]);
  });

  it('reads p50 and p99 from buckets merged by adding, interpolated inside the bucket', () => {
    // Two nodes' minutes: 98 fast deliveries (≤ 4 ms) and 2 slow ones (1-2 s), merged.
    const a = emptyCounts();
    a.latency[2] = 60; // (2, 4]
    const b = emptyCounts();
    b.latency[2] = 38;
    b.latency[11] = 2; // (1024, 2048]
    const merged = emptyCounts();
    addCounts(merged, a);
    addCounts(merged, b);
    assert.equal(merged.latency[2], 98);
    assert.equal(latencyQuantile(merged.latency, 0.5), 3); // rank 50 of 98 in (2, 4]
    assert.equal(latencyQuantile(merged.latency, 0.99), 1536); // rank 99: halfway through (1024, 2048]
    assert.equal(latencyQuantile(a.latency, 0.99), 4, 'one node alone never saw the slow ones');
  });

  it('is null when empty, and an overflow reads as its lower bound', () => {
    assert.equal(latencyQuantile(emptyCounts().latency, 0.5), null);
    const slow = emptyCounts();
    slow.latency[20] = 3;
    assert.equal(latencyQuantile(slow.latency, 0.99), 524_288);
  });
});

describe('rangeWindow', () => {
  it('ends with the bucket holding now: 60 minutes for an hour, 96 quarter-hours for a day', () => {
    const now = M + 90_000; // 30 s into the minute after M
    assert.deepEqual(rangeWindow('hour', now), { bucketMs: MINUTE_MS, buckets: 60, from: M + 2 * MINUTE_MS - 60 * MINUTE_MS, to: M + 2 * MINUTE_MS });
    const day = rangeWindow('day', now);
    assert.equal(day.to % (15 * MINUTE_MS), 0);
    assert.ok(day.to > now && day.to - 15 * MINUTE_MS <= now);
    assert.equal(day.to - day.from, 24 * 60 * MINUTE_MS);
  });
});
