import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { HttpClient } from '../../src/delivery/http-client.js';
import { SlackHandler, escapeMrkdwn } from '../../src/delivery/protocols/slack.js';
import type { SendResult } from '../../src/delivery/protocol.js';
import { CONFIRM_URL, UNSUBSCRIBE_URL, captureServer, confirmationCtx, message, messageCtx, subscription } from './fixtures.js';
import type { CaptureServer, Captured, Reply } from './fixtures.js';

interface Block {
  type: string;
  text?: { type: string; text: string };
  elements?: Array<{ type: string; text: string }>;
}

/**
 * A local stand-in for https://hooks.slack.com/services/..., answering in Slack's
 * documented incoming-webhook wire format: `200 ok` as text/plain, or a 4xx/5xx with a
 * bare error code in the body. It also enforces the Block Kit limits Slack enforces.
 */
function slackLike(req: Captured): Reply {
  if (req.url.endsWith('/gone')) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no_service' };
  if (req.url.endsWith('/archived')) return { status: 410, body: 'channel_is_archived' };
  if (req.url.endsWith('/busy')) return { status: 429, headers: { 'Retry-After': '30' }, body: 'rate_limited' };
  if (req.url.endsWith('/broken')) return { status: 500, body: 'rollup_error' };
  if (!String(req.headers['content-type']).startsWith('application/json')) return { status: 400, body: 'invalid_payload' };
  const payload = JSON.parse(req.body) as { text?: string; blocks?: Block[] };
  if (typeof payload.text !== 'string' || payload.text === '') return { status: 400, body: 'no_text' };
  const blocks = payload.blocks ?? [];
  if (blocks.length > 50 || blocks.some((b) => b.type === 'section' && (b.text?.text.length ?? 0) > 3000)) return { status: 400, body: 'invalid_blocks' };
  return { status: 200, headers: { 'content-type': 'text/html' }, body: 'ok' };
}

describe('SLACK delivery', () => {
  let server: CaptureServer;
  let handler: SlackHandler;
  before(async () => {
    server = await captureServer(slackLike);
    handler = new SlackHandler({ client: new HttpClient({ allowPrivate: true, timeoutMs: 2000 }) });
  });
  after(async () => {
    await handler.close();
    await server.close();
  });

  function payload(): { text: string; blocks: Block[] } {
    const req = server.requests.at(-1);
    assert.ok(req);
    return JSON.parse(req.body) as { text: string; blocks: Block[] };
  }

  it('posts text plus blocks: the title as a header, the body as mrkdwn, the unsubscribe link as context', async () => {
    const sub = subscription('SLACK', `${server.origin}/services/T000/B000/XXXX`);
    const result = await handler.send(messageCtx(sub, message('CPU at 97% on <host-7> & rising', { title: 'Alarm: CPU' })));
    assert.deepEqual(result, { ok: true, statusCode: 200, responseExcerpt: 'ok', reply: 'ok' });
    assert.equal(server.requests.at(-1)?.url, '/services/T000/B000/XXXX');
    const p = payload();
    assert.equal(p.text, 'CPU at 97% on &lt;host-7&gt; &amp; rising');
    assert.deepEqual(p.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'Alarm: CPU', emoji: true } });
    assert.deepEqual(p.blocks[1], { type: 'section', text: { type: 'mrkdwn', text: 'CPU at 97% on &lt;host-7&gt; &amp; rising' } });
    const context = p.blocks[2];
    assert.equal(context?.type, 'context');
    assert.equal(context?.elements?.[0]?.text, `Sent to the topic orders-events · <${UNSUBSCRIBE_URL}|Unsubscribe>`);
    assert.equal(p.blocks.length, 3);
  });

  it('leaves the header out without a title and splits long bodies into sections Slack accepts', async () => {
    const body = 'a&b '.repeat(2000); // 8000 chars, 10000 once escaped
    const result = await handler.send(messageCtx(subscription('SLACK', `${server.origin}/services/x`), message(body)));
    assert.equal(result.ok, true);
    const p = payload();
    const sections = p.blocks.filter((b) => b.type === 'section');
    assert.equal(p.blocks[0]?.type, 'section');
    assert.ok(sections.length >= 4);
    assert.equal(sections.map((s) => s.text?.text ?? '').join(''), escapeMrkdwn(body));
  });

  it('confirmation says "To confirm the subscription" and carries the link', async () => {
    const result = await handler.send(confirmationCtx(subscription('SLACK', `${server.origin}/services/x`)));
    assert.equal(result.ok, true);
    const p = payload();
    assert.match(p.text, /To confirm the subscription, visit /);
    assert.ok(p.text.includes(CONFIRM_URL));
    assert.ok(p.blocks[0]?.text?.text.includes(`<${CONFIRM_URL}|this link>`));
  });

  function failure(result: SendResult): Extract<SendResult, { ok: false }> {
    assert.equal(result.ok, false);
    return result as Extract<SendResult, { ok: false }>;
  }

  it('404 no_service and 410 channel_is_archived are permanent, with Slack\'s code in the error', async () => {
    const gone = failure(await handler.send(messageCtx(subscription('SLACK', `${server.origin}/services/gone`), message('x'))));
    assert.deepEqual([gone.retryable, gone.statusCode, gone.error], [false, 404, 'HTTP 404 Not Found: no_service']);
    const archived = failure(await handler.send(messageCtx(subscription('SLACK', `${server.origin}/services/archived`), message('x'))));
    assert.deepEqual([archived.retryable, archived.error], [false, 'HTTP 410 Gone: channel_is_archived']);
  });

  it('429 and 500 rollup_error are retried', async () => {
    const busy = failure(await handler.send(messageCtx(subscription('SLACK', `${server.origin}/services/busy`), message('x'))));
    assert.deepEqual([busy.retryable, busy.retryAfterMs], [true, 30_000]);
    const broken = failure(await handler.send(messageCtx(subscription('SLACK', `${server.origin}/services/broken`), message('x'))));
    assert.deepEqual([broken.retryable, broken.error], [true, 'HTTP 500 Internal Server Error: rollup_error']);
  });
});
