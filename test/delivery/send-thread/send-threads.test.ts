import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import { after, afterEach, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SubscriptionLinks } from '../../../src/core/links.js';
import type { Subscription } from '../../../src/core/models.js';
import { PER_ENDPOINT } from '../../../src/delivery/concurrency.js';
import type { ProtocolHandler, SendResult } from '../../../src/delivery/protocol.js';
import { buildHttpHandlers, registryOf } from '../../../src/delivery/protocols/http-handlers.js';
import { SendThreads, spawnSendThread, type SendThreadConfig } from '../../../src/delivery/send-thread/send-threads.js';
import type { ToThread } from '../../../src/delivery/send-thread/wire.js';
import { captureServer, message, messageCtx, subscription, type CaptureServer, type Captured } from '../fixtures.js';

const linkSecret = randomBytes(32).toString('base64');
const links = new SubscriptionLinks(Buffer.from(linkSecret, 'base64'), () => 'http://herald.test');
const config: SendThreadConfig = { allowPrivateEndpoints: true, httpTimeoutMs: 5000, sms: undefined, linkSecret };

/** The handlers as the main thread builds them, for the same subscriptions. */
function localRegistry(allowPrivate = true): Map<string, ProtocolHandler> {
  return registryOf(buildHttpHandlers({ allowPrivateEndpoints: allowPrivate, httpTimeoutMs: 5000, signingSecret: (sub) => links.signingSecret(sub.id) }));
}

/** A timed-out attempt's signal, as AttemptDeadlines aborts it. */
function timingOut(ms: number): AbortSignal {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new DOMException(`The attempt ran out of its ${ms} ms.`, 'TimeoutError')), ms);
  return ac.signal;
}

