/**
 * (c) Publish→delivery latency under a smooth open-loop rate × 10 subscriptions.
 * Every publish is pre-signed with its scheduled send offset in the message body;
 * the receiver is told the run's epoch and records, per (message id, path),
 * arrival − scheduled time on the shared CLOCK_MONOTONIC. Publish acks are timed
 * from the scheduled time too. A warm-up at the same rate precedes each window, and before a fresh Herald's first
 * window (and the relay's) an unmeasured spell at the highest rate lets V8 optimize the code the windows run
 * (BENCH_JIT_WARMUP): at 100/s, the rate's own warm-up alone met code V8 was still compiling.
 *
 * After each of Herald's windows the same schedule runs through (c)'s yardstick (`signed-relay.ts`: a bare server
 * that checks the signature, appends the body to a file, forwards it to the same receiver at once and answers after a
 * group fdatasync), in the same spell: this machine's wake-ups move within minutes, and so does what they cost.
 */
import { Child } from '../lib/children.js';
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { openLoop, type OpenLoopResult } from '../lib/load.js';
import { presign, publicKeyPem, publishBody, throwawayCredentials, type Credentials, type PreparedRequest } from '../lib/signing.js';
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
  /** (c)'s yardstick at the same rate, each of its windows right after one of Herald's (absent in results written before 2026-12-03). */
  relay?: RelayFigures;
}

/** The signed durable relay's figures at one rate: summarised as Herald's are. */
export type RelayFigures = Omit<LatencyFigures, 'rate' | 'relay'>;

/** Where a window's publishes go: Herald's topic, or the relay (which ignores the path). */
interface Target {
  origin: string;
  creds: Credentials;
  topicId: string;
}

function schedule(target: Target, tag: string, rate: number, seconds: number): { requests: PreparedRequest[]; offsetsMs: number[] } {
  const n = Math.max(1, Math.round(rate * seconds));
  const offsetsMs = Array.from({ length: n }, (_, i) => (i * 1000) / rate);
  const requests = offsetsMs.map((ms) =>
    presign(target.origin, target.creds, 'POST', `/20181201/topics/${target.topicId}/messages`, publishBody(tag, BigInt(Math.round(ms * 1e6)))),
  );
  return { requests, offsetsMs };
}

async function oneWindow(ctx: BenchContext, target: Target, tag: string, rate: number, seconds: number, record: boolean): Promise<{ res: OpenLoopResult; latencies: number[]; dupes: number; expected: number }> {
  const { requests, offsetsMs } = schedule(target, tag, rate, seconds);
  const t0Ms = nowMs() + 100;
  if (record) await ctx.receiver.request('latencyStart', { tag, t0: BigInt(Math.round(t0Ms * 1e6)).toString() });
  const res = await openLoop({ origin: target.origin, requests, offsetsMs, t0Ms, connections: OPEN_LOOP_CONNECTIONS });
  const expected = requests.length * SUBS;
  if (!record) return { res, latencies: [], dupes: 0, expected };
  // Deliveries still on their way: wait for them (bounded), then collect.
  const deadline = Date.now() + ctx.cfg.latencyWaitSeconds * 1000;
  while (Date.now() < deadline && (await ctx.receiver.request<{ count: number }>('latencyCount')).count < expected) await sleep(50);
  const got = await ctx.receiver.request<{ latenciesMs: number[]; dupes: number }>('latencyCollect');
  return { res, latencies: got.latenciesMs, dupes: got.dupes, expected };
}

/** Unmeasured publishing at `rate` for BENCH_JIT_WARMUP seconds, then a pause for the deliveries to land. */
async function jitWarmup(ctx: BenchContext, target: Target, tag: string, rate: number): Promise<void> {
  if (ctx.cfg.jitWarmupSeconds <= 0) return;
  await oneWindow(ctx, target, `jit-${tag}`, rate, ctx.cfg.jitWarmupSeconds, false);
  await sleep(500);
}

