/**
 * The webhook receiver Herald delivers to, in a process of its own. It confirms
 * subscriptions through the confirmation URL like a real receiver, answers every
 * delivery 200 (or holds the answers to build a backlog), counts deliveries, and in
 * latency mode records publish→delivery time per (message id, path) from the
 * scheduled send offset carried in each message body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from './children.js';

const hr = (): bigint => process.hrtime.bigint();

let mode: 'ok' | 'hold' = 'ok';
const held: ServerResponse[] = [];
let delivered = 0;
let other = 0;
let confirmations = 0;
let firstAt = 0n;
let lastAt = 0n;

interface LatencyRun {
  tag: string;
  t0: bigint;
  seen: Set<string>;
  latencies: number[];
  dupes: number;
  /** hrtime of the last first-seen delivery of the tag (0n: none yet). */
  lastAt: bigint;
  /** (j) counts only: no latency per delivery is kept. */
  countOnly: boolean;
}
let latency: LatencyRun | undefined;
let waiter: { target: number; resolve: (v: unknown) => void; timer: NodeJS.Timeout; releasedAt: bigint } | undefined;

const TAG_RE = /^\{"tag":"([^"]*)","off":"(\d+)"/;

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
  delivered++;
  const now = hr();
  if (firstAt === 0n) firstAt = now;
  lastAt = now;
  if (waiter !== undefined && delivered >= waiter.target) {
    const w = waiter;
    waiter = undefined;
    clearTimeout(w.timer);
    w.resolve({ reached: true, delivered, elapsedMs: Number(now - w.releasedAt) / 1e6 });
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const confirm = req.headers['x-oci-ns-confirmationurl'];
    if (typeof confirm === 'string') {
      confirmations++;
      fetch(confirm)
        .then((r) => r.text())
        .catch(() => undefined)
        .finally(() => {
          res.writeHead(200);
          res.end();
        });
      return;
    }
    const id = req.headers['x-oci-ns-messageid'];
    if (typeof id !== 'string') {
      other++;
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
      return;
    }
    if (latency !== undefined) {
      const m = TAG_RE.exec(Buffer.concat(chunks).toString('latin1', 0, 120));
      if (m !== null && m[1] === latency.tag) {
        const key = `${id}|${req.url}`;
        if (latency.seen.has(key)) latency.dupes++;
        else {
          latency.seen.add(key);
          latency.lastAt = hr();
          if (!latency.countOnly) latency.latencies.push(Number(latency.lastAt - (latency.t0 + BigInt(m[2]!))) / 1e6);
        }
      }
    }
    if (mode === 'hold') held.push(res);
    else answer(res);
  });
});
/**
 * Extra origins for (f): 'slow' answers every delivery 200 after `delayMs`, 'fail'
 * answers 500 at once. Both confirm subscriptions like the main receiver. They are
 * separate origins because Herald's per-endpoint limit is keyed by origin.
 */
const aux: Server[] = [];
const auxCounts: Record<string, number> = {};
async function startAux(kind: 'slow' | 'fail', delayMs: number): Promise<string> {
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const confirm = req.headers['x-oci-ns-confirmationurl'];
      if (typeof confirm === 'string') {
        fetch(confirm)
          .then((r) => r.text())
          .catch(() => undefined)
          .finally(() => {
            res.writeHead(200);
            res.end();
          });
        return;
      }
      auxCounts[kind] = (auxCounts[kind] ?? 0) + 1;
      if (kind === 'fail') {
        res.writeHead(500, { 'content-length': '4' });
        res.end('fail');
      } else {
        setTimeout(() => {
          res.writeHead(200, { 'content-length': '2' });
          res.end('ok');
        }, delayMs);
      }
    });
  });
  srv.keepAliveTimeout = 65_000;
  srv.requestTimeout = 0;
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  aux.push(srv);
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

server.keepAliveTimeout = 65_000;
server.headersTimeout = 70_000;
server.requestTimeout = 0;

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

function stats(): Record<string, number> {
  return { delivered, other, confirmations, held: held.length, atMs: Number(hr()) / 1e6, firstAtMs: Number(firstAt) / 1e6, lastAtMs: Number(lastAt) / 1e6 };
}

serveParent(
  {
    stats,
    reset: () => {
      delivered = 0;
      other = 0;
      firstAt = 0n;
      lastAt = 0n;
      latency = undefined;
      return stats();
    },
    hold: () => {
      mode = 'hold';
      return stats();
    },
    /** Answers every held request and resolves once `target` deliveries have been answered since the last reset. */
    release: (m) => {
      const target = Number(m.target);
      const timeoutMs = Number(m.timeoutMs ?? 120_000);
      mode = 'ok';
      const releasedAt = hr();
      return new Promise((resolve) => {
        waiter = {
          target,
          releasedAt,
          resolve,
          timer: setTimeout(() => {
            waiter = undefined;
            resolve({ reached: false, delivered, elapsedMs: Number(hr() - releasedAt) / 1e6 });
          }, timeoutMs),
        };
        for (const res of held.splice(0)) answer(res);
      });
    },
    /** Starts recording latencies of bodies tagged `tag`, relative to the run's epoch t0 (hrtime ns as text). */
    latencyStart: (m) => {
      latency = { tag: String(m.tag), t0: BigInt(String(m.t0)), seen: new Set(), latencies: [], dupes: 0, lastAt: 0n, countOnly: m.countOnly === true };
      return stats();
    },
    /** (j): distinct (message id, path) deliveries of the tag so far, duplicates, and when the last distinct one arrived (CLOCK_MONOTONIC ms, NaN if none). */
    tagCount: () => ({ count: latency?.seen.size ?? 0, dupes: latency?.dupes ?? 0, lastAtMs: latency === undefined || latency.lastAt === 0n ? Number.NaN : Number(latency.lastAt) / 1e6 }),
    /** Stops recording without sending the latencies back. */
    latencyStop: () => {
      const l = latency;
      latency = undefined;
      return { count: l?.seen.size ?? 0, dupes: l?.dupes ?? 0 };
    },
    /** Starts an extra origin ('slow' or 'fail') and returns its URL. */
    startAux: async (m) => ({ url: await startAux(m.kind === 'fail' ? 'fail' : 'slow', Number(m.delayMs ?? 1000)) }),
    auxCounts: () => ({ ...auxCounts }),
    latencyCount: () => ({ count: latency?.latencies.length ?? 0 }),
    latencyCollect: () => {
      const l = latency;
      latency = undefined;
      return { latenciesMs: l?.latencies ?? [], dupes: l?.dupes ?? 0 };
    },
  },
  { url: `http://127.0.0.1:${port}`, pid: process.pid },
);
