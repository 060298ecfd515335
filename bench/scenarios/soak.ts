/**
 * (i) Soak: minutes of steady open-loop publishing (BENCH_SOAK_RATE/s, 1 KB, signed)
 * to a topic with 3 confirmed subscriptions to the receiver (which answers at once),
 * sampled every BENCH_SOAK_SAMPLE s. It is there for what a window of seconds cannot
 * show: under steady load the SQLite WAL grew ~22 MB/s, nothing was pruned and RSS
 * rose to 329 MB, none of which a 3 s window notices. Run twice per store: with
 * Herald's default (keep everything) and with HERALD_MESSAGE_RETENTION=
 * BENCH_SOAK_RETENTION, where the database should stop growing once the retention
 * window is full. Each sample: Herald's RSS, the store's size read from outside
 * (SQLite files / PostgreSQL relation sizes), the undelivered backlog from /metrics,
 * publishes accepted and refused so far, and the WAL/retention metrics when the
 * build exports them (null when not). One publish in 25 carries its scheduled send
 * time, so the receiver also gives a publish→delivery p99 over the whole soak.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { durationSeconds, type StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter, rssMb } from '../lib/cpu.js';
import type { HeraldHandle } from '../lib/herald.js';
import { openLoop, type LiveCounters, type OpenLoopResult } from '../lib/load.js';
import { metricValue, scrapeMetrics, soakMetrics, type SoakMetricName } from '../lib/metrics.js';
import { presign, publishBody, type PreparedRequest } from '../lib/signing.js';
import { fmtNum, nowMs, percentiles, sleep, type Percentiles } from '../lib/stats.js';
import { storeSizer, type StoreSizer } from '../lib/store-size.js';

const SUBS = 3;
const OPEN_LOOP_CONNECTIONS = 64;
/**
 * Publishes are signed one segment ahead: a signature is only good within Herald's
 * 5-minute clock skew, and signing a long soak up front would take minutes of RSA.
 */
const SEGMENT_SECONDS = 30;
/**
 * One publish in PROBE_EVERY is signed on its own and carries its scheduled send time
 * (the latency probe); the others replay FILL_BODIES pre-signed bodies, so the load
 * generator signs 20/s at 500/s instead of taking a core from Herald.
 */
const PROBE_EVERY = 25;
const FILL_BODIES = 16;

export interface SoakSample {
  /** Seconds since the first scheduled publish. */
  t: number;
  rssMb: number | null;
  /** SQLite herald.db / PostgreSQL tables + indexes, herald.db-wal (SQLite only), pg_database_size (PostgreSQL only). */
  dbMb: number | null;
  walMb: number | null;
  pgDatabaseMb: number | null;
  /** PostgreSQL: dead rows awaiting vacuum (pruned rows free space only after it). */
  pgDeadRows: number | null;
  /** Undelivered deliveries: herald_queue_depth + herald_deliveries_in_flight + herald_fanout_backlog × 3 (as (h) counts them). */
  lag: number | null;
  /** Publishes answered 2xx, and answered otherwise (or failed), so far. */
  accepted: number;
  refused: number;
  /** Deliveries the receiver answered so far. */
  delivered: number;
  metrics: Record<SoakMetricName, number | null>;
}

export interface SoakRun {
  /** HERALD_MESSAGE_RETENTION, or null for Herald's default (no retention). */
  retention: string | null;
  sent: number;
  accepted: number;
  refused: number;
  statuses: Record<string, number>;
  peakRssMb: number | null;
  finalRssMb: number | null;
  peakWalMb: number | null;
  finalWalMb: number | null;
  finalDbMb: number | null;
  /** Growth of the database over the last third of the soak (≈ 0 once a retention window is full), and over the whole soak. */
  dbGrowthLastThirdMb: number | null;
  dbGrowthMb: number | null;
  maxLag: number | null;
  /** Longest writer pause for a WAL restart in any sample (herald_store_wal_pause_max_seconds), ms. */
  maxWalPauseMs: number | null;
  walPauses: number | null;
  retentionHeld: number | null;
  retentionPruned: number | null;
  /** Publishes accepted more than the retention window before the end: what a sweep that keeps up has pruned by then. */
  pastWindow: number | null;
  /** PostgreSQL: the server's autovacuum setting (off: Herald's own VACUUM reclaims pruned rows); null on SQLite. */
  pgAutovacuum: string | null;
  /** Publish→delivery of the probes (1 in 25 publishes × 3 subscriptions); missing ones count as ∞. */
  e2e: Percentiles;
  probeDeliveries: number;
  missing: number;
  /** Worst per-segment p99 of the publish ack and of the generator's own send lag, ms. */
  ackP99Ms: number | null;
  sendLagP99Ms: number | null;
  cpu: Record<string, number>;
  samples: SoakSample[];
}

