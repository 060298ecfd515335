import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { rsaChecksMade } from '../../../src/api/auth/rsa-check.js';
import { signRequest, verifyOciSignature, type PublicKeyLookup, type SignedRequest } from '../../../src/api/auth/signature.js';
import { startTestHerald, type TestHerald } from '../../helpers/herald.js';
import { heraldClient, send, type RawResponse } from '../../helpers/oci.js';

/**
 * Runs `fn` and counts the RSA checks made meanwhile on the verify thread and on the event loop (Herald runs in this
 * process, so its checks are counted here), and those that came back from libuv's thread pool: crypto's SIGNREQUEST
 * jobs whose callback ran (a synchronous check or signature makes such a job too, but never calls back). The pool
 * is where checks went before the verify thread; none should go there now.
 */
async function countChecks<T>(fn: () => Promise<T>): Promise<{ result: T; onThread: number; onLoop: number; onPool: number }> {
  const jobs = new Set<number>();
  let onPool = 0;
  const hook = createHook({
    init: (id, type) => {
      if (type === 'SIGNREQUEST') jobs.add(id);
    },
    before: (id) => {
      if (jobs.delete(id)) onPool++;
    },
  }).enable();
  const before = rsaChecksMade();
  try {
    const result = await fn();
    const after = rsaChecksMade();
    return { result, onThread: after.thread - before.thread, onLoop: after.loop - before.loop, onPool };
  } finally {
    hook.disable();
  }
}

/**
 * Waits until this thread's event loop has been mostly idle since `since` (taken when the previous request was
 * answered): the condition the rule reads over its last window, waited on rather than assumed, because a loaded
 * machine stretches the busy stretches before it (a fixed 60 ms failed once under a full `npm test`). At least
 * 120 ms, and under a quarter busy, so that even busy time before `since` that this cannot see (the rest of the
 * previous request, inside the rule's window) leaves the window under the rule's three quarters.
 */
async function quietSpell(since: EventLoopUtilization): Promise<void> {
  const started = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 60));
    const busy = performance.eventLoopUtilization(performance.eventLoopUtilization(), since).utilization;
    if (Date.now() - started >= 120 && busy < 0.25) return;
    if (Date.now() - started > 20_000) throw new Error(`the event loop stayed ${Math.round(busy * 100)} % busy for 20 s`);
  }
}

// A real Herald (SQLite) in this process, real signed HTTP requests.
describe('where a signed request has its RSA check made', () => {
  let h: TestHerald;
  let topicPath: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    const topic = await heraldClient(h).call<{ topicId: string }>('POST', '/20181201/topics', { name: 'placement', compartmentId: h.tenancyId });
    topicPath = `/20181201/topics/${topic.topicId}/messages`;
  });
  after(() => h.stop());

  /** A signed publish, made before it is sent; `tamper` sends it to another path than it was signed for. */
  async function signedPublish(i: number, tamper = false): Promise<() => Promise<RawResponse>> {
    const url = new URL(h.herald.url + topicPath);
    const body = JSON.stringify({ body: `m${i}` });
    const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, keyId: await h.provider.getKeyId(), privateKeyPem: h.provider.getPrivateKey() });
    const target = tamper ? new URL(`${h.herald.url}${topicPath}?x=${i}`) : url;
    return () => send(target, 'POST', headers, body);
  }

  it('a request after a quiet spell is checked on the event loop (no hop to another thread), valid or not', async () => {
    const afterSetup = performance.eventLoopUtilization();
    const good = await signedPublish(1);
    // Sets up the condition, it is not what is measured: no check in the last millisecond (the rule is >= 1 ms), and
    // a loop mostly idle over its last window.
    await quietSpell(afterSetup);
    const ok = await countChecks(good);
    const afterGood = performance.eventLoopUtilization();
    assert.equal(ok.result.status, 202, ok.result.text);
    assert.deepEqual([ok.onLoop, ok.onThread, ok.onPool], [1, 0, 0]);
    const bad = await signedPublish(2, true);
    await quietSpell(afterGood);
    const refused = await countChecks(bad);
    assert.equal(refused.result.status, 401, refused.result.text);
    assert.match(String(refused.result.json.message), /signature is invalid/);
    assert.deepEqual([refused.onLoop, refused.onThread, refused.onPool], [1, 0, 0]);
  });

  it('only publishes go to the verify thread while the event loop is busy: every other route is checked on the loop', async () => {
    /** A signed request to `path`, made before it is sent (GET without a body, or a publish). */
    const signed = async (method: 'GET' | 'POST', path: string, body?: string): Promise<() => Promise<RawResponse>> => {
      const url = new URL(h.herald.url + path);
      const headers = signRequest({ method, url, headers: { 'content-type': 'application/json' }, body, keyId: await h.provider.getKeyId(), privateKeyPem: h.provider.getPrivateKey() });
      return () => send(url, method, headers, body);
    };
    const topicId = topicPath.split('/')[3]!;
    const reads = await Promise.all(Array.from({ length: 6 }, () => signed('GET', `/20181201/topics/${topicId}`)));
    const publishes = await Promise.all(Array.from({ length: 6 }, (_, i) => signed('POST', topicPath, JSON.stringify({ body: `busy ${i}` }))));
    /** Sends the requests one after another while turns of 4 ms of work keep this thread's event loop busy. */
    const whileBusy = async (requests: Array<() => Promise<RawResponse>>): ReturnType<typeof countChecks<RawResponse[]>> => {
      let spinning = true;
      const spin = (): void => {
        const until = performance.now() + 4;
        while (performance.now() < until) {
          // All work, no waiting: the loop's busy share stays near one.
        }
        if (spinning) setImmediate(spin);
      };
      spin();
      try {
        return await countChecks(async () => {
          const out: RawResponse[] = [];
          for (const r of requests) out.push(await r());
          return out;
        });
      } finally {
        spinning = false;
      }
    };
    const published = await whileBusy(publishes);
    published.result.forEach((r) => assert.equal(r.status, 202, r.text));
    // The control: the loop was busy enough for the rule to send publishes' checks off it, to the verify thread,
    // and none to libuv's pool.
    assert.ok(published.onThread >= 3, `only ${published.onThread} of 6 publishes on a busy loop were checked on the verify thread`);
    assert.equal(published.onThread + published.onLoop, 6);
    assert.equal(published.onPool, 0);
    const read = await whileBusy(reads);
    read.result.forEach((r) => assert.equal(r.status, 200, r.text));
    assert.deepEqual([read.onLoop, read.onThread, read.onPool], [6, 0, 0]);
  });
});

