import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { STATUS_BY_CODE } from '../../src/api/errors.js';
import type { OciErrorCode } from '../../src/core/errors.js';
import { SubscriptionLinks } from '../../src/core/links.js';
import {
  bodyJunkString, compartment, description, endpoint, fakeOcid, headerValue, junk, limit, lifecycleState, linkToken, looseObject, messageBody,
  page, percentBytes, PROTOCOL_ENDPOINTS, protocol, Ref, ref, Rep, retryPolicy, shortJunk, sortBy, sortOrder, tags,
  tagsOk, text, definedTags, toJson, topicName, topicRef, urlJunk, w, type Env, type Val,
} from '../helpers/arbitraries.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { send, SignedCaller, type RawResponse } from '../helpers/oci.js';

/**
 * Property: whatever arrives, every ONS operation answers with a 2xx or a
 * well-formed OCI error (never a 500, never silence); a signed request is never
 * refused as unauthenticated and an unsigned one always is (outside the link
 * operations); and nothing the fuzzers never addressed changes. Replay a failure with FUZZ_SEED=<seed>; scale the
 * run count with FUZZ_RUNS=<multiplier>.
 */

const OCI = '/20181201';
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * The error answers a request may get, besides 401. Who gets 401 is decided separately: a signed request never
 * (the fuzzer signs every request correctly, so a 401 means Herald verified something other than what was sent:
 * a canonicalisation bug), an unsigned one to a signed operation always.
 */
const ERROR_STATUSES = new Set([400, 404, 409, 412, 413, 429]);
/**
 * The refusals that come before authentication, because the request cannot be routed or its body read at all
 * (fastify's own checks, which run before the signature hook): the only answers other than 401 an unsigned
 * request to a signed operation may get. Matched by message too, so the same codes from a route are not let by.
 */
const PRE_AUTH_REFUSALS: readonly { status: number; code: string; message: RegExp }[] = [
  { status: 400, code: 'InvalidParameter', message: /^The request URL is malformed\.$/ },
  { status: 400, code: 'InvalidParameter', message: /^'[^']*' is exceeding the max param length$/ },
  { status: 400, code: 'CannotParseRequest', message: /^Unsupported Media Type$/ },
  { status: 413, code: 'PayloadTooLarge', message: /^The request body is too large\.$/ },
];
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SCALE = Number(process.env.FUZZ_RUNS ?? '1');
/** FUZZ_STATS=1 prints how often each operation got each answer: a check that success paths are reached. */
const STATS = process.env.FUZZ_STATS === '1' ? new Map<string, number>() : undefined;
if (STATS !== undefined) process.on('exit', () => [...STATS].sort().forEach(([k, n]) => console.error(`${k} ${n}`)));

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Seg = Val | Uint8Array;
type BodySpec = { kind: 'none' } | { kind: 'json'; v: Val } | { kind: 'cut'; v: Val; at: number } | { kind: 'bytes'; b: Uint8Array } | { kind: 'text'; s: string };

interface Op {
  name: string;
  method: Method;
  path: string;
  id?: 'topic' | 'sub';
  body?: { strict: fc.Arbitrary<Val>; loose: fc.Arbitrary<Val> };
  query?: Record<string, fc.Arbitrary<Val>>;
  /** Query pairs that, when present, put the request on the road to success. */
  base?: fc.Arbitrary<[Val, Val][]>;
  list?: boolean;
  unsigned?: boolean;
}

interface FuzzRequest {
  op: Op;
  id: Seg | null;
  query: [Val, Val][];
  body: BodySpec;
  headers: Record<string, Val>;
  signed: boolean;
}

const ours = fc.oneof(ref('tenancy'), ref('compartment'));
const pair = (k: string, v: fc.Arbitrary<Val>): fc.Arbitrary<[Val, Val][]> => v.map((x): [Val, Val][] => [[k, x]]);

// --- the 16 operations ----------------------------------------------------------------------------

