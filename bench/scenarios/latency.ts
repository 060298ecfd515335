/**
 * (c) Publish→delivery latency under a smooth open-loop rate × 10 subscriptions.
 * Every publish is pre-signed with its scheduled send offset in the message body;
 * the receiver is told the run's epoch and records, per (message id, path),
 * arrival − scheduled time on the shared CLOCK_MONOTONIC. Publish acks are timed
 * from the scheduled time too. A warm-up at the same rate precedes each window.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { openLoop, type OpenLoopResult } from '../lib/load.js';
import { presign, publishBody, type PreparedRequest } from '../lib/signing.js';
import type { HeraldHandle } from '../lib/herald.js';
import { nowMs, percentiles, sleep, summarise, type Percentiles, type Summary } from '../lib/stats.js';

const SUBS = 10;
const OPEN_LOOP_CONNECTIONS = 64;

export interface LatencyRun {
  rate: number;
  ack: Percentiles;
  e2e: Percentiles;
  sendLagMs: Percentiles;
  expected: number;
  missing: number;
  dupes: number;
  statuses: Record<string, number>;
  cpu: Record<string, number>;
}

export interface LatencyFigures {
  rate: number;
  ackP50: Summary;
  ackP99: Summary;
  e2eP50: Summary;
  e2eP99: Summary;
  e2eP999: Summary;
  /** Share of deliveries that had not arrived when the wait ran out. */
  missingShare: Summary;
  runs: LatencyRun[];
}

function schedule(herald: HeraldHandle, topicId: string, tag: string, rate: number, seconds: number): { requests: PreparedRequest[]; offsetsMs: number[] } {
  const n = Math.max(1, Math.round(rate * seconds));
  const offsetsMs = Array.from({ length: n }, (_, i) => (i * 1000) / rate);
  const requests = offsetsMs.map((ms) => presign(herald.url, herald.creds, 'POST', `/20181201/topics/${topicId}/messages`, publishBody(tag, BigInt(Math.round(ms * 1e6)))));
  return { requests, offsetsMs };
}

async function oneWindow(ctx: BenchContext, herald: HeraldHandle, topicId: string, tag: string, rate: number, seconds: number, record: boolean): Promise<{ res: OpenLoopResult; latencies: number[]; dupes: number; expected: number }> {
  const { requests, offsetsMs } = schedule(herald, topicId, tag, rate, seconds);
  const t0Ms = nowMs() + 100;
  if (record) await ctx.receiver.request('latencyStart', { tag, t0: BigInt(Math.round(t0Ms * 1e6)).toString() });
  const res = await openLoop({ origin: herald.url, requests, offsetsMs, t0Ms, connections: OPEN_LOOP_CONNECTIONS });
  const expected = requests.length * SUBS;
  if (!record) return { res, latencies: [], dupes: 0, expected };
  // Deliveries still on their way: wait for them (bounded), then collect.
  const deadline = Date.now() + ctx.cfg.latencyWaitSeconds * 1000;
  while (Date.now() < deadline && (await ctx.receiver.request<{ count: number }>('latencyCount')).count < expected) await sleep(50);
  const got = await ctx.receiver.request<{ latenciesMs: number[]; dupes: number }>('latencyCollect');
  return { res, latencies: got.latenciesMs, dupes: got.dupes, expected };
}

export async function latencyScenario(ctx: BenchContext, store: StoreKind): Promise<LatencyFigures[]> {
  const { cfg } = ctx;
  const byRate = new Map<number, LatencyRun[]>(cfg.latencyRates.map((r) => [r, []]));
  for (let r = 0; r < cfg.runs; r++) {
    const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS);
    try {
      for (const rate of cfg.latencyRates) {
        await oneWindow(ctx, herald, topicId, `warm${rate}`, rate, Math.max(1, cfg.warmupSeconds), false);
        await sleep(300);
        const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid }).start();
        const w = await oneWindow(ctx, herald, topicId, `lat${rate}r${r}`, rate, cfg.seconds, true);
        const usage = cpu.stop();
        const run: LatencyRun = {
          rate,
          ack: w.res.ackMs,
          // A delivery that did not arrive within the wait counts as infinitely late.
          e2e: percentiles([...w.latencies, ...Array<number>(Math.max(0, w.expected - w.latencies.length)).fill(Number.POSITIVE_INFINITY)]),
          sendLagMs: w.res.sendLagMs,
          expected: w.expected,
          missing: w.expected - w.latencies.length,
          dupes: w.dupes,
          statuses: w.res.statuses,
          cpu: usage,
        };
        byRate.get(rate)!.push(run);
        ctx.log(
          `  ${store} (c) ${rate}/s × ${SUBS} run ${r + 1}: ack p50/p99 ${run.ack.p50.toFixed(2)}/${run.ack.p99.toFixed(2)} ms, ` +
            `e2e p50/p99/p999 ${run.e2e.p50.toFixed(2)}/${run.e2e.p99.toFixed(2)}/${run.e2e.p999.toFixed(2)} ms, ` +
            `missing ${run.missing}/${run.expected}, generator lag p99 ${run.sendLagMs.p99.toFixed(2)} ms, CPU% ${JSON.stringify(usage)}`,
        );
        await sleep(300);
      }
    } finally {
      await stopFast(ctx, herald);
    }
  }
  return cfg.latencyRates.map((rate) => {
    const runs = byRate.get(rate)!;
    return {
      rate,
      ackP50: summarise(runs.map((x) => x.ack.p50)),
      ackP99: summarise(runs.map((x) => x.ack.p99)),
      e2eP50: summarise(runs.map((x) => x.e2e.p50)),
      e2eP99: summarise(runs.map((x) => x.e2e.p99)),
      e2eP999: summarise(runs.map((x) => x.e2e.p999)),
      missingShare: summarise(runs.map((x) => (x.expected === 0 ? 0 : (100 * x.missing) / x.expected))),
      runs,
    };
  });
}
