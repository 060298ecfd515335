import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ForbiddenAddressError } from '../../src/delivery/egress.js';
import { HttpTimeoutError } from '../../src/delivery/http-client.js';
import { describeError, httpOutcome, parseRetryAfter } from '../../src/delivery/http-outcome.js';

const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);

function answer(statusCode: number, headers: Record<string, string> = {}, bodyExcerpt = '') {
  return httpOutcome({ answer: { statusCode, headers, bodyExcerpt } }, NOW);
}

describe('httpOutcome for answers', () => {
  it('2xx is delivered and keeps the status and excerpt', () => {
    for (const code of [200, 201, 202, 204, 299]) assert.deepEqual(answer(code, {}, code === 204 ? '' : 'ok'), { ok: true, statusCode: code, ...(code === 204 ? {} : { responseExcerpt: 'ok' }) });
  });

  const table: Array<[number, boolean]> = [
    [301, true],
    [302, true],
    [307, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [405, false],
    [410, false],
    [413, false],
    [422, false],
    [408, true],
    [425, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
  ];
  for (const [code, retryable] of table) {
    it(`${code} is a failure, ${retryable ? 'retried' : 'dead-lettered at once'}`, () => {
      const r = answer(code, {}, 'nope');
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.retryable, retryable);
      assert.equal(r.statusCode, code);
      assert.equal(r.responseExcerpt, 'nope');
      assert.match(r.error, new RegExp(`^HTTP ${code}`));
    });
  }

  it('names the status and says redirects are not followed', () => {
    const r = answer(301);
    assert.equal(!r.ok && r.error, 'HTTP 301 Moved Permanently (redirects are not followed)');
    const s = answer(503);
    assert.equal(!s.ok && s.error, 'HTTP 503 Service Unavailable');
  });

  it('carries Retry-After in seconds and as an HTTP-date', () => {
    const seconds = answer(429, { 'retry-after': '7' });
    assert.equal(!seconds.ok && seconds.retryAfterMs, 7000);
    const date = answer(503, { 'retry-after': new Date(NOW + 90_000).toUTCString() });
    assert.equal(!date.ok && date.retryAfterMs, 90_000);
    const none = answer(503);
    assert.equal(!none.ok && 'retryAfterMs' in none, false);
  });
});

describe('parseRetryAfter', () => {
  it('reads both forms and ignores junk', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(' 120 ', NOW), 120_000);
    assert.equal(parseRetryAfter(['5', '9'], NOW), 5000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 12:00:30 GMT', NOW), 30_000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 11:00:00 GMT', NOW), 0, 'a date in the past means now');
    assert.equal(parseRetryAfter('-5', NOW), undefined);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
    assert.equal(parseRetryAfter('', NOW), undefined);
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
  });
});

describe('httpOutcome for errors', () => {
  it('an SSRF refusal is permanent', () => {
    const r = httpOutcome({ error: new ForbiddenAddressError('localhost', '127.0.0.1', false) }, NOW);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.retryable, false);
    assert.match(!r.ok ? r.error : '', /Refusing to connect to localhost/);
  });

  it('timeouts and network errors are retried', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const headers = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    for (const error of [new HttpTimeoutError(500), refused, headers, new Error('socket hang up'), 'weird']) {
      const r = httpOutcome({ error }, NOW);
      assert.equal(!r.ok && r.retryable, true, String(error));
    }
    const t = httpOutcome({ error: new HttpTimeoutError(500) }, NOW);
    assert.equal(!t.ok && t.error, 'ETIMEDOUT: No answer within 500 ms.');
    const h = httpOutcome({ error: headers }, NOW);
    assert.equal(!h.ok && h.error, 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error');
  });

  it('a request that can never be built is permanent', () => {
    const bad = Object.assign(new TypeError('invalid header value'), { code: 'UND_ERR_INVALID_ARG' });
    const r = httpOutcome({ error: bad }, NOW);
    assert.equal(!r.ok && r.retryable, false);
  });

  it('describes happy-eyeballs AggregateErrors by their parts', () => {
    const a = Object.assign(new Error('connect ECONNREFUSED ::1:9'), { code: 'ECONNREFUSED' });
    const b = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const agg = Object.assign(new AggregateError([a, b], ''), { code: 'ECONNREFUSED' });
    assert.equal(describeError(agg), 'connect ECONNREFUSED ::1:9; connect ECONNREFUSED 127.0.0.1:9');
  });
});
