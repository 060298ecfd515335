/**
 * (g) Functions: cold start and warm-call overhead of Herald's Fn runtime over the
 * FDK's own unix-socket round trip, all measured in this run on this machine.
 * Store-independent, so `npm run bench` runs it once (not per store).
 *
 * Three layers on the same echo function (test/fixtures/functions/echo, real @fnproject/fdk):
 *   1. fdk:     a bare FDK process, one keep-alive-free POST /call per call over its socket (the floor);
 *   2. runtime: FunctionRuntime.invoke in-process (pool, process checkout, headers, logs, RSS watchdog),
 *               every process in the bubblewrap sandbox as the server runs it;
 *   3. api:     the signed OCI invoke API of a Herald started in this process on SQLite
 *               (HTTP + signature + store lookups + runtime, sandboxed by default).
 * And a yardstick on layer 1's warm process (functions-proxy.ts): a bare `node:http` proxy in front of the FDK,
 * without and with the OCI signature check, which says how much of the API layer's overhead one HTTP hop and the
 * check cost any gateway here.
 * Cold start = process spawn to first answer: `coldStarts` fresh FDK processes, and
 * `coldStarts` first invokes of fresh function ids through the runtime. Warm = `calls`
 * sequential calls (after BENCH_FUNCTION_WARMUP unmeasured ones, 3,000) to one warm process.
 *
 * The runtime and API layers run Herald's TypeScript sources (through tsx), not
 * BENCH_HERALD_BIN. `npm run bench:functions` (bench/functions/latency.ts) is a thin
 * wrapper around measureFunctions().
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Client, request } from 'undici';
import { signRequest } from '../../src/api/auth/signature.js';
import { resolveConfig } from '../../src/config/config.js';
import { packFunctionDir } from '../../src/functions/bundles.js';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import type { Sandbox } from '../../src/functions/sandbox.js';
import { functionsCacheDir, setUpSandbox } from '../../src/functions/sandbox-setup.js';
import type { FunctionSpec } from '../../src/functions/types.js';
import { readOciConfig } from '../../src/server/oci-config-file.js';
import { startHerald } from '../../src/server/herald.js';
import { vendorPackage } from '../../test/helpers/vendor.js';
import type { BenchContext } from '../lib/context.js';
import { proxyLayers, type ProxySamples } from './functions-proxy.js';
import { percentile, percentiles, sortedCopy, summarise, type Percentiles, type Summary } from '../lib/stats.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'functions', 'echo');
const BODY = Buffer.from(JSON.stringify({ orderId: 42, user: 7 }));

export interface FunctionsOptions {
  /** Measured warm calls per layer. */
  calls: number;
  /**
   * Unmeasured calls before them, per layer. Thousands, not tens: after 50, the signed invoke API read +0.75 ms over
   * the FDK at p50 and after 3,000 +0.41 (V8 was still optimizing the route, the client and the FDK's own code).
   */
  warmupCalls: number;
  /** Cold starts per layer (bare FDK and Herald runtime). */
  coldStarts: number;
}

/** Raw samples of one measurement, ms. */
export interface FunctionsSamples {
  fdk: { warm: number[]; cold: number[] };
  /** The yardstick: bare proxies in front of the same warm FDK process. */
  proxy: ProxySamples;
  runtime: { warm: number[]; cold: number[] };
  api?: { warm: number[] };
  apiError?: string;
}

async function timeCalls(n: number, warmup: number, call: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
}