export interface SoakFigures {
  rate: number;
  seconds: number;
  sampleSeconds: number;
  subs: number;
  retention: string;
  /** Without retention first, then with BENCH_SOAK_RETENTION (a run that failed is missing, its error in `errors`). */
  runs: SoakRun[];
  errors: string[];
}

const present = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null && Number.isFinite(x));
const maxOf = (xs: (number | null)[]): number | null => (present(xs).length === 0 ? null : Math.max(...present(xs)));
const lastOf = (xs: (number | null)[]): number | null => present(xs).at(-1) ?? null;
const round = (v: number | null, digits = 2): number | null => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(digits)));
const show = (v: number | null, unit = ''): string => (v === null ? 'n/a' : `${fmtNum(v)}${unit}`);
const signed = (v: number | null, unit = ''): string => (v !== null && v >= 0 ? `+${show(v, unit)}` : show(v, unit));

/** Change of `pick` between the first and last sample at or after `fromT` seconds. */
function growth(samples: SoakSample[], pick: (s: SoakSample) => number | null, fromT: number): number | null {
  const xs = present(samples.filter((s) => s.t >= fromT).map(pick));
  return xs.length < 2 ? null : xs[xs.length - 1]! - xs[0]!;
}

/** Publishes accepted by `t` seconds, interpolated between the samples around it (null when none is that early). */
function pastWindow(samples: SoakSample[], t: number): number | null {
  if (!Number.isFinite(t)) return null;
  if (t <= 0) return 0;
  const i = samples.findIndex((s) => s.t >= t);
  if (i <= 0) return i === 0 ? samples[0]!.accepted : null;
  const a = samples[i - 1]!;
  const b = samples[i]!;
  return Math.round(a.accepted + ((b.accepted - a.accepted) * (t - a.t)) / (b.t - a.t));
}

/** Publishes [from, to) of the soak: global offsets from the soak's t0, probes signed in small batches. */
async function segment(herald: HeraldHandle, topicId: string, tag: string, rate: number, from: number, to: number): Promise<{ requests: PreparedRequest[]; offsetsMs: number[]; probes: number }> {
  const path = `/20181201/topics/${topicId}/messages`;
  const fill = Array.from({ length: FILL_BODIES }, (_, i) => presign(herald.url, herald.creds, 'POST', path, publishBody('soakfill', i)));
  const requests: PreparedRequest[] = [];
  const offsetsMs: number[] = [];
  let probes = 0;
  for (let g = from; g < to; g++) {
    const ms = (g * 1000) / rate;
    offsetsMs.push(ms);
    if (g % PROBE_EVERY !== 0) {
      requests.push(fill[g % FILL_BODIES]!);
      continue;
    }
    requests.push(presign(herald.url, herald.creds, 'POST', path, publishBody(tag, BigInt(Math.round(ms * 1e6)))));
    // The previous segment is sending meanwhile: a few signatures (~0.25 ms each) per turn of the loop.
    if (++probes % 8 === 0) await yieldToLoop();
  }
  return { requests, offsetsMs, probes };
}

async function takeSample(ctx: BenchContext, herald: HeraldHandle, sizer: StoreSizer, live: LiveCounters, t0Ms: number): Promise<SoakSample> {
  const t = (nowMs() - t0Ms) / 1000;
  const [size, text, rx] = await Promise.all([sizer.read(), scrapeMetrics(herald.url), ctx.receiver.request<ReceiverStats>('stats')]);
  const q = metricValue(text, 'herald_queue_depth');
  const f = metricValue(text, 'herald_fanout_backlog');
  const i = metricValue(text, 'herald_deliveries_in_flight');
  return {
    t: round(t)!,
    rssMb: round(rssMb(herald.pid)),
    dbMb: round(size.dbMb, 3),
    walMb: round(size.walMb, 3),
    pgDatabaseMb: round(size.databaseMb, 3),
    pgDeadRows: size.deadRows,
    lag: q === null || f === null || i === null ? null : q + i + f * SUBS,
    accepted: live.ok,
    refused: live.completed - live.ok,
    delivered: rx.delivered,
    metrics: soakMetrics(text),
  };
}

