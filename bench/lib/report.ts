/**
 * Results: the JSON record (bench/results/<timestamp>.json) and the markdown table
 * that replaces the marked section of docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CeilingResults, CeilingsAtEnd } from '../ceilings/index.js';
import { DELIVERY_CEILING_CONNECTIONS } from '../ceilings/index.js';
import type { DrainFigures } from '../scenarios/drain.js';
import type { FanoutFigures } from '../scenarios/fanout.js';
import type { FunctionsFigures } from '../scenarios/functions.js';
import type { IsolationFigures } from '../scenarios/isolation.js';
import type { LatencyFigures } from '../scenarios/latency.js';
import type { OverloadFigures } from '../scenarios/overload.js';
import type { PublishFigures } from '../scenarios/publish.js';
import type { RssFigures } from '../scenarios/rss.js';
import type { FilterFigures } from '../scenarios/filter.js';
import type { SoakFigures } from '../scenarios/soak.js';
import type { SustainedFigures } from '../scenarios/sustained.js';
import type { BenchConfig, StoreKind } from './config.js';
import { describeLadder } from './ladder.js';
import { soakRows, soakVerdicts } from './report-soak.js';
import { deliveryYardstickRows, latencyYardstickRows, publishYardstickRows, type AddRow, type AgainstOwnRow } from './report-yardsticks.js';
import { fmtNum, fmtRatio, fmtSummary, ratio, summarise, targetSummary, type Summary } from './stats.js';

export interface StoreResults {
  publish?: PublishFigures[];
  drain?: DrainFigures;
  latency?: LatencyFigures[];
  fanout?: FanoutFigures;
  overload?: OverloadFigures;
  isolation?: IsolationFigures;
  rss?: RssFigures;
  soak?: SoakFigures;
  sustained?: SustainedFigures;
  filter?: FilterFigures;
  errors: string[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  machine: Record<string, unknown>;
  git: { commit: string; dirtyFiles: number };
  config: Omit<BenchConfig, 'scenarios'> & { scenarios: string[] };
  ceilings?: CeilingResults;
  /** The publish and delivery ceilings measured again after every scenario (one run each). */
  ceilingsAtEnd?: CeilingsAtEnd;
  /** (g): store-independent, measured once per bench run. */
  functions?: FunctionsFigures;
  functionsError?: string;
  stores: Partial<Record<StoreKind, StoreResults>>;
}

export const DOC_PATH = join('docs', 'performance.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function newResults(cfg: BenchConfig): BenchResults {
  const status = git(['status', '--porcelain']);
  return {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus(), totalMemBytes: totalmem(), kernel: release(), node: process.version, loadAvgAtStart: loadavg() },
    git: { commit: git(['rev-parse', 'HEAD']) || 'unknown', dirtyFiles: status === '' ? 0 : status.split('\n').length },
    config: { ...cfg, scenarios: [...cfg.scenarios] },
    stores: {},
  };
}

