/** Every knob of `npm run bench`, read once from the environment (and `--quick`). */
import { join } from 'node:path';

/** (g)'s full-run sample sizes, for `npm run bench` and `npm run bench:functions` alike (see FunctionsOptions). */
export const FUNCTIONS_DEFAULTS = { calls: 1000, warmupCalls: 3000, coldStarts: 6 } as const;

export type StoreKind = 'sqlite' | 'postgres';
export const SCENARIOS = ['ceilings', 'publish', 'drain', 'latency', 'sustained', 'filter', 'fanout', 'overload', 'isolation', 'functions', 'rss', 'soak'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchConfig {
  quick: boolean;
  /** Repetitions of every measurement; figures are the median with min–max. */
  runs: number;
  /** Measured seconds of each closed-loop or open-loop window. */
  seconds: number;
  /**
   * Unmeasured seconds before each window. Seconds, not a blink: V8 goes on optimizing Herald's code for seconds
   * under load (its compiler threads took 15-25 % of a core through the first 8 s at (c)'s 300/s), and (a) read 30 %
   * more publishes/s after 5 s of warm-up than after 0.5 s.
   */
  warmupSeconds: number;
  /** (c): unmeasured seconds at its highest rate before a fresh Herald's (and the relay's) first window, so that every window, the slow rate's too, meets optimized code. */
  jitWarmupSeconds: number;
  /** Connections of the closed-loop publisher (and of the publish ceiling). */
  connections: number;
  /** Subscription counts of scenario (a). */
  subCounts: number[];
  /** Messages published for scenario (b); deliveries = messages × 10. */
  drainMessages: number;
  /** Open-loop publish rates of scenario (c). */
  latencyRates: number[];
  overloadSeconds: number;
  /** (e): Herald's HERALD_MAX_BACKLOG, low enough that the overload window reaches it (429 + Retry-After above it). */
  overloadMaxBacklog: number;
  /** Longest publish phase of (b); the backlog is whatever was published by then. */
  drainPublishMaxSeconds: number;
  /** Longest drain of (b); past it the figure is the partial drain rate, flagged. */
  drainTimeoutSeconds: number;
  /** How long (c) waits for stragglers after the last send; missing deliveries count as ∞. */
  latencyWaitSeconds: number;
  /** (d): subscriptions on the one topic, and publishes whose ack is timed. */
  fanoutSubs: number;
  fanoutPublishes: number;
  /** (f): open-loop publishes/s and measured seconds. */
  isolationRate: number;
  isolationSeconds: number;
  /** (h): messages published (× 10 deliveries) while the receiver is stalled, and Herald's HERALD_MAX_BACKLOG for it. */
  rssMessages: number;
  rssMaxBacklog: number;
  /** (g): measured warm calls per layer, the unmeasured calls before them, and cold starts per layer. */
  functionCalls: number;
  functionWarmupCalls: number;
  functionColdStarts: number;
  /** (j) sustained fan-out: the rising open-loop publish rates (× 10 subscriptions), seconds per rate, seconds the deliveries get after each window, and bisection steps after the first failing rate. */
  sustainedRates: number[];
  sustainedSeconds: number;
  sustainedGraceSeconds: number;
  sustainedRefine: number;
  /** (i): soak length, open-loop publishes/s, seconds between samples, and Herald's HERALD_MESSAGE_RETENTION for the second run. */
  soakSeconds: number;
  soakRate: number;
  soakSampleSeconds: number;
  soakRetention: string;
  stores: StoreKind[];
  pgUrl: string;
  amqpUrl: string;
  scenarios: Set<ScenarioName>;
  /** The built `herald` entry point. */
  heraldBin: string;
  /** When set, Herald runs with --cpu-prof and writes its profiles here. */
  cpuProfDir: string | undefined;
  /** Whether to rewrite docs/performance.md (off for quick passes unless asked). */
  writeDocs: boolean;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

function nonNegative(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number ≥ 0, got ${raw}`);
  return v;
}

/** A Herald duration such as `30s`, `10m` or `1h` (passed through as HERALD_MESSAGE_RETENTION). */
function duration(name: string, fallback: string): string {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+(\.\d+)?(ms|s|m|h|d)?$/.test(raw.trim())) throw new Error(`${name} must be a duration like 30s, 10m or 1h, got ${raw}`);
  return raw.trim();
}

/** Seconds in such a duration (a bare number is seconds here; the bench only uses it to say what is past the window). */
export function durationSeconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(d.trim());
  if (m === null) return Number.NaN;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit;
}

function list(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function readConfig(argv: string[] = process.argv.slice(2)): BenchConfig {
  const quick = argv.includes('--quick') || ['1', 'true', 'yes'].includes(process.env.BENCH_QUICK ?? '');
  const stores = list('BENCH_STORES', 'sqlite,postgres').map((s) => {
    if (s !== 'sqlite' && s !== 'postgres') throw new Error(`BENCH_STORES: unknown store ${s}`);
    return s as StoreKind;
  });
  const scenarios = new Set(
    list('BENCH_SCENARIOS', SCENARIOS.join(',')).map((s) => {
      if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
      return s as ScenarioName;
    }),
  );
  const root = process.cwd();
  return {
    quick,
    runs: Math.round(num('BENCH_RUNS', quick ? 1 : 3)),
    seconds: num('BENCH_SECONDS', quick ? 1.5 : 3),
    warmupSeconds: num('BENCH_WARMUP', quick ? 1 : 5),
    jitWarmupSeconds: nonNegative('BENCH_JIT_WARMUP', quick ? 2 : 10),
    connections: Math.round(num('BENCH_CONNECTIONS', 50)),
    subCounts: list('BENCH_SUBS', '0,1,10').map(Number),
    drainMessages: Math.round(num('BENCH_DRAIN_MESSAGES', quick ? 500 : 5000)),
    latencyRates: list('BENCH_RATES', '100,300').map(Number),
    overloadSeconds: num('BENCH_OVERLOAD_SECONDS', quick ? 2.5 : 8),
    overloadMaxBacklog: Math.round(num('BENCH_OVERLOAD_MAX_BACKLOG', quick ? 5_000 : 20_000)),
    drainPublishMaxSeconds: num('BENCH_DRAIN_PUBLISH_MAX', quick ? 5 : 10),
    drainTimeoutSeconds: num('BENCH_DRAIN_TIMEOUT', quick ? 8 : 10),
    latencyWaitSeconds: num('BENCH_LATENCY_WAIT', quick ? 2 : 5),
    fanoutSubs: Math.round(num('BENCH_FANOUT_SUBS', quick ? 1_000 : 10_000)),
    fanoutPublishes: Math.round(num('BENCH_FANOUT_PUBLISHES', quick ? 5 : 40)),
    isolationRate: num('BENCH_ISOLATION_RATE', 100),
    isolationSeconds: num('BENCH_ISOLATION_SECONDS', quick ? 2 : 4),
    rssMessages: Math.round(num('BENCH_RSS_MESSAGES', quick ? 3_000 : 10_000)),
    rssMaxBacklog: Math.round(num('BENCH_RSS_MAX_BACKLOG', 2_000_000)),
    functionCalls: Math.round(num('BENCH_FUNCTION_CALLS', quick ? 300 : FUNCTIONS_DEFAULTS.calls)),
    functionWarmupCalls: Math.round(nonNegative('BENCH_FUNCTION_WARMUP', quick ? 300 : FUNCTIONS_DEFAULTS.warmupCalls)),
    functionColdStarts: Math.round(num('BENCH_FUNCTION_COLD', quick ? 3 : FUNCTIONS_DEFAULTS.coldStarts)),
    sustainedRates: list('BENCH_SUSTAINED_RATES', '200,400,800,1600,3200,6400')
      .map(Number)
      .map((r) => {
        if (!Number.isFinite(r) || r <= 0) throw new Error(`BENCH_SUSTAINED_RATES must list positive rates, got ${process.env.BENCH_SUSTAINED_RATES}`);
        return r;
      })
      .sort((a, b) => a - b),
    // Long beside the grace: with 5 s windows a rate that built up to 3 s of backlog still passed, so the ladder's figure
    // ran up to 1.6x what Herald kept up with (the full-speed figure divided by it read 0.68x where like for like was 0.96x).
    sustainedSeconds: num('BENCH_SUSTAINED_SECONDS', quick ? 2 : 15),
    sustainedGraceSeconds: num('BENCH_SUSTAINED_GRACE', 3),
    sustainedRefine: Math.round(nonNegative('BENCH_SUSTAINED_REFINE', 1)),
    // Minutes, not seconds: the unbounded WAL and RSS growth (issue) never showed in 3 s windows.
    soakSeconds: num('BENCH_SOAK_SECONDS', quick ? 30 : 180),
    soakRate: num('BENCH_SOAK_RATE', 500),
    soakSampleSeconds: num('BENCH_SOAK_SAMPLE', quick ? 2 : 5),
    soakRetention: duration('BENCH_SOAK_RETENTION', quick ? '10s' : '60s'),
    stores,
    pgUrl: process.env.BENCH_PG_URL ?? process.env.HERALD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test',
    amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    scenarios,
    heraldBin: process.env.BENCH_HERALD_BIN ?? join(root, 'dist', 'src', 'cli', 'main.js'),
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
    writeDocs: process.env.BENCH_WRITE_DOCS !== undefined ? process.env.BENCH_WRITE_DOCS === '1' : !quick,
  };
}
