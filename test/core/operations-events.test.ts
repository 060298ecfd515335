import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEndpoint } from '../../src/core/endpoints.js';
import { disabledEvent, redactEndpoint } from '../../src/core/operations-events.js';

/** What must never reach an operations event: credentials, query strings, path tokens. */
const SECRETS = ['alice', 's3cret', 'tok3n', 'T000/B000/XXXX', 'routingkey'];

function assertNoSecret(shown: string, endpoint: string): void {
  for (const s of SECRETS) assert.ok(!shown.includes(s), `${JSON.stringify(endpoint)} shows ${JSON.stringify(s)} in ${JSON.stringify(shown)}`);
}

describe('operations events', () => {
  it('redacts an HTTP endpoint to its scheme and host: no user info, query string or path survives', () => {
    const cases: [string, string][] = [
      ['https://hooks.example.com/services/T000/B000/XXXX', 'https://hooks.example.com/…'],
      ['https://example.com/hook?token=tok3n&x=1', 'https://example.com/…'],
      ['https://example.com/?token=tok3n', 'https://example.com/…'],
      ['https://alice:s3cret@example.com/hook', 'https://example.com/…'],
      ['https://alice:s3cret@example.com/', 'https://example.com'],
      ['https://alice:s3cret@example.com', 'https://example.com'],
      ['http://alice@example.com:8080/x?routingkey=1', 'http://example.com:8080/…'],
      ['HTTPS://Alice:s3cret@Example.COM/Hook', 'https://example.com/…'],
      ['https://example.com', 'https://example.com'],
      ['https://example.com/', 'https://example.com'],
    ];
    for (const [endpoint, shown] of cases) {
      assert.equal(redactEndpoint(endpoint), shown, endpoint);
      assertNoSecret(redactEndpoint(endpoint), endpoint);
    }
  });

  it('redacts every spelling of an HTTP URL that subscription creation accepts, not only those starting with "scheme://"', () => {
    // The WHATWG parser that checkEndpoint uses reads all of these as https://alice:s3cret@example.com/hook?token=tok3n.
    for (const endpoint of [
      'https:alice:s3cret@example.com/hook?token=tok3n',
      'https:/alice:s3cret@example.com/hook?token=tok3n',
      'https:\\\\alice:s3cret@example.com/hook?token=tok3n',
      ' https://alice:s3cret@example.com/hook?token=tok3n',
      'http:alice:s3cret@example.com',
    ]) {
      assert.equal(checkEndpoint('CUSTOM_HTTPS', endpoint), endpoint, 'accepted as a subscription endpoint');
      const shown = redactEndpoint(endpoint);
      assertNoSecret(shown, endpoint);
      assert.match(shown, /^https?:\/\/example\.com(\/…)?$/, endpoint);
    }
  });

  it('keeps endpoints that are not URLs whole: email addresses, phone numbers and function OCIDs carry no secret', () => {
    for (const endpoint of ['ops@example.com', '+14255550100', 'ocid1.fnfunc.oc1.phx.aaaaaaaaexample']) assert.equal(redactEndpoint(endpoint), endpoint);
  });

  it('hides an HTTP endpoint it cannot parse entirely', () => {
    assert.equal(redactEndpoint('https://alice:s3cret@[not-a-host/hook'), '…');
  });

  it('builds the disabled event with its times in ISO form, the last error and status, and the endpoint redacted', () => {
    const failingSince = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const disabledAt = failingSince + 5 * 86_400_000;
    const event = disabledEvent({
      subscriptionId: 'ocid1.onssubscription.oc1..s',
      tenancyId: 'ocid1.tenancy.oc1..t',
      topicId: 'ocid1.onstopic.oc1..t',
      protocol: 'CUSTOM_HTTPS',
      endpoint: 'https://alice:s3cret@example.com/hook?token=tok3n',
      failingSince,
      disabledAt,
      consecutiveFailures: 7,
      lastFailure: { at: disabledAt - 1, statusCode: 503, error: 'HTTP 503 Service Unavailable' },
      heldCount: 3,
    });
    assert.deepEqual(event, {
      type: 'subscription.disabled',
      time: '2026-01-07T03:04:05.006Z',
      subscriptionId: 'ocid1.onssubscription.oc1..s',
      topicId: 'ocid1.onstopic.oc1..t',
      protocol: 'CUSTOM_HTTPS',
      endpoint: 'https://example.com/…',
      failingSince: '2026-01-02T03:04:05.006Z',
      consecutiveFailures: 7,
      lastError: 'HTTP 503 Service Unavailable',
      lastStatusCode: 503,
      deliveries: 3,
      reason: 'no-success-within-window',
    });
    assertNoSecret(JSON.stringify(event), 'the event');
  });

  it('gives a disabled event without a recorded failure null lastError and lastStatusCode', () => {
    const event = disabledEvent({
      subscriptionId: 's', tenancyId: 't', topicId: 'p', protocol: 'EMAIL', endpoint: 'ops@example.com',
      failingSince: 0, disabledAt: 1000, consecutiveFailures: 0, lastFailure: null, heldCount: 0,
    });
    assert.deepEqual([event.lastError, event.lastStatusCode, event.endpoint, event.time], [null, null, 'ops@example.com', '1970-01-01T00:00:01.000Z']);
  });
});
