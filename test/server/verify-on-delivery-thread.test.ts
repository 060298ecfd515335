import { strict as assert } from 'node:assert';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { after, afterEach, before, describe, it } from 'node:test';
import { checksModuleUrl, hostedChecks, VerifyThread } from '../../src/api/auth/verify-thread.js';
import { buildHttpHandlers, registryOf } from '../../src/delivery/protocols/http-handlers.js';
import { SendThreads, spawnSendThread, type SendThreadConfig } from '../../src/delivery/send-thread/send-threads.js';
import { captureServer, message, messageCtx, subscription, type CaptureServer } from '../delivery/fixtures.js';
import { within } from '../helpers/eventually.js';

const config: SendThreadConfig = { allowPrivateEndpoints: true, httpTimeoutMs: 5000, sms: undefined, linkSecret: randomBytes(32).toString('base64') };
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Signed data for check `i`; `alter` makes the data differ from what was signed. */
function signed(i: number, signer: KeyObject, alter = false): { data: Buffer; signature: Buffer } {
  const data = Buffer.from(`(request-target): post /20181201/topics/t${i}/messages\ndate: Thu, 03 Dec 2026 09:00:00 GMT`);
  return { data: alter ? Buffer.concat([data, Buffer.from('x')]) : data, signature: sign('sha256', data, signer) };
}

/** Good, altered and wrong-key checks, with the verdict each must get. */
function checks(n: number, base = 0): { data: Buffer; signature: Buffer; key: KeyObject; want: boolean }[] {
  return Array.from({ length: n }, (_, k) => {
    const i = base + k;
    if (i % 3 === 0) return { ...signed(i, pair.privateKey), key: pair.publicKey, want: true };
    if (i % 3 === 1) return { ...signed(i, pair.privateKey, true), key: pair.publicKey, want: false };
    return { ...signed(i, other.privateKey), key: pair.publicKey, want: false };
  });
}

/** The promise's value, or a failure if it has none within 10 s (an unanswered check would hang the test). */
const answered = <T>(p: Promise<T>): Promise<T> => within(p, 10_000, 'a check');

describe("publishes' RSA checks hosted on the delivery thread (as the server wires them)", () => {
  let server: CaptureServer;
  let threads: SendThreads | undefined;
  let verifier: VerifyThread | undefined;
  const workers: Worker[] = [];
  /** Every worker the delivery threads start; the checks must start none of their own. */
  const spawn = (c: SendThreadConfig): Worker => {
    const w = spawnSendThread(c);
    workers.push(w);
    return w;
  };
  /** How many times the verify thread asked for a channel. */
  let opened = 0;
  const setUp = (): { threads: SendThreads; verifier: VerifyThread } => {
    const t = new SendThreads(config, { threads: 1, spawn });
    const open = hostedChecks(() => t.openService(checksModuleUrl()));
    const v = new VerifyThread({
      open: (events) => {
        opened++;
        return open(events);
      },
    });
    threads = t;
    verifier = v;
    return { threads: t, verifier: v };
  };

  before(async () => {
    server = await captureServer();
  });
  afterEach(async () => {
    await verifier?.terminate();
    await threads?.close();
    verifier = undefined;
    threads = undefined;
    workers.length = 0;
    opened = 0;
  });
  after(async () => {
    await server.close();
  });

  it('answers each check right on the delivery thread, which goes on sending, and starts no thread of its own', async () => {
    const { threads: t, verifier: v } = setUp();
    const batch = checks(30);
    const verdicts = await answered(Promise.all(batch.map((c) => v.check(c.data, c.key, c.signature))));
    assert.deepEqual(verdicts, batch.map((c) => c.want));
    // The thread hosting the checks still makes sends.
    const handler = t.wrap(registryOf(buildHttpHandlers({ allowPrivateEndpoints: true, httpTimeoutMs: 5000, signingSecret: () => 'whsec_' + randomBytes(24).toString('base64') })).get('CUSTOM_HTTPS')!);
    const result = await answered(handler.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/hook`), message('{"n":1}'))));
    assert.equal(result.ok, true);
    // A second turn of checks (the keys already sent) on the same channel.
    const more = checks(9, 30);
    assert.deepEqual(await answered(Promise.all(more.map((c) => v.check(c.data, c.key, c.signature)))), more.map((c) => c.want));
    assert.equal(workers.length, 1, 'the checks and the send should share the one delivery thread');
    assert.equal(opened, 1);
  });

  it('answers on the pool what a dead delivery thread had not, and the next checks start a new thread', async () => {
    const { verifier: v } = setUp();
    const first = checks(6);
    assert.deepEqual(await answered(Promise.all(first.map((c) => v.check(c.data, c.key, c.signature)))), first.map((c) => c.want));
    assert.equal(workers.length, 1);
    // Checks posted, then the thread dies before (or while) answering them: they are made on libuv's pool.
    const waiting = checks(12, 6);
    const pending = Promise.all(waiting.map((c) => v.check(c.data, c.key, c.signature)));
    await new Promise((resolve) => setImmediate(resolve));
    await workers[0]!.terminate();
    assert.deepEqual(await answered(pending), waiting.map((c) => c.want));
    // Later checks open a channel to a new delivery thread; the key is sent to it again.
    const later = checks(6, 18);
    assert.deepEqual(await answered(Promise.all(later.map((c) => v.check(c.data, c.key, c.signature)))), later.map((c) => c.want));
    assert.equal(workers.length, 2, 'a new delivery thread should host the later checks');
    assert.equal(opened, 2);
  });

  it('checks on the pool once the delivery threads are closed', async () => {
    const { threads: t, verifier: v } = setUp();
    const first = checks(3);
    assert.deepEqual(await answered(Promise.all(first.map((c) => v.check(c.data, c.key, c.signature)))), first.map((c) => c.want));
    await t.close();
    const after = checks(6, 3);
    assert.deepEqual(await answered(Promise.all(after.map((c) => v.check(c.data, c.key, c.signature)))), after.map((c) => c.want));
    assert.equal(workers.length, 1, 'closed delivery threads start no new thread');
  });
});
