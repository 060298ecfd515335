/**
 * (e) Overload: closed-loop publishing at full speed to a topic with 10
 * subscriptions while Herald delivers. Herald runs with HERALD_MAX_BACKLOG set to
 * BENCH_OVERLOAD_MAX_BACKLOG (default 20,000, quick 5,000: low enough that the window reaches
 * it), so past it publishes are refused with 429 + Retry-After; the closed loop
 * treats a 429 as an answer and sends its next publish at once (it records
 * Retry-After but does not wait), the worst case of clients that ignore it.
 * Every 500 ms we sample the acked publishes, the non-2xx answers, the receiver's
 * delivery count and /metrics (herald_queue_depth, herald_deliveries_in_flight,
 * herald_fanout_backlog). The outstanding work is acked × 10 − delivered. It is
 * bounded when it stops growing over the second half of the window (less than
 * max(100/s, 5% of the delivery rate)), or when Herald's first 429 came in the
 * first half and the outstanding work stayed under 2 × HERALD_MAX_BACKLOG all
 * through the second half: backpressure gives a sawtooth (Herald re-reads its backlog periodically and
 * accepts everything until the next reading), whose slope over a short window says
 * little. Herald's own backlog (what it compares with the threshold) is queue
 * depth + in flight + fan-out backlog; its peak is reported against the threshold.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { closedLoop, type LiveCounters } from '../lib/load.js';
import { presignPublishes } from '../lib/signing.js';
import { nowMs, sleep, slope, summarise, type Summary } from '../lib/stats.js';

const SUBS = 10;
const SAMPLE_MS = 500;

export interface OverloadSample {
  t: number;
  acked: number;
  delivered: number;
  outstanding: number;
  /** Non-2xx answers and errors so far (429s once the threshold is passed). */
  refused: number;
  /** queue depth + in flight + fan-out backlog: the figure Herald compares with HERALD_MAX_BACKLOG. */
  heraldBacklog: number;
  queueDepth: number;
  inFlight: number;
  fanoutBacklog: number;
}

export interface OverloadRun {
  publishRate: number;
  deliveryRate: number;
  statuses: Record<string, number>;
  /** HERALD_MAX_BACKLOG Herald ran with. */
  maxBacklogSetting: number;
  /** 429 answers (whole loop), how many carried Retry-After, and the values seen. */
  refused429: number;
  refused429WithRetryAfter: number;
  retryAfter: Record<string, number>;
  /** Seconds into the window of the first 429 (NaN if none). */
  firstRefusalSec: number;
  /** Highest Herald backlog in the /metrics samples of the window. */
  maxHeraldBacklog: number;
  /** Outstanding deliveries at the end of the window. */
  finalBacklog: number;
  /** Deliveries/s the outstanding work grew by over the second half of the window. */
  growthPerSec: number;
  /** Highest outstanding work over the second half of the window. */
  peakOutstandingSecondHalf: number;
  /** Bounded because the outstanding work stopped growing (flat) or because 429s held it under 2 × the threshold (capped). */
  flat: boolean;
  capped: boolean;
  bounded: boolean;
  samples: OverloadSample[];
  cpu: Record<string, number>;
}

export interface OverloadFigures {
  publishRate: Summary;
  deliveryRate: Summary;
  finalBacklog: Summary;
  growthPerSec: Summary;
  refused429: Summary;
  /** Runs in which every 429 carried a Retry-After header (of runs with any 429). */
  retryAfterRuns: number;
  runsWith429: number;
  maxHeraldBacklog: Summary;
  maxBacklogSetting: number;
  boundedRuns: number;
  runs: OverloadRun[];
}

