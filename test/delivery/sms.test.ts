import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { HttpClient } from '../../src/delivery/http-client.js';
import { SMS_MAX, SmsHandler, smsText } from '../../src/delivery/protocols/sms.js';
import type { SendResult } from '../../src/delivery/protocol.js';
import { CONFIRM_URL, UNSUBSCRIBE_URL, captureServer, confirmationCtx, message, messageCtx, subscription } from './fixtures.js';
import type { CaptureServer, Captured, Reply } from './fixtures.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'token-123';
const FROM = '+15005550006';
const INVALID_TO = '+15005550001'; // Twilio's documented "invalid number" test number

/**
 * A local stand-in for api.twilio.com speaking the Messages API wire format: form-encoded
 * POST with Basic auth, 201 with the message resource (keys in alphabetical order, as
 * Twilio sends them), or an error object `{code, message, more_info, status}`.
 */
function twilioLike(req: Captured): Reply {
  const json = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (req.url !== `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`) return json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
  if (req.headers.authorization !== `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`) {
    return json(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
  }
  const form = new URLSearchParams(req.body);
  const to = form.get('To') ?? '';
  if (to === INVALID_TO) {
    return json(400, { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 });
  }
  const body = form.get('Body') ?? '';
  if (body.length > 1600) return json(400, { code: 21617, message: 'The concatenated message body exceeds the 1600 character limit.', status: 400 });
  return json(201, {
    account_sid: ACCOUNT,
    api_version: '2010-04-01',
    body,
    date_created: 'Thu, 24 Aug 2023 05:01:45 +0000',
    direction: 'outbound-api',
    error_code: null,
    from: form.get('From'),
    messaging_service_sid: form.get('MessagingServiceSid'),
    num_segments: '1',
    sid: 'SM0123456789abcdef0123456789abcdef',
    status: 'queued',
    to,
    uri: `/2010-04-01/Accounts/${ACCOUNT}/Messages/SM0123456789abcdef0123456789abcdef.json`,
  });
}

describe('SMS delivery (Twilio Messages API)', () => {
  let server: CaptureServer;
  let handler: SmsHandler;
  before(async () => {
    server = await captureServer(twilioLike);
    handler = new SmsHandler({
      client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }),
      config: { baseUrl: server.origin, accountSid: ACCOUNT, authToken: TOKEN, from: FROM },
    });
  });
  after(async () => {
    await handler.close();
    await server.close();
  });

  function form(): URLSearchParams {
    const req = server.requests.at(-1);
    assert.ok(req);
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    return new URLSearchParams(req.body);
  }

  function failure(result: SendResult): Extract<SendResult, { ok: false }> {
    assert.equal(result.ok, false);
    return result as Extract<SendResult, { ok: false }>;
  }

  it('posts To, From and Body with Basic auth and records the message sid', async () => {
    const result = await handler.send(messageCtx(subscription('SMS', '+14255550100'), message('CPU at 97%', { title: 'Alarm' })));
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.statusCode, 201);
    assert.equal(result.ok && result.reply, 'SM0123456789abcdef0123456789abcdef queued');
    const f = form();
    assert.equal(f.get('To'), '+14255550100');
    assert.equal(f.get('From'), FROM);
    assert.equal(f.get('Body'), `Alarm\nCPU at 97%\nUnsubscribe: ${UNSUBSCRIBE_URL}`);
  });

  it('finds the sid even when the echoed body pushes it far into the answer', async () => {
    const result = await handler.send(messageCtx(subscription('SMS', '+14255550100'), message('y'.repeat(3000))));
    assert.equal(result.ok && result.reply, 'SM0123456789abcdef0123456789abcdef queued');
    assert.equal(result.ok && result.responseExcerpt?.length, 512, 'the trace keeps only the usual excerpt');
    const body = form().get('Body') ?? '';
    assert.equal(body.length, SMS_MAX);
    assert.ok(body.endsWith('…'));
  });

  it('confirmation carries the link', async () => {
    const result = await handler.send(confirmationCtx(subscription('SMS', '+14255550100')));
    assert.equal(result.ok, true);
    assert.equal(form().get('Body'), `You have chosen to subscribe to the topic orders-events. To confirm the subscription, visit ${CONFIRM_URL}`);
  });

  it('a Twilio 400 is permanent and names Twilio\'s error', async () => {
    const r = failure(await handler.send(messageCtx(subscription('SMS', INVALID_TO), message('x'))));
    assert.equal(r.retryable, false);
    assert.equal(r.statusCode, 400);
    assert.equal(r.error, `HTTP 400 Bad Request: Twilio 21211: The 'To' number ${INVALID_TO} is not a valid phone number.`);
  });

  it('uses MessagingServiceSid for an MG sender', async () => {
    const viaService = new SmsHandler({
      client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }),
      config: { baseUrl: server.origin, accountSid: ACCOUNT, authToken: TOKEN, from: 'MG0123456789abcdef0123456789abcdef' },
    });
    try {
      assert.equal((await viaService.send(messageCtx(subscription('SMS', '+14255550100'), message('x')))).ok, true);
      assert.equal(form().get('MessagingServiceSid'), 'MG0123456789abcdef0123456789abcdef');
      assert.equal(form().get('From'), null);
    } finally {
      await viaService.close();
    }
  });

  it('refuses a non-E.164 number and an unconfigured SMS provider, permanently and without a request', async () => {
    const before = server.requests.length;
    const bad = failure(await handler.send(messageCtx(subscription('SMS', '4255550100'), message('x'))));
    assert.equal(bad.retryable, false);
    assert.match(bad.error, /E\.164/);
    const unconfigured = new SmsHandler({ client: new HttpClient({ allowPrivate: false, timeoutMs: 2000 }), config: undefined });
    const r = failure(await unconfigured.send(messageCtx(subscription('SMS', '+14255550100'), message('x'))));
    assert.equal(r.retryable, false);
    assert.match(r.error, /SMS is not configured/);
    await unconfigured.close();
    assert.equal(server.requests.length, before);
  });
});

describe('smsText', () => {
  it('adds the unsubscribe line only when it fits', () => {
    assert.equal(smsText(null, 'hi', 'http://u'), 'hi\nUnsubscribe: http://u');
    const long = 'z'.repeat(SMS_MAX - 5);
    assert.equal(smsText(null, long, 'http://u'), long);
    const tooLong = smsText('T', 'z'.repeat(5000), 'http://u');
    assert.equal(tooLong.length, SMS_MAX);
    assert.ok(tooLong.startsWith('T\nzz') && tooLong.endsWith('z…'));
  });

  it('never splits a surrogate pair when cutting', () => {
    const text = smsText(null, '😀'.repeat(1000), 'http://u');
    assert.ok(text.length <= SMS_MAX);
    assert.doesNotMatch(text, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