/** Layer 1: the FDK alone, started the way Fn starts it. */
async function bareFdk(opts: FunctionsOptions): Promise<{ warm: number[]; cold: number[]; proxy: ProxySamples }> {
  const cold: number[] = [];
  let warm: number[] = [];
  let proxy: ProxySamples = { proxy: [], signedProxy: [] };
  for (let i = 0; i < opts.coldStarts + 1; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'fdk-bench-'));
    const sock = join(dir, 'lsnr.sock');
    const t0 = performance.now();
    const child = spawn(process.execPath, ['func.js'], {
      cwd: FIXTURE,
      env: { PATH: process.env.PATH ?? '', FN_LISTENER: `unix:${sock}`, FN_FORMAT: 'http-stream', FN_APP_ID: 'a', FN_FN_ID: 'f', FN_MEMORY: '128', FN_TYPE: 'sync' },
      stdio: 'ignore',
    });
    const client = new Client('http://localhost', { socketPath: sock, pipelining: 0 });
    try {
      const deadline = Date.now() + 30_000;
      while (!existsSync(sock)) {
        if (child.exitCode !== null) throw new Error(`bare FDK process exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error('bare FDK process did not open its socket in 30 s');
        await new Promise((r) => setTimeout(r, 1));
      }
      const call = async (): Promise<void> => {
        const res = await client.request({
          path: '/call',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'fn-call-id': 'c', 'fn-deadline': new Date(Date.now() + 30_000).toISOString() },
          body: BODY,
        });
        await res.body.arrayBuffer();
      };
      await call();
      if (i < opts.coldStarts) cold.push(performance.now() - t0);
      else {
        warm = await timeCalls(opts.calls, opts.warmupCalls, call);
        proxy = await proxyLayers(sock, BODY, opts.calls, opts.warmupCalls);
      }
    } finally {
      await client.close();
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { warm, cold, proxy };
}

/**
 * The echo fixture as a deployed bundle holds it (its FDK in its own node_modules), where the
 * sandbox's user can read it, and the sandbox Herald runs functions in by default.
 */
async function sandboxedEcho(): Promise<{ dir: string; sandbox: Sandbox; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'herald-fn-bench-'));
  await chmod(root, 0o755);
  const dir = join(root, 'echo');
  await cp(FIXTURE, dir, { recursive: true });
  await vendorPackage('@fnproject/fdk', dir);
  const setup = await setUpSandbox({ mode: 'bwrap', network: 'shared', python3: '/usr/bin/python3' }, await functionsCacheDir(root));
  if (!setup.ok) throw new Error(`the bubblewrap sandbox does not work here: ${setup.problem}`);
  return { dir, sandbox: setup.sandbox, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Layer 2: Herald's runtime in-process, every process in the bubblewrap sandbox (as the server runs them). */
async function runtimeLayer(opts: FunctionsOptions): Promise<{ warm: number[]; cold: number[] }> {
  const echo = await sandboxedEcho();
  const spec = (i: number): FunctionSpec => ({
    id: `fn-${i}`,
    appId: 'app',
    name: 'echo',
    appName: 'bench',
    version: 'v1',
    dir: echo.dir,
    entrypoint: 'node func.js',
    runtime: 'node',
    memoryMb: 128,
    timeoutSeconds: 30,
    config: { GREETING: 'hi' },
  });
  const runtime = new FunctionRuntime({ sandbox: echo.sandbox });
  try {
    const cold: number[] = [];
    for (let i = 0; i < opts.coldStarts; i++) {
      const t = performance.now();
      const r = await runtime.invoke(spec(i), { body: BODY, contentType: 'application/json' });
      if (r.status !== 200) throw new Error(`runtime invoke failed: ${r.status} ${r.error ?? ''}`);
      cold.push(performance.now() - t);
      await runtime.closeFunction(`fn-${i}`);
    }
    const warmSpec = spec(999_999);
    const warm = await timeCalls(opts.calls, opts.warmupCalls, async () => {
      const r = await runtime.invoke(warmSpec, { body: BODY, contentType: 'application/json' });
      if (r.status !== 200) throw new Error(`runtime invoke failed: ${r.status}`);
    });
    return { warm, cold };
  } finally {
    await runtime.close();
    await echo.cleanup();
  }
}

/** Layer 3: a real Herald's signed invoke API (the path FunctionsInvokeClient takes). */
async function apiLayer(opts: FunctionsOptions): Promise<{ warm: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-fn-bench-'));
  try {
    const herald = await startHerald(resolveConfig({ port: '0', dataDir, store: 'sqlite' }, {}), { logger: pino({ level: 'error' }) });
    try {
      const cfg = await readOciConfig(herald.ociConfigPath!);
      const keyId = `${cfg.tenancy}/${cfg.user}/${cfg.fingerprint}`;
      const call = async (method: string, path: string, body?: Buffer | string, contentType = 'application/json'): Promise<{ status: number; text: string }> => {
        const url = new URL(herald.url + path);
        const headers = signRequest({ method, url, headers: { 'content-type': contentType }, body, keyId, privateKeyPem: cfg.privateKeyPem });
        const res = await request(url, { method: method as 'POST', headers, body });
        return { status: res.statusCode, text: await res.body.text() };
      };
      // Deploy the fixture the way `herald fn deploy` does: bundle upload, application, function.
      const work = join(dataDir, 'fn');
      await mkdir(work, { recursive: true });
      for (const f of ['func.js', 'func.yaml', 'package.json']) await writeFile(join(work, f), await readFile(join(FIXTURE, f)));
      await vendorPackage('@fnproject/fdk', work);
      const json = async <T>(r: Promise<{ status: number; text: string }>, what: string): Promise<T> => {
        const { status, text } = await r;
        if (status >= 300) throw new Error(`${what}: ${status} ${text}`);
        return JSON.parse(text) as T;
      };
      const bundle = await json<{ image: string }>(call('POST', '/herald/v1/functionBundles', await packFunctionDir(work), 'application/gzip'), 'bundle upload');
      const app = await json<{ id: string }>(call('POST', '/20181201/applications', JSON.stringify({ compartmentId: cfg.tenancy, displayName: 'bench', subnetIds: [] })), 'create application');
      const fn = await json<{ id: string }>(
        call('POST', '/20181201/functions', JSON.stringify({ applicationId: app.id, displayName: 'echo', image: bundle.image, memoryInMBs: 128 })),
        'create function',
      );
      const path = `/20181201/functions/${fn.id}/actions/invoke`;
      const first = await call('POST', path, BODY);
      if (first.status !== 200) throw new Error(`invoke failed: ${first.status} ${first.text}`);
      // Signed once and replayed (valid for the 5-minute skew), as the publish load generator does:
      // the client's RSA signing (~1 ms) is the client's cost, not Herald's overhead.
      const url = new URL(herald.url + path);
      const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: BODY, keyId, privateKeyPem: cfg.privateKeyPem });
      const warm = await timeCalls(opts.calls, opts.warmupCalls, async () => {
        const res = await request(url, { method: 'POST', headers, body: BODY });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`invoke failed: ${res.statusCode}`);
      });
      return { warm };
    } finally {
      await herald.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** One measurement of the three layers; an API-layer failure is recorded, not thrown. */
export async function measureFunctions(opts: FunctionsOptions): Promise<FunctionsSamples> {
  const { proxy, ...fdk } = await bareFdk(opts);
  const runtime = await runtimeLayer(opts);
  try {
    return { fdk, proxy, runtime, api: await apiLayer(opts) };
  } catch (err) {
    return { fdk, proxy, runtime, apiError: err instanceof Error ? err.message : String(err) };
  }
}

export interface FunctionsRun {
  fdkWarm: Percentiles;
  proxyWarm: Percentiles;
  signedProxyWarm: Percentiles;
  runtimeWarm: Percentiles;
  apiWarm?: Percentiles;
  /** Cold starts, ms, in order. */
  fdkCold: number[];
  runtimeCold: number[];
  fdkColdP50: number;
  runtimeColdP50: number;
  /** Warm-call overhead over the bare FDK round trip of the same run, ms. */
  runtimeOverheadP50: number;
  runtimeOverheadP99: number;
  apiOverheadP50: number;
  apiOverheadP99: number;
  /** The yardstick's warm p50 over the bare FDK's, ms: a bare proxy, and one that checks the signature. */
  proxyOverheadP50: number;
  signedProxyOverheadP50: number;
  apiError?: string;
}

export interface FunctionsFigures {
  calls: number;
  coldStarts: number;
  fdkColdP50: Summary;
  runtimeColdP50: Summary;
  /** Herald runtime cold start p50 − bare FDK cold start p50, ms. */
  coldOverheadP50: Summary;
  fdkWarmP50: Summary;
  fdkWarmP99: Summary;
  runtimeWarmP50: Summary;
  runtimeWarmP99: Summary;
  apiWarmP50: Summary;
  apiWarmP99: Summary;
  runtimeOverheadP50: Summary;
  runtimeOverheadP99: Summary;
  apiOverheadP50: Summary;
  apiOverheadP99: Summary;
  proxyOverheadP50: Summary;
  signedProxyOverheadP50: Summary;
  runs: FunctionsRun[];
}

export function toRun(s: FunctionsSamples): FunctionsRun {
  const fdkWarm = percentiles(s.fdk.warm);
  const proxyWarm = percentiles(s.proxy.proxy);
  const signedProxyWarm = percentiles(s.proxy.signedProxy);
  const runtimeWarm = percentiles(s.runtime.warm);
  const apiWarm = s.api ? percentiles(s.api.warm) : undefined;
  const p50 = (xs: number[]): number => percentile(sortedCopy(xs), 50);
  return {
    fdkWarm,
    proxyWarm,
    signedProxyWarm,
    runtimeWarm,
    ...(apiWarm ? { apiWarm } : {}),
    fdkCold: s.fdk.cold,
    runtimeCold: s.runtime.cold,
    fdkColdP50: p50(s.fdk.cold),
    runtimeColdP50: p50(s.runtime.cold),
    runtimeOverheadP50: runtimeWarm.p50 - fdkWarm.p50,
    runtimeOverheadP99: runtimeWarm.p99 - fdkWarm.p99,
    apiOverheadP50: apiWarm ? apiWarm.p50 - fdkWarm.p50 : Number.NaN,
    apiOverheadP99: apiWarm ? apiWarm.p99 - fdkWarm.p99 : Number.NaN,
    proxyOverheadP50: proxyWarm.p50 - fdkWarm.p50,
    signedProxyOverheadP50: signedProxyWarm.p50 - fdkWarm.p50,
    ...(s.apiError !== undefined ? { apiError: s.apiError } : {}),
  };
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const plus = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : 'n/a');

export async function functionsScenario(ctx: BenchContext): Promise<FunctionsFigures> {
  const { cfg } = ctx;
  const opts: FunctionsOptions = { calls: cfg.functionCalls, warmupCalls: cfg.functionWarmupCalls, coldStarts: cfg.functionColdStarts };
  const runs: FunctionsRun[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    const run = toRun(await measureFunctions(opts));
    runs.push(run);
    ctx.log(
      `  (g) functions run ${r + 1}: cold start p50 Herald runtime ${ms(run.runtimeColdP50)} ms vs bare FDK ${ms(run.fdkColdP50)} ms; ` +
        `warm p50/p99 FDK ${ms(run.fdkWarm.p50)}/${ms(run.fdkWarm.p99)} ms, runtime ${plus(run.runtimeOverheadP50)}/${plus(run.runtimeOverheadP99)}, ` +
        `API ${plus(run.apiOverheadP50)}/${plus(run.apiOverheadP99)} ms over it (yardstick p50: bare proxy ${plus(run.proxyOverheadP50)}, signed proxy ${plus(run.signedProxyOverheadP50)})${run.apiError !== undefined ? ` (API layer failed: ${run.apiError})` : ''}`,
    );
  }
  const s = (pick: (x: FunctionsRun) => number): Summary => summarise(runs.map(pick));
  return {
    calls: opts.calls,
    coldStarts: opts.coldStarts,
    fdkColdP50: s((x) => x.fdkColdP50),
    runtimeColdP50: s((x) => x.runtimeColdP50),
    coldOverheadP50: s((x) => x.runtimeColdP50 - x.fdkColdP50),
    fdkWarmP50: s((x) => x.fdkWarm.p50),
    fdkWarmP99: s((x) => x.fdkWarm.p99),
    runtimeWarmP50: s((x) => x.runtimeWarm.p50),
    runtimeWarmP99: s((x) => x.runtimeWarm.p99),
    apiWarmP50: s((x) => x.apiWarm?.p50 ?? Number.NaN),
    apiWarmP99: s((x) => x.apiWarm?.p99 ?? Number.NaN),
    runtimeOverheadP50: s((x) => x.runtimeOverheadP50),
    runtimeOverheadP99: s((x) => x.runtimeOverheadP99),
    apiOverheadP50: s((x) => x.apiOverheadP50),
    apiOverheadP99: s((x) => x.apiOverheadP99),
    proxyOverheadP50: s((x) => x.proxyOverheadP50),
    signedProxyOverheadP50: s((x) => x.signedProxyOverheadP50),
    runs,
  };
}
