import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParameterError } from '../../../src/core/errors.js';
import {
  compileFilterPolicy,
  FILTER_POLICY_MAX_BYTES,
  matchesFilterPolicy,
  parseFilterPolicy,
  parseMessageBody,
} from '../../../src/core/filter-policy/index.js';

/** What compileFilterPolicy and parseFilterPolicy refuse, and the limits SNS sets (keys, combinations, size). */

function rejects(policy: unknown, message: RegExp): void {
  assert.throws(
    () => compileFilterPolicy(policy),
    (e: unknown) => {
      assert.ok(e instanceof InvalidParameterError, `expected InvalidParameterError, got ${String(e)}`);
      assert.equal(e.code, 'InvalidParameter');
      assert.match(e.message, /^Invalid filter policy: /);
      assert.match(e.message, message);
      return true;
    },
  );
}

function accepts(policy: unknown): void {
  assert.doesNotThrow(() => compileFilterPolicy(policy));
}

const values = (n: number, tag = 'v'): string[] => Array.from({ length: n }, (_, i) => `${tag}${i}`);

describe('the shape of a policy', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an array', [{ a: ['x'] }], /must be a JSON object/],
    ['a string', 'a', /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['an empty policy', {}, /must not be empty/],
    ['an empty array', { a: [] }, /"a": Empty arrays are not allowed/],
    ['a bare scalar as a key value', { a: 'x' }, /"a" must be an object or an array/],
    ['null as a key value', { a: { b: null } }, /"a.b" must be an object or an array/],
    ['an empty nested object', { a: {} }, /"a": Empty objects are not allowed/],
    ['an array as a condition', { a: [['x']] }, /Match value must be a string, number, true, false, null or an operator object/],
    ['an empty condition object', { a: [{}] }, /Match expression is empty/],
    ['two operators in one condition', { a: [{ prefix: 'x', suffix: 'y' }] }, /Only one key allowed in match expression/],
    ['an unknown operator', { a: [{ wildcard: 'x*' }] }, /Unrecognized match type "wildcard"/],
    ['a non-string prefix', { a: [{ prefix: 5 }] }, /prefix match pattern must be a string/],
    ['a non-string suffix', { a: [{ suffix: null }] }, /suffix match pattern must be a string/],
    ['a non-string equals-ignore-case', { a: [{ 'equals-ignore-case': ['x'] }] }, /equals-ignore-case match pattern must be a string/],
    ['a non-boolean exists', { a: [{ exists: 'true' }] }, /exists match pattern must be either true or false/],
    ['a non-finite number', { a: [Infinity] }, /not a finite number/],
    ['a $or with one object (a plain key, whose condition is no operator)', { $or: [{ a: ['1'] }] }, /Unrecognized match type "a"/],
    ['an empty $or branch', { $or: [{}, { a: ['1'] }] }, /Empty objects are not allowed/],
    ['the path in a nested problem', { a: { 'b.c': [{ numeric: ['>', 5, '<', 1] }] } }, /"a\.b\.c": Bottom must be less than top/],
  ];
  for (const [name, policy, message] of cases) it(`rejects ${name}`, () => rejects(policy, message));
});

describe('anything-but', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['suffix inside', { suffix: 'x' }, /Unsupported anything-but pattern: "suffix"/],
    ['equals-ignore-case inside', { 'equals-ignore-case': 'x' }, /Unsupported anything-but pattern/],
    ['two keys inside', { prefix: 'x', suffix: 'y' }, /Only one key allowed/],
    ['an empty prefix', { prefix: '' }, /prefix must not be empty/],
    ['a non-string prefix', { prefix: 1 }, /prefix match pattern must be a string/],
    ['a mixed list', ['a', 1], /mixed types are not supported/],
    ['an empty list', [], /anything-but list must not be empty/],
    ['null in the list', ['a', null], /only strings or numbers are allowed/],
    ['a boolean', true, /Value of anything-but must be/],
    ['a number out of range', [2e9], /out of range/],
  ];
  for (const [name, spec, message] of cases) it(`rejects ${name}`, () => rejects({ a: [{ 'anything-but': spec }] }, message));
});

describe('numeric', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['bottom above top', ['>', 10, '<', 5], /Bottom must be less than top/],
    ['bottom equal to top', ['>=', 5, '<=', 5], /Bottom must be less than top/],
    ['an unknown comparison', ['!=', 5], /Unrecognized numeric range operator: "!="/],
    ['a missing value', ['>'], /missing the value of >/],
    ['a missing upper value', ['>', 0, '<'], /missing the value of </],
    ['too many items', ['>', 0, '<', 5, 6], /Too many elements in numeric expression/],
    ['a second comparison after =', ['=', 1, '<', 2], /Too many elements/],
    ['an upper bound first', ['<', 5, '>', 0], /Too many elements/],
    ['a lower bound twice', ['>', 0, '>', 5], /Bad numeric range operator: ">"/],
    ['a numeric string', ['>', '5'], /Value of > must be numeric/],
    ['not an array', '>5', /Value of numeric must be an array/],
    ['an empty array', [], /numeric expression is empty/],
    ['a value above 1e9', ['<', 1e9 + 1], /out of range/],
    ['a value below -1e9', ['>', -1e10], /out of range/],
    ['six decimal places', ['>', 0.000001], /more than 5 digits after the decimal point/],
  ];
  for (const [name, spec, message] of cases) it(`rejects ${name}`, () => rejects({ p: [{ numeric: spec }] }, message));

  it('accepts the edges: ±1e9 and five decimal places', () => {
    accepts({ p: [{ numeric: ['>=', -1e9, '<=', 1e9] }, { numeric: ['=', 0.00001] }, { numeric: ['<', 123.45678] }] });
  });
});

