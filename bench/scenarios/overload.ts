/**
 * (e) Overload: closed-loop publishing at full speed to a topic with 10
 * subscriptions while Herald delivers. Every 500 ms we sample the acked publishes,
 * the receiver's delivery count and /metrics (herald_queue_depth,
 * herald_deliveries_in_flight, herald_fanout_backlog). The outstanding work is
 * acked × 10 − delivered; its growth over the second half of the window says
 * whether the backlog stays bounded.
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
  queueDepth: number;
  inFlight: number;
  fanoutBacklog: number;
}

export interface OverloadRun {
  publishRate: number;
  deliveryRate: number;
  statuses: Record<string, number>;
  /** Outstanding deliveries at the end of the window. */
  finalBacklog: number;
  /** Deliveries/s the outstanding work grew by over the second half of the window. */
  growthPerSec: number;
  bounded: boolean;
  samples: OverloadSample[];
  cpu: Record<string, number>;
}

export interface OverloadFigures {
  publishRate: Summary;
  deliveryRate: Summary;
  finalBacklog: Summary;
  growthPerSec: Summary;
  boundedRuns: number;
  runs: OverloadRun[];
}

export async function overloadScenario(ctx: BenchContext, store: StoreKind): Promise<OverloadFigures> {
  const { cfg } = ctx;
  const runs: OverloadRun[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS);
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
          const [rx, b] = await Promise.all([ctx.receiver.request<ReceiverStats>('stats'), herald.api.backlog().catch(() => undefined)]);
          samples.push({
            t: (nowMs() - t0) / 1000,
            acked,
            delivered: rx.delivered,
            outstanding: acked * SUBS - rx.delivered,
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
      const run: OverloadRun = {
        publishRate: res.rate,
        deliveryRate,
        statuses: res.statuses,
        finalBacklog: last.outstanding,
        growthPerSec,
        // Bounded: the outstanding work stops growing (less than 5% of the delivery rate, or 100/s).
        bounded: growthPerSec < Math.max(100, 0.05 * deliveryRate),
        samples,
        cpu: usage,
      };
      runs.push(run);
      const series = inWindow.filter((_, i) => i % 2 === 0).map((s) => `${s.t.toFixed(1)}s:${s.outstanding}`);
      ctx.log(
        `  ${store} (e) overload run ${r + 1}: ${Math.round(run.publishRate)} publishes/s accepted (${JSON.stringify(run.statuses)}), ${Math.round(deliveryRate)} deliveries/s, ` +
          `backlog ${run.finalBacklog} after ${cfg.overloadSeconds} s, growing ${Math.round(growthPerSec)}/s → ${run.bounded ? 'BOUNDED' : 'UNBOUNDED'}; CPU% ${JSON.stringify(usage)}\n    backlog: ${series.join(' ')}`,
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
    boundedRuns: runs.filter((x) => x.bounded).length,
    runs,
  };
}
