import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { HttpClient } from '../../src/delivery/http-client.js';
import { CustomHttpsHandler, confirmationWebhookId } from '../../src/delivery/protocols/custom-https.js';
import type { SendResult } from '../../src/delivery/protocol.js';
import { CONFIRM_URL, SECRET, SUB_ID, TOPIC_ID, UNSUBSCRIBE_URL, captureServer, confirmationCtx, message, messageCtx, subscription } from './fixtures.js';
import type { CaptureServer, Captured } from './fixtures.js';

/** What a receiver does: verify with the reference standardwebhooks library, on the exact bytes. */
function verify(req: Captured, jsonParse = true): unknown {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  return new Webhook(SECRET).verify(req.body, headers, { jsonParse });
}

describe('CUSTOM_HTTPS / HTTPS delivery', () => {
  let server: CaptureServer;
  let clock = Date.now();
  let handler: CustomHttpsHandler;
  const secrets: string[] = [];

  before(async () => {
    server = await captureServer();
    handler = new CustomHttpsHandler({
      client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }),
      signingSecret: (sub) => {
        secrets.push(sub.id);
        return SECRET;
      },
      now: () => clock,
    });
  });
  after(async () => {
    await handler.close();
    await server.close();
  });

  function last(): Captured {
    const req = server.requests.at(-1);
    assert.ok(req, 'the receiver got no request');
    return req;
  }

  it('serves both protocol names', () => {
    assert.deepEqual(handler.protocols, ['CUSTOM_HTTPS', 'HTTPS']);
  });

  it('POSTs the raw JSON body with every X-OCI-NS-* header and a verifiable Standard Webhooks signature', async () => {
    server.respond = () => ({ status: 200, body: 'thanks' });
    // Real time, so the library's ±5 min tolerance accepts it; fixed, so the headers can be compared exactly.
    clock = Date.now();
    const body = '{"alarm":"cpu","value":97.5,"note":"naïve ✓"}';
    const sub = subscription('CUSTOM_HTTPS', `${server.origin}/hook`);
    const result = await handler.send(messageCtx(sub, message(body, { title: 'ignored for HTTP' })));

    assert.deepEqual(result, { ok: true, statusCode: 200, responseExcerpt: 'thanks' });
    const req = last();
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/hook');
    assert.equal(req.body, body, 'exact bytes');
    assert.equal(req.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(req.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(req.headers['x-oci-ns-messageid'], '6f1c2b1e-9a51-4c47-9d2a-0c9b3a3b1f00');
    assert.equal(req.headers['x-oci-ns-topicocid'], TOPIC_ID);
    assert.equal(req.headers['x-oci-ns-topicname'], 'orders-events');
    assert.equal(req.headers['x-oci-ns-messagetype'], 'Notification');
    assert.equal(req.headers['x-oci-ns-unsubscribeurl'], UNSUBSCRIBE_URL);
    assert.equal(req.headers['x-oci-ns-timestamp'], new Date(clock).toISOString().replace('Z', '+0000'));
    assert.match(String(req.headers['x-oci-ns-timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.equal(req.headers['webhook-id'], '6f1c2b1e-9a51-4c47-9d2a-0c9b3a3b1f00');
    assert.equal(req.headers['webhook-timestamp'], String(Math.floor(clock / 1000)));
    assert.match(String(req.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(verify(req), JSON.parse(body));
    assert.equal(secrets.at(-1), SUB_ID);
  });

  it('sends plain text as text/plain, keeps webhook-id across retries and re-signs each attempt', async () => {
    server.respond = () => ({ status: 204 });
    const sub = subscription('HTTPS', `${server.origin}/plain`);
    const msg = message('Disk almost full on host-7');
    clock = Date.now();
    await handler.send(messageCtx(sub, msg));
    const first = last();
    clock += 3000;
    await handler.send(messageCtx(sub, msg, { attemptNo: 2 }));
    const second = last();

    assert.equal(first.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(first.body, 'Disk almost full on host-7');
    assert.equal(first.headers['webhook-id'], second.headers['webhook-id']);
    assert.equal(Number(second.headers['webhook-timestamp']) - Number(first.headers['webhook-timestamp']), 3);
    assert.notEqual(first.headers['webhook-signature'], second.headers['webhook-signature']);
    for (const req of [first, second]) assert.doesNotThrow(() => verify(req, false));
    assert.throws(() => verify({ ...second, body: `${second.body} ` }, false), /signature/i, 'a changed byte must fail verification');
  });

  it("one message's sends to several subscriptions carry its exact bytes, each signed with its own subscription's secret", async () => {
    server.respond = () => ({ status: 200 });
    const secretOf = new Map(['a', 'b', 'c'].map((k) => [`${SUB_ID}${k}`, `whsec_${Buffer.from(k.repeat(32)).toString('base64')}`]));
    const own = new CustomHttpsHandler({ client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }), signingSecret: (sub) => secretOf.get(sub.id)! });
    try {
      const body = '{"order":42,"note":"naïve ✓ – €"}';
      const msg = message(body);
      for (const id of secretOf.keys()) await own.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/${id.slice(-1)}`, { id }), msg));
      const got = server.requests.slice(-3);
      assert.deepEqual(got.map((r) => r.url), ['/a', '/b', '/c']);
      for (const [i, secret] of [...secretOf.values()].entries()) {
        const req = got[i]!;
        assert.equal(req.body, body);
        assert.equal(req.headers['content-length'], String(Buffer.byteLength(body)));
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        assert.deepEqual(new Webhook(secret).verify(req.body, headers), JSON.parse(body));
        // Signed with this subscription's secret, not another's.
        const other = [...secretOf.values()][(i + 1) % 3]!;
        assert.throws(() => new Webhook(other).verify(req.body, headers), /signature/i);
      }
    } finally {
      await own.close();
    }
  });

  it('delivers the protocol variant of a messageType JSON body', async () => {
    server.respond = () => ({ status: 200 });
    const body = JSON.stringify({ default: 'plain default', HTTPS: '{"for":"https"}', Email: 'mail only' });
    await handler.send(messageCtx(subscription('HTTPS', server.origin), message(body, { messageType: 'JSON' })));
    assert.equal(last().body, '{"for":"https"}');
    assert.equal(last().headers['content-type'], 'application/json; charset=utf-8');
    await handler.send(messageCtx(subscription('CUSTOM_HTTPS', server.origin), message(JSON.stringify({ default: 'plain default' }), { messageType: 'JSON' })));
    assert.equal(last().body, 'plain default');
  });

  it('POSTs the subscription confirmation with its headers and JSON body', async () => {
    server.respond = () => ({ status: 200 });
    clock = Date.now();
    const sub = subscription('CUSTOM_HTTPS', `${server.origin}/confirm-me`);
    const result = await handler.send(confirmationCtx(sub));
    assert.equal(result.ok, true);
    const req = last();
    const payload = JSON.parse(req.body) as Record<string, string>;
    assert.deepEqual(Object.keys(payload), ['ConfirmationURL', 'SubscriptionId', 'TopicId', 'TopicName', 'Message', 'Type']);
    assert.equal(payload.ConfirmationURL, CONFIRM_URL);
    assert.equal(payload.SubscriptionId, SUB_ID);
    assert.equal(payload.TopicId, TOPIC_ID);
    assert.equal(payload.TopicName, 'orders-events');
    assert.equal(payload.Type, 'SubscriptionConfirmation');
    assert.match(payload.Message ?? '', /You have chosen to subscribe to the topic orders-events.*To confirm the subscription, visit the ConfirmationURL/);
    assert.equal(req.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(req.headers['x-oci-ns-confirmationurl'], CONFIRM_URL);
    assert.equal(req.headers['x-oci-ns-subscriptionid'], SUB_ID);
    assert.equal(req.headers['x-oci-ns-messagetype'], 'SubscriptionConfirmation');
    assert.equal(req.headers['x-oci-ns-state'], 'Pending');
    assert.equal(req.headers['x-oci-ns-topicocid'], TOPIC_ID);
    assert.equal(req.headers['x-oci-ns-unsubscribeurl'], UNSUBSCRIBE_URL);
    assert.equal(req.headers['webhook-id'], confirmationWebhookId(sub));
    assert.equal(req.headers['webhook-id'], `confirm-${SUB_ID.replaceAll('.', '_')}-3`);
    assert.deepEqual(verify(req), payload);
  });

  it('sends Basic auth from the endpoint user-info and strips it from the URL', async () => {
    server.respond = () => ({ status: 200 });
    await handler.send(messageCtx(subscription('CUSTOM_HTTPS', `http://svc:pa%3Ass@127.0.0.1:${server.port}/in?tenant=7`), message('x')));
    assert.equal(last().url, '/in?tenant=7');
    assert.equal(last().headers.authorization, `Basic ${Buffer.from('svc:pa:ss').toString('base64')}`);
  });

  function failure(result: SendResult): Extract<SendResult, { ok: false }> {
    assert.equal(result.ok, false);
    return result as Extract<SendResult, { ok: false }>;
  }

  it('500 is retried, 400 is dead-lettered, 429 carries Retry-After', async () => {
    const sub = subscription('CUSTOM_HTTPS', server.origin);
    server.respond = () => ({ status: 500, body: 'boom' });
    const e500 = failure(await handler.send(messageCtx(sub, message('x'))));
    assert.deepEqual([e500.retryable, e500.statusCode, e500.responseExcerpt, e500.error], [true, 500, 'boom', 'HTTP 500 Internal Server Error']);

    server.respond = () => ({ status: 400, body: '{"error":"bad"}' });
    const e400 = failure(await handler.send(messageCtx(sub, message('x'))));
    assert.deepEqual([e400.retryable, e400.statusCode], [false, 400]);

    server.respond = () => ({ status: 429, headers: { 'Retry-After': '12' } });
    const e429 = failure(await handler.send(messageCtx(sub, message('x'))));
    assert.deepEqual([e429.retryable, e429.retryAfterMs], [true, 12_000]);

    server.respond = () => ({ status: 302, headers: { Location: 'http://169.254.169.254/' } });
    const e302 = failure(await handler.send(messageCtx(sub, message('x'))));
    assert.equal(e302.retryable, true);
    assert.equal(server.requests.at(-1)?.url, '/', 'the redirect was not followed');
  });

  it('a receiver that never answers times out, retryably', async () => {
    server.respond = () => undefined;
    const quick = new CustomHttpsHandler({ client: new HttpClient({ allowPrivate: true, timeoutMs: 200 }), signingSecret: () => SECRET });
    try {
      const r = failure(await quick.send(messageCtx(subscription('CUSTOM_HTTPS', server.origin), message('x'))));
      assert.equal(r.retryable, true);
      // Only the client's own 200 ms timer words the error so; the server never answers.
      assert.match(r.error, /ETIMEDOUT: No answer within 200 ms/);
    } finally {
      await quick.close();
    }
  });

  it('refuses a loopback endpoint when private endpoints are not allowed, without retrying', async () => {
    const guarded = new CustomHttpsHandler({ client: new HttpClient({ allowPrivate: false, timeoutMs: 2000 }), signingSecret: () => SECRET });
    const before = server.requests.length;
    try {
      for (const endpoint of [`${server.origin}/x`, `http://localhost:${server.port}/x`]) {
        const r = failure(await guarded.send(messageCtx(subscription('CUSTOM_HTTPS', endpoint), message('x'))));
        assert.equal(r.retryable, false);
        assert.match(r.error, /Refusing to connect/);
      }
      assert.equal(server.requests.length, before);
    } finally {
      await guarded.close();
    }
  });

  it('a closed port is a retryable network error', async () => {
    const dead = await captureServer();
    const origin = dead.origin;
    await dead.close();
    const r = failure(await handler.send(messageCtx(subscription('CUSTOM_HTTPS', origin), message('x'))));
    assert.equal(r.retryable, true);
    assert.match(r.error, /ECONNREFUSED/);
  });
});
