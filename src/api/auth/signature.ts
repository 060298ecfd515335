/**
 * OCI HTTP request signatures (draft-cavage "Signature" scheme as OCI profiles it).
 *
 * Verification is driven by the request's own `headers="…"` list, because the
 * SDKs disagree on what they sign: the TypeScript SDK signs `x-date`, the Python
 * SDK signs `date`, and the body headers come in different orders. We only
 * insist on the minimum that makes a signature meaningful (see requireCoverage).
 */
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { NotAuthenticatedError } from '../../core/errors.js';
import { verifyRsa, type RsaPlacement } from './rsa-check.js';
import type { VerifyThread } from './verify-thread.js';

export interface SignedRequest {
  method: string;
  /** Path + query exactly as received (`req.url`); never re-encoded. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

export interface Caller {
  tenancyId: string;
  userId: string;
  fingerprint: string;
}

/** Resolves a keyId to its registered public key (PEM, spki), or undefined. */
export type PublicKeyLookup = (tenancyId: string, userId: string, fingerprint: string) => Promise<string | undefined>;

export interface ParsedAuthorization {
  version: string | undefined;
  keyId: string;
  algorithm: string;
  /** Signed header names, lowercased, in signing order. */
  headers: string[];
  signature: string;
}

/** base64(sha256("")): what every SDK sends for an empty body. */
export const EMPTY_BODY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
export const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;

/** Methods for which the SDKs sign the body headers (oci-common `methodsThatRequireExtraHeaders`). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const REQUEST_TARGET = '(request-target)';
/** Generous upper bound; real headers are ~600 bytes. Keeps regex work bounded on garbage input. */
const MAX_AUTHORIZATION_LENGTH = 16 * 1024;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

// ---------------------------------------------------------------------------
// Key cache: createPublicKey/createPrivateKey parse ASN.1 on every call, which
// would dominate the hot path. PEMs are immutable, so caching by text is safe.
// ---------------------------------------------------------------------------

class LruMap<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      // Re-insert so Map's insertion order doubles as recency order.
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }
}

const publicKeys = new LruMap<KeyObject>(512);
const privateKeys = new LruMap<KeyObject>(32);

function publicKeyFor(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (key === undefined) {
    try {
      key = createPublicKey(pem);
    } catch {
      throw new NotAuthenticatedError('The API key registered for this keyId cannot be parsed.');
    }
    publicKeys.set(pem, key);
  }
  return key;
}

function privateKeyFor(pem: string): KeyObject {
  let key = privateKeys.get(pem);
  if (key === undefined) {
    key = createPrivateKey(pem);
    privateKeys.set(pem, key);
  }
  return key;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

const PARAM_RE = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)/y;

/**
 * Parses `Signature version="1",keyId="…",algorithm="…",headers="…",signature="…"`.
 * Parameter order is free (the Python SDK puts version last). Throws
 * NotAuthenticatedError on anything malformed; semantic checks are left to the caller.
 */
export function parseAuthorization(header: string | string[] | undefined): ParsedAuthorization {
  if (header === undefined || header === '') {
    throw new NotAuthenticatedError('The authorization header is missing.');
  }
  if (Array.isArray(header) || header.length > MAX_AUTHORIZATION_LENGTH) {
    throw new NotAuthenticatedError('The authorization header is malformed.');
  }
  const m = /^\s*Signature\s+/i.exec(header);
  if (m === null) {
    throw new NotAuthenticatedError('The authorization header must use the "Signature" scheme.');
  }
  const params = new Map<string, string>();
  const rest = header.slice(m[0].length);
  PARAM_RE.lastIndex = 0;
  while (PARAM_RE.lastIndex < rest.length) {
    const start = PARAM_RE.lastIndex;
    const p = PARAM_RE.exec(rest);
    if (p === null || PARAM_RE.lastIndex === start) {
      throw new NotAuthenticatedError('The authorization header is malformed: expected name="value" pairs.');
    }
    const name = p[1] as string;
    if (params.has(name)) {
      throw new NotAuthenticatedError(`The authorization header repeats the "${name}" parameter.`);
    }
    params.set(name, p[2] as string);
  }
  const keyId = params.get('keyId');
  const signature = params.get('signature');
  const algorithm = params.get('algorithm');
  const headerList = params.get('headers');
  if (keyId === undefined || keyId === '') throw new NotAuthenticatedError('The authorization header has no keyId.');
  if (signature === undefined || signature === '') {
    throw new NotAuthenticatedError('The authorization header has no signature.');
  }
  if (algorithm === undefined) throw new NotAuthenticatedError('The authorization header has no algorithm.');
  // draft-cavage defaults a missing list to "date"; every OCI SDK sends one, and an
  // explicit list keeps the coverage checks below honest.
  if (headerList === undefined || headerList.trim() === '') {
    throw new NotAuthenticatedError('The authorization header has no headers list.');
  }
  return {
    version: params.get('version'),
    keyId,
    algorithm,
    headers: headerList.trim().split(/\s+/).map((h) => h.toLowerCase()),
    signature,
  };
}

