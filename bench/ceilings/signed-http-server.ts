/**
 * Signed publish ceiling: the bare `node:http` server of the publish ceiling that also does what the OCI
 * signature contract makes every publish endpoint do before it may read the body: parse the Authorization
 * header, check the date's skew, hash the body against `x-content-sha256`, rebuild the signing string and
 * check the RSA-SHA256 signature with the caller's public key (parsed once, as any server caches it).
 * Nothing else: no routing, no store. It tells how much of the bare ceiling any OCI-compatible publish
 * endpoint can reach on this machine.
 *
 * `SIGNED_CEILING_MODE`: `inline` (one process), `cluster` (one process per core, `node:cluster`) or `durable` (one
 * process that, once a request's signature is checked, also appends its body to a file and answers only after an
 * fdatasync of the file that started after the append: one fdatasync at a time, on libuv's thread pool, covering every
 * append made before it started, as Herald's publish group commit waits for its WAL's fsync). The checks run
 * on the event loop: handing the RSA check to libuv's thread pool, as Herald does under load, was slower for this
 * server (3,660 against 4,050 req/s, alternated). The key comes in `SIGNED_CEILING_KEY_ID` and `SIGNED_CEILING_PUBLIC_KEY` (PEM). Runs as a child process; replies
 * with its URL when listening.
 */
import cluster from 'node:cluster';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveParent } from '../lib/children.js';

const mode = process.env.SIGNED_CEILING_MODE ?? 'inline';
const publicKey = createPublicKey(process.env.SIGNED_CEILING_PUBLIC_KEY ?? '');
const MAX_SKEW_MS = 5 * 60_000;
const keyId = process.env.SIGNED_CEILING_KEY_ID ?? '';
const KEY_ID_RE = /keyId="([^"]+)"/;
const SIGNATURE_RE = /signature="([^"]+)"/;
const HEADERS_RE = /headers="([^"]+)"/;

/** The signing string and signature of a request, or why it is refused. */
function signed(req: IncomingMessage, body: Buffer): { data: Buffer; signature: Buffer } | string {
  const auth = req.headers.authorization ?? '';
  const sig = SIGNATURE_RE.exec(auth)?.[1];
  const names = HEADERS_RE.exec(auth)?.[1]?.toLowerCase().split(' ');
  if (sig === undefined || names === undefined) return 'no signature';
  // The key is looked up by its id (one key here, parsed once).
  if (KEY_ID_RE.exec(auth)?.[1] !== keyId) return 'unknown key';
  const date = Date.parse(String(req.headers['x-date'] ?? req.headers.date));
  if (!(Math.abs(Date.now() - date) <= MAX_SKEW_MS)) return 'date out of skew';
  if (createHash('sha256').update(body).digest('base64') !== req.headers['x-content-sha256']) return 'body hash';
  if (Number(req.headers['content-length']) !== body.length) return 'content-length';
  const lines = names.map((n) =>
    n === '(request-target)' ? `(request-target): ${(req.method ?? '').toLowerCase()} ${req.url ?? ''}` : `${n}: ${String(req.headers[n] ?? '')}`,
  );
  return { data: Buffer.from(lines.join('\n'), 'utf8'), signature: Buffer.from(sig, 'base64') };
}

/**
 * Appends bodies to a file made durable in groups: `append` writes at once (into the page cache) and resolves once an
 * fdatasync that started after the write has finished. While one runs, later appends wait for the next, which starts
 * when it ends and covers them all.
 */
function groupSync(): { append(body: Buffer, done: () => void): void; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-durable-ceiling-'));
  const fd = openSync(join(dir, 'log'), 'a');
  let running = false;
  let waiting: (() => void)[] = [];
  const next = (): void => {
    if (running || waiting.length === 0) return;
    running = true;
    const group = waiting;
    waiting = [];
    fdatasync(fd, (err) => {
      running = false;
      if (err) throw err;
      for (const done of group) done();
      next();
    });
  };
  return {
    append(body, done) {
      writeSync(fd, body);
      waiting.push(done);
      next();
    },
    close() {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const durable = mode === 'durable' ? groupSync() : undefined;
if (durable !== undefined) process.once('exit', () => durable.close());

function serve(): ReturnType<typeof createServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = (ok: boolean): void => {
        let status = ok ? 200 : 401;
        if (ok) {
          try {
            JSON.parse(body.toString('utf8'));
          } catch {
            status = 400;
          }
        }
        const reply = (): void => {
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': '2' });
          res.end('{}');
        };
        if (status === 200 && durable !== undefined) durable.append(body, reply);
        else reply();
      };
      const s = signed(req, body);
      if (typeof s === 'string') return answer(false);
      answer(verify('sha256', s.data, publicKey, s.signature));
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

if (mode === 'cluster' && cluster.isPrimary) {
  // Workers listening on port 0 share one port that the primary picked; connections are spread at accept.
  const workers = Array.from({ length: availableParallelism() }, () => cluster.fork());
  const ports = await Promise.all(workers.map((w) => new Promise<number>((resolve) => w.once('listening', (a: { port: number }) => resolve(a.port)))));
  serveParent({}, { url: `http://127.0.0.1:${ports[0]}`, pids: [process.pid, ...workers.map((w) => w.process.pid ?? -1)] });
} else {
  const server = serve();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (mode !== 'cluster') {
    serveParent({}, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pids: [process.pid] });
  }
}
