import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilterPolicy, matchesFilterPolicy, parseMessageBody } from '../../../src/core/filter-policy/index.js';

/** The filter-policy language (MessageBody scope) against message bodies: the reference table, then each operator. */

interface Case {
  readonly name: string;
  readonly policy: unknown;
  readonly body: string;
  readonly match: boolean;
}

const matches = (policy: unknown, body: string): boolean => matchesFilterPolicy(compileFilterPolicy(policy), parseMessageBody(body));

/** A policy written as JSON text, for what an object literal cannot say (a `__proto__` key, 3.015e2 as written). */
function compileInput(json: string): unknown {
  return JSON.parse(json) as unknown;
}

function table(cases: readonly Case[]): void {
  for (const c of cases) {
    it(`${c.name}: ${c.match ? 'matches' : 'does not match'}`, () => {
      assert.equal(matches(c.policy, c.body), c.match);
    });
  }
}

describe('the reference table', () => {
  table([
    { name: 'a leaf array matches when any payload element matches', policy: { f: ['v1', 'v2'] }, body: '{"f":["v3","v1"]}', match: true },
    { name: 'a nested policy key needs an object, not a scalar array', policy: { f: { g: ['v1'] } }, body: '{"f":["v1"]}', match: false },
    {
      name: 'a path reaches through arrays of objects and nested arrays',
      policy: { Records: { s3: { object: { key: [{ prefix: 'auto-' }] } } } },
      body: '{"Records":[{"s3":{"object":[[{"key":"auto-1"}]]}}]}',
      match: true,
    },
    { name: 'a dotted policy key matches nested payload objects', policy: { 'o.n': ['s.v'] }, body: '{"o":{"n":"s.v"}}', match: true },
    {
      name: 'exists:false fails when the key is present, whatever else matches',
      policy: { o: { k: [{ prefix: 'a' }] }, t: [{ exists: false }] },
      body: '{"o":{"k":"ab"},"t":"y"}',
      match: false,
    },
    { name: 'an empty string matches "" and an empty array elsewhere is ignored', policy: { d: { v: [''] } }, body: '{"r":[],"d":{"v":""}}', match: true },
    { name: 'exists:true on an empty array', policy: { r: [{ exists: true }] }, body: '{"r":[]}', match: false },
    { name: 'exists:true on null', policy: { s: [{ exists: true }] }, body: '{"s":null}', match: false },
    { name: 'exists:false on a key holding an object (not a leaf value)', policy: { c: [{ exists: false }] }, body: '{"c":{"c1":1}}', match: true },
    { name: 'null needs the key present: missing key', policy: { k: [null] }, body: '{}', match: false },
    { name: 'null needs the key present: null value', policy: { k: [null] }, body: '{"k":null}', match: true },
    { name: 'the string "true" is not the boolean true', policy: { k: ['true'] }, body: '{"k":true}', match: false },
    { name: 'anything-but on an absent key', policy: { x: [{ 'anything-but': ['a'] }] }, body: '{"y":1}', match: false },
    { name: 'anything-but on an array with one element outside the list', policy: { x: [{ 'anything-but': ['a', 'b'] }] }, body: '{"x":["a","z"]}', match: true },
    { name: 'numeric range, inside', policy: { p: [{ numeric: ['>', 0, '<=', 150] }] }, body: '{"p":122}', match: true },
    { name: 'numeric range, above', policy: { p: [{ numeric: ['>', 0, '<=', 150] }] }, body: '{"p":200}', match: false },
    { name: 'numeric range, below', policy: { p: [{ numeric: ['>', 0, '<=', 150] }] }, body: '{"p":-1}', match: false },
    { name: 'numeric never matches a numeric string', policy: { p: [{ numeric: ['>', 1] }] }, body: '{"p":"5"}', match: false },
    { name: 'cidr, last address of the block', policy: { ip: [{ cidr: '10.0.0.0/24' }] }, body: '{"ip":"10.0.0.255"}', match: true },
    { name: 'cidr, malformed address', policy: { ip: [{ cidr: '10.0.0.0/24' }] }, body: '{"ip":"10.0.0.256"}', match: false },
    { name: 'equals-ignore-case on an array', policy: { k: [{ 'equals-ignore-case': 'RuGbY' }] }, body: '{"k":["x","rugby"]}', match: true },
    {
      name: 'a top-level $or and one inside detail are both required; only the top one is satisfied',
      policy: { source: ['a'], $or: [{ x: ['1'] }, { y: ['2'] }], detail: { $or: [{ m: ['3'] }, { n: ['4'] }] } },
      body: '{"source":"a","x":"1","detail":{"m":"0","n":"0"}}',
      match: false,
    },
    {
      name: 'a top-level $or and one inside detail, both satisfied',
      policy: { source: ['a'], $or: [{ x: ['1'] }, { y: ['2'] }], detail: { $or: [{ m: ['3'] }, { n: ['4'] }] } },
      body: '{"source":"a","y":"2","detail":{"n":"4"}}',
      match: true,
    },
  ]);
});

