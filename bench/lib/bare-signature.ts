/**
 * The OCI signature check a bare yardstick server makes, and nothing more: what the signature contract makes every
 * OCI endpoint do before it may read on (the Authorization header parsed, the key looked up by its id, the date's
 * skew, the body's SHA-256 against `x-content-sha256`, the length, the signing string rebuilt). The RSA check itself
 * is the caller's (`signingInput` gives its data), so a yardstick decides where it runs.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const MAX_SKEW_MS = 5 * 60_000;
const KEY_ID_RE = /keyId="([^"]+)"/;
const SIGNATURE_RE = /signature="([^"]+)"/;
const HEADERS_RE = /headers="([^"]+)"/;

/** The signing string and signature of a request signed by `keyId` (one key, parsed once by the caller), or why it is refused. */
export function signingInput(req: IncomingMessage, body: Buffer, keyId: string): { data: Buffer; signature: Buffer } | string {
  const auth = req.headers.authorization ?? '';
  const sig = SIGNATURE_RE.exec(auth)?.[1];
  const names = HEADERS_RE.exec(auth)?.[1]?.toLowerCase().split(' ');
  if (sig === undefined || names === undefined) return 'no signature';
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
