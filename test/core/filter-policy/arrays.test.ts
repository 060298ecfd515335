import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileFilterPolicy, matchesFilterPolicy, parseMessageBody } from '../../../src/core/filter-policy/index.js';

/**
 * Payload arrays: flattening, and Event Ruler's rule that two fields may not take their values from different
 * elements of one array. The property at the end checks the matcher against a brute-force model of Ruler.
 */

const matches = (policy: unknown, body: unknown): boolean =>
  matchesFilterPolicy(compileFilterPolicy(policy), parseMessageBody(JSON.stringify(body)));

describe("Ruler's array consistency", () => {
  const pair = { a: { x: ['1'], y: ['2'] } };

  it('refuses two fields taken from different elements of one array', () => {
    assert.equal(matches(pair, { a: [{ x: '1', y: '9' }, { x: '9', y: '2' }] }), false);
  });

  it('accepts both fields from the same element', () => {
    assert.equal(matches(pair, { a: [{ x: '1', y: '2' }] }), true);
    assert.equal(matches(pair, { a: [{ x: '0' }, { x: '1', y: '2' }, { y: '3' }] }), true);
  });

  it('applies through nested arrays, at every level the paths share', () => {
    const nested = { a: { b: { x: ['1'], y: ['2'] } } };
    assert.equal(matches(nested, { a: [{ b: [{ x: '1' }, { y: '2' }] }] }), false);
    assert.equal(matches(nested, { a: [{ b: [{ x: '1' }] }, { b: [{ y: '2' }] }] }), false);
    assert.equal(matches(nested, { a: [[{ b: [[{ x: '1', y: '2' }]] }]] }), true);
  });

  it('does not couple different arrays: separate keys, or leaf arrays within one element', () => {
    assert.equal(matches({ a: { x: ['1'] }, b: { y: ['2'] } }, { a: [{ x: '1' }, { x: '0' }], b: [{ y: '0' }, { y: '2' }] }), true);
    assert.equal(matches(pair, { a: [{ x: ['0', '1'], y: ['2', '3'] }] }), true);
  });

  it('checks absence within the element the other fields chose', () => {
    const policy = { a: { x: ['1'], y: [{ exists: false }] } };
    assert.equal(matches(policy, { a: [{ x: '1' }, { x: '2', y: '3' }] }), true);
    assert.equal(matches(policy, { a: [{ x: '1', y: '3' }, { x: '2' }] }), false);
  });

  it('checks absence in every element of an array no value field chose', () => {
    assert.equal(matches({ a: { y: [{ exists: false }] } }, { a: [{}, { y: 1 }] }), false);
    assert.equal(matches({ a: { y: [{ exists: false }] } }, { a: [{ z: 1 }, { z: 2 }] }), true);
  });

  it('counts a $or branch as fields of the same rule', () => {
    const policy = { a: { x: ['1'], $or: [{ y: ['2'] }, { z: ['3'] }] } };
    assert.equal(matches(policy, { a: [{ x: '1' }, { y: '2', z: '3' }] }), false);
    assert.equal(matches(policy, { a: [{ x: '9', y: '2' }, { x: '1', z: '3' }] }), true);
  });

  it('stays linear when many large arrays could be paired', () => {
    const element = { x: '1', y: '9' };
    const wide = Array.from({ length: 3000 }, () => element);
    const policy = { a: { x: ['1'], y: ['2'] }, b: { x: ['1'], y: ['2'] }, c: { x: ['1'], y: ['2'] } };
    assert.equal(matches(policy, { a: wide, b: wide, c: wide }), false);
    assert.equal(matches(policy, { a: [...wide, { x: '1', y: '2' }], b: [{ x: '1', y: '2' }], c: [...wide, { x: '1', y: '2' }] }), true);
  });
});

// ---- A brute-force model of Event Ruler: flatten the payload, then search every pairing of values. ----

type Pins = ReadonlyArray<readonly [object, number]>;
interface Occurrence {
  readonly name: string;
  readonly value: unknown;
  readonly pins: Pins;
}

function flatten(v: unknown, name: string | null, pins: Pins, out: Occurrence[]): void {
  if (Array.isArray(v)) {
    v.forEach((e, i) => flatten(e, name, [...pins, [v, i]], out));
  } else if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) flatten(child, name === null ? k : `${name}.${k}`, pins, out);
  } else if (name !== null) {
    out.push({ name, value: v, pins });
  }
}