describe('bodies that are not JSON objects never match', () => {
  const policies: unknown[] = [{ k: ['x'] }, { k: [{ exists: false }] }, { k: [{ 'anything-but': 'x' }] }];
  for (const body of ['plain text', '"json string"', '42', 'true', 'null', '[]', '[{"k":"x"}]', '', '{"k":']) {
    it(`body ${JSON.stringify(body)}`, () => {
      for (const policy of policies) assert.equal(matches(policy, body), false);
    });
  }

  it('parseMessageBody keeps the parsed value of any JSON and marks other text', () => {
    assert.deepEqual(parseMessageBody('"json string"'), { json: true, value: 'json string' });
    assert.deepEqual(parseMessageBody('{"a":[1]}'), { json: true, value: { a: [1] } });
    assert.deepEqual(parseMessageBody('plain text'), { json: false });
  });
});

describe('exact values', () => {
  table([
    { name: 'numbers compare numerically: 3.015e2 in the body, 301.5 in the policy', policy: { n: [301.5] }, body: '{"n":3.015e2}', match: true },
    { name: 'numbers compare numerically: 3.015e2 in the policy, 301.5 in the body', policy: compileInput('{"n":[3.015e2]}'), body: '{"n":301.5}', match: true },
    { name: '42 and 42.0 are the same number', policy: { n: [42] }, body: '{"n":42.0}', match: true },
    { name: 'the number 42 is not the string "42"', policy: { n: [42] }, body: '{"n":"42"}', match: false },
    { name: 'the string "42" is not the number 42', policy: { n: ['42'] }, body: '{"n":42}', match: false },
    { name: 'true matches true', policy: { b: [true] }, body: '{"b":true}', match: true },
    { name: 'false does not match null', policy: { b: [false] }, body: '{"b":null}', match: false },
    { name: 'strings are case-sensitive', policy: { s: ['Open'] }, body: '{"s":"open"}', match: false },
    { name: 'a missing key never matches', policy: { s: ['open'] }, body: '{"t":"open"}', match: false },
    { name: 'payload keys the policy does not name are ignored', policy: { s: ['open'] }, body: '{"s":"open","t":{"u":[1,2]},"v":null}', match: true },
    { name: 'keys are ANDed', policy: { s: ['open'], t: ['x'] }, body: '{"s":"open","t":"y"}', match: false },
    { name: 'a nested object value is not a string', policy: { s: ['open'] }, body: '{"s":{"open":1}}', match: false },
  ]);
});

describe('string operators', () => {
  table([
    { name: 'prefix', policy: { k: [{ prefix: 'ord-' }] }, body: '{"k":"ord-17"}', match: true },
    { name: 'prefix, other string', policy: { k: [{ prefix: 'ord-' }] }, body: '{"k":"inv-17"}', match: false },
    { name: 'prefix applies to strings only', policy: { k: [{ prefix: '1' }] }, body: '{"k":12}', match: false },
    { name: 'suffix', policy: { k: [{ suffix: '.png' }] }, body: '{"k":"cat.png"}', match: true },
    { name: 'suffix, other string', policy: { k: [{ suffix: '.png' }] }, body: '{"k":"cat.jpg"}', match: false },
    { name: 'equals-ignore-case, plain', policy: { k: [{ 'equals-ignore-case': 'RuGbY' }] }, body: '{"k":"RUGBY"}', match: true },
    { name: 'equals-ignore-case, different word', policy: { k: [{ 'equals-ignore-case': 'rugby' }] }, body: '{"k":"rugbz"}', match: false },
    { name: 'equals-ignore-case, different length', policy: { k: [{ 'equals-ignore-case': 'rugby' }] }, body: '{"k":"rugby "}', match: false },
    { name: 'equals-ignore-case, non-ASCII letters', policy: { k: [{ 'equals-ignore-case': 'ÉCOLE' }] }, body: '{"k":"école"}', match: true },
    { name: 'equals-ignore-case, the Kelvin sign lowers to k', policy: { k: [{ 'equals-ignore-case': 'k' }] }, body: '{"k":"\\u212a"}', match: true },
    { name: 'equals-ignore-case, not a number', policy: { k: [{ 'equals-ignore-case': '1' }] }, body: '{"k":1}', match: false },
    { name: 'conditions in one array are ORed', policy: { k: ['x', { prefix: 'y' }, { suffix: 'z' }] }, body: '{"k":"--z"}', match: true },
  ]);
});

