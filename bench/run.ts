/**
 * `npm run bench`: Herald against this machine's ceilings, measured in one run.
 * Not a test: it never fails on timing. See docs/performance.md for the method.
 *
 *   BENCH_RUNS=3 BENCH_SECONDS=3 BENCH_WARMUP=5 BENCH_JIT_WARMUP=10 BENCH_CONNECTIONS=50
 *   BENCH_STORES=sqlite,postgres BENCH_SCENARIOS=ceilings,publish,drain,latency,overload
 *   BENCH_SCENARIOS may also name fanout (d), isolation (f), functions (g), rss (h), soak (i), sustained (j), filter (k)
 *   BENCH_SUSTAINED_RATES=200,400,800,1600,3200,6400 BENCH_SUSTAINED_SECONDS=5 BENCH_SUSTAINED_GRACE=3 BENCH_SUSTAINED_REFINE=1 (quick: 2 s windows)
 *   BENCH_SOAK_SECONDS=180 BENCH_SOAK_RATE=500 BENCH_SOAK_SAMPLE=5 BENCH_SOAK_RETENTION=60s (quick: 30, 500, 2, 10s)
 *   BENCH_OVERLOAD_MAX_BACKLOG=20000 (quick: 5000; Herald's HERALD_MAX_BACKLOG in (e): 429 + Retry-After above it)
 *   BENCH_FUNCTION_CALLS=1000 BENCH_FUNCTION_WARMUP=3000 BENCH_FUNCTION_COLD=6 (quick: 300, 300, 3) warm calls, unmeasured calls before them and cold starts per layer of (g)
 *   BENCH_FANOUT_SUBS=10000 BENCH_FANOUT_PUBLISHES=40 BENCH_ISOLATION_RATE=100 BENCH_ISOLATION_SECONDS=4
 *   BENCH_RSS_MESSAGES=10000 BENCH_RSS_MAX_BACKLOG=2000000 (quick: 1000 subscriptions, 5 publishes, 2 s, 3000 messages)
 *   BENCH_SUBS=0,1,10 BENCH_DRAIN_MESSAGES=5000 BENCH_RATES=100,300 BENCH_OVERLOAD_SECONDS=10
 *   BENCH_DRAIN_PUBLISH_MAX=10 BENCH_DRAIN_TIMEOUT=10 BENCH_LATENCY_WAIT=5 (time caps for a slow build)
 *   BENCH_QUICK=1 (or --quick): 1 run, short windows, a small backlog; docs untouched unless BENCH_WRITE_DOCS=1
 *   BENCH_PG_URL, BENCH_AMQP_URL, BENCH_HERALD_BIN, BENCH_CPU_PROF=<dir> (Herald runs with --cpu-prof)
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { measureCeilings, measureCeilingsAtEnd } from './ceilings/index.js';
import { Child } from './lib/children.js';
import { machineBusySeconds, machineStealSeconds } from './lib/cpu.js';
import { readConfig, type StoreKind } from './lib/config.js';
import type { BenchContext } from './lib/context.js';
import { buildRows, markdownSection, markdownTable, newResults, writeDocs, writeJson, DOC_PATH, type StoreResults } from './lib/report.js';
import { drainScenario } from './scenarios/drain.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { filterScenario } from './scenarios/filter.js';
import { isolationScenario } from './scenarios/isolation.js';
import { latencyScenario } from './scenarios/latency.js';
import { overloadScenario } from './scenarios/overload.js';
import { publishScenario } from './scenarios/publish.js';
import { rssScenario } from './scenarios/rss.js';
import { soakScenario } from './scenarios/soak.js';
import { sustainedScenario } from './scenarios/sustained.js';

const cfg = readConfig();
const started = Date.now();
const log = (line: string): void => {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${t}s] ${line}`);
};
const results = newResults(cfg);

async function postgresReachable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: cfg.pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function runStore(ctx: BenchContext, store: StoreKind): Promise<StoreResults> {
  const out: StoreResults = { errors: [] };
  if (store === 'postgres') {
    const why = await postgresReachable();
    if (why !== undefined) {
      out.errors.push(`PostgreSQL at ${cfg.pgUrl} is unreachable: ${why}`);
      log(`${store}: skipped (${why})`);
      return out;
    }
  }
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    log(`${store}: ${name}`);
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
      out.errors.push(`${name}: ${msg.split('\n').slice(0, 3).join(' ')}`);
      log(`${store}: ${name} FAILED: ${msg}`);
      return undefined;
    }
  };
  if (cfg.scenarios.has('publish')) out.publish = await step('(a) durable publish/s', () => publishScenario(ctx, store));
  if (cfg.scenarios.has('drain')) out.drain = await step('(b) backlog drain', () => drainScenario(ctx, store));
  if (cfg.scenarios.has('latency')) out.latency = await step('(c) publish→delivery latency', () => latencyScenario(ctx, store));
  if (cfg.scenarios.has('sustained')) out.sustained = await step('(j) sustained fan-out', () => sustainedScenario(ctx, store));
  if (cfg.scenarios.has('filter')) out.filter = await step('(k) filter policies', () => filterScenario(ctx, store));
  if (cfg.scenarios.has('fanout')) out.fanout = await step(`(d) ${cfg.fanoutSubs} subscriptions`, () => fanoutScenario(ctx, store));
  if (cfg.scenarios.has('overload')) out.overload = await step('(e) overload', () => overloadScenario(ctx, store));
  if (cfg.scenarios.has('isolation')) out.isolation = await step('(f) per-endpoint isolation', () => isolationScenario(ctx, store));
  if (cfg.scenarios.has('rss')) out.rss = await step('(h) RSS', () => rssScenario(ctx, store));
  // Last: it takes minutes where the others take seconds.
  if (cfg.scenarios.has('soak')) out.soak = await step('(i) soak', () => soakScenario(ctx, store));
  return out;
}

async function main(): Promise<void> {
  log(
    `Herald bench: ${cfg.runs} run(s), ${cfg.seconds} s windows, ${cfg.warmupSeconds} s warm-up, c=${cfg.connections}, ` +
      `stores ${cfg.stores.join('+')}, scenarios ${[...cfg.scenarios].join(',')}${cfg.quick ? ' (quick)' : ''}`,
  );
  // This box is shared: say how busy it was before we started loading it.
  const b0 = machineBusySeconds();
  await new Promise((r) => setTimeout(r, 2000));
  const busy = Math.round(((machineBusySeconds() - b0) / 2) * 100);
  results.machine.busyPercentBeforeStart = busy;
  log(`machine busy before start: ${busy}% of ${results.machine.cpus instanceof Array ? results.machine.cpus.length * 100 : '?'}%${busy > 30 ? ' — other work is running; figures will be low and noisy' : ''}`);
  const steal0 = machineStealSeconds();
  const { child: receiver, ready } = await Child.start<{ url: string; pid: number }>('receiver', new URL('./lib/receiver-process.ts', import.meta.url));
  const ctx: BenchContext = { cfg, receiver, receiverUrl: ready.url, receiverPid: ready.pid, log };
  try {
    if (cfg.scenarios.has('ceilings')) {
      log('ceilings (each in its own process)');
      results.ceilings = await measureCeilings(cfg, ready.url, log);
    }
    if (cfg.scenarios.has('functions')) {
      // Store-independent: once per bench run. Imported here so a broken import cannot stop the other scenarios.
      log('(g) functions: cold start and warm-call overhead over the bare FDK');
      try {
        const { functionsScenario } = await import('./scenarios/functions.js');
        results.functions = await functionsScenario(ctx);
      } catch (err) {
        const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
        results.functionsError = msg.split('\n').slice(0, 3).join(' ');
        log(`(g) functions FAILED: ${msg}`);
      }
    }
    for (const store of cfg.stores) results.stores[store] = await runStore(ctx, store);
    // Only worth it after a long run: how far the machine moved since the ceilings the ratios divide by.
    if (results.ceilings !== undefined && [...cfg.scenarios].some((s) => s !== 'ceilings' && s !== 'functions') && cfg.stores.length > 0) {
      log('ceilings again, at the end of the run');
      results.ceilingsAtEnd = await measureCeilingsAtEnd(cfg, ready.url, log);
    }
  } finally {
    await receiver.stop();
  }
  results.machine.loadAvgAtEnd = loadavg();
  const steal1 = machineStealSeconds();
  results.machine.stealPercentOfRun = Math.round((100 * (steal1.steal - steal0.steal)) / (steal1.total - steal0.total));
  log(`steal during the run: ${String(results.machine.stealPercentOfRun)}% of the machine's CPU time`);
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = (Date.now() - started) / 1000;
  const file = await writeJson(results);
  console.log('\n' + markdownTable(buildRows(results)) + '\n');
  log(`results: ${file}`);
  if (cfg.writeDocs) {
    await writeDocs(markdownSection(results));
    log(`updated ${DOC_PATH}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
