import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../../src/api/auth/signature.js';
import { startTestHerald, type TestHerald } from '../../helpers/herald.js';
import { heraldClient, send, type RawResponse } from '../../helpers/oci.js';

/**
 * Runs `fn` and counts the RSA checks that came back from libuv's thread pool meanwhile: crypto's SIGNREQUEST
 * jobs whose callback ran (a synchronous check or signature makes such a job too, but never calls back).
 * Herald runs in this process, so its checks are seen here.
 */
async function countPoolChecks<T>(fn: () => Promise<T>): Promise<{ result: T; onPool: number }> {
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
  try {
    return { result: await fn(), onPool };
  } finally {
    hook.disable();
  }
}

const quietSpell = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

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

  it('a request after a quiet spell is checked on the event loop (no thread-pool hop), valid or not', async () => {
    const good = await signedPublish(1);
    // Sets up the condition, it is not what is measured: no check in the last millisecond (the rule is >= 1 ms).
    await quietSpell();
    const ok = await countPoolChecks(good);
    assert.equal(ok.result.status, 202, ok.result.text);
    assert.equal(ok.onPool, 0);
    const bad = await signedPublish(2, true);
    await quietSpell();
    const refused = await countPoolChecks(bad);
    assert.equal(refused.result.status, 401, refused.result.text);
    assert.match(String(refused.result.json.message), /signature is invalid/);
    assert.equal(refused.onPool, 0);
  });

  it('requests that come together have their checks on the thread pool past the first, and every verdict is right', async () => {
    const sends = await Promise.all(Array.from({ length: 16 }, (_, i) => signedPublish(100 + i, i % 4 === 3)));
    const { result, onPool } = await countPoolChecks(() => Promise.all(sends.map((s) => s())));
    result.forEach((r, i) => assert.equal(r.status, i % 4 === 3 ? 401 : 202, `request ${i}: ${r.text}`));
    assert.ok(onPool >= 1, 'all 16 requests sent together were checked on the event loop');
  });
});
