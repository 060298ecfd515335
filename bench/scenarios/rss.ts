/**
 * (h) Herald's RSS (VmRSS of /proc/<pid>/status). Steady state: a closed-loop
 * publish window to a topic with 10 subscriptions (as in (a)), then wait until
 * every delivery is done and sample RSS. Backlog: the receiver holds every
 * delivery (no answer), and BENCH_RSS_MESSAGES publishes × 10 subscriptions build a
 * backlog of PENDING deliveries in the store; RSS and the backlog (/metrics queue
 * depth + in flight + fan-out backlog) are sampled every 500 ms while it builds and
 * once fan-out has finished. HERALD_MAX_BACKLOG is raised (BENCH_RSS_MAX_BACKLOG)
 * so the 429 backpressure does not cap the backlog. The figures: steady RSS, RSS
 * with the backlog, the difference, and the slope in MB per 100k deliveries.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext } from '../lib/context.js';
import { rssBreakdownMb, rssMb } from '../lib/cpu.js';
import type { HeraldHandle } from '../lib/herald.js';
import { closedLoop } from '../lib/load.js';
import { presignPublishes } from '../lib/signing.js';
import { sleep, slope, summarise, type Summary } from '../lib/stats.js';

const SUBS = 10;
const SAMPLE_MS = 500;

export interface RssSample {
  t: number;
  rssMb: number;
  backlog: number;
}

export interface RssRun {
  steadyRssMb: number;
  /** Node's own view (V8 heap, external buffers) at steady state and with the backlog, MB. */
  steadyMemory: { heapUsed: number; heapTotal: number; external: number; rss: number };
  backlogMemory: { heapUsed: number; heapTotal: number; external: number; rss: number };
  backlogRssMb: number;
  backlog: number;
  accepted: number;
  statuses: Record<string, number>;
  growthMb: number;
  /** Highest RSS sampled while the backlog built (GC timing makes single readings noisy). */
  peakRssMb: number;
  peakGrowthMb: number;
  /** RssAnon/RssFile/RssShmem at steady state and with the backlog. */
  steadyBreakdownMb: { anon: number; file: number; shmem: number };
  backlogBreakdownMb: { anon: number; file: number; shmem: number };
  mbPer100k: number;
  samples: RssSample[];
}

export interface RssFigures {
  steadyRss: Summary;
  backlogRss: Summary;
  growth: Summary;
  peakGrowth: Summary;
  mbPer100k: Summary;
  backlog: Summary;
  runs: RssRun[];
}

async function backlogOf(herald: HeraldHandle): Promise<{ total: number; fanout: number }> {
  const b = await herald.api.backlog();
  return { total: b.queueDepth + b.inFlight + b.fanoutBacklog * SUBS, fanout: b.fanoutBacklog };
}

const fmt = (b: { anon: number; file: number; shmem: number }): string => `${b.anon.toFixed(0)}/${b.file.toFixed(0)}/${b.shmem.toFixed(0)}`;

async function settledRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(300);
    xs.push(rssMb(pid));
  }
  return summarise(xs).median;
}

export async function rssScenario(ctx: BenchContext, store: StoreKind): Promise<RssFigures> {
  const { cfg } = ctx;
  const runs: RssRun[] = [];
  // Two runs at most: each builds a whole backlog, and RSS is read from settled samples anyway.
  for (let r = 0; r < Math.min(cfg.runs, 2); r++) {
    const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS, { HERALD_MAX_BACKLOG: String(cfg.rssMaxBacklog), HERALD_DELIVERY_TIMEOUT_MS: '300000' });
    try {
      const requests = presignPublishes(herald.url, herald.creds, topicId, 8);
      // Steady state after (a)-like load.
      await closedLoop({ origin: herald.url, requests, connections: cfg.connections, warmupMs: cfg.warmupSeconds * 1000, durationMs: cfg.seconds * 1000 });
      const deadline = Date.now() + 60_000;
      while ((await backlogOf(herald)).total > 0 && Date.now() < deadline) await sleep(200);
      const steadyRssMb = await settledRss(herald.pid);
      const steadyBreakdownMb = rssBreakdownMb(herald.pid);
      const steadyMemory = await herald.api.memory();
      ctx.log(`  ${store} (h) steady RSS ${steadyRssMb.toFixed(1)} MB (backlog ${(await backlogOf(herald)).total}); V8 heap used/total ${steadyMemory.heapUsed}/${steadyMemory.heapTotal} MB, external ${steadyMemory.external} MB`);
      // Backlog with the receiver stalled.
      await ctx.receiver.request('hold');
      const samples: RssSample[] = [];
      const t0 = Date.now();
      let sampling = true;
      const sampler = (async (): Promise<void> => {
        while (sampling) {
          samples.push({ t: (Date.now() - t0) / 1000, rssMb: rssMb(herald.pid), backlog: (await backlogOf(herald)).total });
          await sleep(SAMPLE_MS);
        }
      })();
      const live = { completed: 0, ok: 0 };
      const pub = await closedLoop({ origin: herald.url, requests, connections: cfg.connections, warmupMs: 0, durationMs: 60_000, limit: cfg.rssMessages, live });
      const fanDeadline = Date.now() + 120_000;
      while ((await backlogOf(herald)).fanout > 0 && Date.now() < fanDeadline) await sleep(200);
      sampling = false;
      await sampler;
      const backlogRssMb = await settledRss(herald.pid);
      const backlogBreakdownMb = rssBreakdownMb(herald.pid);
      const backlog = (await backlogOf(herald)).total;
      samples.push({ t: (Date.now() - t0) / 1000, rssMb: backlogRssMb, backlog });
      const run: RssRun = {
        steadyRssMb,
        steadyMemory,
        backlogMemory: await herald.api.memory(),
        backlogRssMb,
        backlog,
        accepted: live.ok,
        statuses: pub.statuses,
        growthMb: backlogRssMb - steadyRssMb,
        peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
        peakGrowthMb: Math.max(...samples.map((s) => s.rssMb)) - steadyRssMb,
        steadyBreakdownMb,
        backlogBreakdownMb,
        mbPer100k: slope(samples.filter((s) => Number.isFinite(s.rssMb) && Number.isFinite(s.backlog)).map((s) => ({ x: s.backlog / 100_000, y: s.rssMb }))),
        samples,
      };
      runs.push(run);
      ctx.log(
        `  ${store} (h) run ${r + 1}: ${live.ok} publishes accepted → backlog ${backlog} deliveries; RSS ${steadyRssMb.toFixed(1)} → ${backlogRssMb.toFixed(1)} MB ` +
          `(+${run.growthMb.toFixed(1)} MB, slope ${run.mbPer100k.toFixed(2)} MB per 100k deliveries, peak ${run.peakRssMb.toFixed(1)} MB = +${run.peakGrowthMb.toFixed(1)} MB; anon/file/shmem ${fmt(steadyBreakdownMb)} → ${fmt(backlogBreakdownMb)} MB)`,
      );
    } finally {
      await ctx.receiver.request('release', { target: 0, timeoutMs: 1 }).catch(() => undefined);
      await stopFast(ctx, herald);
    }
  }
  return {
    steadyRss: summarise(runs.map((x) => x.steadyRssMb)),
    backlogRss: summarise(runs.map((x) => x.backlogRssMb)),
    growth: summarise(runs.map((x) => x.growthMb)),
    peakGrowth: summarise(runs.map((x) => x.peakGrowthMb)),
    mbPer100k: summarise(runs.map((x) => x.mbPer100k)),
    backlog: summarise(runs.map((x) => x.backlog)),
    runs,
  };
}