describe('cidr', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no prefix length', '10.0.0.0', /Malformed CIDR "10.0.0.0": exactly one '\/' is required/],
    ['two slashes', '10.0.0.0/8/8', /exactly one '\/'/],
    ['a non-numeric prefix length', '10.0.0.0/x', /prefix length must be a non-negative integer/],
    ['a negative prefix length', '10.0.0.0/-1', /prefix length must be a non-negative integer/],
    ['an IPv4 prefix over 32', '10.0.0.0/33', /IPv4 prefix length is at most 32/],
    ['an IPv6 prefix over 128', '::/129', /IPv6 prefix length is at most 128/],
    ['a bad IPv4 address', '10.0.0.256/24', /is not an IPv4 or IPv6 address/],
    ['a bad IPv6 address', '2001:db8:::/32', /is not an IPv4 or IPv6 address/],
    ['a host name', 'example.com/24', /is not an IPv4 or IPv6 address/],
    ['a non-string', 167772160, /cidr match pattern must be a string/],
  ];
  for (const [name, spec, message] of cases) it(`rejects ${name}`, () => rejects({ ip: [{ cidr: spec }] }, message));
});

describe('at most 5 keys', () => {
  const keys = (n: number): Record<string, string[]> => Object.fromEntries(values(n, 'k').map((k) => [k, ['x']]));

  it('rejects 6 top-level keys', () => rejects(keys(6), /Filter policy can not have more than 5 keys/));
  it('accepts 5 top-level keys', () => accepts(keys(5)));
  it('does not count keys nested under a top-level key', () => accepts({ a: keys(6) }));
  it('does not count $or itself', () => accepts({ ...keys(5), $or: [{ x: ['1'] }, { y: ['1'] }] }));
  it('holds each $or branch to 5 keys of its own', () => rejects({ a: ['1'], $or: [keys(6), { y: ['1'] }] }, /more than 5 keys/));
  it('counts a $or that is a plain key', () => rejects({ ...keys(5), $or: ['a', 'b'] }, /more than 5 keys/));
});

describe('at most 150 combinations', () => {
  const accepted: Array<[string, unknown]> = [
    ['one leaf of 150 values', { a: values(150) }],
    ['5 × 5 × (3 values at depth 2)', { a: values(5), b: values(5), c: { d: values(3) } }],
    ['10 × ($or: 10 + 5)', { a: values(10), $or: [{ b: values(10) }, { c: values(5) }] }],
    ['(50 values at depth 3)', { a: { b: { c: values(50) } } }],
  ];
  for (const [name, policy] of accepted) it(`accepts exactly 150: ${name}`, () => accepts(policy));

  const rejected: Array<[string, unknown, number]> = [
    ['76 values at depth 2', { a: { b: values(76) } }, 152],
    ['4 × (20 values at depth 2)', { a: values(4), b: { c: values(20) } }, 160],
    ['6 × 6 × 6', { a: values(6), b: values(6), c: values(6) }, 216],
    ['10 × ($or: 10 + 6)', { a: values(10), $or: [{ b: values(10) }, { c: values(6) }] }, 160],
    ['one leaf of 151 values', { a: values(151) }, 151],
  ];
  for (const [name, policy, total] of rejected) {
    it(`rejects ${total}: ${name}`, () => rejects(policy, new RegExp(`Filter policy is too complex: ${total} combinations`)));
  }
});

describe('nesting depth', () => {
  const nested = (levels: number): unknown => {
    let policy: unknown = ['x'];
    for (let i = levels; i >= 1; i--) policy = { [`k${i}`]: policy };
    return policy;
  };

  it('accepts 20 levels', () => {
    const policy = compileFilterPolicy(nested(20));
    const body: Record<string, unknown> = {};
    let at = body;
    for (let i = 1; i < 20; i++) at = at[`k${i}`] = {};
    at.k20 = 'x';
    assert.equal(matchesFilterPolicy(policy, parseMessageBody(JSON.stringify(body))), true);
  });
  it('rejects 21 levels, saying so', () => rejects(nested(21), /nested too deeply: at most 20 levels/));
  it('rejects a very deep policy without exhausting the stack', () => rejects(nested(100_000), /nested too deeply/));
});

describe('parseFilterPolicy', () => {
  const padded = (bytes: number): string => {
    const core = '{"a":["x"]}';
    return core + ' '.repeat(bytes - core.length);
  };

  it('accepts a policy of exactly 262,144 bytes', () => {
    assert.equal(FILTER_POLICY_MAX_BYTES, 262_144);
    const policy = parseFilterPolicy(padded(262_144));
    assert.equal(matchesFilterPolicy(policy, parseMessageBody('{"a":"x"}')), true);
  });

  it('rejects a policy of 262,145 bytes', () => {
    assert.throws(() => parseFilterPolicy(padded(262_145)), (e: unknown) => e instanceof InvalidParameterError && /too large: at most 262144 bytes/.test(e.message));
  });

  it('counts UTF-8 bytes, not characters', () => {
    const text = `{"a":["${'é'.repeat(131_070)}"]}`;
    assert.ok(text.length < FILTER_POLICY_MAX_BYTES);
    assert.throws(() => parseFilterPolicy(text), /too large/);
  });

  it('reports a JSON syntax error as InvalidParameterError', () => {
    assert.throws(() => parseFilterPolicy('{"a":['), (e: unknown) => e instanceof InvalidParameterError && /Invalid filter policy: Filter policy is not valid JSON/.test(e.message));
  });

  it('validates what it parsed', () => {
    assert.throws(() => parseFilterPolicy('[]'), /must be a JSON object/);
    assert.throws(() => parseFilterPolicy('{"a":{"$or":[{"b":[1]},{"c":[]}]}}'), /"a.c": Empty arrays are not allowed/);
  });
});
