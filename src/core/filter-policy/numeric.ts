import { invalid, show } from './problems.js';

/** An interval of JSON numbers; open ends are infinite, `=` is a closed interval of one point. */
export interface NumericRange {
  readonly lo: number;
  readonly loInclusive: boolean;
  readonly hi: number;
  readonly hiInclusive: boolean;
}

/** SNS compares numbers in this range with five digits after the point; outside it the comparison is not defined. */
export const NUMERIC_LIMIT = 1_000_000_000;
export const NUMERIC_DECIMALS = 5;

const OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

function decimalPlaces(n: number): number {
  // String() gives the shortest text that round-trips, so "0.1" has one place, not the seventeen of its binary value.
  const text = String(n);
  const e = text.indexOf('e');
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, fraction - exponent);
}

/** The checks SNS applies to a number it must compare numerically (numeric operands, anything-but numbers). */
export function checkComparableNumber(n: number, where: string): void {
  if (!Number.isFinite(n)) throw invalid(`${where} must be a finite number`);
  if (n < -NUMERIC_LIMIT || n > NUMERIC_LIMIT) {
    throw invalid(`${where} ${n} is out of range: numbers must be between -${NUMERIC_LIMIT} and ${NUMERIC_LIMIT}, inclusive`);
  }
  if (decimalPlaces(n) > NUMERIC_DECIMALS) {
    throw invalid(`${where} ${n} has more than ${NUMERIC_DECIMALS} digits after the decimal point`);
  }
}

function operand(op: string, value: unknown): number {
  if (typeof value !== 'number') throw invalid(`Value of ${op} must be numeric, got ${show(value)}`);
  checkComparableNumber(value, `numeric value of ${op}`);
  return value;
}

function tooMany(): never {
  throw invalid('Too many elements in numeric expression: use one comparison, or a lower bound (> or >=) then an upper bound (< or <=)');
}

/** Compiles the array of `{"numeric": [...]}`: `[op, n]`, or a range `[">"|">=", low, "<"|"<=", high]`. */
export function compileNumeric(spec: unknown): NumericRange {
  if (!Array.isArray(spec)) throw invalid('Value of numeric must be an array, e.g. [">", 0, "<=", 150]');
  if (spec.length === 0) throw invalid('numeric expression is empty: expected an operator and a number, e.g. [">", 0]');
  const op = spec[0] as unknown;
  if (typeof op !== 'string' || !OPERATORS.has(op)) {
    throw invalid(`Unrecognized numeric range operator: ${show(op)} (expected one of =, <, <=, >, >=)`);
  }
  if (spec.length < 2) throw invalid(`numeric expression is missing the value of ${op}`);
  const first = operand(op, spec[1]);
  if (op === '=' || op === '<' || op === '<=') {
    if (spec.length > 2) tooMany();
    if (op === '=') return { lo: first, loInclusive: true, hi: first, hiInclusive: true };
    return { lo: -Infinity, loInclusive: false, hi: first, hiInclusive: op === '<=' };
  }
  if (spec.length === 2) return { lo: first, loInclusive: op === '>=', hi: Infinity, hiInclusive: false };
  const upper = spec[2] as unknown;
  if (upper !== '<' && upper !== '<=') {
    throw invalid(`Bad numeric range operator: ${show(upper)} (a range is a lower bound, > or >=, then an upper bound, < or <=)`);
  }
  if (spec.length < 4) throw invalid(`numeric expression is missing the value of ${upper}`);
  if (spec.length > 4) tooMany();
  const second = operand(upper, spec[3]);
  if (!(first < second)) throw invalid(`Bottom must be less than top in numeric range: ${first} is not less than ${second}`);
  return { lo: first, loInclusive: op === '>=', hi: second, hiInclusive: upper === '<=' };
}

export function inRange(range: NumericRange, n: number): boolean {
  return (range.loInclusive ? n >= range.lo : n > range.lo) && (range.hiInclusive ? n <= range.hi : n < range.hi);
}
