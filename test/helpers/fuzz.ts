import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STATUS_BY_CODE } from '../../src/api/errors.js';
import type { OciErrorCode } from '../../src/core/errors.js';
import { headerValue, junk, looseObject, percentBytes, Rep, shortJunk, text, toJson, urlJunk, w, type Env, type Val } from './arbitraries.js';
import { within } from './eventually.js';
import { send, type RawResponse, type SignedCaller } from './oci.js';

/**
 * The machinery the API fuzz suites share (test/api/fuzz.test.ts for ONS,
 * test/api/identity-fuzz.test.ts for Identity): requests generated from an
 * operation table, built against the live ids of the moment, sent signed or
 * not, and judged. The property: whatever arrives, every operation answers
 * with a 2xx or a well-formed OCI error (never a 500, never silence); a signed
 * request is never refused as unauthenticated and an unsigned one always is.
 * Replay a failure with FUZZ_SEED=<seed>; scale the run count with
 * FUZZ_RUNS=<multiplier>; FUZZ_STATS=1 prints how often each operation got each answer.
 */

export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * The error answers a request may get, besides 401. Who gets 401 is decided separately: a signed request never
 * (the fuzzer signs every request correctly, so a 401 means Herald verified something other than what was sent:
 * a canonicalisation bug), an unsigned one to a signed operation always.
 */
export const ERROR_STATUSES = new Set([400, 404, 409, 412, 413, 429]);
/**
 * The refusals that come before authentication, because the request cannot be routed or its body read at all
 * (fastify's own checks, which run before the signature hook): the only answers other than 401 an unsigned
 * request to a signed operation may get. Matched by message too, so the same codes from a route are not let by.
 */
export const PRE_AUTH_REFUSALS: readonly { status: number; code: string; message: RegExp }[] = [
  { status: 400, code: 'InvalidParameter', message: /^The request URL is malformed\.$/ },
  { status: 400, code: 'InvalidParameter', message: /^'[^']*' is exceeding the max param length$/ },
  { status: 400, code: 'CannotParseRequest', message: /^Unsupported Media Type$/ },
  { status: 413, code: 'PayloadTooLarge', message: /^The request body is too large\.$/ },
  // An id of `..` or `.` is a dot segment: the URL is resolved before sending, and the request reaches no route.
  { status: 404, code: 'NotFound', message: /^No route for / },
];
export const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
export const SCALE = Number(process.env.FUZZ_RUNS ?? '1');
/** FUZZ_STATS=1 prints how often each operation got each answer: a check that success paths are reached. */
export const STATS = process.env.FUZZ_STATS === '1' ? new Map<string, number>() : undefined;
if (STATS !== undefined) process.on('exit', () => [...STATS].sort().forEach(([k, n]) => console.error(`${k} ${n}`)));

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Seg = Val | Uint8Array;
export type BodySpec = { kind: 'none' } | { kind: 'json'; v: Val } | { kind: 'cut'; v: Val; at: number } | { kind: 'bytes'; b: Uint8Array } | { kind: 'text'; s: string };

/** One operation; `path` holds `{id}` (and `{id2}`) where the path segments of kind `id` (`id2`) go. */
export interface Op<K extends string = string> {
  name: string;
  method: Method;
  path: string;
  id?: K;
  id2?: K;
  body?: { strict: fc.Arbitrary<Val>; loose: fc.Arbitrary<Val> };
  query?: Record<string, fc.Arbitrary<Val>>;
  /** Query pairs that, when present, put the request on the road to success. */
  base?: fc.Arbitrary<[Val, Val][]>;
  list?: boolean;
  unsigned?: boolean;
}

export interface FuzzRequest<K extends string = string> {
  op: Op<K>;
  id: Seg | null;
  id2: Seg | null;
  query: [Val, Val][];
  body: BodySpec;
  headers: Record<string, Val>;
  signed: boolean;
  /** Query keys and values sent as they are (only `#` escaped), as the Identity SDK sends them. */
  raw: boolean;
}

/** What differs between the suites. */
export interface Suite<K extends string> {
  /** The API version prefix, e.g. /20181201. */
  prefix: string;
  /** A path segment meant to name a resource of this kind (mostly a live one, sometimes junk). */
  idSeg: (kind: K) => fc.Arbitrary<Seg>;
  /** Live etags, offered for if-match beside junk. */
  etags: fc.Arbitrary<Val>[];
  /** Sometimes send the query unencoded (the Identity routes read the raw query, decoding only %XX). */
  rawQuery?: boolean;
}

