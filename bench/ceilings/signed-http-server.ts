/**
 * Signed publish ceiling: the bare `node:http` server of the publish ceiling that also does what the OCI
 * signature contract makes every publish endpoint do before it may read the body: parse the Authorization
 * header, check the date's skew, hash the body against `x-content-sha256`, rebuild the signing string and
 * check the RSA-SHA256 signature with the caller's public key (parsed once, as any server caches it).
 * Nothing else: no routing, no store. It tells how much of the bare ceiling any OCI-compatible publish
 * endpoint can reach on this machine.
 *
 * `SIGNED_CEILING_MODE`: `inline` (one process), `cluster` (one process per core, `node:cluster`), `durable` (one
 * process that, once a request's signature is checked, also appends its body to a file and answers only after an
 * fdatasync of the file that started after the append: one fdatasync at a time, on libuv's thread pool, covering every
 * append made before it started, as Herald's publish group commit waits for its WAL's fsync) or `durable-cluster`
 * (`durable` in one process per core, each with a file of its own). The checks run
 * on the event loop: handing the RSA check to libuv's thread pool, as Herald does under load, was slower for this
 * server (3,660 against 4,050 req/s, alternated). The key comes in `SIGNED_CEILING_KEY_ID` and `SIGNED_CEILING_PUBLIC_KEY` (PEM). Runs as a child process; replies
 * with its URL when listening.
 */
import cluster from 'node:cluster';
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { signingInput } from '../lib/bare-signature.js';
import { serveParent } from '../lib/children.js';
import { groupSync } from '../lib/group-sync.js';

const mode = process.env.SIGNED_CEILING_MODE ?? 'inline';
const publicKey = createPublicKey(process.env.SIGNED_CEILING_PUBLIC_KEY ?? '');
const keyId = process.env.SIGNED_CEILING_KEY_ID ?? '';

const clustered = mode === 'cluster' || mode === 'durable-cluster';
// In a cluster only the workers serve, each appending to a file of its own.
const durable = (mode === 'durable' || mode === 'durable-cluster') && !(clustered && cluster.isPrimary) ? groupSync() : undefined;

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
      const s = signingInput(req, body, keyId);
      if (typeof s === 'string') return answer(false);
      answer(verify('sha256', s.data, publicKey, s.signature));
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

if (clustered && cluster.isPrimary) {
  // Workers listening on port 0 share one port that the primary picked; connections are spread at accept.
  const workers = Array.from({ length: availableParallelism() }, () => cluster.fork());
  const ports = await Promise.all(workers.map((w) => new Promise<number>((resolve) => w.once('listening', (a: { port: number }) => resolve(a.port)))));
  serveParent({}, { url: `http://127.0.0.1:${ports[0]}`, pids: [process.pid, ...workers.map((w) => w.process.pid ?? -1)] });
} else {
  const server = serve();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (!clustered) {
    serveParent({}, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pids: [process.pid] });
  }
}
