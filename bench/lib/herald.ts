/**
 * Herald as a real process: the built `herald serve` on a free port with a temp
 * data dir, on SQLite or on a fresh PostgreSQL database, plus the few signed API
 * calls the scenarios need to set up topics and confirmed subscriptions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import type { BenchConfig, StoreKind } from './config.js';
import { loadCredentials, presign, type Credentials } from './signing.js';
import { sleep } from './stats.js';

export interface HeraldHandle {
  store: StoreKind;
  url: string;
  pid: number;
  dataDir: string;
  /** PostgreSQL: the URL of this process's own database (the soak reads its size). */
  dbUrl: string | undefined;
  creds: Credentials;
  api: HeraldApi;
  stop(opts?: { kill?: boolean }): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A database of its own per Herald process, dropped afterwards. */
async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `herald_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The `#!/usr/bin/env -S [NAME=value …] node …` line of the bin: Herald runs with the environment
 * (glibc malloc tunables) and the Node flags (heap limit) the `herald` command runs with.
 */
function binLaunch(bin: string): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = /^#!\S*env -S\s+(.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!); i++) {
    const eq = words[i]!.indexOf('=');
    env[words[i]!.slice(0, eq)] = words[i]!.slice(eq + 1);
  }
  return words[i] === 'node' ? { env, flags: words.slice(i + 1) } : { env: {}, flags: [] };
}

export async function startHerald(cfg: BenchConfig, store: StoreKind, extraEnv: Record<string, string> = {}): Promise<HeraldHandle> {
  if (!existsSync(cfg.heraldBin)) throw new Error(`build first (npm run build): ${cfg.heraldBin} is missing`);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const db = store === 'postgres' ? await freshDatabase(cfg.pgUrl) : undefined;
  const port = await freePort();
  const launch = binLaunch(cfg.heraldBin);
  const execArgv = [
    ...launch.flags,
    // To try Node/V8 flags on Herald alone (heap sizing against (h), --trace-gc against (c)).
    ...(process.env.BENCH_HERALD_NODE_FLAGS?.split(/\s+/).filter((f) => f !== '') ?? []),
    ...(cfg.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cfg.cpuProfDir}`] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, [...execArgv, cfg.heraldBin, 'serve'], {
    env: {
      ...launch.env,
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dataDir,
      HERALD_PORT: String(port),
      HERALD_HOST: '127.0.0.1',
      HERALD_DATA_DIR: dataDir,
      HERALD_STORE: db?.url ?? 'sqlite',
      HERALD_ALLOW_PRIVATE_ENDPOINTS: '1',
      HERALD_LOG_LEVEL: 'warn',
      // BENCH_HERALD_ENV="HERALD_DELIVERY_LAG_TARGET=off ..." sets Herald's own settings for a run (e.g. to compare).
      ...Object.fromEntries((process.env.BENCH_HERALD_ENV ?? '').split(/\s+/).filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const keep = (d: Buffer): void => {
    logs.push(d.toString());
    // BENCH_HERALD_OUTPUT=1 shows Herald's own output (e.g. with BENCH_HERALD_NODE_FLAGS=--trace-gc).
    if (process.env.BENCH_HERALD_OUTPUT === '1') process.stderr.write(d);
    if (logs.length > 200) logs.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async (): Promise<void> => {
    await rm(dataDir, { recursive: true, force: true });
    await db?.drop();
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`herald serve exited with ${child.exitCode}:\n${logs.join('')}`);
      const ok = await request(`${url}/health`)
        .then(async (r) => (await r.body.text(), r.statusCode === 200))
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`herald serve did not become healthy:\n${logs.join('')}`);
      await sleep(50);
    }
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw err;
  }
  const creds = await loadCredentials(dataDir);
  return {
    store,
    url,
    pid: child.pid!,
    dataDir,
    dbUrl: db?.url,
    creds,
    api: new HeraldApi(url, creds),
    async stop(opts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(opts.kill === true ? 'SIGKILL' : 'SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(t);
      }
      await cleanup();
    },
  };
}

/** Signed calls for set-up (each signed freshly: not on the measured path). */
export class HeraldApi {
  constructor(
    private readonly url: string,
    private readonly creds: Credentials,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    const req = presign(this.url, this.creds, method, path, body === undefined ? undefined : JSON.stringify(body));
    const res = await request(this.url + req.path, { method, headers: req.headers, body: req.body });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path} → ${res.statusCode} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async createTopic(name: string): Promise<string> {
    const t = await this.call<{ topicId: string }>('POST', '/20181201/topics', { name, compartmentId: this.creds.tenancy });
    return t.topicId;
  }

  /** Creates `count` CUSTOM_HTTPS subscriptions to receiver paths /s0../sN and waits until the receiver has confirmed them all. */
  async subscribe(topicId: string, receiverUrl: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const s = await this.call<{ id: string }>('POST', '/20181201/subscriptions', {
        topicId,
        compartmentId: this.creds.tenancy,
        protocol: 'CUSTOM_HTTPS',
        endpoint: `${receiverUrl}/s${i}`,
      });
      ids.push(s.id);
    }
    const deadline = Date.now() + 30_000;
    for (const id of ids) {
      for (;;) {
        const s = await this.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${id}`);
        if (s.lifecycleState === 'ACTIVE') break;
        if (Date.now() > deadline) throw new Error(`subscription ${id} was not confirmed (state ${s.lifecycleState})`);
        await sleep(25);
      }
    }
    return ids;
  }

  /** Where Herald's memory is, from the Node.js default metrics on /metrics, in MB. */
  async memory(): Promise<{ heapUsed: number; heapTotal: number; external: number; rss: number }> {
    const res = await request(`${this.url}/metrics`);
    const text = await res.body.text();
    const mb = (name: string): number => {
      const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
      return m === null ? Number.NaN : Math.round(Number(m[1]) / 1048576);
    };
    return {
      heapUsed: mb('nodejs_heap_size_used_bytes'),
      heapTotal: mb('nodejs_heap_size_total_bytes'),
      external: mb('nodejs_external_memory_bytes'),
      rss: mb('process_resident_memory_bytes'),
    };
  }

  /** The gauges of /metrics that show the backlog. */
  async backlog(): Promise<{ queueDepth: number; inFlight: number; fanoutBacklog: number; published: number }> {
    const res = await request(`${this.url}/metrics`);
    const text = await res.body.text();
    const g = (name: string): number => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m === null ? Number.NaN : Number(m[1]);
    };
    return {
      queueDepth: g('herald_queue_depth'),
      inFlight: g('herald_deliveries_in_flight'),
      fanoutBacklog: g('herald_fanout_backlog'),
      published: g('herald_messages_published_total'),
    };
  }
}