function progress(s: SoakSample): string {
  const m = s.metrics;
  const pause = m.herald_store_wal_pause_max_seconds;
  return (
    `t=${s.t.toFixed(0)}s: RSS ${show(s.rssMb, ' MB')}, db ${show(s.dbMb, ' MB')}${s.walMb !== null ? `, WAL ${show(s.walMb, ' MB')}` : ''}` +
    `${s.pgDeadRows !== null ? ` (${fmtNum(s.pgDeadRows)} dead rows)` : ''}, ` +
    `lag ${show(s.lag)}, accepted ${fmtNum(s.accepted)}, refused ${fmtNum(s.refused)}, ` +
    `WAL pause max ${pause === null ? 'n/a' : `${fmtNum(pause * 1000)} ms`}, retention held ${show(m.herald_retention_held_messages)} / pruned ${show(m.herald_retention_pruned_messages_total)}`
  );
}

async function soakRun(ctx: BenchContext, store: StoreKind, retention: string | null): Promise<SoakRun> {
  const { cfg } = ctx;
  const label = `${store} (i) soak ${retention === null ? 'without retention' : `retention ${retention}`}`;
  const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS, retention === null ? {} : { HERALD_MESSAGE_RETENTION: retention });
  let sizer: StoreSizer | undefined;
  let stopSampling = false;
  try {
    sizer = await storeSizer(herald);
    const total = Math.max(1, Math.round(cfg.soakRate * cfg.soakSeconds));
    const perSegment = Math.max(1, Math.round(cfg.soakRate * SEGMENT_SECONDS));
    const tag = `soak${store}${retention === null ? 'keep' : 'ret'}`;
    ctx.log(
      `  ${label}: ${fmtNum(cfg.soakRate)}/s × ${SUBS} subscriptions for ${fmtNum(cfg.soakSeconds)} s, a sample every ${fmtNum(cfg.soakSampleSeconds)} s` +
        `${sizer.autovacuum === null ? '' : `; PostgreSQL autovacuum = ${sizer.autovacuum}`}`,
    );
    let next = await segment(herald, topicId, tag, cfg.soakRate, 0, Math.min(total, perSegment));
    const t0Ms = nowMs() + 200;
    const endMs = t0Ms + cfg.soakSeconds * 1000;
    await ctx.receiver.request('latencyStart', { tag, t0: BigInt(Math.round(t0Ms * 1e6)).toString() });
    const live: LiveCounters = { completed: 0, ok: 0 };
    const samples: SoakSample[] = [];
    const sampleMs = cfg.soakSampleSeconds * 1000;
    // About six progress lines per run, whatever the length and the sampling interval.
    const logEvery = Math.max(1, Math.round(cfg.soakSeconds / 6 / cfg.soakSampleSeconds));
    const sampler = (async (): Promise<void> => {
      for (let k = 0; t0Ms + k * sampleMs < endMs; k++) {
        await sleep(Math.max(0, t0Ms + k * sampleMs - nowMs()));
        if (stopSampling) return;
        const s = await takeSample(ctx, herald, sizer!, live, t0Ms);
        samples.push(s);
        if (k > 0 && k % logEvery === 0) ctx.log(`    ${label} ${progress(s)}`);
      }
    })();
    // Awaited below; should the load fail first, the sampler stops on its own without an unhandled rejection.
    sampler.catch(() => undefined);
    const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid, loadgen: process.pid }).start();
    const loops: Promise<OpenLoopResult>[] = [];
    let probes = 0;
    for (let from = 0; from < total; from += perSegment) {
      const seg = next;
      probes += seg.probes;
      loops.push(openLoop({ origin: herald.url, requests: seg.requests, offsetsMs: seg.offsetsMs, t0Ms, connections: OPEN_LOOP_CONNECTIONS, live }));
      const to = from + perSegment;
      if (to >= total) break;
      // Sign the next segment now (it starts SEGMENT_SECONDS from here, well inside the skew),
      // then hand it to its own open loop a second before its first send.
      next = await segment(herald, topicId, tag, cfg.soakRate, to, Math.min(total, to + perSegment));
      await sleep(Math.max(0, t0Ms + (to * 1000) / cfg.soakRate - 1000 - nowMs()));
    }
    const results = await Promise.all(loops);
    const usage = cpu.stop();
    await sampler;
    samples.push(await takeSample(ctx, herald, sizer, live, t0Ms));
    // Probe deliveries still on their way (bounded like (c)); missing ones count as infinitely late.
    const expected = probes * SUBS;
    const deadline = Date.now() + cfg.latencyWaitSeconds * 1000;
    while (Date.now() < deadline && (await ctx.receiver.request<{ count: number }>('latencyCount')).count < expected) await sleep(50);
    const got = await ctx.receiver.request<{ latenciesMs: number[] }>('latencyCollect');
    const statuses: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const last = samples[samples.length - 1]!;
    const pick = <K extends SoakMetricName>(k: K): (number | null)[] => samples.map((s) => s.metrics[k]);
    const maxPause = maxOf(pick('herald_store_wal_pause_max_seconds'));
    const run: SoakRun = {
      retention,
      sent: total,
      accepted: live.ok,
      refused: live.completed - live.ok,
      statuses,
      peakRssMb: maxOf(samples.map((s) => s.rssMb)),
      finalRssMb: lastOf(samples.map((s) => s.rssMb)),
      peakWalMb: maxOf(samples.map((s) => s.walMb)),
      finalWalMb: last.walMb,
      finalDbMb: lastOf(samples.map((s) => s.dbMb)),
      dbGrowthLastThirdMb: round(growth(samples, (s) => s.dbMb, (cfg.soakSeconds * 2) / 3), 3),
      dbGrowthMb: round(growth(samples, (s) => s.dbMb, 0), 3),
      maxLag: maxOf(samples.map((s) => s.lag)),
      maxWalPauseMs: maxPause === null ? null : round(maxPause * 1000),
      walPauses: last.metrics.herald_store_wal_pauses_total,
      retentionHeld: last.metrics.herald_retention_held_messages,
      retentionPruned: last.metrics.herald_retention_pruned_messages_total,
      pastWindow: retention === null ? null : pastWindow(samples, cfg.soakSeconds - durationSeconds(retention)),
      pgAutovacuum: sizer.autovacuum,
      e2e: percentiles([...got.latenciesMs, ...Array<number>(Math.max(0, expected - got.latenciesMs.length)).fill(Number.POSITIVE_INFINITY)]),
      probeDeliveries: expected,
      missing: Math.max(0, expected - got.latenciesMs.length),
      ackP99Ms: round(maxOf(results.map((r) => r.ackMs.p99))),
      sendLagP99Ms: round(maxOf(results.map((r) => r.sendLagMs.p99))),
      cpu: usage,
      samples,
    };
    ctx.log(
      `  ${label}: ${fmtNum(run.accepted)} of ${fmtNum(run.sent)} publishes accepted (${JSON.stringify(statuses)}); RSS peak/final ${show(run.peakRssMb, ' MB')}/${show(run.finalRssMb, ' MB')}, ` +
        `${store === 'sqlite' ? `WAL peak/final ${show(run.peakWalMb, ' MB')}/${show(run.finalWalMb, ' MB')}, ` : ''}db ${show(run.finalDbMb, ' MB')} (${signed(run.dbGrowthLastThirdMb, ' MB')} over the last third, ${signed(run.dbGrowthMb, ' MB')} in all), ` +
        `${retention === null ? '' : `retention held/pruned ${show(run.retentionHeld)}/${show(run.retentionPruned)} of ${show(run.pastWindow)} past the window, `}` +
        `max lag ${show(run.maxLag)}, WAL pause max ${show(run.maxWalPauseMs, ' ms')}, publish→delivery p99 ${fmtNum(run.e2e.p99)} ms (${run.missing} of ${expected} probes missing), CPU% ${JSON.stringify(usage)}`,
    );
    return run;
  } finally {
    stopSampling = true;
    await sizer?.close();
    await stopFast(ctx, herald);
  }
}

export async function soakScenario(ctx: BenchContext, store: StoreKind): Promise<SoakFigures> {
  const { cfg } = ctx;
  const out: SoakFigures = { rate: cfg.soakRate, seconds: cfg.soakSeconds, sampleSeconds: cfg.soakSampleSeconds, subs: SUBS, retention: cfg.soakRetention, runs: [], errors: [] };
  for (const retention of [null, cfg.soakRetention]) {
    // Each run on its own: a build that refuses the retention setting must not cost the first run's figures.
    try {
      out.runs.push(await soakRun(ctx, store, retention));
    } catch (err) {
      const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
      out.errors.push(`${retention === null ? 'without retention' : `retention ${retention}`}: ${msg.split('\n').slice(0, 3).join(' ')}`);
      ctx.log(`  ${store} (i) soak ${retention === null ? 'without retention' : `retention ${retention}`} FAILED: ${msg}`);
      await ctx.receiver.request('latencyCollect').catch(() => undefined);
    }
  }
  return out;
}