// The rule itself, without the network: requests sent together over HTTP arrive as the kernel and the server's
// accept loop space them, more than a millisecond apart on a busy machine, so the burst is made here instead.
describe('signature checks made together', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const tenancy = 'ocid1.tenancy.oc1..aaaaaaaaplacement';
  const user = 'ocid1.user.oc1..aaaaaaaaplacement';
  const fingerprint = '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff';
  const lookup: PublicKeyLookup = async (t, u, f) => (t === tenancy && u === user && f === fingerprint ? publicKey : undefined);

  function request(i: number, tamper: boolean): SignedRequest {
    const url = new URL(`http://127.0.0.1:1/20181201/topics/ocid1.onstopic.oc1.iad.t${i}/messages`);
    const body = Buffer.from(JSON.stringify({ body: `m${i}` }));
    const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, keyId: `${tenancy}/${user}/${fingerprint}`, privateKeyPem: privateKey });
    return { method: tamper ? 'PUT' : 'POST', url: url.pathname, headers, body };
  }

  it('go to the verify thread past the first, and every verdict is right', async () => {
    const requests = Array.from({ length: 16 }, (_, i) => request(i, i % 4 === 3));
    const { result, onThread, onPool } = await countChecks(() =>
      Promise.all(requests.map((r) => verifyOciSignature(r, lookup).then(() => 'accepted', (e: unknown) => (e instanceof Error ? e.message : String(e))))),
    );
    result.forEach((verdict, i) => assert.equal(verdict, i % 4 === 3 ? 'The request signature is invalid.' : 'accepted', `request ${i}`));
    // Checks started one after another in one turn of the loop: only a stall of over a millisecond between two
    // of them would let the second run inline, and then the next would again find the first one close by.
    assert.ok(onThread >= 8, `only ${onThread} of 16 checks made together went to the verify thread`);
    assert.equal(onPool, 0);
  });

  it('go to the verify thread while the event loop is busy, however far apart they are', async () => {
    /** Keeps this thread's event loop busy for `ms`: the loop never waits for I/O meanwhile. */
    const spin = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // A turn of the loop that is all work (claims and completions are such turns).
      }
    };
    const requests = Array.from({ length: 12 }, (_, i) => request(100 + i, i % 4 === 3));
    const { result, onThread, onPool } = await countChecks(async () => {
      const verdicts: Array<Promise<string>> = [];
      // Each check comes 4 ms of busy loop after the one before it, in a turn of its own: far enough apart to be
      // checked inline on a loop with time to spare. The first window's reading may include the idle time before
      // it, so the first few may still be inline.
      for (const r of requests) {
        spin(4);
        verdicts.push(verifyOciSignature(r, lookup).then(() => 'accepted', (e: unknown) => (e instanceof Error ? e.message : String(e))));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return Promise.all(verdicts);
    });
    result.forEach((verdict, i) => assert.equal(verdict, i % 4 === 3 ? 'The request signature is invalid.' : 'accepted', `request ${i}`));
    assert.ok(onThread >= 8, `only ${onThread} of 12 checks made on a busy loop went to the verify thread`);
    assert.equal(onPool, 0);
  });
});
