/**
 * (f) Per-endpoint isolation. A topic with 10 subscriptions: 8 healthy ones to the
 * receiver, one to a slow origin (answers 200 after 1 s) and one to a failing origin
 * (answers 500, so Herald retries it). Herald's per-endpoint limit is keyed by
 * origin, so the slow and failing endpoints are separate origins (served by the
 * receiver process). Smooth open-loop publishing at BENCH_ISOLATION_RATE/s for
 * BENCH_ISOLATION_SECONDS (after a warm-up at the same rate); the receiver records
 * publish→delivery of the 8 healthy subscriptions only. The same run is repeated on
 * a fresh Herald with only the 8 healthy subscriptions; the figure is the ratio
 * (with slow+failing) ÷ (without).
 */
import type { StoreKind } from '../lib/config.js';
import { stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { startHerald, type HeraldHandle } from '../lib/herald.js';
import { openLoop, type OpenLoopResult } from '../lib/load.js';
import { presign, publishBody, type PreparedRequest } from '../lib/signing.js';
import { nowMs, percentiles, sleep, summarise, type Percentiles, type Summary } from '../lib/stats.js';
import { subscribeMany } from '../lib/subscribe.js';

const HEALTHY = 8;
const SLOW_MS = 1000;
const OPEN_LOOP_CONNECTIONS = 64;

export interface IsolationRun {
  withBad: boolean;
  e2e: Percentiles;
  ack: Percentiles;
  expected: number;
  missing: number;
  statuses: Record<string, number>;
  auxAnswered: Record<string, number>;
}

export interface IsolationFigures {
  rate: number;
  healthyP50With: Summary;
  healthyP99With: Summary;
  healthyP50Without: Summary;
  healthyP99Without: Summary;
  /** with ÷ without, per run pair. */
  p50Ratio: Summary;
  p99Ratio: Summary;
  runs: IsolationRun[];
}

function schedule(herald: HeraldHandle, topicId: string, tag: string, rate: number, seconds: number): { requests: PreparedRequest[]; offsetsMs: number[] } {
  const n = Math.max(1, Math.round(rate * seconds));
  const offsetsMs = Array.from({ length: n }, (_, i) => (i * 1000) / rate);
  const requests = offsetsMs.map((ms) => presign(herald.url, herald.creds, 'POST', `/20181201/topics/${topicId}/messages`, publishBody(tag, BigInt(Math.round(ms * 1e6)))));
  return { requests, offsetsMs };
}

async function window(ctx: BenchContext, herald: HeraldHandle, topicId: string, tag: string, seconds: number, record: boolean): Promise<{ res: OpenLoopResult; latencies: number[]; expected: number }> {
  const { requests, offsetsMs } = schedule(herald, topicId, tag, ctx.cfg.isolationRate, seconds);
  const t0Ms = nowMs() + 100;
  if (record) await ctx.receiver.request('latencyStart', { tag, t0: BigInt(Math.round(t0Ms * 1e6)).toString() });
  const res = await openLoop({ origin: herald.url, requests, offsetsMs, t0Ms, connections: OPEN_LOOP_CONNECTIONS });
  const expected = requests.length * HEALTHY;
  if (!record) return { res, latencies: [], expected };
  const deadline = Date.now() + ctx.cfg.latencyWaitSeconds * 1000;
  while (Date.now() < deadline && (await ctx.receiver.request<{ count: number }>('latencyCount')).count < expected) await sleep(50);
  const got = await ctx.receiver.request<{ latenciesMs: number[] }>('latencyCollect');
  return { res, latencies: got.latenciesMs, expected };
}

async function oneRun(ctx: BenchContext, store: StoreKind, withBad: boolean, bad: { slow: string; fail: string }): Promise<IsolationRun> {
  const herald = await startHerald(ctx.cfg, store);
  try {
    const topicId = await herald.api.createTopic(`bench-isolation-${withBad ? 'bad' : 'clean'}`);
    const endpoints = Array.from({ length: HEALTHY }, (_, i) => `${ctx.receiverUrl}/h${i}`);
    if (withBad) endpoints.push(`${bad.slow}/slow`, `${bad.fail}/fail`);
    await subscribeMany(herald.api, herald.creds.tenancy, topicId, endpoints, 10);
    await ctx.receiver.request<ReceiverStats>('reset');
    const aux0 = await ctx.receiver.request<Record<string, number>>('auxCounts');
    await window(ctx, herald, topicId, 'warm', Math.max(1, ctx.cfg.warmupSeconds), false);
    await sleep(300);
    const w = await window(ctx, herald, topicId, `iso${withBad ? 'b' : 'c'}`, ctx.cfg.isolationSeconds, true);
    const aux1 = await ctx.receiver.request<Record<string, number>>('auxCounts');
    const auxAnswered = Object.fromEntries(Object.keys(aux1).map((k) => [k, (aux1[k] ?? 0) - (aux0[k] ?? 0)]));
    return {
      withBad,
      e2e: percentiles([...w.latencies, ...Array<number>(Math.max(0, w.expected - w.latencies.length)).fill(Number.POSITIVE_INFINITY)]),
      ack: w.res.ackMs,
      expected: w.expected,
      missing: Math.max(0, w.expected - w.latencies.length),
      statuses: w.res.statuses,
      auxAnswered,
    };
  } finally {
    await stopFast(ctx, herald);
  }
}

export async function isolationScenario(ctx: BenchContext, store: StoreKind): Promise<IsolationFigures> {
  const slow = (await ctx.receiver.request<{ url: string }>('startAux', { kind: 'slow', delayMs: SLOW_MS })).url;
  const fail = (await ctx.receiver.request<{ url: string }>('startAux', { kind: 'fail' })).url;
  const runs: IsolationRun[] = [];
  for (let r = 0; r < ctx.cfg.runs; r++) {
    for (const withBad of [true, false]) {
      const run = await oneRun(ctx, store, withBad, { slow, fail });
      runs.push(run);
      ctx.log(
        `  ${store} (f) ${ctx.cfg.isolationRate}/s, ${withBad ? `${HEALTHY} healthy + slow (${SLOW_MS} ms) + failing (500)` : `${HEALTHY} healthy only`} run ${r + 1}: ` +
          `healthy e2e p50/p99 ${run.e2e.p50.toFixed(2)}/${run.e2e.p99.toFixed(2)} ms, missing ${run.missing}/${run.expected}, ` +
          `ack p99 ${run.ack.p99.toFixed(2)} ms, slow/failing answered ${JSON.stringify(run.auxAnswered)}`,
      );
    }
  }
  const w = runs.filter((x) => x.withBad);
  const c = runs.filter((x) => !x.withBad);
  return {
    rate: ctx.cfg.isolationRate,
    healthyP50With: summarise(w.map((x) => x.e2e.p50)),
    healthyP99With: summarise(w.map((x) => x.e2e.p99)),
    healthyP50Without: summarise(c.map((x) => x.e2e.p50)),
    healthyP99Without: summarise(c.map((x) => x.e2e.p99)),
    p50Ratio: summarise(w.map((x, i) => x.e2e.p50 / c[i]!.e2e.p50)),
    p99Ratio: summarise(w.map((x, i) => x.e2e.p99 / c[i]!.e2e.p99)),
    runs,
  };
}
