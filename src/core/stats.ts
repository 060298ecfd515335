/**
 * The console's stored history, the pure part: the publish→delivery latency histogram, the in-memory
 * per-minute tally a node keeps between flushes, and the ranges the console reads. No IO here: the
 * recorder that flushes the tally on a timer is src/server/minute-stats.ts.
 */
import type { DeliveryKind, FinalState } from './deliveries.js';
import type { MinuteStatsRow, StatsCounts } from './ports/stats.js';

/**
 * Inclusive upper bounds (ms) of the latency buckets: 1 ms doubling to 2^19 ms (about 8.7 minutes), and a
 * last bucket for anything slower. Fixed, so every node's minutes merge by adding their counts; doubling
 * keeps 1 ms to 10 minutes in 21 columns, and a percentile is interpolated inside its bucket (below).
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze(Array.from({ length: 20 }, (_, i) => 2 ** i));
/** How many buckets the histogram has: one per bound plus the overflow. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export const MINUTE_MS = 60_000;
/** How long minute rows are kept: the console reads at most a day, a week more leaves room for a longer view. */
export const STATS_RETENTION_MS = 8 * 24 * 60 * MINUTE_MS;

/** The histogram bucket of a latency: the first whose bound is at least `ms` (a clock step backwards counts as 0). */
export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(Math.ceil(Math.log2(ms)), LATENCY_BUCKETS - 1);
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, null when it is empty: the bucket holding rank q × total, linearly
 * interpolated between its bounds (what Prometheus' histogram_quantile does). The overflow bucket has no upper
 * bound, so a rank there reads as its lower bound. Rounded to 0.1 ms.
 */
export function latencyQuantile(counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c === 0) continue;
    if (seen + c >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
      const upper = LATENCY_BOUNDS_MS[i] ?? lower;
      return Math.round((lower + ((upper - lower) * (rank - seen)) / c) * 10) / 10;
    }
    seen += c;
  }
  return LATENCY_BOUNDS_MS.at(-1) ?? null;
}

export function emptyCounts(): StatsCounts {
  return { published: 0, delivered: 0, failedAttempts: 0, deadLetters: 0, confirmations: 0, latency: new Array<number>(LATENCY_BUCKETS).fill(0) };
}

/** Adds `from` into `into` (histograms bucket by bucket). */
export function addCounts(into: StatsCounts, from: StatsCounts): void {
  into.published += from.published;
  into.delivered += from.delivered;
  into.failedAttempts += from.failedAttempts;
  into.deadLetters += from.deadLetters;
  into.confirmations += from.confirmations;
  for (let i = 0; i < LATENCY_BUCKETS; i++) into.latency[i] = (into.latency[i] ?? 0) + (from.latency[i] ?? 0);
}

/** What the tally needs of a delivery. */
export interface CountedDelivery {
  tenancyId: string;
  topicId: string;
  kind: DeliveryKind;
}

/**
 * One node's counts since its last flush, per tenancy, topic and minute of the event. Counting is a map
 * lookup and an increment, so it can sit on the publish path and the delivery engine's hot loop.
 */
export class MinuteTally {
  private rows = new Map<string, MinuteStatsRow>();
  /**
   * The row counted last: a node's deliveries come in runs of one topic and minute, and this spares each of them a
   * key of ~170 characters built and hashed. Never a row take() has handed out.
   */
  private last: MinuteStatsRow | undefined;

  get size(): number {
    return this.rows.size;
  }

  published(tenancyId: string, topicId: string, at: number, n = 1): void {
    this.row(tenancyId, topicId, at).published += n;
  }

  /** Failed attempts of notifications; a confirmation's failures are its own business (it is retried). */
  attempt(d: CountedDelivery, outcome: 'success' | 'failure', at: number): void {
    if (d.kind === 'MESSAGE' && outcome === 'failure') this.row(d.tenancyId, d.topicId, at).failedAttempts++;
  }

  /**
   * A delivery that ended. A delivered notification also adds its publish→delivery latency (when the
   * message's publishedAt is known); a delivered confirmation is a handshake, counted apart.
   */
  finished(d: CountedDelivery, state: FinalState, publishedAt: number | null, at: number): void {
    // Neither was sent: a cancelled delivery's subscription went away, a filtered one's policy refused the message.
    if (state === 'CANCELLED' || state === 'FILTERED') return;
    if (d.kind === 'CONFIRMATION') {
      if (state === 'DELIVERED') this.row(d.tenancyId, d.topicId, at).confirmations++;
      return;
    }
    const row = this.row(d.tenancyId, d.topicId, at);
    if (state === 'DEAD') {
      row.deadLetters++;
      return;
    }
    row.delivered++;
    if (publishedAt !== null) {
      const b = latencyBucket(at - publishedAt);
      row.latency[b] = (row.latency[b] ?? 0) + 1;
    }
  }

  /** Everything counted so far, leaving the tally empty. */
  take(): MinuteStatsRow[] {
    const out = [...this.rows.values()];
    this.rows = new Map();
    this.last = undefined;
    return out;
  }

  /** Puts back rows a flush could not write (added to whatever was counted meanwhile). */
  restore(rows: readonly MinuteStatsRow[]): void {
    for (const r of rows) addCounts(this.row(r.tenancyId, r.topicId, r.minute), r);
  }

  private row(tenancyId: string, topicId: string, at: number): MinuteStatsRow {
    const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    const last = this.last;
    if (last !== undefined && last.minute === minute && last.topicId === topicId && last.tenancyId === tenancyId) return last;
    const key = `${tenancyId}\n${topicId}\n${minute}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = { tenancyId, topicId, minute, ...emptyCounts() };
      this.rows.set(key, row);
    }
    this.last = row;
    return row;
  }
}

export type StatsRange = 'hour' | 'day';

/** Each range: its bucket and how many buckets, the last one holding now. */
export const STATS_RANGES: Readonly<Record<StatsRange, { bucketMs: number; buckets: number }>> = {
  hour: { bucketMs: MINUTE_MS, buckets: 60 },
  day: { bucketMs: 15 * MINUTE_MS, buckets: 96 },
};

/** The buckets of a range ending with the one that holds `now`: [from, to), `to` the end of the current bucket. */
export function rangeWindow(range: StatsRange, now: number): { bucketMs: number; buckets: number; from: number; to: number } {
  const { bucketMs, buckets } = STATS_RANGES[range];
  const to = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  return { bucketMs, buckets, from: to - buckets * bucketMs, to };
}