function parseKeyId(keyId: string): Caller {
  if (keyId.startsWith('ST$')) {
    throw new NotAuthenticatedError('Session-token and resource-principal keyIds (ST$…) are not supported.');
  }
  const parts = keyId.split('/');
  const [tenancyId, userId, fingerprint] = parts;
  if (parts.length !== 3 || !tenancyId || !userId || !fingerprint) {
    throw new NotAuthenticatedError('The keyId must have the form <tenancyOCID>/<userOCID>/<fingerprint>.');
  }
  return { tenancyId, userId, fingerprint };
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/** Lowercases header names once so lookups match whatever casing the caller passes. */
function headerReader(headers: SignedRequest['headers']): (name: string) => string | undefined {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    // Node joins repeated headers with ", " except a few; do the same for arrays.
    lower.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v);
  }
  return (name) => lower.get(name);
}

function sha256b64(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('base64');
}

/**
 * What a signature must cover before we accept it. Without (request-target) a
 * signature could be replayed against any path within the skew window; without
 * a date it could be replayed forever; without the body hash the body is forgeable.
 */
function requireCoverage(signed: ReadonlySet<string>): void {
  if (!signed.has(REQUEST_TARGET)) throw new NotAuthenticatedError('The signature must cover (request-target).');
  if (!signed.has('host')) throw new NotAuthenticatedError('The signature must cover the host header.');
  if (!signed.has('x-date') && !signed.has('date')) {
    throw new NotAuthenticatedError('The signature must cover the x-date or date header.');
  }
}

/** The body's part of the coverage rules: a body must be covered by its digest (and length, for writes). */
function requireBodyCoverage(method: string, hasBody: boolean, signed: ReadonlySet<string>): void {
  if (!hasBody) return;
  if (!signed.has('x-content-sha256')) {
    throw new NotAuthenticatedError('Requests with a body must sign the x-content-sha256 header.');
  }
  if (BODY_METHODS.has(method.toUpperCase()) && !signed.has('content-length')) {
    throw new NotAuthenticatedError(`${method.toUpperCase()} requests with a body must sign the content-length header.`);
  }
}

function checkClock(header: string, value: string, now: number, maxSkewMs: number): void {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new NotAuthenticatedError(`The ${header} header is not a valid HTTP date.`);
  if (t < now - maxSkewMs) {
    throw new NotAuthenticatedError(`The ${header} header is more than ${maxSkewMs / 1000}s in the past; check the client clock.`);
  }
  if (t > now + maxSkewMs) {
    throw new NotAuthenticatedError(`The ${header} header is more than ${maxSkewMs / 1000}s in the future; check the client clock.`);
  }
}

export interface VerifyOptions {
  now?: number;
  maxSkewMs?: number;
  /**
   * Where the RSA check runs (rsa-check.ts): `adaptive` (the default) lets it go to the verify thread under load,
   * `inline` always runs it on the event loop.
   */
  rsaPlacement?: RsaPlacement;
  /** The thread checks go to off the event loop (absent: rsa-check.ts's own). */
  verifyThread?: VerifyThread;
}

/**
 * Verifies an OCI-signed request and returns who signed it. Every failure is a
 * NotAuthenticatedError; errors thrown by `lookup` (e.g. the store is down)
 * propagate untouched so they surface as 5xx, not 401.
 */
export async function verifyOciSignature(req: SignedRequest, lookup: PublicKeyLookup, opts: VerifyOptions = {}): Promise<Caller> {
  const { caller, signed } = await verifySignedHeaders(req, lookup, opts);
  verifySignedBody(req, signed);
  return caller;
}

/**
 * The half of verification that needs no body: the signing string covers the request line and headers only,
 * so a request that is not validly signed is refused before its body is read (unauthenticated uploads cost
 * nothing). Returns the caller and the signed header names for verifySignedBody.
 */
