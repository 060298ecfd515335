/**
 * Functions latency benchmark (issue 4): cold start and warm-call p50/p99 of
 * Herald's Fn runtime, reported as overhead above the FDK's own unix-socket
 * round trip, all measured in this run on this machine.
 *
 *   npm run bench:functions         (BENCH_CALLS=2000 BENCH_COLD=8 to change the sample sizes)
 *
 * Three layers on the same echo function (test/fixtures/functions/echo, real @fnproject/fdk):
 *   1. fdk:     a bare FDK process, one keep-alive-free POST /call per call over its socket (the floor);
 *   2. runtime: FunctionRuntime.invoke in-process (pool, process checkout, headers, logs, RSS watchdog);
 *   3. api:     the signed OCI invoke API of a running Herald (HTTP + signature + store lookups + runtime).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Client } from 'undici';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/config.js';
import { packFunctionDir } from '../../src/functions/bundles.js';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import type { FunctionSpec } from '../../src/functions/types.js';
import { signRequest } from '../../src/api/auth/signature.js';
import { readOciConfig } from '../../src/server/oci-config-file.js';
import { startHerald } from '../../src/server/herald.js';
import { vendorPackage } from '../../test/helpers/vendor.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const COLD = Number(process.env.BENCH_COLD ?? 6);
const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'functions', 'echo');
const BODY = Buffer.from(JSON.stringify({ orderId: 42, user: 7 }));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function timeCalls(n: number, call: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, n); i++) await call();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
}

/** Layer 1: the FDK alone, started the way Fn starts it. */
async function bareFdk(): Promise<{ warm: number[]; cold: number[] }> {
  const cold: number[] = [];
  let warm: number[] = [];
  for (let i = 0; i < COLD + 1; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'fdk-bench-'));
    const sock = join(dir, 'lsnr.sock');
    const t0 = performance.now();
    const child = spawn(process.execPath, ['func.js'], {
      cwd: FIXTURE,
      env: { PATH: process.env.PATH ?? '', FN_LISTENER: `unix:${sock}`, FN_FORMAT: 'http-stream', FN_APP_ID: 'a', FN_FN_ID: 'f', FN_MEMORY: '128', FN_TYPE: 'sync' },
      stdio: 'ignore',
    });
    while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 1));
    const client = new Client('http://localhost', { socketPath: sock, pipelining: 0 });
    const call = async (): Promise<void> => {
      const res = await client.request({ path: '/call', method: 'POST', headers: { 'content-type': 'application/json', 'fn-call-id': 'c', 'fn-deadline': new Date(Date.now() + 30_000).toISOString() }, body: BODY });
      await res.body.arrayBuffer();
    };
    await call();
    cold.push(performance.now() - t0);
    if (i === COLD) warm = await timeCalls(CALLS, call);
    await client.close();
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
  return { warm, cold: cold.slice(0, COLD) };
}

/** Layer 2: Herald's runtime in-process. */
async function runtimeLayer(): Promise<{ warm: number[]; cold: number[] }> {
  const spec = (i: number): FunctionSpec => ({
    id: `fn-${i}`,
    appId: 'app',
    name: 'echo',
    appName: 'bench',
    version: 'v1',
    dir: FIXTURE,
    entrypoint: 'node func.js',
    runtime: 'node',
    memoryMb: 128,
    timeoutSeconds: 30,
    config: { GREETING: 'hi' },
  });
  const runtime = new FunctionRuntime();
  const cold: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const t = performance.now();
    const r = await runtime.invoke(spec(i), { body: BODY, contentType: 'application/json' });
    if (r.status !== 200) throw new Error(`runtime invoke failed: ${r.status} ${r.error ?? ''}`);
    cold.push(performance.now() - t);
    await runtime.closeFunction(`fn-${i}`);
  }
  const warmSpec = spec(999);
  const warm = await timeCalls(CALLS, async () => {
    const r = await runtime.invoke(warmSpec, { body: BODY, contentType: 'application/json' });
    if (r.status !== 200) throw new Error(`runtime invoke failed: ${r.status}`);
  });
  await runtime.close();
  return { warm, cold };
}

/** Layer 3: a real Herald's signed invoke API (the path FunctionsInvokeClient takes). */
async function apiLayer(): Promise<{ warm: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-fn-bench-'));
  const herald = await startHerald(resolveConfig({ port: '0', dataDir, store: 'sqlite' }, {}), { logger: pino({ level: 'warn' }) });
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
    const bundle = JSON.parse((await call('POST', '/herald/v1/functionBundles', await packFunctionDir(work), 'application/gzip')).text) as { image: string; digest: string };
    const app = JSON.parse((await call('POST', '/20181201/applications', JSON.stringify({ compartmentId: cfg.tenancy, displayName: 'bench', subnetIds: [] }))).text) as { id: string };
    const fn = JSON.parse((await call('POST', '/20181201/functions', JSON.stringify({ applicationId: app.id, displayName: 'echo', image: bundle.image, memoryInMBs: 128 }))).text) as { id: string };
    const path = `/20181201/functions/${fn.id}/actions/invoke`;
    const first = await call('POST', path, BODY);
    if (first.status !== 200) throw new Error(`invoke failed: ${first.status} ${first.text}`);
    const warm = await timeCalls(CALLS, async () => {
      const r = await call('POST', path, BODY);
      if (r.status !== 200) throw new Error(`invoke failed: ${r.status}`);
    });
    return { warm };
  } finally {
    await herald.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => n.toFixed(2);

async function main(): Promise<void> {
  const fdk = await bareFdk();
  const rt = await runtimeLayer();
  const api = await apiLayer().catch((err: Error) => {
    process.stderr.write(`api layer skipped: ${err.message}\n`);
    return undefined;
  });
  const f = summary(fdk.warm);
  const r = summary(rt.warm);
  const rows: [string, { p50: number; p99: number }, string][] = [
    ['FDK socket round trip (floor)', f, '-'],
    ['Herald runtime (in-process)', r, `+${fmt(r.p50 - f.p50)} / +${fmt(r.p99 - f.p99)}`],
  ];
  if (api) {
    const a = summary(api.warm);
    rows.push(['Herald invoke API (signed HTTP)', a, `+${fmt(a.p50 - f.p50)} / +${fmt(a.p99 - f.p99)}`]);
  }
  const coldF = summary(fdk.cold);
  const coldR = summary(rt.cold);
  let out = `\nFunctions latency, ${CALLS} warm calls, ${COLD} cold starts (ms), node ${process.version}\n\n`;
  out += '| layer | warm p50 | warm p99 | overhead over FDK p50 / p99 |\n|---|---|---|---|\n';
  for (const [name, s, o] of rows) out += `| ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${o} |\n`;
  out += `\n| cold start (process start to first answer) | p50 | max |\n|---|---|---|\n`;
  out += `| bare FDK process | ${fmt(coldF.p50)} | ${fmt(Math.max(...fdk.cold))} |\n`;
  out += `| Herald runtime | ${fmt(coldR.p50)} | ${fmt(Math.max(...rt.cold))} |\n`;
  process.stdout.write(out);
  await mkdir(join('bench', 'results'), { recursive: true });
  const file = join('bench', 'results', `functions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ calls: CALLS, cold: COLD, fdk, runtime: rt, api, node: process.version }, null, 1));
  process.stdout.write(`\nraw samples: ${file}\n`);
}

await main();
