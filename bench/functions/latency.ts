/**
 * Functions latency benchmark (issue 4): cold start and warm-call p50/p99 of
 * Herald's Fn runtime, reported as overhead above the FDK's own unix-socket
 * round trip, all measured in this run on this machine.
 *
 *   npm run bench:functions         (BENCH_CALLS=2000 BENCH_COLD=8 BENCH_WARMUP_CALLS=3000 to change the sample sizes)
 *
 * A thin wrapper: the measurement is scenario (g) of `npm run bench`
 * (bench/scenarios/functions.ts, which describes the three layers); this runs it
 * once, prints the per-layer tables and keeps the raw samples.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTIONS_DEFAULTS } from '../lib/config.js';
import { measureFunctions, toRun } from '../scenarios/functions.js';

// Its own variable names (BENCH_WARMUP is the bench's warm-up in seconds); the defaults are the full bench's.
const CALLS = Number(process.env.BENCH_CALLS ?? FUNCTIONS_DEFAULTS.calls);
const COLD = Number(process.env.BENCH_COLD ?? FUNCTIONS_DEFAULTS.coldStarts);
/** Unmeasured calls per layer first (see FunctionsOptions.warmupCalls). */
const WARMUP = Number(process.env.BENCH_WARMUP_CALLS ?? FUNCTIONS_DEFAULTS.warmupCalls);

const fmt = (n: number): string => n.toFixed(2);

async function main(): Promise<void> {
  const samples = await measureFunctions({ calls: CALLS, warmupCalls: WARMUP, coldStarts: COLD });
  if (samples.apiError !== undefined) process.stderr.write(`api layer skipped: ${samples.apiError}\n`);
  const run = toRun(samples);
  const f = run.fdkWarm;
  const rows: [string, { p50: number; p99: number }, string][] = [
    ['FDK socket round trip (floor)', f, '-'],
    ['yardstick: bare node:http proxy in front of it', run.proxyWarm, `+${fmt(run.proxyOverheadP50)} / +${fmt(run.proxyWarm.p99 - f.p99)}`],
    ['yardstick: the proxy + OCI signature check', run.signedProxyWarm, `+${fmt(run.signedProxyOverheadP50)} / +${fmt(run.signedProxyWarm.p99 - f.p99)}`],
    ['Herald runtime (in-process, sandboxed)', run.runtimeWarm, `+${fmt(run.runtimeOverheadP50)} / +${fmt(run.runtimeOverheadP99)}`],
  ];
  if (run.apiWarm) rows.push(['Herald invoke API (signed HTTP)', run.apiWarm, `+${fmt(run.apiOverheadP50)} / +${fmt(run.apiOverheadP99)}`]);
  let out = `\nFunctions latency, ${CALLS} warm calls after ${WARMUP} unmeasured, ${COLD} cold starts (ms), node ${process.version}\n\n`;
  out += '| layer | warm p50 | warm p99 | overhead over FDK p50 / p99 |\n|---|---|---|---|\n';
  for (const [name, s, o] of rows) out += `| ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${o} |\n`;
  out += `\n| cold start (process start to first answer) | p50 | max |\n|---|---|---|\n`;
  out += `| bare FDK process | ${fmt(run.fdkColdP50)} | ${fmt(Math.max(...run.fdkCold))} |\n`;
  out += `| Herald runtime | ${fmt(run.runtimeColdP50)} | ${fmt(Math.max(...run.runtimeCold))} |\n`;
  process.stdout.write(out);
  await mkdir(join('bench', 'results'), { recursive: true });
  const file = join('bench', 'results', `functions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ calls: CALLS, cold: COLD, fdk: samples.fdk, proxy: samples.proxy, runtime: samples.runtime, api: samples.api, node: process.version }, null, 1));
  process.stdout.write(`\nraw samples: ${file}\n`);
}

await main();