const consistent = (a: Pins, b: Pins): boolean => a.every(([arr, i]) => b.every(([arr2, j]) => arr !== arr2 || i === j));

type Condition = string | null | { exists: boolean };
interface ModelField {
  readonly name: string;
  readonly conditions: readonly Condition[];
}

function valueMatches(conditions: readonly Condition[], v: unknown): boolean {
  return conditions.some((c) => (c !== null && typeof c === 'object' ? c.exists && v !== null : c === v));
}

function modelMatches(fields: readonly ModelField[], body: object): boolean {
  const occurrences: Occurrence[] = [];
  flatten(body, null, [], occurrences);
  // Each field is satisfied either by a value (conditions other than exists:false) or by absence.
  const sides = fields.map((f) => {
    const options: Array<{ name: string; absent: boolean; conditions: readonly Condition[] }> = [];
    const values = f.conditions.filter((c) => !(c !== null && typeof c === 'object' && !c.exists));
    if (values.length > 0) options.push({ name: f.name, absent: false, conditions: values });
    if (values.length < f.conditions.length) options.push({ name: f.name, absent: true, conditions: [] });
    return options;
  });
  const pick = (i: number, chosen: typeof sides[number]): boolean => {
    if (i === sides.length) return satisfied(chosen, occurrences);
    return sides[i]!.some((option) => pick(i + 1, [...chosen, option]));
  };
  return pick(0, []);
}

function satisfied(rule: ReadonlyArray<{ name: string; absent: boolean; conditions: readonly Condition[] }>, occurrences: readonly Occurrence[]): boolean {
  const valued = rule.filter((r) => !r.absent);
  const absent = rule.filter((r) => r.absent);
  const search = (i: number, chosen: readonly Occurrence[]): boolean => {
    if (i === valued.length) {
      return absent.every((a) => !occurrences.some((o) => o.name === a.name && chosen.every((c) => consistent(c.pins, o.pins))));
    }
    const field = valued[i]!;
    return occurrences.some(
      (o) => o.name === field.name && valueMatches(field.conditions, o.value) && chosen.every((c) => consistent(c.pins, o.pins)) && search(i + 1, [...chosen, o]),
    );
  };
  return search(0, []);
}

/** Writes a field into a policy object, nested at a random split of its path; false when that collides. */
function place(policy: Record<string, unknown>, segments: readonly string[], splits: readonly boolean[], conditions: readonly Condition[]): boolean {
  const keys: string[] = [];
  let current = segments[0]!;
  for (let i = 1; i < segments.length; i++) {
    if (splits[i - 1]) {
      keys.push(current);
      current = segments[i]!;
    } else {
      current = `${current}.${segments[i]!}`;
    }
  }
  keys.push(current);
  let node = policy;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (Array.isArray(next)) return false;
    node = node[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (last in node) return false;
  node[last] = conditions;
  return true;
}

const segment = fc.constantFrom('a', 'b', 'c');
const condition: fc.Arbitrary<Condition> = fc.constantFrom<Condition>('x', 'y', null, { exists: true }, { exists: false });
const fieldArb = fc.record({
  segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
  splits: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  conditions: fc.uniqueArray(condition, { minLength: 1, maxLength: 2, selector: (c) => JSON.stringify(c) }),
});

const { payload } = fc.letrec<{ payload: Record<string, unknown>; value: unknown }>((tie) => ({
  payload: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c'), tie('value'), { maxKeys: 3 }),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<unknown>('x', 'y', null, {}),
    tie('payload'),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
}));

describe('against a brute-force model of Event Ruler', () => {
  it('agrees on random policies and payloads (arrays, nesting, dotted keys, exists, null)', () => {
    fc.assert(
      fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 3 }), payload, (fields, body) => {
        const policy: Record<string, unknown> = {};
        const placed = fields.every((f) => place(policy, f.segments, f.splits, f.conditions));
        fc.pre(placed);
        let compiled;
        try {
          compiled = compileFilterPolicy(policy);
        } catch (e) {
          fc.pre(!/too complex/.test((e as Error).message));
          throw e;
        }
        const model = modelMatches(
          fields.map((f) => ({ name: f.segments.join('.'), conditions: f.conditions })),
          body,
        );
        assert.equal(matchesFilterPolicy(compiled, parseMessageBody(JSON.stringify(body))), model, JSON.stringify({ policy, body }));
      }),
      { numRuns: 3000 },
    );
  });
});