export const pair = (k: string, v: fc.Arbitrary<Val>): fc.Arbitrary<[Val, Val][]> => v.map((x): [Val, Val][] => [[k, x]]);

// --- request arbitraries --------------------------------------------------------------------------

export function bodySpec(op: Op): fc.Arbitrary<BodySpec> {
  if (op.method === 'GET' || op.method === 'DELETE') return fc.constant({ kind: 'none' });
  const { strict, loose } = op.body ?? { strict: fc.constant<Val>({}), loose: looseObject({}) };
  return fc.oneof(
    w(4, strict.map((v): BodySpec => ({ kind: 'json', v }))),
    w(4, loose.map((v): BodySpec => ({ kind: 'json', v }))),
    w(1, junk.map((v): BodySpec => ({ kind: 'json', v }))),
    w(1, fc.tuple(loose, fc.nat()).map(([v, at]): BodySpec => ({ kind: 'cut', v, at }))),
    w(1, fc.uint8Array({ maxLength: 64 }).map((b): BodySpec => ({ kind: 'bytes', b }))),
    // No body, an empty one, a BOM, two documents, and one past the 1 MB body limit.
    w(1, fc.constantFrom<BodySpec>({ kind: 'none' }, { kind: 'text', s: '' }, { kind: 'text', s: '\ufeff{}' }, { kind: 'text', s: '{"a":1}{"b":2}' }, { kind: 'json', v: { description: new Rep('x', 1_100_000), body: 'x' } })),
  );
}

/** Each header is sent about a third of the time, so most requests are not refused for a header alone. */
const sometimes = (a: fc.Arbitrary<Val>): fc.Arbitrary<Val | undefined> => fc.oneof({ withCrossShrink: true }, w(2, fc.constant(undefined)), w(1, a));
export const headersWith = (etags: fc.Arbitrary<Val>[]): fc.Arbitrary<Record<string, Val>> =>
  fc
    .record({
      'if-match': sometimes(fc.oneof(...etags, fc.stringMatching(/^[0-9a-f]{8}$/), headerValue(20), fc.constant('*'))),
      'opc-retry-token': sometimes(fc.oneof(fc.constantFrom<Val>('fuzz-retry-1', 'fuzz-retry-2', new Rep('t', 64), new Rep('t', 65)), headerValue(100))),
      messagetype: sometimes(fc.oneof(fc.constantFrom('JSON', 'RAW_TEXT', 'json', 'raw_text', 'XML'), headerValue(12))),
      'content-type': sometimes(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'x')),
      accept: sometimes(fc.constantFrom('text/html', 'application/json', '*/*')),
    })
    .map((hs) => Object.fromEntries(Object.entries(hs).filter((e): e is [string, Val] => e[1] !== undefined)));

export function requestFor<K extends string>(suite: Suite<K>, op: Op<K>): fc.Arbitrary<FuzzRequest<K>> {
  const known = Object.entries(op.query ?? {}).map(([k, a]) => w(5, fc.tuple(fc.constant<Val>(k), a)));
  const stray = w(1, fc.tuple(shortJunk as fc.Arbitrary<Val>, urlJunk));
  const pairs = fc.array(fc.oneof(...known, stray), { maxLength: known.length > 0 ? 6 : 2 });
  const base = op.base ?? fc.constant<[Val, Val][]>([]);
  return fc.record({
    // Counterexamples print the operation by name, not its arbitraries.
    op: fc.constant({ ...op, [fc.toStringMethod]: () => op.name }),
    id: op.id === undefined ? fc.constant(null) : suite.idSeg(op.id),
    id2: op.id2 === undefined ? fc.constant(null) : suite.idSeg(op.id2),
    query: fc.tuple(fc.option(base, { freq: 3, nil: [] }), pairs).map(([b, p]) => [...b, ...p]),
    body: bodySpec(op),
    headers: headersWith(suite.etags),
    signed: fc.oneof(w(19, fc.constant(true)), w(1, fc.constant(false))),
    raw: suite.rawQuery === true ? fc.boolean() : fc.constant(false),
  });
}

// --- sending and judging --------------------------------------------------------------------------

const enc = (s: string): string => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
/** As the Identity SDK sends a query: unencoded. Only `#` is escaped, or the rest would be a fragment nobody sends. */
const rawText = (s: string): string => s.replaceAll('#', '%23');
const segment = (s: Seg | null, env: Env): string => (s === null ? '' : s instanceof Uint8Array ? percentBytes(s) : enc(text(s, env)));

