/**
 * (j) Sustained fan-out. A fresh Herald with one topic and 10 confirmed CUSTOM_HTTPS
 * subscriptions to the receiver (its own process). After an unmeasured warm-up at the
 * lowest rate, open-loop windows of BENCH_SUSTAINED_SECONDS at rising rates
 * (BENCH_SUSTAINED_RATES, 200…3200/s): the publishes go out on a fixed schedule (a slow
 * Herald does not slow it; 64 pre-signed 1 KB bodies tagged per window are replayed),
 * and the receiver counts the window's distinct (message id, path) deliveries. A rate
 * is sustained when every publish was answered 2xx (a 429 fails it) and all rate ×
 * seconds × 10 deliveries arrived within BENCH_SUSTAINED_GRACE s after the window. The
 * ladder stops at the first rate that fails, then bisects BENCH_SUSTAINED_REFINE times
 * between the last rate that held and that one, each bisection on a fresh Herald (the
 * failed window's backlog would otherwise be charged to it). The figure is the highest
 * sustained rate, × 10 deliveries/s (against the bare undici ceiling, and against
 * RabbitMQ doing the same job, bench/ceilings/rabbitmq-sustained.ts).
 *
 * Then, on another fresh Herald, publishers at full speed: a closed loop of
 * BENCH_CONNECTIONS (50) as in (a) with 10 subscriptions, for BENCH_SUSTAINED_SECONDS
 * after the warm-up; the figure is the deliveries/s arriving at the receiver during the
 * window, ÷ the sustained deliveries/s (delivery must not be starved by publishing).
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import type { HeraldHandle } from '../lib/herald.js';
import { achievedRate, climb, describeLadder, summariseLadder, type LadderFigures, type LadderRun, type RateWindow } from '../lib/ladder.js';
import { closedLoop, openLoop } from '../lib/load.js';
import { presignPublishes } from '../lib/signing.js';
import { nowMs, sleep, summarise, type Summary } from '../lib/stats.js';

export const SUSTAINED_SUBS = 10;
const OPEN_LOOP_CONNECTIONS = 64;
/** Distinct pre-signed publishes per window, replayed round-robin (every publish is a new message all the same). */
const PRESIGNED = 64;

export interface FullSpeedRun {
  publishRate: number;
  deliveriesPerSec: number;
  statuses: Record<string, number>;
  refused429: number;
  ackP99Ms: number;
  /** Herald's backlog (queue depth + in flight + fan-out backlog) at the end of the window. */
  backlogAtEnd: number;
  cpu: Record<string, number>;
}

export interface SustainedRun {
  ladder: LadderRun;
  full: FullSpeedRun;
  /** full.deliveriesPerSec ÷ (ladder.best × 10). */
  fullRatio: number;
}

export interface SustainedFigures extends LadderFigures {
  fullDeliveries: Summary;
  fullPublishes: Summary;
  fullRatio: Summary;
  runs: SustainedRun[];
}

async function rateWindow(ctx: BenchContext, herald: HeraldHandle, topicId: string, tag: string, rate: number, seconds: number, measure: boolean): Promise<RateWindow> {
  const n = Math.max(1, Math.round(rate * seconds));
  const pool = presignPublishes(herald.url, herald.creds, topicId, PRESIGNED, tag);
  const requests = Array.from({ length: n }, (_, i) => pool[i % PRESIGNED]!);
  const offsetsMs = Array.from({ length: n }, (_, i) => (i * 1000) / rate);
  const expected = n * SUSTAINED_SUBS;
  const t0Ms = nowMs() + 100;
  const endMs = t0Ms + seconds * 1000;
  const deadlineMs = endMs + ctx.cfg.sustainedGraceSeconds * 1000;
  if (measure) await ctx.receiver.request('latencyStart', { tag, t0: BigInt(Math.round(t0Ms * 1e6)).toString(), countOnly: true });
  const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid }).start();
  const loop = openLoop({ origin: herald.url, requests, offsetsMs, t0Ms, connections: OPEN_LOOP_CONNECTIONS });
  type Count = { count: number; dupes: number; lastAtMs: number };
  let atEnd: Count = { count: 0, dupes: 0, lastAtMs: Number.NaN };
  let got = atEnd;
  if (measure) {
    await sleep(Math.max(0, endMs - nowMs()));
    atEnd = await ctx.receiver.request<Count>('tagCount');
    got = atEnd;
    while (got.count < expected && nowMs() < deadlineMs) {
      await sleep(50);
      got = await ctx.receiver.request<Count>('tagCount');
    }
  }
  const usage = cpu.stop();
  const res = await loop;
  if (measure) await ctx.receiver.request('latencyStop');
  const accepted = Object.entries(res.statuses).reduce((a, [s, k]) => a + (s.startsWith('2') ? k : 0), 0);
  const reasons: string[] = [];
  if (accepted < n) reasons.push(`${n - accepted} of ${n} publishes not accepted: ${JSON.stringify(res.statuses)}`);
  if (got.count < expected) reasons.push(`${expected - got.count} of ${expected} deliveries not arrived ${ctx.cfg.sustainedGraceSeconds} s after the window`);
  return {
    rate,
    seconds,
    published: n,
    accepted,
    statuses: res.statuses,
    expected,
    arrivedByWindowEnd: atEnd.count,
    arrived: got.count,
    dupes: got.dupes,
    catchUpSeconds: got.count >= expected ? (got.lastAtMs - endMs) / 1000 : Number.NaN,
    ackP50Ms: res.ackMs.p50,
    ackP99Ms: res.ackMs.p99,
    sendLagP99Ms: res.sendLagMs.p99,
    sustained: reasons.length === 0,
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    cpu: usage,
  };
}