describe('anything-but', () => {
  table([
    { name: 'numbers, one in the list', policy: { p: [{ 'anything-but': [100, 500] }] }, body: '{"p":500}', match: false },
    { name: 'numbers, one outside the list', policy: { p: [{ 'anything-but': [100, 500] }] }, body: '{"p":300}', match: true },
    { name: 'numbers compare numerically', policy: { p: [{ 'anything-but': [100] }] }, body: '{"p":1e2}', match: false },
    { name: 'a single string', policy: { p: [{ 'anything-but': 'x' }] }, body: '{"p":"x"}', match: false },
    { name: 'a single string, other value', policy: { p: [{ 'anything-but': 'x' }] }, body: '{"p":"y"}', match: true },
    { name: 'a value of another type is not in a string list', policy: { p: [{ 'anything-but': ['5'] }] }, body: '{"p":5}', match: true },
    { name: 'prefix, excluded', policy: { p: [{ 'anything-but': { prefix: 'x-' } }] }, body: '{"p":"x-1"}', match: false },
    { name: 'prefix, other string', policy: { p: [{ 'anything-but': { prefix: 'x-' } }] }, body: '{"p":"y-1"}', match: true },
    { name: 'an array whose every element is excluded', policy: { x: [{ 'anything-but': ['a', 'b'] }] }, body: '{"x":["a","b"]}', match: false },
    { name: 'an empty array is an absent key', policy: { x: [{ 'anything-but': ['a'] }] }, body: '{"x":[]}', match: false },
    { name: 'with exists:false, an absent key is allowed', policy: { x: [{ 'anything-but': ['a'] }, { exists: false }] }, body: '{}', match: true },
    { name: 'with exists:false, an excluded value still fails', policy: { x: [{ 'anything-but': ['a'] }, { exists: false }] }, body: '{"x":"a"}', match: false },
  ]);
});

describe('numeric', () => {
  table([
    { name: '= matches the same number', policy: { p: [{ numeric: ['=', 301.5] }] }, body: '{"p":3.015e2}', match: true },
    { name: '= does not match another number', policy: { p: [{ numeric: ['=', 301.5] }] }, body: '{"p":301.50001}', match: false },
    { name: '>= includes its bound', policy: { p: [{ numeric: ['>=', 10] }] }, body: '{"p":10}', match: true },
    { name: '> excludes its bound', policy: { p: [{ numeric: ['>', 10] }] }, body: '{"p":10}', match: false },
    { name: '< excludes its bound', policy: { p: [{ numeric: ['<', 10] }] }, body: '{"p":10}', match: false },
    { name: '<= includes its bound', policy: { p: [{ numeric: ['<=', 10] }] }, body: '{"p":10}', match: true },
    { name: 'a range with inclusive ends', policy: { p: [{ numeric: ['>=', 0, '<=', 5] }] }, body: '{"p":[9,5]}', match: true },
    { name: 'negative and fractional bounds', policy: { p: [{ numeric: ['>', -1.5, '<', -0.25] }] }, body: '{"p":-1}', match: true },
    { name: 'a boolean is not a number', policy: { p: [{ numeric: ['>', 0] }] }, body: '{"p":true}', match: false },
  ]);
});

