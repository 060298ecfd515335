import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { HttpClient } from '../../src/delivery/http-client.js';
import { PAGERDUTY_CONFIRMATION_SUMMARY, PagerDutyHandler, pagerDutyTarget } from '../../src/delivery/protocols/pagerduty.js';
import type { SendResult } from '../../src/delivery/protocol.js';
import { CONFIRM_URL, SUB_ID, TOPIC_ID, UNSUBSCRIBE_URL, captureServer, confirmationCtx, message, messageCtx, subscription } from './fixtures.js';
import type { CaptureServer, Captured, Reply } from './fixtures.js';

const KEY = 'R0123456789abcdef0123456789abcde'; // 32 characters, like a real integration key
const THROTTLED_KEY = 'T0123456789abcdef0123456789abcde';

/**
 * A local stand-in for events.pagerduty.com speaking the Events API v2 wire format:
 * POST /v2/enqueue, 202 {"status":"success","message":"Event processed","dedup_key":…},
 * 400 {"status":"invalid event","message":"Event object is invalid","errors":[…]}, 429 when throttled.
 */
function pagerDutyLike(req: Captured): Reply {
  if (req.method !== 'POST' || req.url !== '/v2/enqueue') return { status: 404, body: '{"status":"not found"}' };
  const event = JSON.parse(req.body) as { routing_key?: string; event_action?: string; dedup_key?: string; payload?: { summary?: string; source?: string; severity?: string } };
  const errors: string[] = [];
  if (event.routing_key?.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  if (event.event_action !== 'trigger') errors.push("'event_action' is invalid");
  const summary = event.payload?.summary ?? '';
  if (summary === '' || summary.length > 1024) errors.push("'payload.summary' is missing or too long");
  if (!event.payload?.source) errors.push("'payload.source' is missing");
  if (!['critical', 'error', 'warning', 'info'].includes(event.payload?.severity ?? '')) errors.push("'payload.severity' is invalid");
  if (errors.length > 0) return { status: 400, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }) };
  if (event.routing_key === THROTTLED_KEY) return { status: 429, headers: { 'Retry-After': '5' }, body: '' };
  return { status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: event.dedup_key }) };
}

describe('PAGERDUTY delivery', () => {
  let server: CaptureServer;
  let handler: PagerDutyHandler;
  before(async () => {
    server = await captureServer(pagerDutyLike);
    handler = new PagerDutyHandler({ client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }) });
  });
  after(async () => {
    await handler.close();
    await server.close();
  });

  function event(): Record<string, unknown> & { payload: Record<string, unknown> } {
    const req = server.requests.at(-1);
    assert.ok(req);
    assert.equal(req.url, '/v2/enqueue');
    assert.equal(req.headers['content-type'], 'application/json');
    return JSON.parse(req.body) as Record<string, unknown> & { payload: Record<string, unknown> };
  }

  it('maps the integration URL to Events v2 on the same origin', () => {
    assert.deepEqual(pagerDutyTarget(`https://events.pagerduty.com/integration/${KEY}/enqueue`), {
      url: new URL('https://events.pagerduty.com/v2/enqueue'),
      routingKey: KEY,
    });
    assert.equal(pagerDutyTarget(`http://127.0.0.1:9/keys/${KEY}/`)?.routingKey, KEY, 'falls back to the last segment');
    assert.equal(pagerDutyTarget('http://127.0.0.1:9/'), null);
    assert.equal(pagerDutyTarget('not a url'), null);
  });

  it('triggers an event with the title as summary, the message id as dedup_key and the details', async () => {
    const sub = subscription('PAGERDUTY', `${server.origin}/integration/${KEY}/enqueue`);
    const msg = message('Disk /var at 98%', { title: 'Disk almost full' });
    const result = await handler.send(messageCtx(sub, msg));
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.statusCode, 202);
    assert.equal(result.ok && result.reply, `success; Event processed; dedup_key ${msg.id}`);
    const e = event();
    assert.equal(e.routing_key, KEY);
    assert.equal(e.event_action, 'trigger');
    assert.equal(e.dedup_key, msg.id);
    assert.equal(e.payload.summary, 'Disk almost full');
    assert.equal(e.payload.source, 'herald:orders-events');
    assert.equal(e.payload.severity, 'info');
    assert.equal(e.payload.timestamp, new Date(msg.publishedAt).toISOString());
    assert.deepEqual(e.payload.custom_details, { body: 'Disk /var at 98%', topicId: TOPIC_ID, topicName: 'orders-events', messageId: msg.id, unsubscribeUrl: UNSUBSCRIBE_URL });
    assert.deepEqual(e.links, [{ href: UNSUBSCRIBE_URL, text: 'Unsubscribe' }]);
  });

  it('without a title the summary is the body, cut to PagerDuty\'s 1024 characters', async () => {
    const body = 'x'.repeat(5000);
    const result = await handler.send(messageCtx(subscription('PAGERDUTY', `${server.origin}/integration/${KEY}/enqueue`), message(body)));
    assert.equal(result.ok, true);
    const summary = event().payload.summary as string;
    assert.equal(summary.length, 1024);
    assert.ok(summary.startsWith('xxx') && summary.endsWith('…'));
  });

  it('confirmation is an incident titled like OCI\'s, with the URL in details and links', async () => {
    const result = await handler.send(confirmationCtx(subscription('PAGERDUTY', `${server.origin}/integration/${KEY}/enqueue`)));
    assert.equal(result.ok, true);
    const e = event();
    assert.equal(e.payload.summary, PAGERDUTY_CONFIRMATION_SUMMARY);
    assert.equal(e.payload.summary, 'Oracle Notification Service Subscription Confirmation');
    assert.equal(e.dedup_key, `confirm-${SUB_ID}-3`);
    assert.equal((e.payload.custom_details as Record<string, string>).ConfirmationURL, CONFIRM_URL);
    assert.deepEqual(e.links, [{ href: CONFIRM_URL, text: 'Confirm subscription' }]);
  });

  function failure(result: SendResult): Extract<SendResult, { ok: false }> {
    assert.equal(result.ok, false);
    return result as Extract<SendResult, { ok: false }>;
  }

  it('400 invalid event is permanent and explains itself; 429 is retried', async () => {
    const bad = failure(await handler.send(messageCtx(subscription('PAGERDUTY', `${server.origin}/integration/short/enqueue`), message('x'))));
    assert.equal(bad.retryable, false);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.error, "HTTP 400 Bad Request: Event object is invalid (Length of 'routing_key' is incorrect (should be 32 characters))");
    const busy = failure(await handler.send(messageCtx(subscription('PAGERDUTY', `${server.origin}/integration/${THROTTLED_KEY}/enqueue`), message('x'))));
    assert.deepEqual([busy.retryable, busy.retryAfterMs], [true, 5000]);
  });

  it('an endpoint without a key fails permanently without a request', async () => {
    const before = server.requests.length;
    const r = failure(await handler.send(messageCtx(subscription('PAGERDUTY', `${server.origin}/`), message('x'))));
    assert.equal(r.retryable, false);
    assert.equal(server.requests.length, before);
  });
});