export function build(r: FuzzRequest, env: Env, prefix: string): { path: string; body: string | Buffer | undefined; headers: Record<string, string> } {
  const q = r.raw ? rawText : enc;
  const qs = r.query.map(([k, v]) => `${q(text(k, env))}=${q(text(v, env))}`).join('&');
  const path = prefix + r.op.path.replace('{id}', segment(r.id, env)).replace('{id2}', segment(r.id2, env)) + (qs === '' ? '' : `?${qs}`);
  const b = r.body;
  const body =
    b.kind === 'none' ? undefined
    : b.kind === 'json' ? toJson(b.v, env)
    : b.kind === 'cut' ? toJson(b.v, env).slice(0, b.at % (toJson(b.v, env).length + 1))
    : b.kind === 'bytes' ? Buffer.from(b.b)
    : b.s;
  return { path, body, headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, text(v, env)])) };
}

export function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return within(p, REQUEST_TIMEOUT_MS, what);
}

export function judge(r: FuzzRequest, what: string, res: RawResponse): void {
  const say = (problem: string): string => `${problem}\n  request: ${what}\n  response: ${res.status} ${res.text.slice(0, 400)}`;
  const rid = res.headers['opc-request-id'];
  assert.ok(typeof rid === 'string' && rid.length > 0, say('no opc-request-id header'));
  if (r.signed) assert.notEqual(res.status, 401, say('a correctly signed request was refused as not authenticated'));
  else if (r.op.unsigned !== true) {
    const preAuth = PRE_AUTH_REFUSALS.some((p) => p.status === res.status && p.code === res.json.code && p.message.test(res.json.message ?? ''));
    assert.ok(res.status === 401 || preAuth, say('an unsigned request to a signed operation was not refused with 401'));
  }
  if (res.status >= 200 && res.status < 300) {
    if (r.op.list) assert.ok(Array.isArray(JSON.parse(res.text)), say('a list did not answer a bare JSON array'));
    return;
  }
  assert.ok(ERROR_STATUSES.has(res.status) || res.status === 401, say(`status ${res.status} is neither 2xx nor an expected OCI error`));
  let body: unknown;
  assert.doesNotThrow(() => (body = JSON.parse(res.text)), say('the error body is not JSON'));
  const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
  assert.ok(typeof code === 'string' && typeof message === 'string', say('the error body lacks a string code and message'));
  assert.equal(STATUS_BY_CODE[code as OciErrorCode], res.status, say(`code ${code} does not go with status ${res.status}`));
}

/** Sends one generated request, signed with the caller's key or unsigned, within REQUEST_TIMEOUT_MS. */
export async function sendFuzz(r: FuzzRequest, env: Env, prefix: string, caller: SignedCaller, baseUrl: string): Promise<{ what: string; res: RawResponse }> {
  const b = build(r, env, prefix);
  const what = `${r.signed ? 'signed' : 'unsigned'} ${r.op.method} ${b.path.slice(0, 300)} headers=${JSON.stringify(b.headers)} body=${String(b.body ?? '<none>').slice(0, 300)}`;
  const res = await withTimeout(
    r.signed
      ? caller.raw(r.op.method, b.path, b.body, b.headers)
      : send(new URL(baseUrl + b.path), r.op.method, { 'content-type': 'application/json', ...b.headers }, b.body),
    what,
  );
  const key = `${r.op.name} ${res.status} ${res.json.code ?? ''}`;
  STATS?.set(key, (STATS.get(key) ?? 0) + 1);
  return { what, res };
}

/** Runs the property over `ops` for `runs` cases (times FUZZ_RUNS), every case to completion. */
export async function assertFuzz<K extends string>(ops: Op<K>[], runs: number, suite: Suite<K>, check: (r: FuzzRequest<K>) => Promise<void>): Promise<void> {
  let ran = 0;
  const property = fc.asyncProperty(fc.oneof(...ops.map((op) => requestFor(suite, op))), async (r) => {
    ran++;
    await check(r);
  });
  const numRuns = Math.round(runs * SCALE);
  try {
    // No time limit: on a busy machine the run takes longer rather than quietly checking fewer cases.
    await fc.assert(property, { numRuns, seed: SEED });
  } catch (err) {
    // The test reporter drops `cause`, which is where the server's actual answer is.
    const cause = (err as { cause?: unknown }).cause;
    throw cause instanceof Error ? new Error(`${(err as Error).message}\nFailure: ${cause.message}`) : err;
  }
  assert.equal(ran, numRuns, 'every generated case ran');
}
