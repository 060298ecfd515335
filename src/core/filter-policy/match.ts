import type { CompiledFilterPolicy, Field, Route, Step, SubRule } from './model.js';
import { isLeafValue } from './value-test.js';
import type { ValueTest } from './value-test.js';

/** A message body parsed once and evaluated against many policies. */
export type ParsedBody = { readonly json: true; readonly value: unknown } | { readonly json: false };

/*
 * Semantics (Event Ruler's, which SNS uses): a sub-rule matches when each of its value fields can take a
 * matching value from the payload, every absence field has no value, and no two fields take their values
 * from different elements of one payload array. An array that no value field walks through pins nothing,
 * so an absence field must find it empty of the key in every element.
 *
 * Two strategies. The fast one checks each field on its own, walking only that field's path and allocating
 * nothing; it is exact as long as no field meets an array it might share with another field (an array at or
 * above the depth the two paths share), because only a shared array couples fields. When one does, the
 * general one re-checks the sub-rule, carrying the fields down the payload together so that fields through
 * the same array are satisfied by the same element. Both take time linear in the part of the payload the
 * policy names and never backtrack across independent arrays; the one search is over the keys of a single
 * object that spells one path two ways (`{"a": {"b": ..}, "a.b": ..}`), which is rare and small.
 */

const NO = 0;
const YES = 1;
/** A field met an array it may share with another field: only the general strategy can decide. */
const BAIL = 2;
type Outcome = typeof NO | typeof YES | typeof BAIL;

function lookup(obj: object, route: Route): unknown {
  const v = (obj as Record<string, unknown>)[route.key];
  if (v === undefined || !route.guarded || Object.hasOwn(obj, route.key)) return v;
  return undefined;
}

/** What a leaf on a field's path must satisfy: the field's value test, or just being there. */
type LeafCheck = Pick<ValueTest, 'matches'>;
/** The question `{"exists": false}` asks of a path: does it hold any value at all. */
const PRESENT: LeafCheck = { matches: isLeafValue };

/** Whether some value on the field's path (from `at` segments into `value`) satisfies `leaf`. */
function find(f: Field, leaf: LeafCheck, value: unknown, at: number): Outcome {
  if (Array.isArray(value)) {
    if (at <= f.shared) return BAIL;
    for (let i = 0; i < value.length; i++) {
      const r = find(f, leaf, value[i], at);
      if (r !== NO) return r;
    }
    return NO;
  }
  if (at === f.length) return leaf.matches(value) ? YES : NO;
  if (value === null || typeof value !== 'object') return NO;
  const routes = f.routes[at]!;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    const v = lookup(value, route);
    if (v !== undefined) {
      const r = find(f, leaf, v, route.next);
      if (r !== NO) return r;
    }
  }
  return NO;
}

function matchesRule(rule: SubRule, root: object): boolean {
  let undecided = false;
  const fields = rule.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    let r: Outcome;
    if (f.test === null) {
      const found = find(f, PRESENT, root, 0);
      r = found === BAIL ? BAIL : found === YES ? NO : YES;
    } else {
      r = find(f, f.test, root, 0);
    }
    // A definite NO stands: the field failed without touching an array it shares, so no pairing can save it.
    if (r === NO) return false;
    if (r === BAIL) undecided = true;
  }
  return !undecided || satisfies(rule.start, root);
}

/** A payload key taken by a field's step in the general strategy. */
interface Hop {
  readonly key: string;
  readonly value: unknown;
  readonly step: Step;
}

/**
 * The general strategy: whether `value` satisfies all `steps` together. The steps all reached this value, so if
 * it is an array they share it: some one element must satisfy them all when any of them needs a value, and every
 * element must when they only need absence.
 */
function satisfies(steps: readonly Step[], value: unknown): boolean {
  if (Array.isArray(value)) {
    const needsValue = steps.some((s) => s.field.test !== null);
    for (const element of value) {
      if (satisfies(steps, element) === needsValue) return needsValue;
    }
    return !needsValue;
  }
  const isObject = value !== null && typeof value === 'object';
  const fixed: Hop[] = [];
  const choices: Hop[][] = [];
  for (const { field, at } of steps) {
    if (at === field.length) {
      if (field.test === null ? isLeafValue(value) : !field.test.matches(value)) return false;
      continue;
    }
    if (!isObject) {
      if (field.test !== null) return false;
      continue;
    }
    const hops: Hop[] = [];
    for (const route of field.routes[at]!) {
      const v = lookup(value, route);
      if (v !== undefined) hops.push({ key: route.key, value: v, step: field.steps[route.next]! });
    }
    if (hops.length === 0) {
      if (field.test !== null) return false;
    } else if (field.test === null || hops.length === 1) {
      // Absence must hold down every key that spells the path; a value needs only the one there is.
      fixed.push(...hops);
    } else {
      // Both {"a": {"b": ..}} and {"a.b": ..} are present: the value may come from either.
      choices.push(hops);
    }
  }
  return anyChoice(fixed, choices, 0);
}

function anyChoice(fixed: Hop[], choices: readonly (readonly Hop[])[], i: number): boolean {
  if (i === choices.length) return allKeysSatisfied(fixed);
  for (const hop of choices[i]!) {
    fixed.push(hop);
    const ok = anyChoice(fixed, choices, i + 1);
    fixed.pop();
    if (ok) return true;
  }
  return false;
}

/** Different keys lead to different values (and arrays), so the steps under each key are independent. */
function allKeysSatisfied(hops: readonly Hop[]): boolean {
  const byKey = new Map<string, { value: unknown; steps: Step[] }>();
  for (const hop of hops) {
    const group = byKey.get(hop.key);
    if (group === undefined) byKey.set(hop.key, { value: hop.value, steps: [hop.step] });
    else group.steps.push(hop.step);
  }
  for (const { value, steps } of byKey.values()) {
    if (!satisfies(steps, value)) return false;
  }
  return true;
}

/**
 * Whether the body passes the policy. A body that is not a JSON object never does, whatever the policy
 * (even one made only of `{"exists": false}`): there is no payload to filter.
 */
export function matchesFilterPolicy(policy: CompiledFilterPolicy, body: ParsedBody): boolean {
  if (!body.json) return false;
  const root = body.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return false;
  const rules = policy.rules;
  for (let i = 0; i < rules.length; i++) {
    if (matchesRule(rules[i]!, root)) return true;
  }
  return false;
}
