/**
 * (a) Durable publish/s: 1 KB signed publishes, closed loop, to a topic with 0, 1 or
 * 10 ACTIVE CUSTOM_HTTPS subscriptions (deliveries flow to the receiver meanwhile).
 * A fresh Herald per run, so no run inherits another's backlog.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { closedLoop, type ClosedLoopResult } from '../lib/load.js';
import { presignPublishes } from '../lib/signing.js';
import { summarise, type Summary } from '../lib/stats.js';

export interface PublishRun extends ClosedLoopResult {
  subs: number;
  deliveriesPerSec: number;
  cpu: Record<string, number>;
}

export interface PublishFigures {
  subs: number;
  rate: Summary;
  deliveries: Summary;
  ackP99: Summary;
  runs: PublishRun[];
}

export async function publishScenario(ctx: BenchContext, store: StoreKind): Promise<PublishFigures[]> {
  const { cfg } = ctx;
  const out: PublishFigures[] = [];
  for (const subs of cfg.subCounts) {
    const runs: PublishRun[] = [];
    for (let r = 0; r < cfg.runs; r++) {
      const { herald, topicId } = await heraldWithTopic(ctx, store, subs);
      try {
        const requests = presignPublishes(herald.url, herald.creds, topicId, 8);
        const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid });
        let atStart: Promise<ReceiverStats> | undefined;
        const res = await closedLoop({
          origin: herald.url,
          requests,
          connections: cfg.connections,
          warmupMs: cfg.warmupSeconds * 1000,
          durationMs: cfg.seconds * 1000,
          onWindowStart: () => {
            cpu.start();
            atStart = ctx.receiver.request<ReceiverStats>('stats');
          },
        });
        const usage = cpu.stop();
        const end = await ctx.receiver.request<ReceiverStats>('stats');
        const start = await atStart!;
        const deliveriesPerSec = (end.delivered - start.delivered) / ((end.atMs - start.atMs) / 1000);
        runs.push({ ...res, subs, deliveriesPerSec, cpu: usage });
        ctx.log(
          `  ${store} (a) ${subs} subs run ${r + 1}: ${Math.round(res.rate)} publishes/s (ack p50 ${res.latencyMs.p50.toFixed(1)} ms, p99 ${res.latencyMs.p99.toFixed(1)} ms), ` +
            `${Math.round(deliveriesPerSec)} deliveries/s meanwhile, statuses ${JSON.stringify(res.statuses)}, CPU% ${JSON.stringify(usage)}`,
        );
      } finally {
        await stopFast(ctx, herald);
      }
    }
    out.push({
      subs,
      rate: summarise(runs.map((x) => x.rate)),
      deliveries: summarise(runs.map((x) => x.deliveriesPerSec)),
      ackP99: summarise(runs.map((x) => x.latencyMs.p99)),
      runs,
    });
  }
  return out;
}