/** One recorded window at `rate` after a warm-up at the same rate; the pids are whose CPU is metered. */
async function measuredWindow(ctx: BenchContext, target: Target, tag: string, rate: number, pids: Record<string, number>): Promise<LatencyRun> {
  await oneWindow(ctx, target, `warm-${tag}`, rate, Math.max(1, ctx.cfg.warmupSeconds), false);
  await sleep(300);
  const cpu = new CpuMeter({ ...pids, receiver: ctx.receiverPid, loadgen: process.pid }).start();
  const w = await oneWindow(ctx, target, tag, rate, ctx.cfg.seconds, true);
  const usage = cpu.stop();
  return {
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
}

function describeRun(run: LatencyRun): string {
  return (
    `ack p50/p99 ${run.ack.p50.toFixed(2)}/${run.ack.p99.toFixed(2)} ms, ` +
    `e2e p50/p99/p999 ${run.e2e.p50.toFixed(2)}/${run.e2e.p99.toFixed(2)}/${run.e2e.p999.toFixed(2)} ms, ` +
    `missing ${run.missing}/${run.expected}, generator lag p99 ${run.sendLagMs.p99.toFixed(2)} ms, CPU% ${JSON.stringify(run.cpu)}`
  );
}

/** The relay yardstick in a process of its own, forwarding to `SUBS` paths of the receiver. */
async function startRelay(ctx: BenchContext): Promise<{ child: Child; target: Target; pid: number }> {
  const creds = throwawayCredentials();
  const targets = Array.from({ length: SUBS }, (_, i) => `${ctx.receiverUrl}/relay/${i}`);
  const { child, ready } = await Child.start<{ url: string; pid: number }>('signed relay yardstick', new URL('../ceilings/signed-relay.ts', import.meta.url), {
    RELAY_KEY_ID: creds.keyId,
    RELAY_PUBLIC_KEY: publicKeyPem(creds),
    RELAY_TARGETS: JSON.stringify(targets),
  });
  return { child, target: { origin: ready.url, creds, topicId: 'ocid1.onstopic.oc1..relay' }, pid: ready.pid };
}

export async function latencyScenario(ctx: BenchContext, store: StoreKind): Promise<LatencyFigures[]> {
  const { cfg } = ctx;
  const byRate = new Map<number, LatencyRun[]>(cfg.latencyRates.map((r) => [r, []]));
  const relayByRate = new Map<number, LatencyRun[]>(cfg.latencyRates.map((r) => [r, []]));
  const relay = await startRelay(ctx);
  const topRate = Math.max(...cfg.latencyRates);
  try {
    await jitWarmup(ctx, relay.target, 'relay', topRate);
    for (let r = 0; r < cfg.runs; r++) {
      const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS);
      try {
        await jitWarmup(ctx, { origin: herald.url, creds: herald.creds, topicId }, `r${r}`, topRate);
        for (const rate of cfg.latencyRates) {
          const run = await measuredWindow(ctx, { origin: herald.url, creds: herald.creds, topicId }, `lat${rate}r${r}`, rate, { herald: herald.pid });
          byRate.get(rate)!.push(run);
          ctx.log(`  ${store} (c) ${rate}/s × ${SUBS} run ${r + 1}: ${describeRun(run)}`);
          await sleep(300);
          // The yardstick in the same spell, while this Herald idles (its CPU is metered too).
          const y = await measuredWindow(ctx, relay.target, `relay${rate}r${r}`, rate, { relay: relay.pid, herald: herald.pid });
          const { failed } = await relay.child.request<{ failed: number }>('failures');
          if (failed > 0) throw new Error(`the relay yardstick failed ${failed} forwards`);
          relayByRate.get(rate)!.push(y);
          ctx.log(`  ${store} (c) yardstick, signed durable relay, ${rate}/s × ${SUBS} run ${r + 1}: ${describeRun(y)}`);
          await sleep(300);
        }
      } finally {
        await stopFast(ctx, herald);
      }
    }
  } finally {
    await relay.child.stop();
  }
  return cfg.latencyRates.map((rate) => {
    return { rate, ...summariseRuns(byRate.get(rate)!), relay: summariseRuns(relayByRate.get(rate)!) };
  });
}

/** Medians (min–max) of a rate's runs, Herald's or the relay's. */
function summariseRuns(runs: LatencyRun[]): RelayFigures {
  return {
    ackP50: summarise(runs.map((x) => x.ack.p50)),
    ackP99: summarise(runs.map((x) => x.ack.p99)),
    e2eP50: summarise(runs.map((x) => x.e2e.p50)),
    e2eP99: summarise(runs.map((x) => x.e2e.p99)),
    e2eP999: summarise(runs.map((x) => x.e2e.p999)),
    missingShare: summarise(runs.map((x) => (x.expected === 0 ? 0 : (100 * x.missing) / x.expected))),
    runs,
  };
}