export async function verifySignedHeaders(
  req: Omit<SignedRequest, 'body'>,
  lookup: PublicKeyLookup,
  opts: VerifyOptions = {},
): Promise<{ caller: Caller; signed: ReadonlySet<string> }> {
  const header = headerReader(req.headers);
  const auth = parseAuthorization(req.headers['authorization'] ?? header('authorization'));
  if (auth.version !== '1') throw new NotAuthenticatedError('Only signature version "1" is supported.');
  if (auth.algorithm.toLowerCase() !== 'rsa-sha256') {
    throw new NotAuthenticatedError(`Unsupported signature algorithm "${auth.algorithm}"; expected rsa-sha256.`);
  }
  const caller = parseKeyId(auth.keyId);
  if (!BASE64_RE.test(auth.signature)) throw new NotAuthenticatedError('The signature is not valid base64.');

  const signed = new Set(auth.headers);
  requireCoverage(signed);
  // A body the headers announce must be covered too; this is checked again against the body that arrives.
  const announced = Number(header('content-length') ?? 0) > 0 || header('transfer-encoding') !== undefined;
  requireBodyCoverage(req.method, announced, signed);

  const lines: string[] = [];
  for (const name of auth.headers) {
    if (name === REQUEST_TARGET) {
      lines.push(`${REQUEST_TARGET}: ${req.method.toLowerCase()} ${req.url}`);
      continue;
    }
    const value = header(name);
    if (value === undefined) throw new NotAuthenticatedError(`The signed header "${name}" is missing from the request.`);
    lines.push(`${name}: ${value}`);
  }

  // x-date wins over date when both are signed: it exists precisely because
  // browsers and proxies may rewrite Date.
  const dateHeader = signed.has('x-date') ? 'x-date' : 'date';
  checkClock(dateHeader, header(dateHeader) as string, opts.now ?? Date.now(), opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);

  const pem = await lookup(caller.tenancyId, caller.userId, caller.fingerprint);
  if (pem === undefined) {
    throw new NotAuthenticatedError(`No API key with fingerprint ${caller.fingerprint} is registered for this user.`);
  }
  const key = publicKeyFor(pem);
  const ok = await verifyRsa(Buffer.from(lines.join('\n'), 'utf8'), key, Buffer.from(auth.signature, 'base64'), opts.rsaPlacement, opts.verifyThread);
  if (!ok) throw new NotAuthenticatedError('The request signature is invalid.');
  return { caller, signed };
}

/** The half that needs the body: the signed digest and length must describe the body that arrived. */
export function verifySignedBody(req: Pick<SignedRequest, 'method' | 'headers' | 'body'>, signed: ReadonlySet<string>): void {
  const header = headerReader(req.headers);
  requireBodyCoverage(req.method, req.body !== undefined && req.body.length > 0, signed);
  if (signed.has('x-content-sha256')) {
    const expected = req.body === undefined || req.body.length === 0 ? EMPTY_BODY_SHA256 : sha256b64(req.body);
    if (header('x-content-sha256') !== expected) {
      throw new NotAuthenticatedError('The x-content-sha256 header does not match the request body.');
    }
  }
  // No body at all counts as an empty one, as for x-content-sha256 above: a signed length must describe what arrived.
  if (signed.has('content-length') && header('content-length') !== String(req.body?.length ?? 0)) {
    throw new NotAuthenticatedError('The content-length header does not match the request body.');
  }
}

// ---------------------------------------------------------------------------
// Signing (Herald's CLI, bench and tests)
// ---------------------------------------------------------------------------

/**
 * Produces the headers oci-common's DefaultRequestSigner would add, with the
 * same signed list and capitalisation: `x-date (request-target) host`, plus
 * `Content-Type Content-Length x-content-sha256` for POST/PUT/PATCH. Returns
 * the caller's headers merged with these, all names lowercased.
 */
export function signRequest(opts: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | string;
  keyId: string;
  privateKeyPem: string;
  now?: Date;
}): Record<string, string> {
  const method = opts.method.toUpperCase();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers)) out[k.toLowerCase()] = v;

  const date = (opts.now ?? new Date()).toUTCString();
  out['host'] ??= opts.url.host;
  out['x-date'] ??= date;
  // http-signature adds an unsigned Date too; keep it so Python-style servers are happy.
  out['date'] ??= date;

  const signedNames = ['x-date', REQUEST_TARGET, 'host'];
  if (BODY_METHODS.has(method)) {
    const body = opts.body ?? '';
    const length = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    out['content-type'] ??= 'application/json';
    out['content-length'] ??= String(length);
    out['x-content-sha256'] = length === 0 ? EMPTY_BODY_SHA256 : sha256b64(body);
    signedNames.push('Content-Type', 'Content-Length', 'x-content-sha256');
  }

  const target = `${opts.url.pathname}${opts.url.search}`;
  const signingString = signedNames
    .map((name) => {
      const lower = name.toLowerCase();
      return lower === REQUEST_TARGET ? `${REQUEST_TARGET}: ${method.toLowerCase()} ${target}` : `${lower}: ${out[lower]}`;
    })
    .join('\n');
  const signature = sign('sha256', Buffer.from(signingString, 'utf8'), privateKeyFor(opts.privateKeyPem)).toString('base64');
  out['authorization'] =
    `Signature version="1",keyId="${opts.keyId}",algorithm="rsa-sha256",` +
    `headers="${signedNames.join(' ')}",signature="${signature}"`;
  return out;
}