describe('exists', () => {
  table([
    { name: 'exists:false on a missing key', policy: { k: [{ exists: false }] }, body: '{"other":1}', match: true },
    { name: 'exists:false on an empty array', policy: { k: [{ exists: false }] }, body: '{"k":[]}', match: true },
    { name: 'exists:false on null (null is a value)', policy: { k: [{ exists: false }] }, body: '{"k":null}', match: false },
    { name: 'exists:false on an empty string', policy: { k: [{ exists: false }] }, body: '{"k":""}', match: false },
    { name: 'exists:false on an empty object (a value)', policy: { k: [{ exists: false }] }, body: '{"k":{}}', match: false },
    { name: 'exists:true on an empty string', policy: { k: [{ exists: true }] }, body: '{"k":""}', match: true },
    { name: 'exists:true on an empty object', policy: { k: [{ exists: true }] }, body: '{"k":{}}', match: true },
    { name: 'exists:true on an object with keys (not a leaf)', policy: { k: [{ exists: true }] }, body: '{"k":{"c":1}}', match: false },
    { name: 'exists:true on false and 0', policy: { k: [{ exists: true }], l: [{ exists: true }] }, body: '{"k":false,"l":0}', match: true },
    { name: 'exists:true on an array holding null and a value', policy: { k: [{ exists: true }] }, body: '{"k":[null,"v"]}', match: true },
    { name: 'exists:true on a nested path', policy: { a: { b: [{ exists: true }] } }, body: '{"a":{"b":1}}', match: true },
    { name: 'a value or absence: absent', policy: { k: ['a', { exists: false }] }, body: '{}', match: true },
    { name: 'a value or absence: the value', policy: { k: ['a', { exists: false }] }, body: '{"k":"a"}', match: true },
    { name: 'a value or absence: another value', policy: { k: ['a', { exists: false }] }, body: '{"k":"b"}', match: false },
    { name: 'an inherited property is not a key', policy: { constructor: [{ exists: true }] }, body: '{}', match: false },
    { name: 'toString is absent from an empty object', policy: { toString: [{ exists: false }] }, body: '{}', match: true },
    { name: 'a payload key named __proto__ is a key', policy: compileInput('{"__proto__":["x"]}'), body: '{"__proto__":"x"}', match: true },
    { name: 'no __proto__ key', policy: compileInput('{"__proto__":[{"exists":true}]}'), body: '{}', match: false },
  ]);
});

describe('dotted keys', () => {
  table([
    { name: 'policy dots, payload dotted key', policy: { 'a.b': ['x'] }, body: '{"a.b":"x"}', match: true },
    { name: 'policy nesting, payload dotted key', policy: { a: { b: ['x'] } }, body: '{"a.b":"x"}', match: true },
    { name: 'policy dots, payload partly dotted', policy: { 'a.b.c': ['x'] }, body: '{"a":{"b.c":"x"}}', match: true },
    { name: 'policy dots through an array', policy: { 'a.b': ['x'] }, body: '{"a":[{"b":"y"},{"b":"x"}]}', match: true },
    { name: 'a dotted key is not its first segment', policy: { 'a.b': ['x'] }, body: '{"a":"x"}', match: false },
    { name: 'either spelling may hold the value', policy: { a: { b: ['x'] } }, body: '{"a":{"b":"y"},"a.b":"x"}', match: true },
    { name: 'absence must hold under both spellings', policy: { a: { b: [{ exists: false }] } }, body: '{"a":{"c":1},"a.b":"x"}', match: false },
  ]);
});

describe('$or', () => {
  const policy = { source: ['a'], $or: [{ x: ['1'] }, { y: { z: [{ numeric: ['>', 5] }] } }] };
  table([
    { name: 'the first branch', policy, body: '{"source":"a","x":"1"}', match: true },
    { name: 'the second branch', policy, body: '{"source":"a","y":{"z":6}}', match: true },
    { name: 'no branch', policy, body: '{"source":"a","x":"2","y":{"z":5}}', match: false },
    { name: 'a branch without the other keys', policy, body: '{"source":"b","x":"1"}', match: false },
    { name: 'nested $or inside a branch', policy: { $or: [{ a: ['1'] }, { $or: [{ b: ['2'] }, { c: ['3'] }] }] }, body: '{"c":"3"}', match: true },
    { name: '$or inside a nested object', policy: { d: { $or: [{ m: ['3'] }, { n: ['4'] }] } }, body: '{"d":{"n":"4"}}', match: true },
    { name: '$or of scalars is a plain key', policy: { $or: ['a', 'b'] }, body: '{"$or":"b"}', match: true },
    { name: '$or of operator objects is a plain key', policy: { $or: [{ prefix: 'x' }, { prefix: 'y' }] }, body: '{"$or":"yes"}', match: true },
    { name: 'a $or key that is not the operator is not an alternative', policy: { $or: ['a', 'b'] }, body: '{"a":"a"}', match: false },
  ]);
});