export async function overloadScenario(ctx: BenchContext, store: StoreKind): Promise<OverloadFigures> {
  const { cfg } = ctx;
  const runs: OverloadRun[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS, { HERALD_MAX_BACKLOG: String(cfg.overloadMaxBacklog) });
    try {
      const live: LiveCounters = { completed: 0, ok: 0 };
      const samples: OverloadSample[] = [];
      const durationMs = cfg.overloadSeconds * 1000;
      const t0 = nowMs();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const due = t0 + samples.length * SAMPLE_MS;
          await sleep(Math.max(0, due - nowMs()));
          const acked = live.ok;
          const refused = live.completed - live.ok;
          const [rx, b] = await Promise.all([ctx.receiver.request<ReceiverStats>('stats'), herald.api.backlog().catch(() => undefined)]);
          samples.push({
            t: (nowMs() - t0) / 1000,
            acked,
            delivered: rx.delivered,
            outstanding: acked * SUBS - rx.delivered,
            refused,
            heraldBacklog: b === undefined ? Number.NaN : b.queueDepth + b.inFlight + b.fanoutBacklog,
            queueDepth: b?.queueDepth ?? Number.NaN,
            inFlight: b?.inFlight ?? Number.NaN,
            fanoutBacklog: b?.fanoutBacklog ?? Number.NaN,
          });
        }
      })();
      const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid }).start();
      const res = await closedLoop({ origin: herald.url, requests: presignPublishes(herald.url, herald.creds, topicId, 8), connections: cfg.connections, warmupMs: 0, durationMs, live });
      const usage = cpu.stop();
      sampling = false;
      await sampler;
      const inWindow = samples.filter((s) => s.t <= durationMs / 1000 + 0.25);
      const last = inWindow[inWindow.length - 1]!;
      const secondHalf = inWindow.filter((s) => s.t >= durationMs / 2000).map((s) => ({ x: s.t, y: s.outstanding }));
      const deliveryRate = last.delivered / last.t;
      const growthPerSec = slope(secondHalf);
      const peakOutstandingSecondHalf = Math.max(...secondHalf.map((p) => p.y));
      // Flat: the outstanding work stops growing (less than 5% of the delivery rate, or 100/s).
      const flat = growthPerSec < Math.max(100, 0.05 * deliveryRate);
      // Capped: backpressure acted all through the second half (first 429 in the first half)
      // and the outstanding work stayed within 2 × HERALD_MAX_BACKLOG.
      const firstRefusalSec = (res.refused.firstAtMs - t0) / 1000;
      const capped = firstRefusalSec <= durationMs / 2000 && peakOutstandingSecondHalf <= 2 * cfg.overloadMaxBacklog;
      const run: OverloadRun = {
        publishRate: res.rate,
        deliveryRate,
        statuses: res.statuses,
        maxBacklogSetting: cfg.overloadMaxBacklog,
        refused429: res.refused.count,
        refused429WithRetryAfter: res.refused.withRetryAfter,
        retryAfter: res.refused.retryAfter,
        firstRefusalSec,
        maxHeraldBacklog: inWindow.reduce((m, s) => (Number.isFinite(s.heraldBacklog) && !(s.heraldBacklog <= m) ? s.heraldBacklog : m), Number.NaN),
        finalBacklog: last.outstanding,
        growthPerSec,
        peakOutstandingSecondHalf,
        flat,
        capped,
        bounded: flat || capped,
        samples,
        cpu: usage,
      };
      runs.push(run);
      const series = inWindow.filter((_, i) => i % 2 === 0).map((s) => `${s.t.toFixed(1)}s:${s.outstanding}/${s.heraldBacklog}`);
      ctx.log(
        `  ${store} (e) overload run ${r + 1}: ${Math.round(run.publishRate)} publishes/s accepted (${JSON.stringify(run.statuses)}), ${Math.round(deliveryRate)} deliveries/s, ` +
          `${run.refused429} × 429 (${run.refused429WithRetryAfter} with Retry-After ${JSON.stringify(run.retryAfter)}, the first at ${firstRefusalSec.toFixed(1)} s), Herald backlog peak ${run.maxHeraldBacklog} vs HERALD_MAX_BACKLOG ${cfg.overloadMaxBacklog}, ` +
          `backlog ${run.finalBacklog} after ${cfg.overloadSeconds} s, growing ${Math.round(growthPerSec)}/s, 2nd-half peak ${peakOutstandingSecondHalf} → ${run.bounded ? `BOUNDED (${[flat ? 'flat' : '', capped ? 'capped by 429' : ''].filter((x) => x !== '').join(', ')})` : 'UNBOUNDED'}; CPU% ${JSON.stringify(usage)}\n    backlog (outstanding/Herald's): ${series.join(' ')}`,
      );
    } finally {
      await stopFast(ctx, herald);
    }
  }
  return {
    publishRate: summarise(runs.map((x) => x.publishRate)),
    deliveryRate: summarise(runs.map((x) => x.deliveryRate)),
    finalBacklog: summarise(runs.map((x) => x.finalBacklog)),
    growthPerSec: summarise(runs.map((x) => x.growthPerSec)),
    refused429: summarise(runs.map((x) => x.refused429)),
    runsWith429: runs.filter((x) => x.refused429 > 0).length,
    retryAfterRuns: runs.filter((x) => x.refused429 > 0 && x.refused429WithRetryAfter === x.refused429).length,
    maxHeraldBacklog: summarise(runs.map((x) => x.maxHeraldBacklog)),
    maxBacklogSetting: cfg.overloadMaxBacklog,
    boundedRuns: runs.filter((x) => x.bounded).length,
    runs,
  };
}
