import { compileCidr } from './cidr.js';
import type { CidrRange } from './cidr.js';
import { checkComparableNumber, compileNumeric } from './numeric.js';
import type { NumericRange } from './numeric.js';
import { invalid, show, within } from './problems.js';
import { ValueTest } from './value-test.js';
import type { AnythingBut } from './value-test.js';

/** The operator names of a condition object; `$or` needs them to tell its branches from conditions. */
export const OPERATORS: ReadonlySet<string> = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);

/** One leaf's array of conditions, compiled. */
export interface CompiledLeaf {
  /** What a present value must satisfy; null when the leaf accepts only absence. */
  readonly test: ValueTest | null;
  /** `{"exists": false}` is among the conditions, so an absent key satisfies the leaf too. */
  readonly absent: boolean;
}

interface Collected {
  strings: string[];
  numbers: number[];
  matchTrue: boolean;
  matchFalse: boolean;
  matchNull: boolean;
  exists: boolean;
  prefixes: string[];
  suffixes: string[];
  ignoreCase: string[];
  anythingBut: AnythingBut[];
  numeric: NumericRange[];
  cidrs: CidrRange[];
  /** Whether any condition accepts a present value. */
  positive: boolean;
  absent: boolean;
}

/** Compiles the array a policy key maps to. `key` is the dotted path, for messages. */
export function compileLeaf(key: string, conditions: readonly unknown[]): CompiledLeaf {
  try {
    if (conditions.length === 0) throw invalid('Empty arrays are not allowed: give at least one condition');
    const c: Collected = {
      strings: [],
      numbers: [],
      matchTrue: false,
      matchFalse: false,
      matchNull: false,
      exists: false,
      prefixes: [],
      suffixes: [],
      ignoreCase: [],
      anythingBut: [],
      numeric: [],
      cidrs: [],
      positive: false,
      absent: false,
    };
    for (const condition of conditions) collect(c, condition);
    return { test: c.positive ? new ValueTest(c) : null, absent: c.absent };
  } catch (e) {
    throw within(key, e);
  }
}

function collect(c: Collected, condition: unknown): void {
  if (condition === null) {
    c.matchNull = c.positive = true;
    return;
  }
  switch (typeof condition) {
    case 'string':
      c.strings.push(condition);
      c.positive = true;
      return;
    case 'number':
      // Exact numbers are not held to the numeric range: an account number may be matched as a value.
      if (!Number.isFinite(condition)) throw invalid(`Match value ${show(condition)} is not a finite number`);
      c.numbers.push(condition);
      c.positive = true;
      return;
    case 'boolean':
      if (condition) c.matchTrue = true;
      else c.matchFalse = true;
      c.positive = true;
      return;
    case 'object':
      if (!Array.isArray(condition)) {
        collectOperator(c, condition as Record<string, unknown>);
        return;
      }
  }
  throw invalid(`Match value must be a string, number, true, false, null or an operator object, not ${show(condition)}`);
}

function onlyKey(o: Record<string, unknown>, what: string): string {
  const keys = Object.keys(o);
  if (keys.length === 0) throw invalid(`${what} is empty: expected one of ${[...OPERATORS].join(', ')}`);
  if (keys.length > 1) throw invalid(`Only one key allowed in match expression, got ${keys.map((k) => show(k)).join(', ')}`);
  return keys[0]!;
}

function stringOperand(op: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(`${op} match pattern must be a string, got ${show(value)}`);
  return value;
}

function collectOperator(c: Collected, o: Record<string, unknown>): void {
  const op = onlyKey(o, 'Match expression');
  const value = o[op];
  switch (op) {
    case 'prefix':
      c.prefixes.push(stringOperand(op, value));
      break;
    case 'suffix':
      c.suffixes.push(stringOperand(op, value));
      break;
    case 'equals-ignore-case':
      c.ignoreCase.push(stringOperand(op, value));
      break;
    case 'anything-but':
      c.anythingBut.push(anythingBut(value));
      break;
    case 'numeric':
      c.numeric.push(compileNumeric(value));
      break;
    case 'cidr':
      c.cidrs.push(compileCidr(stringOperand(op, value)));
      break;
    case 'exists':
      if (typeof value !== 'boolean') throw invalid(`exists match pattern must be either true or false, got ${show(value)}`);
      if (!value) {
        // exists:false accepts no present value, so it alone does not make the leaf positive.
        c.absent = true;
        return;
      }
      c.exists = true;
      break;
    default:
      throw invalid(`Unrecognized match type ${show(op)}: expected one of ${[...OPERATORS].join(', ')}`);
  }
  c.positive = true;
}

function anythingBut(value: unknown): AnythingBut {
  if (typeof value === 'string') return { kind: 'strings', values: new Set([value]) };
  if (typeof value === 'number') {
    checkComparableNumber(value, 'anything-but number');
    return { kind: 'numbers', values: new Set([value]) };
  }
  if (Array.isArray(value)) return anythingButList(value);
  if (value !== null && typeof value === 'object') {
    const op = onlyKey(value as Record<string, unknown>, 'anything-but expression');
    if (op !== 'prefix') throw invalid(`Unsupported anything-but pattern: ${show(op)} (only prefix may be nested inside anything-but)`);
    const prefix = stringOperand('anything-but prefix', (value as Record<string, unknown>)[op]);
    // An empty prefix would exclude every string: a condition no string can meet is a mistake, not a filter.
    if (prefix === '') throw invalid('anything-but prefix must not be empty');
    return { kind: 'prefix', prefix };
  }
  throw invalid(`Value of anything-but must be a string, a number, an array of strings or of numbers, or {"prefix": ...}, got ${show(value)}`);
}

function anythingButList(values: readonly unknown[]): AnythingBut {
  if (values.length === 0) throw invalid('anything-but list must not be empty');
  const strings: string[] = [];
  const numbers: number[] = [];
  for (const v of values) {
    if (typeof v === 'string') strings.push(v);
    else if (typeof v === 'number') {
      checkComparableNumber(v, 'anything-but number');
      numbers.push(v);
    } else throw invalid(`Inside an anything-but list only strings or numbers are allowed, not ${show(v)}`);
  }
  if (strings.length > 0 && numbers.length > 0) {
    throw invalid('Inside an anything-but list, either all values are numbers or all are strings: mixed types are not supported');
  }
  return strings.length > 0 ? { kind: 'strings', values: new Set(strings) } : { kind: 'numbers', values: new Set(numbers) };
}
