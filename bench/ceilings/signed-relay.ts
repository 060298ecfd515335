/**
 * (c)'s yardstick: the least a signed and durable publish→delivery hop costs on this machine, whatever is built around
 * it. A bare `node:http` server does, for each publish, what Herald's path must: checks its OCI signature (as the
 * signed ceilings do), parses the MessageDetails, appends the body to a file and forwards the message at once to every
 * subscriber (one undici Pool for the receiver's origin, as many connections as Herald keeps per endpoint, the
 * message id in `x-oci-ns-messageid`), then answers after a group fdatasync that started after the append: Herald's
 * SQLite publish also delivers at its commit and acknowledges after the WAL's fsync. No store, no engine, no second
 * thread, no per-delivery headers or HMAC. Driven by (c)'s own open-loop schedule to (c)'s receiver, so Herald's
 * latency ÷ this one is what Herald adds to what this machine's wake-ups and hops cost any relay.
 *
 * `RELAY_KEY_ID` and `RELAY_PUBLIC_KEY` (PEM): the key the publishes are signed with; `RELAY_TARGETS`: the
 * subscribers' URLs, a JSON array on one origin. Runs as a child process; replies with its URL when listening.
 */
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { PER_ENDPOINT } from '../../src/delivery/concurrency.js';
import { signingInput } from '../lib/bare-signature.js';
import { serveParent } from '../lib/children.js';
import { groupSync } from '../lib/group-sync.js';

const publicKey = createPublicKey(process.env.RELAY_PUBLIC_KEY ?? '');
const keyId = process.env.RELAY_KEY_ID ?? '';
const targets = (JSON.parse(process.env.RELAY_TARGETS ?? '[]') as string[]).map((u) => new URL(u));
if (targets.length === 0 || new Set(targets.map((t) => t.origin)).size !== 1) throw new Error('RELAY_TARGETS must list URLs of one origin');
const pool = new Pool(targets[0]!.origin, { connections: PER_ENDPOINT, pipelining: 1, keepAliveTimeout: 30_000 });
const durable = groupSync();

let messages = 0;
/** Forwards that failed: any would make the yardstick's latencies those of fewer deliveries; the scenario checks it. */
let failed = 0;

function forward(id: string, body: string): void {
  const headers = { 'content-type': 'application/json', 'x-oci-ns-messageid': id };
  for (const t of targets) {
    pool.request({ method: 'POST', path: t.pathname, headers, body }).then(
      (res) => {
        if (res.statusCode !== 200) failed++;
        return res.body.dump();
      },
      () => failed++,
    );
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const reply = (status: number): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': '2' });
      res.end('{}');
    };
    const s = signingInput(req, raw, keyId);
    if (typeof s === 'string' || !verify('sha256', s.data, publicKey, s.signature)) return reply(401);
    let body: unknown;
    try {
      body = (JSON.parse(raw.toString('utf8')) as { body?: unknown }).body;
    } catch {
      body = undefined;
    }
    if (typeof body !== 'string') return reply(400);
    // Written, then delivered at once (Herald's SQLite publish delivers at its commit), acknowledged once durable.
    durable.append(raw, () => reply(202));
    forward(`relay-${++messages}`, body);
  });
});
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
serveParent({ failures: () => ({ failed }) }, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid });
