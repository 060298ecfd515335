/**
 * (g)'s yardstick: what one HTTP hop in front of the FDK costs any gateway, measured beside the bare FDK on the
 * same warm process. A bare `node:http` server in the bench process reads the caller's body and forwards it as
 * `POST /call` over a fresh connection to the FDK's unix socket (as Herald's runtime does, and as the bare FDK layer
 * calls it), buffers the answer and sends it back. The caller is the API layer's: undici over keep-alive TCP.
 *
 * Two variants: `proxy` forwards at once; `signed proxy` first does what the OCI signature contract makes every invoke
 * endpoint do before it may run anything (`bench/lib/bare-signature.ts`, as the signed publish ceiling checks), with
 * the RSA check on the event loop. Nothing else: no routing, no store, no sandbox. Herald's invoke API over the signed proxy is what Herald itself adds.
 */
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { signRequest } from '../../src/api/auth/signature.js';
import { signingInput } from '../lib/bare-signature.js';

const KEY_ID = 'ocid1.tenancy.oc1..bench/ocid1.user.oc1..bench/00:11';

export interface ProxySamples {
  proxy: number[];
  signedProxy: number[];
}

/** Whether the request carries a valid OCI signature by KEY_ID over this body (the RSA check on the event loop). */
function signatureHolds(req: IncomingMessage, body: Buffer, key: KeyObject): boolean {
  const s = signingInput(req, body, KEY_ID);
  return typeof s !== 'string' && verify('sha256', s.data, key, s.signature);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One `POST /call` to the FDK over a fresh connection; the answer's status, content type and body. */
function callFdk(socketPath: string, body: Buffer, contentType: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': contentType, 'Content-Length': String(body.length), 'Fn-Call-Id': 'c', 'Fn-Deadline': new Date(Date.now() + 30_000).toISOString() };
    const req = httpRequest({ socketPath, path: '/call', method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function startProxy(socketPath: string, key: KeyObject | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (key !== undefined && !signatureHolds(req, body, key)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"NotAuthenticated"}');
        return;
      }
      const r = await callFdk(socketPath, body, String(req.headers['content-type'] ?? 'application/octet-stream'));
      res.writeHead(r.status, { 'content-type': r.contentType }).end(r.body);
    })().catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Times `calls` sequential calls through each proxy (after `warmup` unmeasured ones) to the FDK listening on
 * `socketPath`, alternating the two variants in blocks so the machine's drift falls on both alike.
 */
export async function proxyLayers(socketPath: string, body: Buffer, calls: number, warmup: number): Promise<ProxySamples> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const plain = await startProxy(socketPath, undefined);
  const signed = await startProxy(socketPath, createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })));
  try {
    const urlOf = (s: Server): URL => new URL(`http://127.0.0.1:${(s.address() as AddressInfo).port}/call`);
    const plainUrl = urlOf(plain);
    const signedUrl = urlOf(signed);
    // Signed once and replayed within the skew window, as the API layer's caller does.
    const signedHeaders = signRequest({ method: 'POST', url: signedUrl, headers: { 'content-type': 'application/json' }, body, keyId: KEY_ID, privateKeyPem });
    const call = async (url: URL, headers: Record<string, string>): Promise<number> => {
      const t = performance.now();
      const res = await request(url, { method: 'POST', headers, body });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`proxy call failed: ${res.statusCode}`);
      return performance.now() - t;
    };
    const plainHeaders = { 'content-type': 'application/json' };
    for (let i = 0; i < warmup; i++) {
      await call(plainUrl, plainHeaders);
      await call(signedUrl, signedHeaders);
    }
    const out: ProxySamples = { proxy: [], signedProxy: [] };
    const BLOCK = 100;
    for (let done = 0; done < calls; done += BLOCK) {
      const n = Math.min(BLOCK, calls - done);
      for (let i = 0; i < n; i++) out.proxy.push(await call(plainUrl, plainHeaders));
      for (let i = 0; i < n; i++) out.signedProxy.push(await call(signedUrl, signedHeaders));
    }
    return out;
  } finally {
    plain.close();
    signed.close();
  }
}