async function ladderRun(ctx: BenchContext, store: StoreKind, r: number): Promise<LadderRun> {
  const { cfg } = ctx;
  let current: { herald: HeraldHandle; topicId: string } | undefined;
  const fresh = async (): Promise<void> => {
    if (current !== undefined) await stopFast(ctx, current.herald);
    current = undefined;
    current = await heraldWithTopic(ctx, store, SUSTAINED_SUBS);
    // Unmeasured warm-up at the lowest rate (JIT, connections, the store's first pages).
    await rateWindow(ctx, current.herald, current.topicId, `warm${r}`, cfg.sustainedRates[0]!, Math.max(1, cfg.warmupSeconds), false);
    await sleep(300);
  };
  try {
    await fresh();
    return await climb(
      cfg.sustainedRates,
      cfg.sustainedRefine,
      async (rate) => {
        const w = await rateWindow(ctx, current!.herald, current!.topicId, `sus${rate}r${r}`, rate, cfg.sustainedSeconds, true);
        ctx.log(
          `  ${store} (j) ${rate}/s × ${SUSTAINED_SUBS} for ${cfg.sustainedSeconds} s, run ${r + 1}: ${w.sustained ? 'SUSTAINED' : 'not sustained'}; ` +
            `${w.accepted}/${w.published} accepted, ${w.arrivedByWindowEnd} deliveries by the window's end, ${w.arrived}/${w.expected} by +${cfg.sustainedGraceSeconds} s` +
            `${Number.isFinite(w.catchUpSeconds) ? ` (last ${w.catchUpSeconds.toFixed(2)} s after the window)` : ''}, ack p50/p99 ${w.ackP50Ms.toFixed(1)}/${w.ackP99Ms.toFixed(1)} ms, ` +
            `generator lag p99 ${w.sendLagP99Ms.toFixed(1)} ms, CPU% ${JSON.stringify(w.cpu)}${w.reason === undefined ? '' : ` — ${w.reason}`}`,
        );
        await sleep(300);
        return w;
      },
      fresh,
    );
  } finally {
    if (current !== undefined) await stopFast(ctx, current.herald);
  }
}

async function fullSpeedRun(ctx: BenchContext, store: StoreKind): Promise<FullSpeedRun> {
  const { cfg } = ctx;
  const { herald, topicId } = await heraldWithTopic(ctx, store, SUSTAINED_SUBS);
  try {
    const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid });
    let atStart: Promise<ReceiverStats> | undefined;
    const res = await closedLoop({
      origin: herald.url,
      requests: presignPublishes(herald.url, herald.creds, topicId, 8),
      connections: cfg.connections,
      warmupMs: cfg.warmupSeconds * 1000,
      durationMs: cfg.sustainedSeconds * 1000,
      onWindowStart: () => {
        cpu.start();
        atStart = ctx.receiver.request<ReceiverStats>('stats');
      },
    });
    const end = await ctx.receiver.request<ReceiverStats>('stats');
    const usage = cpu.stop();
    const start = await atStart!;
    const b = await herald.api.backlog();
    return {
      publishRate: res.rate,
      deliveriesPerSec: (end.delivered - start.delivered) / ((end.atMs - start.atMs) / 1000),
      statuses: res.statuses,
      refused429: res.refused.count,
      ackP99Ms: res.latencyMs.p99,
      backlogAtEnd: b.queueDepth + b.inFlight + b.fanoutBacklog,
      cpu: usage,
    };
  } finally {
    await stopFast(ctx, herald);
  }
}

export async function sustainedScenario(ctx: BenchContext, store: StoreKind): Promise<SustainedFigures> {
  const { cfg } = ctx;
  const runs: SustainedRun[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    const ladder = await ladderRun(ctx, store, r);
    ctx.log(`  ${store} (j) run ${r + 1}: highest sustained ${ladder.best}/s = ${ladder.best * SUSTAINED_SUBS} deliveries/s (delivered ${Math.round(achievedRate(ladder))}/s over the window + catch-up); ladder ${describeLadder(ladder)}`);
    const full = await fullSpeedRun(ctx, store);
    const fullRatio = ladder.best > 0 ? full.deliveriesPerSec / (ladder.best * SUSTAINED_SUBS) : Number.NaN;
    ctx.log(
      `  ${store} (j) publishers at full speed (c=${cfg.connections}, ${cfg.sustainedSeconds} s), run ${r + 1}: ${Math.round(full.deliveriesPerSec)} deliveries/s ` +
        `(${fullRatio.toFixed(2)}× the sustained figure) while ${Math.round(full.publishRate)} publishes/s were accepted, statuses ${JSON.stringify(full.statuses)}, ` +
        `backlog at the end ${full.backlogAtEnd}, CPU% ${JSON.stringify(full.cpu)}`,
    );
    runs.push({ ladder, full, fullRatio });
  }
  return {
    ...summariseLadder(
      runs.map((x) => x.ladder),
      SUSTAINED_SUBS,
    ),
    fullDeliveries: summarise(runs.map((x) => x.full.deliveriesPerSec)),
    fullPublishes: summarise(runs.map((x) => x.full.publishRate)),
    fullRatio: summarise(runs.map((x) => x.fullRatio)),
    runs,
  };
}
