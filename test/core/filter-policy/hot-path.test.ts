import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilterPolicy, matchesFilterPolicy, parseMessageBody } from '../../../src/core/filter-policy/index.js';

/**
 * The delivery path evaluates one parsed body against many compiled policies. This runs the shape the
 * performance target names (5 top-level keys, each with a nested key, against a ~1 KB object) many times and
 * checks only the answers: timing belongs to the benchmarks, not to a test.
 */

const policy = compileFilterPolicy({
  order: { status: ['open', 'pending'] },
  customer: { tier: [{ prefix: 'gold' }] },
  amount: { total: [{ numeric: ['>', 100, '<=', 5000] }] },
  region: { code: [{ 'anything-but': ['cn-north-1', 'us-gov-west-1'] }] },
  source: { ip: [{ cidr: '10.0.0.0/8' }] },
});

const filler = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`field${i}`, `value-${i}-${'x'.repeat(12)}`]));
const payload = {
  order: { id: 'ord-20240611-000123', status: 'pending', lines: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] },
  customer: { id: 'c-42', tier: 'gold-plus', email: 'someone@example.com' },
  amount: { total: 1234.5, currency: 'EUR' },
  region: { code: 'eu-central-1', zone: 'a' },
  source: { ip: '10.20.30.40', agent: 'herald-test/1.0' },
  ...filler,
};
const text = JSON.stringify(payload);

describe('evaluating one body against a compiled policy many times', () => {
  it('gives the same answers every time', () => {
    assert.ok(text.length > 900 && text.length < 1400, `body is ${text.length} bytes`);
    const matching = parseMessageBody(text);
    const failing = parseMessageBody(JSON.stringify({ ...payload, source: { ip: '192.168.0.1' } }));
    let matched = 0;
    let failed = 0;
    for (let i = 0; i < 100_000; i++) {
      if (matchesFilterPolicy(policy, matching)) matched++;
      if (!matchesFilterPolicy(policy, failing)) failed++;
    }
    assert.equal(matched, 100_000);
    assert.equal(failed, 100_000);
  });
});