describe('delivery threads', () => {
  let server: CaptureServer;
  let threads: SendThreads | undefined;
  const workers: Worker[] = [];
  /** Spawns real delivery threads and keeps their workers within the test's reach. */
  const spawn = (c: SendThreadConfig): Worker => {
    const w = spawnSendThread(c);
    workers.push(w);
    return w;
  };

  before(async () => {
    server = await captureServer();
  });
  afterEach(async () => {
    await threads?.close();
    threads = undefined;
    workers.length = 0;
    server.respond = () => ({ status: 200, body: 'ok' });
  });
  after(async () => {
    await server.close();
  });

  it('posts a webhook from the thread with the body, headers and signature the main thread would send', async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const local = localRegistry().get('CUSTOM_HTTPS')!;
    const threaded = threads.wrap(local);
    const sub = subscription('CUSTOM_HTTPS', `${server.origin}/hook`, { id: `ocid1.onssubscription.oc1.iad.${randomBytes(8).toString('hex')}` });
    const msg = message('{"order":42,"note":"naïve ✓"}');

    const viaThread = await threaded.send(messageCtx(sub, msg));
    const viaMain = await local.send(messageCtx(sub, msg));

    assert.equal(workers.length, 1, 'the send did not start a delivery thread');
    assert.deepEqual(viaThread, { ok: true, statusCode: 200, responseExcerpt: 'ok' });
    assert.deepEqual(viaThread, viaMain);
    const [a, b] = server.requests.slice(-2) as [Captured, Captured];
    assert.equal(a.body, msg.body);
    assert.equal(a.body, b.body);
    const same = (h: Captured['headers']): Record<string, unknown> =>
      Object.fromEntries(Object.entries(h).filter(([k]) => (k.startsWith('x-oci-ns-') && k !== 'x-oci-ns-timestamp') || k === 'content-type' || k === 'webhook-id'));
    // The same headers but the send's own time.
    assert.deepEqual(same(a.headers), same(b.headers));
    assert.match(String(a.headers['x-oci-ns-timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    // Signed with the subscription's own secret, derived on the thread from the link secret.
    const headers = Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(new Webhook(links.signingSecret(sub.id)).verify(a.body, headers), JSON.parse(msg.body));
  });

  it('answers each send of a fan-out with its own result, one endpoint on one of two threads', async () => {
    threads = new SendThreads(config, { threads: 2, spawn });
    const local = localRegistry().get('CUSTOM_HTTPS')!;
    const threaded = threads.wrap(local);
    server.respond = (req) => (req.url.endsWith('/bad') ? { status: 400, body: 'no' } : { status: 200, body: req.url });
    const msg = message('fan-out');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/${i % 5 === 0 ? 'bad' : `ok${i}`}`), msg, { deliveryId: i }))),
    );
    results.forEach((r, i) => {
      if (i % 5 === 0) assert.equal(r.ok === false && r.retryable === false && r.statusCode === 400, true, `send ${i}: ${JSON.stringify(r)}`);
      else assert.deepEqual(r, { ok: true, statusCode: 200, responseExcerpt: `/ok${i}` });
    });
    // Every endpoint of one origin shares a thread (and its keep-alive pool); the other thread never started.
    assert.equal(workers.length, 1);
  });

  it('posts the sends made together to the thread in one message before the event loop turns again', async () => {
    const batches: number[] = [];
    threads = new SendThreads(config, {
      threads: 1,
      spawn: (c) => {
        const w = spawn(c);
        const post = w.postMessage.bind(w);
        w.postMessage = (m: ToThread, transfer?: Parameters<Worker['postMessage']>[1]) => {
          if (m.type === 'batch') batches.push(m.batch.sends.length);
          post(m, transfer);
        };
        return w;
      },
    });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    // The thread is running before the fan-out, as it is once Herald has delivered anything.
    await threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/warm`), message('warm')));
    batches.length = 0;

    // What had been posted by the time the loop turned again (the check phase after this task: a publish group
    // commits in one, so a post left for the next check phase waited for the whole of the next turn).
    let postedByNextTurn: number[] | undefined;
    setImmediate(() => (postedByNextTurn = [...batches]));
    const msg = message('ten subscriptions');
    const sends = Array.from({ length: 10 }, (_, i) => threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/s${i}`), msg, { deliveryId: i })));
    const results = await Promise.all(sends);

    assert.deepEqual(postedByNextTurn, [10]);
    assert.deepEqual(batches, [10]);
    results.forEach((r, i) => assert.deepEqual(r, { ok: true, statusCode: 200, responseExcerpt: 'ok' }, `send ${i}`));
  });

  it('ends an attempt that runs out of time the same way on the thread as on the main thread', async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const local = localRegistry().get('CUSTOM_HTTPS')!;
    const threaded = threads.wrap(local);
    server.respond = () => undefined; // never answers
    const sub = subscription('CUSTOM_HTTPS', `${server.origin}/slow`);
    const [viaThread, viaMain] = await Promise.all([
      threaded.send(messageCtx(sub, message('x'), { signal: timingOut(150) })),
      local.send(messageCtx(sub, message('x'), { signal: timingOut(150) })),
    ]);
    assert.equal(viaThread.ok, false);
    assert.deepEqual(viaThread, viaMain);
  });

  it('passes one abort of a shared signal on to every send made under it, with one listener for them all', async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    let arrived = 0;
    server.respond = (req) => {
      if (!req.url.startsWith('/shared')) return { status: 200, body: 'ok' };
      arrived++;
      return undefined; // never answers: only the abort ends these sends
    };
    // AttemptDeadlines gives the attempts of one deadline slot one signal.
    const ac = new AbortController();
    const sends = Array.from({ length: 5 }, (_, i) => threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/shared${i}`), message('x'), { deliveryId: i, signal: ac.signal })));
    // Another slot's attempt on the same thread: the first slot's abort must leave it running.
    const other = new AbortController();
    let otherDone = false;
    const otherSend = threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/shared-other`), message('x'), { deliveryId: 6, signal: other.signal })).finally(() => (otherDone = true));
    const listeners = getEventListeners(ac.signal, 'abort').length;
    await waitFor(() => arrived === 6).catch((e: unknown) => {
      ac.abort(new Error('test gave up'));
      other.abort(new Error('test gave up'));
      throw e;
    });
    ac.abort(new DOMException('The attempt ran out of its 100 ms.', 'TimeoutError'));
    const results = await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(otherDone, false, "one slot's abort ended another slot's send");
    other.abort(new DOMException('The attempt ran out of its 200 ms.', 'TimeoutError'));
    const otherResult = await otherSend;
    assert.equal(otherResult.ok === false && /200 ms|time/i.test(otherResult.error), true, JSON.stringify(otherResult));
    assert.equal(listeners, 1, 'one abort listener per send instead of one for the signal');
    for (const r of results) assert.equal(r.ok === false && r.retryable === true && /100 ms|time/i.test(r.error), true, JSON.stringify(r));
    // A send under a signal that has aborted already is refused without reaching the thread.
    await assert.rejects(threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/shared9`), message('x'), { signal: ac.signal })), /ran out/);
    assert.equal(arrived, 6);
  });

  it("keeps an endpoint's limit on the thread: the sends past it wait there and start as places free, timed from then", async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    assert.equal(threaded.limitsEndpoints, true, 'the engine would hold these sends back itself');
    const held: ServerResponse[] = [];
    server.respond = (_req, res) => {
      held.push(res);
      return undefined;
    };
    const sends = Array.from({ length: PER_ENDPOINT + 6 }, (_, i) => threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/q${i}`), message('x'), { deliveryId: i })));
    await waitFor(() => held.length === PER_ENDPOINT);
    // Without the limit the other six would be on their way with the first ones.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(held.length, PER_ENDPOINT, 'more sends of one endpoint at once than its limit');
    const releasedAt = Date.now();
    // Each answer frees a place for one waiting send, without the main thread.
    for (let i = 0; i < 6; i++) {
      held[i]!.end('ok');
      await waitFor(() => held.length === PER_ENDPOINT + i + 1);
    }
    for (const res of held.slice(6)) res.end('ok');
    const results = await Promise.all(sends);
    for (const r of results) assert.equal(r.ok, true, JSON.stringify(r));
    // The first ones started at once; the six that waited say when their requests started.
    assert.equal(results.slice(0, PER_ENDPOINT).every((r) => r.startedAt === undefined), true);
    for (const r of results.slice(PER_ENDPOINT)) assert.equal(typeof r.startedAt === 'number' && r.startedAt >= releasedAt, true, JSON.stringify(r));
  });

  it('answers a send stopped while it waited for its endpoint as not sent, and never makes its request', async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    const held: ServerResponse[] = [];
    server.respond = (_req, res) => {
      held.push(res);
      return undefined;
    };
    const sub = (i: number): Subscription => subscription('CUSTOM_HTTPS', `${server.origin}/w${i}`);
    const running = Array.from({ length: PER_ENDPOINT }, (_, i) => threaded.send(messageCtx(sub(i), message('x'), { deliveryId: i })));
    await waitFor(() => held.length === PER_ENDPOINT);
    const stop = new AbortController();
    const waiting = Array.from({ length: 3 }, (_, i) => threaded.send(messageCtx(sub(100 + i), message('x'), { deliveryId: 100 + i, signal: stop.signal })));
    // The thread has them (it answers in its turn after the batch), then the attempts are stopped (shutdown).
    await new Promise((r) => setTimeout(r, 100));
    stop.abort(new DOMException('Herald is stopping.', 'AbortError'));
    const stopped = await Promise.all(waiting);
    for (const r of stopped) assert.equal(r.ok === false && r.notSent === true && r.retryable, true, JSON.stringify(r));
    for (const res of held) res.end('ok');
    for (const r of await Promise.all(running)) assert.equal(r.ok, true);
    // Their places went to nobody: the stopped sends never reached the receiver.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(held.length, PER_ENDPOINT);
    assert.deepEqual(server.requests.filter((c) => ['/w100', '/w101', '/w102'].includes(c.url)), []);
  });

  it('refuses a private endpoint on the thread unless private endpoints are allowed', async () => {
    threads = new SendThreads({ ...config, allowPrivateEndpoints: false }, { threads: 1, spawn });
    const local = localRegistry(false).get('CUSTOM_HTTPS')!;
    const threaded = threads.wrap(local);
    const before = server.requests.length;
    const sub = subscription('CUSTOM_HTTPS', `${server.origin}/internal`);
    const viaThread: SendResult = await threaded.send(messageCtx(sub, message('x'))).catch((e: Error) => ({ ok: false, retryable: true, error: e.message }));
    const viaMain: SendResult = await local.send(messageCtx(sub, message('x'))).catch((e: Error) => ({ ok: false, retryable: true, error: e.message }));
    assert.equal(viaThread.ok, false);
    assert.deepEqual(viaThread, viaMain);
    assert.equal(server.requests.length, before, 'the private receiver was reached');
  });

  it('fails the sends a thread had not answered when it dies, and starts a new thread for the next', async () => {
    const errors: unknown[] = [];
    threads = new SendThreads(config, { threads: 1, spawn, onThreadError: (e) => errors.push(e) });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    let held = 0;
    server.respond = (req) => {
      if (!req.url.endsWith('/hold')) return { status: 200, body: 'ok' };
      held++;
      return undefined;
    };
    const pending = threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/hold`), message('x')));
    await waitFor(() => held === 1);
    await workers[0]!.terminate();
    await assert.rejects(pending, /The delivery thread stopped \(exit code 1\) before the send finished/);

    const next = await threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/after`), message('y')));
    assert.deepEqual(next, { ok: true, statusCode: 200, responseExcerpt: 'ok' });
    assert.equal(workers.length, 2, 'no new thread took the next send');
  });

  it('does not wait on a thread that never answers an abort', async () => {
    // A worker that takes every batch and answers nothing: the attempt must still end.
    const mute = (): Worker => {
      const w = new Worker(`require('node:worker_threads').parentPort.on('message', () => {});`, { eval: true });
      workers.push(w);
      return w;
    };
    threads = new SendThreads(config, { threads: 1, spawn: mute, abortGraceMs: 100 });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    await assert.rejects(threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/x`), message('x'), { signal: timingOut(50) })), /did not answer within 100 ms of the abort/);
    // It would not close either (close() ends it after 5 s): end it now.
    await workers[0]!.terminate();
  });

  it('closes: its threads end and later sends are refused', async () => {
    threads = new SendThreads(config, { threads: 1, spawn });
    const threaded = threads.wrap(localRegistry().get('CUSTOM_HTTPS')!);
    await threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/a`), message('x')));
    const exited = new Promise<number>((resolve) => workers[0]!.once('exit', resolve));
    await threaded.close();
    assert.equal(await exited, 0);
    await assert.rejects(threaded.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/b`), message('x'))), /closed/);
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