const OPS: Record<'topics' | 'subscriptions' | 'links' | 'publish', Op[]> = {
  topics: [
    {
      name: 'CreateTopic',
      method: 'POST',
      path: '/topics',
      body: {
        strict: fc.record({ name: fc.stringMatching(/^fz-[a-z0-9]{1,10}$/), compartmentId: ours, description: fc.string({ maxLength: 30 }), freeformTags: tagsOk }, { requiredKeys: ['name', 'compartmentId'] }),
        loose: looseObject({ name: topicName, compartmentId: compartment, description, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListTopics',
      method: 'GET',
      path: '/topics',
      list: true,
      query: { compartmentId: compartment, id: topicRef, name: topicName, lifecycleState, sortBy, sortOrder, limit, page },
      base: pair('compartmentId', ref('tenancy')),
    },
    { name: 'GetTopic', method: 'GET', path: '/topics/{id}', id: 'topic' },
    {
      name: 'UpdateTopic',
      method: 'PUT',
      path: '/topics/{id}',
      id: 'topic',
      body: { strict: fc.record({ description: fc.string({ maxLength: 30 }), freeformTags: tagsOk }, { requiredKeys: [] }), loose: looseObject({ description, freeformTags: tags, definedTags }) },
    },
    { name: 'DeleteTopic', method: 'DELETE', path: '/topics/{id}', id: 'topic' },
    {
      name: 'ChangeTopicCompartment',
      method: 'POST',
      path: '/topics/{id}/actions/changeCompartment',
      id: 'topic',
      body: { strict: fc.record({ compartmentId: ours }), loose: looseObject({ compartmentId: compartment }) },
    },
  ],
  subscriptions: [
    {
      name: 'CreateSubscription',
      method: 'POST',
      path: '/subscriptions',
      body: {
        strict: fc
          .tuple(fc.constantFrom(...PROTOCOL_ENDPOINTS), ours, fc.option(tagsOk, { nil: undefined }))
          .map(([[p, e], c, t]): Val => ({ topicId: new Ref('topic'), compartmentId: c, protocol: p, endpoint: e, ...(t === undefined ? {} : { freeformTags: t }) })),
        loose: looseObject({ topicId: topicRef, compartmentId: compartment, protocol, endpoint, metadata: bodyJunkString, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListSubscriptions',
      method: 'GET',
      path: '/subscriptions',
      list: true,
      query: { compartmentId: compartment, topicId: topicRef, limit, page },
      base: fc.oneof(pair('compartmentId', ref('tenancy')), pair('topicId', ref('topic'))),
    },
    { name: 'GetSubscription', method: 'GET', path: '/subscriptions/{id}', id: 'sub' },
    {
      name: 'UpdateSubscription',
      method: 'PUT',
      path: '/subscriptions/{id}',
      id: 'sub',
      body: {
        strict: fc.record({ deliveryPolicy: fc.integer({ min: 1, max: 7_200_000 }).map((ms): Val => ({ backoffRetryPolicy: { maxRetryDuration: ms, policyType: 'EXPONENTIAL' } })), freeformTags: tagsOk }, { requiredKeys: [] }),
        loose: looseObject({ deliveryPolicy: looseObject({ backoffRetryPolicy: retryPolicy }), freeformTags: tags, definedTags }),
      },
    },
    { name: 'DeleteSubscription', method: 'DELETE', path: '/subscriptions/{id}', id: 'sub' },
    {
      name: 'ChangeSubscriptionCompartment',
      method: 'POST',
      path: '/subscriptions/{id}/actions/changeCompartment',
      id: 'sub',
      body: { strict: fc.record({ compartmentId: ours }), loose: looseObject({ compartmentId: compartment }) },
    },
    { name: 'ResendConfirmation', method: 'POST', path: '/subscriptions/{id}/resendConfirmation', id: 'sub' },
  ],
  links: (['confirmation', 'unsubscription'] as const).map((kind) => ({
    name: kind === 'confirmation' ? 'GetConfirmation' : 'GetUnsubscription',
    method: 'GET',
    path: `/subscriptions/{id}/${kind}`,
    id: 'sub',
    unsigned: true,
    query: { token: linkToken, protocol },
    base: linkToken.map((t): [Val, Val][] => [['token', t], ['protocol', 'HTTPS']]),
  })),
  publish: [
    {
      name: 'PublishMessage',
      method: 'POST',
      path: '/topics/{id}/messages',
      id: 'topic',
      body: {
        strict: fc.record({ title: fc.string({ maxLength: 20 }), body: fc.string({ maxLength: 40 }) }, { requiredKeys: ['body'] }),
        loose: looseObject({ title: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(new Rep('t', 256))), body: messageBody }),
      },
    },
  ],
};

// --- request arbitraries --------------------------------------------------------------------------

const idSeg = (kind: 'topic' | 'sub'): fc.Arbitrary<Seg> =>
  fc.oneof(
    w(6, ref(kind)),
    w(1, ref(kind === 'topic' ? 'sub' : 'topic')),
    w(2, fakeOcid(kind === 'topic' ? 'onstopic' : 'onssubscription')),
    w(2, urlJunk),
    w(1, fc.uint8Array({ minLength: 1, maxLength: 12 })),
  );

function bodySpec(op: Op): fc.Arbitrary<BodySpec> {
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
const headers: fc.Arbitrary<Record<string, Val>> = fc
  .record({
    'if-match': sometimes(fc.oneof(ref('topicEtag'), ref('subEtag'), fc.stringMatching(/^[0-9a-f]{8}$/), headerValue(20), fc.constant('*'))),
    'opc-retry-token': sometimes(fc.oneof(fc.constantFrom<Val>('fuzz-retry-1', 'fuzz-retry-2', new Rep('t', 64), new Rep('t', 65)), headerValue(100))),
    messagetype: sometimes(fc.oneof(fc.constantFrom('JSON', 'RAW_TEXT', 'json', 'raw_text', 'XML'), headerValue(12))),
    'content-type': sometimes(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'x')),
    accept: sometimes(fc.constantFrom('text/html', 'application/json', '*/*')),
  })
  .map((hs) => Object.fromEntries(Object.entries(hs).filter((e): e is [string, Val] => e[1] !== undefined)));

function requestFor(op: Op): fc.Arbitrary<FuzzRequest> {
  const known = Object.entries(op.query ?? {}).map(([k, a]) => w(5, fc.tuple(fc.constant<Val>(k), a)));
  const stray = w(1, fc.tuple(shortJunk as fc.Arbitrary<Val>, urlJunk));
  const pairs = fc.array(fc.oneof(...known, stray), { maxLength: known.length > 0 ? 6 : 2 });
  const base = op.base ?? fc.constant<[Val, Val][]>([]);
  return fc.record({
    // Counterexamples print the operation by name, not its arbitraries.
    op: fc.constant({ ...op, [fc.toStringMethod]: () => op.name }),
    id: op.id === undefined ? fc.constant(null) : idSeg(op.id),
    query: fc.tuple(fc.option(base, { freq: 3, nil: [] }), pairs).map(([b, p]) => [...b, ...p]),
    body: bodySpec(op),
    headers,
    signed: fc.oneof(w(19, fc.constant(true)), w(1, fc.constant(false))),
  });
}

// --- sending and judging --------------------------------------------------------------------------

const enc = (s: string): string => encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));

function build(r: FuzzRequest, env: Env): { path: string; body: string | Buffer | undefined; headers: Record<string, string> } {
  const seg = r.id === null ? '' : r.id instanceof Uint8Array ? percentBytes(r.id) : enc(text(r.id, env));
  const qs = r.query.map(([k, v]) => `${enc(text(k, env))}=${enc(text(v, env))}`).join('&');
  const path = OCI + r.op.path.replace('{id}', seg) + (qs === '' ? '' : `?${qs}`);
  const b = r.body;
  const body =
    b.kind === 'none' ? undefined
    : b.kind === 'json' ? toJson(b.v, env)
    : b.kind === 'cut' ? toJson(b.v, env).slice(0, b.at % (toJson(b.v, env).length + 1))
    : b.kind === 'bytes' ? Buffer.from(b.b)
    : b.s;
  return { path, body, headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, text(v, env)])) };
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function judge(r: FuzzRequest, what: string, res: RawResponse): void {
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

// --- the tests ------------------------------------------------------------------------------------

for (const kind of KINDS) {
  describe(`ONS API fuzz (${kind})`, () => {
    let h: TestHerald;
    let caller: SignedCaller;
    let links: SubscriptionLinks;
    let compartmentId: string;
    let victimCount = 0;
    const victim = { topic: '', sub: '' };
    const canary = { topicId: '', subId: '', topic: undefined as RawResponse | undefined, sub: undefined as RawResponse | undefined };

    /** Brings the victims back to life if a fuzz op deleted them, and reads their current etags and tokens. */
    async function refresh(): Promise<Env> {
      const { store } = h.herald;
      let topic = await store.getTopic(h.tenancyId, victim.topic);
      if (topic === undefined) {
        const name = `victim-${++victimCount}`;
        victim.topic = (await caller.call<{ topicId: string }>('POST', `${OCI}/topics`, { name, compartmentId: h.tenancyId })).topicId;
        topic = await store.getTopic(h.tenancyId, victim.topic);
      }
      let sub = await store.getSubscription(h.tenancyId, victim.sub);
      if (sub === undefined || sub.lifecycleState === 'DELETED' || sub.topicId !== victim.topic) {
        const body = { topicId: victim.topic, compartmentId: h.tenancyId, protocol: 'HTTPS', endpoint: 'http://127.0.0.1:9/victim' };
        victim.sub = (await caller.call<{ id: string }>('POST', `${OCI}/subscriptions`, body)).id;
        sub = await store.getSubscription(h.tenancyId, victim.sub);
      }
      assert.ok(topic !== undefined && sub !== undefined);
      return {
        tenancy: h.tenancyId,
        compartment: compartmentId,
        topic: topic.id,
        sub: sub.id,
        topicEtag: topic.etag,
        subEtag: sub.etag,
        topicName: topic.name,
        confirmToken: links.confirmationToken(sub.id, sub.confirmationNonce),
        unsubToken: links.unsubscribeToken(sub.id),
      };
    }

    before(async () => {
      h = await startTestHerald(kind);
      caller = new SignedCaller(h);
      const secret = await h.herald.store.getSetting('link-secret');
      assert.ok(secret !== undefined);
      links = new SubscriptionLinks(Buffer.from(secret, 'base64'), () => h.herald.url);
      compartmentId = (await caller.call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'fuzz' })).id;
      canary.topicId = (await caller.call<{ topicId: string }>('POST', `${OCI}/topics`, { name: 'canary', compartmentId: h.tenancyId, description: 'not a fuzz target', freeformTags: { k: 'v' } })).topicId;
      canary.subId = (await caller.call<{ id: string }>('POST', `${OCI}/subscriptions`, { topicId: canary.topicId, compartmentId: h.tenancyId, protocol: 'HTTPS', endpoint: 'http://127.0.0.1:9/canary' })).id;
      canary.topic = await caller.raw('GET', `${OCI}/topics/${canary.topicId}`);
      canary.sub = await caller.raw('GET', `${OCI}/subscriptions/${canary.subId}`);
      await refresh();
    });
    after(async () => {
      await h.stop();
    });

    const groups: [keyof typeof OPS, number][] = [['topics', 300], ['subscriptions', 300], ['links', 150], ['publish', 150]];
    for (const [group, runs] of groups) {
      it(`answers junk to the ${group} operations with 2xx or a clean OCI error`, async () => {
        let ran = 0;
        const property = fc.asyncProperty(fc.oneof(...OPS[group].map(requestFor)), async (r) => {
          ran++;
          const env = await refresh();
          const b = build(r, env);
          const what = `${r.signed ? 'signed' : 'unsigned'} ${r.op.method} ${b.path.slice(0, 300)} headers=${JSON.stringify(b.headers)} body=${String(b.body ?? '<none>').slice(0, 300)}`;
          const res = await withTimeout(
            r.signed
              ? caller.raw(r.op.method, b.path, b.body, b.headers)
              : send(new URL(h.herald.url + b.path), r.op.method, { 'content-type': 'application/json', ...b.headers }, b.body),
            what,
          );
          const key = `${r.op.name} ${res.status} ${res.json.code ?? ''}`;
          STATS?.set(key, (STATS.get(key) ?? 0) + 1);
          judge(r, what, res);
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
      });
    }

    it('leaves the canary untouched and the API answering', async () => {
      const topic = await caller.raw('GET', `${OCI}/topics/${canary.topicId}`);
      assert.equal(topic.status, 200);
      assert.equal(topic.headers.etag, canary.topic?.headers.etag);
      assert.deepEqual(topic.json, canary.topic?.json);
      const sub = await caller.raw('GET', `${OCI}/subscriptions/${canary.subId}`);
      assert.equal(sub.status, 200);
      assert.equal(sub.headers.etag, canary.sub?.headers.etag);
      assert.deepEqual(sub.json, canary.sub?.json);

      // Every page of the topic list is a bare array, and paging reaches the canary.
      const seen: string[] = [];
      let next: string | undefined = '';
      for (let i = 0; next !== undefined && i < 500; i++) {
        const res = await caller.raw('GET', `${OCI}/topics?compartmentId=${h.tenancyId}&limit=7${next === '' ? '' : `&page=${next}`}`);
        assert.equal(res.status, 200, res.text);
        const items = JSON.parse(res.text) as unknown;
        assert.ok(Array.isArray(items), res.text);
        seen.push(...(items as { topicId: string }[]).map((t) => t.topicId));
        const np = res.headers['opc-next-page'];
        next = typeof np === 'string' ? np : undefined;
      }
      assert.ok(seen.includes(canary.topicId), 'the canary topic is listed');
      assert.equal(new Set(seen).size, seen.length, 'no topic is listed twice');

      const subs = await caller.raw('GET', `${OCI}/subscriptions?topicId=${canary.topicId}`);
      assert.equal(subs.status, 200, subs.text);
      assert.deepEqual((JSON.parse(subs.text) as { id: string }[]).map((s) => s.id), [canary.subId]);

      const health = await send(new URL(h.herald.url + '/health'), 'GET', {});
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: 'ok' });
    });
  });
}