export async function writeJson(results: BenchResults): Promise<string> {
  const dir = join('bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${results.startedAt.replace(/:/g, '-')}.json`);
  await writeFile(file, JSON.stringify(results, null, 2) + '\n');
  return file;
}

export interface Row {
  figure: string;
  sqlite: string;
  postgres: string;
  ceiling: string;
  rSqlite: string;
  rPostgres: string;
  target: string;
}

function storeCells(results: BenchResults, pick: (s: StoreResults) => Summary | undefined, unit = ''): Pick<Row, 'sqlite' | 'postgres'> {
  const cell = (k: StoreKind): string => {
    const s = results.stores[k];
    return s === undefined ? '—' : fmtSummary(pick(s), unit);
  };
  return { sqlite: cell('sqlite'), postgres: cell('postgres') };
}

function ratios(results: BenchResults, pick: (s: StoreResults) => Summary | undefined, against: Summary | undefined): Pick<Row, 'rSqlite' | 'rPostgres'> {
  const r = (k: StoreKind): string => {
    const s = results.stores[k];
    return s === undefined ? '—' : fmtRatio(ratio(pick(s), against));
  };
  return { rSqlite: r('sqlite'), rPostgres: r('postgres') };
}

export function buildRows(results: BenchResults): Row[] {
  const c = results.ceilings;
  const cfg = results.config;
  const rows: Row[] = [];
  const httpCeil = c ? `bare node:http ${fmtSummary(c.publish)}/s` : 'n/a';
  const undiciCeil = c ? `bare undici Pool c=${DELIVERY_CEILING_CONNECTIONS} ${fmtSummary(c.delivery)}/s` : 'n/a';
  const rabbitCeil = c?.rabbit ? `RabbitMQ classic, 10 durable queues, confirms, window 256: ${fmtSummary(c.rabbit)} msg/s` : `RabbitMQ n/a${c?.rabbitError ? ` (${c.rabbitError})` : ''}`;
  const add: AddRow = (figure, pick, ceiling, against, target, unit = '') => {
    rows.push({ figure, ...storeCells(results, pick, unit), ceiling, ...ratios(results, pick, against), target });
  };
  /** A row of words (yes/no, all/some) rather than figures: no ratio. */
  const text = (figure: string, cell: (s: StoreResults) => string, ceiling: string, target: string): void => {
    const v = (k: StoreKind): string => {
      const s = results.stores[k];
      return s === undefined ? '—' : cell(s);
    };
    rows.push({ figure, sqlite: v('sqlite'), postgres: v('postgres'), ceiling, rSqlite: '—', rPostgres: '—', target });
  };
  /** A figure ÷ another of the same store and run: each store is its own yardstick, named in `ceiling` with its value. */
  const againstOwn: AgainstOwnRow = (figure, pick, base, ceiling, target) => {
    const own = (k: StoreKind): string => {
      const s = results.stores[k];
      return fmtSummary(s === undefined ? undefined : base(s));
    };
    const r = (k: StoreKind): string => {
      const s = results.stores[k];
      return s === undefined ? '—' : fmtRatio(ratio(pick(s), base(s)));
    };
    rows.push({
      figure,
      ...storeCells(results, pick),
      ceiling: `${ceiling}, same run: SQLite ${own('sqlite')}, PostgreSQL ${own('postgres')}`,
      rSqlite: r('sqlite'),
      rPostgres: r('postgres'),
      target,
    });
  };
  for (const subs of cfg.subCounts) {
    const pick = (s: StoreResults): Summary | undefined => s.publish?.find((p) => p.subs === subs)?.rate;
    add(`(a) durable publishes/s, ${subs} subscription${subs === 1 ? '' : 's'}, c=${cfg.connections}`, pick, httpCeil, c?.publish, '≥ 0.60×');
  }
  publishYardstickRows(results, rows, add);
  if (cfg.subCounts.includes(10)) {
    const pick = (s: StoreResults): Summary | undefined => s.publish?.find((p) => p.subs === 10)?.rate;
    add('(a) durable publishes/s, 10 subscriptions, vs RabbitMQ', pick, rabbitCeil, c?.rabbit, '≥ 3×');
    add('(a) deliveries/s meanwhile (10 subscriptions)', (s) => s.publish?.find((p) => p.subs === 10)?.deliveries, undiciCeil, c?.delivery, '—');
  }
  add(`(b) drain of a ${fmtNum(cfg.drainMessages * 10)}-delivery backlog, deliveries/s`, (s) => s.drain?.rate, undiciCeil, c?.delivery, '≥ 10,000/s and ≥ 0.50×');
  const partial = (k: StoreKind): number => results.stores[k]?.drain?.incompleteRuns ?? 0;
  if (partial('sqlite') + partial('postgres') > 0) {
    rows[rows.length - 1]!.figure += ` (partial rate where the drain outlasted ${cfg.drainTimeoutSeconds} s: SQLite ${partial('sqlite')}, PostgreSQL ${partial('postgres')} runs)`;
  }
  // What the SQLite store writes is what its fsyncs wait for and what a publish's ack waits behind (docs/performance.md).
  add('(b) SQLite: Herald\'s disk writes per message published (10 subscriptions, until its deliveries exist), KB', (s) => s.drain?.diskKbPerMessage, '—', undefined, '—', ' KB');
  add('(b) SQLite: Herald\'s disk writes per delivery drained (claim and completion), KB', (s) => s.drain?.diskKbPerDelivery, '—', undefined, '—', ' KB');
  add(
    '(b) Herald\'s CPU per delivery drained (its process, every thread; on PostgreSQL the database server\'s is on top), µs',
    (s) => s.drain?.cpuUsPerDelivery,
    c ? `bare undici client's CPU per request, same run: ${fmtSummary(c.deliveryCpuUs, ' µs')}` : 'n/a',
    c?.deliveryCpuUs,
    '— (the issue: a fraction of 100 µs)',
    ' µs',
  );
  deliveryYardstickRows(results, rows, add);
  for (const rate of cfg.latencyRates) {
    const lat = (s: StoreResults): LatencyFigures | undefined => s.latency?.find((l) => l.rate === rate);
    const t = (v: number, what: string, pick: (l: LatencyFigures) => Summary): void =>
      add(`(c) ${rate}/s × 10: ${what}`, (s) => (lat(s) ? pick(lat(s)!) : undefined), `target ${v} ms`, targetSummary(v), `≤ ${v} ms (≤ 1.00×)`, ' ms');
    add(`(c) ${rate}/s × 10: publish ack p50, ms`, (s) => lat(s)?.ackP50, '—', undefined, '—', ' ms');
    t(10, 'publish ack p99', (l) => l.ackP99);
    t(3, 'publish→delivery p50', (l) => l.e2eP50);
    t(15, 'publish→delivery p99', (l) => l.e2eP99);
    add(`(c) ${rate}/s × 10: publish→delivery p99.9`, (s) => lat(s)?.e2eP999, '—', undefined, '—', ' ms');
    add(`(c) ${rate}/s × 10: deliveries not arrived ${cfg.latencyWaitSeconds} s after the last send`, (s) => lat(s)?.missingShare, '—', undefined, '0%', '%');
    latencyYardstickRows(results, rate, add, againstOwn);
  }
  if (cfg.scenarios.includes('sustained')) {
    const j = `(j) sustained fan-out, open loop × 10 subscriptions, ${fmtNum(cfg.sustainedSeconds)} s per rate (${cfg.sustainedRates.join(', ')}/s, then ${cfg.sustainedRefine} bisection${cfg.sustainedRefine === 1 ? '' : 's'}), all deliveries within ${fmtNum(cfg.sustainedGraceSeconds)} s`;
    const rs = c?.rabbitSustained;
    const lowerBound = (k: StoreKind): number => results.stores[k]?.sustained?.topPassedRuns ?? 0;
    const bound = lowerBound('sqlite') + lowerBound('postgres') > 0 || (rs?.topPassedRuns ?? 0) > 0 ? ' (top rate held in some runs: a lower bound, see the ladder)' : '';
    const rabbitSus = rs
      ? `RabbitMQ same job (fanout → 10 durable queues, confirms, 10 acking consumers): ${fmtSummary(rs.rate)} msg/s${rs.topPassedRuns > 0 ? ' (top rate held: ≥)' : ''}`
      : `RabbitMQ n/a${c?.rabbitSustainedError ? ` (${c.rabbitSustainedError})` : ''}`;
    add(`${j}: highest sustained publishes/s${bound}`, (s) => s.sustained?.rate, rabbitSus, rs?.rate, '— (Herald ÷ RabbitMQ)');
    add('(j) sustained deliveries/s (highest sustained rate × 10)', (s) => s.sustained?.deliveries, undiciCeil, c?.delivery, '≥ 0.50×');
    add(
      '(j) that window\'s deliveries ÷ (window + catch-up to its last delivery), deliveries/s (below rate × 10 when the grace absorbed a backlog)',
      (s) => s.sustained?.achieved,
      rs ? `RabbitMQ same job, same measure: ${fmtSummary(rs.achieved)}/s` : 'RabbitMQ n/a',
      rs?.achieved,
      '— (Herald ÷ RabbitMQ)',
    );
    // The yardstick is each store's own sustained figure: ratios per store.
    againstOwn(
      `(j) under publishers at full speed (closed loop c=${cfg.connections}, 10 subscriptions, ${fmtNum(cfg.sustainedSeconds)} s): deliveries/s during the window`,
      (s) => s.sustained?.fullDeliveries,
      (s) => s.sustained?.deliveries,
      'sustained deliveries/s',
      '≥ 0.90×',
    );
    // Like for like: the ladder's figure is a rate offered for a few seconds, whose deliveries may take the grace to
    // arrive; what it delivered per second (window + catch-up) is the engine's rate with work always waiting, as under
    // publishers at full speed.
    againstOwn(
      '(j) under publishers at full speed: deliveries/s during the window, ÷ what the sustained window delivered per second (window + catch-up)',
      (s) => s.sustained?.fullDeliveries,
      (s) => s.sustained?.achieved,
      "the sustained window's deliveries ÷ (window + catch-up)",
      '— (delivery not starved by publishing: ≈ 1.00×)',
    );
    add('(j) under publishers at full speed: publishes/s accepted (2xx) meanwhile', (s) => s.sustained?.fullPublishes, httpCeil, c?.publish, '—');
    text(
      '(j) rates tried, first run (✓ sustained, ✗ not)',
      (s) => {
        const run = s.sustained?.runs[0]?.ladder;
        return run === undefined ? 'n/a' : describeLadder(run);
      },
      c?.rabbitSustainedRuns?.[0] ? `RabbitMQ: ${describeLadder(c.rabbitSustainedRuns[0])}` : '—',
      '—',
    );
  }
  if (cfg.scenarios.includes('filter')) {
    againstOwn(
      '(k) durable publishes/s, 10 subscriptions each with a 10-key filter policy (every message passes)',
      (s) => s.filter?.filtered,
      (s) => s.filter?.plain,
      'the same without policies',
      '≥ 0.95×',
    );
    add('(k) deliveries/s meanwhile, with the policies', (s) => s.filter?.deliveriesFiltered, undiciCeil, c?.delivery, '—');
    const share = (k: StoreKind): string => {
      const x = results.stores[k]?.filter;
      // A few thousandths: a percentage says more than a ratio rounded to 0.00×.
      return x === undefined ? '—' : `${((100 * x.evalPerMessageUs) / x.cpuPerPublishUs.median).toFixed(2)} %`;
    };
    const evalUs = results.stores.sqlite?.filter?.evalPerMessageUs ?? results.stores.postgres?.filter?.evalPerMessageUs;
    rows.push({
      figure: `(k) evaluating the 10 policies for one message: ${evalUs === undefined ? 'n/a' : evalUs.toFixed(2)} µs, ÷ Herald's CPU per publish without policies`,
      ...storeCells(results, (s) => s.filter?.cpuPerPublishUs, ' µs'),
      ceiling: 'Herald CPU per publish (process CPU time ÷ publishes), no policies',
      rSqlite: share('sqlite'),
      rPostgres: share('postgres'),
      target: '≤ 5 %',
    });
  }
  if (cfg.scenarios.includes('fanout')) {
    const f = `(d) ${fmtNum(cfg.fanoutSubs)} subscriptions`;
    add(`${f}: publish ack p50 (${cfg.fanoutPublishes + cfg.runs} publishes)`, (s) => s.fanout?.ackP50, '—', undefined, '—', ' ms');
    add(`${f}: publish ack p99`, (s) => s.fanout?.ackP99, 'target 10 ms', targetSummary(10), '≤ 10 ms (≤ 1.00×)', ' ms');
    add(`${f}: deliveries/s while the acks were timed`, (s) => s.fanout?.deliveriesDuringAcks, undiciCeil, c?.delivery, '—');
    add(`${f}: fan-out of one message, deliveries/s`, (s) => s.fanout?.fanoutRate, undiciCeil, c?.delivery, '—');
  }
  if (cfg.scenarios.includes('overload')) {
    const max = cfg.overloadMaxBacklog;
    const e = `(e) overload ${cfg.overloadSeconds} s, c=${cfg.connections}, HERALD_MAX_BACKLOG=${fmtNum(max)}`;
    add(`${e}: publishes/s accepted (2xx)`, (s) => s.overload?.publishRate, httpCeil, c?.publish, '—');
    add('(e) overload: publishes refused with 429', (s) => s.overload?.refused429, '—', undefined, '> 0 (the window passes the threshold)');
    add('(e) overload: first 429, seconds into the window', (s) => (s.overload ? summarise(s.overload.runs.map((r) => r.firstRefusalSec)) : undefined), '—', undefined, `< ${fmtNum(cfg.overloadSeconds / 2)} s (1st half)`, ' s');
    text(
      '(e) overload: 429 answers carrying Retry-After',
      (s) => {
        const o = s.overload;
        if (o === undefined) return 'n/a';
        const total = o.runs.reduce((a, r) => a + r.refused429, 0);
        const withRa = o.runs.reduce((a, r) => a + r.refused429WithRetryAfter, 0);
        if (total === 0) return 'no 429';
        const values = [...new Set(o.runs.flatMap((r) => Object.keys(r.retryAfter)))].join(', ');
        return `${withRa === total ? 'all' : 'NOT all'} (${fmtNum(withRa)} of ${fmtNum(total)}${values === '' ? '' : `; Retry-After: ${values} s`})`;
      },
      '—',
      'all',
    );
    add(
      '(e) overload: peak backlog in the /metrics samples (queue depth + in flight + fan-out backlog)',
      (s) => s.overload?.maxHeraldBacklog,
      `HERALD_MAX_BACKLOG ${fmtNum(max)}`,
      targetSummary(max),
      '≈ 1.00× (held near the threshold)',
    );
    add('(e) overload: deliveries/s (10 subscriptions)', (s) => s.overload?.deliveryRate, undiciCeil, c?.delivery, '—');
    add(`(e) overload: backlog after ${cfg.overloadSeconds} s (acked × 10 − delivered), deliveries`, (s) => s.overload?.finalBacklog, '—', undefined, 'bounded');
    add('(e) overload: backlog growth over the 2nd half, deliveries/s', (s) => s.overload?.growthPerSec, '—', undefined, '≈ 0 (bounded)');
    text(
      '(e) overload: bounded (2nd-half growth < max(100/s, 5% of deliveries/s), or 429s from the 1st half on held it under 2 × HERALD_MAX_BACKLOG)',
      (s) => {
        const o = s.overload;
        if (o === undefined) return 'n/a';
        const capped = o.runs.filter((r) => r.capped).length;
        const flat = o.runs.filter((r) => r.flat).length;
        return `${o.boundedRuns === o.runs.length ? 'yes' : 'no'} (${o.boundedRuns} of ${o.runs.length} run${o.runs.length === 1 ? '' : 's'}; flat ${flat}, capped by 429 ${capped})`;
      },
      '—',
      'yes',
    );
  }
  if (cfg.scenarios.includes('isolation')) {
    const f = `(f) ${cfg.isolationRate}/s, 8 healthy of 10 subscriptions (one slow 1 s, one failing 500)`;
    // The yardstick differs per store (the same run without the slow/failing endpoints): ratios per store.
    const perStore = (figure: string, pick: (s: IsolationFigures) => Summary, base: (s: IsolationFigures) => Summary, r: (s: IsolationFigures) => Summary): void => {
      const cell = (k: StoreKind, p: (s: IsolationFigures) => Summary): string => {
        const iso = results.stores[k]?.isolation;
        return iso === undefined ? '—' : fmtSummary(p(iso), ' ms');
      };
      const rc = (k: StoreKind): string => {
        const iso = results.stores[k]?.isolation;
        return iso === undefined ? '—' : fmtRatio(r(iso).median);
      };
      rows.push({
        figure,
        sqlite: cell('sqlite', pick),
        postgres: cell('postgres', pick),
        ceiling: `same run, 8 healthy only: SQLite ${cell('sqlite', base)}, PostgreSQL ${cell('postgres', base)}`,
        rSqlite: rc('sqlite'),
        rPostgres: rc('postgres'),
        target: '≈ 1.00× (isolated)',
      });
    };
    perStore(`${f}: publish→delivery p50`, (s) => s.healthyP50With, (s) => s.healthyP50Without, (s) => s.p50Ratio);
    perStore(`${f}: publish→delivery p99`, (s) => s.healthyP99With, (s) => s.healthyP99Without, (s) => s.p99Ratio);
  }
  if (cfg.scenarios.includes('functions')) {
    // Store-independent: one figure per bench run, shown in the SQLite column (the API layer's Herald runs on SQLite).
    const fx = results.functions;
    const g = '(g) functions';
    const one = (figure: string, pick: (f: FunctionsFigures) => Summary, ceiling: string, against: Summary | undefined, target: string): void => {
      rows.push({
        figure,
        sqlite: fx === undefined ? 'n/a' : fmtSummary(pick(fx), ' ms'),
        postgres: 'store-independent',
        ceiling,
        rSqlite: fx === undefined ? 'n/a' : fmtRatio(ratio(pick(fx), against)),
        rPostgres: '—',
        target,
      });
    };
    const fdk = (pick: (f: FunctionsFigures) => Summary): string => (fx === undefined ? 'n/a' : fmtSummary(pick(fx), ' ms'));
    one(
      `${g}: cold start p50 (spawn → first answer), Herald runtime in the bubblewrap sandbox, ${cfg.functionColdStarts} cold starts`,
      (f) => f.runtimeColdP50,
      `bare FDK process, same run: ${fdk((f) => f.fdkColdP50)}`,
      fx?.fdkColdP50,
      '≤ 150 ms',
    );
    one(`${g}: cold start p50, Herald runtime − bare FDK`, (f) => f.coldOverheadP50, '—', undefined, '—');
    const warm = (layer: string, p: 'p50' | 'p99', pick: (f: FunctionsFigures) => Summary, floor: (f: FunctionsFigures) => Summary): void =>
      one(
        `${g}: warm call ${p} overhead over the bare FDK round trip, ${layer} (${fmtNum(cfg.functionCalls)} calls)`,
        pick,
        `target +0.5 ms (bare FDK ${p}, same run: ${fdk(floor)})`,
        targetSummary(0.5),
        '≤ 0.5 ms (≤ 1.00×)',
      );
    warm('runtime (in-process, in the bubblewrap sandbox)', 'p50', (f) => f.runtimeOverheadP50, (f) => f.fdkWarmP50);
    warm('runtime (in-process, in the bubblewrap sandbox)', 'p99', (f) => f.runtimeOverheadP99, (f) => f.fdkWarmP99);
    warm('signed HTTP invoke API', 'p50', (f) => f.apiOverheadP50, (f) => f.fdkWarmP50);
    warm('signed HTTP invoke API', 'p99', (f) => f.apiOverheadP99, (f) => f.fdkWarmP99);
    // The yardstick (bench/scenarios/functions-proxy.ts): one HTTP hop in front of the same FDK process, in the bench process.
    one(`${g}: yardstick: a bare node:http proxy in front of the same FDK process, warm p50 overhead over the bare FDK round trip`, (f) => f.proxyOverheadP50, '—', undefined, '—');
    one(
      `${g}: yardstick: the same proxy checking the OCI signature first, warm p50 overhead over the bare FDK round trip`,
      (f) => f.signedProxyOverheadP50,
      `signed HTTP invoke API's, same run: ${fdk((f) => f.apiOverheadP50)}`,
      fx?.apiOverheadP50,
      '— (what a signed hop costs any gateway here)',
    );
  }
  if (cfg.scenarios.includes('rss')) {
    add('(h) Herald RSS at steady state (after a (a)-like window), MB', (s) => s.rss?.steadyRss, 'target 200 MB', targetSummary(200), '≤ 200 MB (≤ 1.00×)', ' MB');
    add(`(h) RSS with a stalled receiver's backlog (${fmtNum(cfg.rssMessages * 10)} deliveries asked), MB`, (s) => s.rss?.backlogRss, '—', undefined, '—', ' MB');
    add('(h) backlog reached, deliveries', (s) => s.rss?.backlog, '—', undefined, '—');
    add('(h) peak RSS growth while the backlog built (scaled down from 1M deliveries), MB', (s) => s.rss?.peakGrowth, 'target +50 MB for a 1M backlog', targetSummary(50), '≤ 50 MB (≤ 1.00×)', ' MB');
    add('(h) RSS growth with the backlog, settled reading at the end, MB', (s) => s.rss?.growth, 'target +50 MB for a 1M backlog', targetSummary(50), '≤ 50 MB (≤ 1.00×)', ' MB');
    add('(h) RSS slope, MB per 100k backlog deliveries', (s) => s.rss?.mbPer100k, '—', undefined, '≤ 5 MB (50 MB / 1M)', ' MB');
  }
  if (cfg.scenarios.includes('soak')) rows.push(...soakRows(results));
  return rows;
}

export function markdownTable(rows: Row[]): string {
  const head = '| figure | SQLite | PostgreSQL | ceiling / yardstick (same run) | SQLite ÷ ceiling | PostgreSQL ÷ ceiling | target |\n|---|---|---|---|---|---|---|';
  return [head, ...rows.map((r) => `| ${r.figure} | ${r.sqlite} | ${r.postgres} | ${r.ceiling} | ${r.rSqlite} | ${r.rPostgres} | ${r.target} |`)].join('\n');
}

function verdicts(results: BenchResults): string[] {
  const out: string[] = [];
  if (results.functionsError !== undefined) out.push(`- functions: error: ${results.functionsError}`);
  for (const [i, r] of (results.functions?.runs ?? []).entries()) {
    if (r.apiError !== undefined) out.push(`- functions, run ${i + 1}: the invoke API layer failed: ${r.apiError}`);
  }
  for (const [store, s] of Object.entries(results.stores) as [StoreKind, StoreResults][]) {
    if (s.overload) {
      const o = s.overload;
      out.push(
        `- ${store}, overload: the backlog stayed bounded in ${o.boundedRuns} of ${o.runs.length} runs; ` +
          `it ended at ${fmtSummary(o.finalBacklog)} deliveries, growing ${fmtSummary(o.growthPerSec)}/s; ` +
          `Herald's own backlog peaked at ${fmtSummary(o.maxHeraldBacklog)} against HERALD_MAX_BACKLOG ${fmtNum(o.maxBacklogSetting)}, ` +
          `${fmtSummary(o.refused429)} publishes were refused with 429, every one with Retry-After in ${o.retryAfterRuns} of the ${o.runsWith429} runs that had any. ` +
          `Publishes were answered ${JSON.stringify(o.runs[0]?.statuses ?? {})} (first run).`,
      );
    }
    if (s.sustained) {
      const x = s.sustained;
      const meets = (r: number, t: number): string => (Number.isFinite(r) ? (r >= t ? 'meets' : 'misses') : 'cannot judge');
      const vsUndici = ratio(x.deliveries, results.ceilings?.delivery);
      const full = ratio(x.fullDeliveries, x.deliveries);
      out.push(
        `- ${store}, sustained fan-out (j): highest sustained ${fmtSummary(x.rate)} publishes/s = ${fmtSummary(x.deliveries)} deliveries/s, ` +
          `${fmtRatio(vsUndici)} the bare undici ceiling (${meets(vsUndici, 0.5)} ≥ 0.50×); under publishers at full speed ${fmtSummary(x.fullDeliveries)} deliveries/s, ` +
          `${fmtRatio(full)} the sustained figure (${meets(full, 0.9)} ≥ 0.90×) while ${fmtSummary(x.fullPublishes)} publishes/s were accepted ` +
          `(first run: statuses ${JSON.stringify(x.runs[0]?.full.statuses ?? {})}, Herald's backlog ${fmtNum(x.runs[0]?.full.backlogAtEnd ?? Number.NaN)} at the end).`,
      );
    }
    if (s.soak) out.push(...soakVerdicts(store, s.soak));
    for (const e of s.errors) out.push(`- ${store}: error: ${e}`);
  }
  return out;
}

/** How far the ceilings moved between the start of the run and its end (a shared machine's speed drifts). */
function drift(results: BenchResults): string {
  const start = results.ceilings;
  const end = results.ceilingsAtEnd;
  if (start === undefined || end === undefined) return '';
  const ratio = (now: number, then: number): string => `${(now / then).toFixed(2)}×`;
  return (
    ` Measured again at the end of the run: bare node:http ${fmtNum(end.publish)}/s (${ratio(end.publish, start.publish.median)} the start's median), ` +
    `bare undici ${fmtNum(end.delivery)}/s (${ratio(end.delivery, start.delivery.median)}); figures measured late in the run compare with those.`
  );
}

export function markdownSection(results: BenchResults): string {
  const cfg = results.config;
  const cpu0 = (results.machine.cpus as { model: string }[])[0]?.model ?? 'unknown CPU';
  const n = (results.machine.cpus as unknown[]).length;
  const lines = [
    START,
    `### Latest results: ${results.startedAt.slice(0, 10)}`,
    '',
    `Run ${results.startedAt} → ${results.finishedAt ?? '?'} (${fmtNum(results.durationSeconds ?? Number.NaN)} s) on ${n} × ${cpu0}, Node ${String(results.machine.node)}, ` +
      `commit \`${results.git.commit.slice(0, 12)}\`${results.git.dirtyFiles > 0 ? ` with ${results.git.dirtyFiles} uncommitted files` : ''}. ` +
      `The machine was ${String(results.machine.busyPercentBeforeStart)}% busy (of 200%) just before the run` +
      (typeof results.machine.stealPercentOfRun === 'number'
        ? `, and during it the host took ${results.machine.stealPercentOfRun}% of its CPU time for other guests (steal: time no process here could run). `
        : '. ') +
      `Each figure is the median of ${cfg.runs} run${cfg.runs === 1 ? '' : 's'} with (min–max); windows of ${cfg.seconds} s after ${cfg.warmupSeconds} s of warm-up${cfg.quick ? ' (QUICK pass: not for comparison)' : ''}. ` +
      'Ratios are figure ÷ ceiling measured in this same run; for latency, figure ÷ target.' +
      drift(results),
    '',
    markdownTable(buildRows(results)),
    '',
    ...verdicts(results),
    '',
    END,
  ];
  return lines.join('\n');
}

export async function writeDocs(section: string): Promise<void> {
  const text = existsSync(DOC_PATH) ? await readFile(DOC_PATH, 'utf8') : '';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  let next: string;
  if (a >= 0 && b > a) next = text.slice(0, a) + section + text.slice(b + END.length);
  else next = `${text.trimEnd()}\n\n## Results\n\n${section}\n`;
  await writeFile(DOC_PATH, next);
}
