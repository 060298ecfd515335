import { cidrContains } from './cidr.js';
import type { CidrRange } from './cidr.js';
import { inRange } from './numeric.js';
import type { NumericRange } from './numeric.js';

/**
 * One `anything-but`. Like Event Ruler, it accepts every scalar value that is not excluded, whatever its type:
 * `{"anything-but": ["a"]}` accepts 5, true and null, and `{"anything-but": [100]}` accepts "abc". An empty
 * object is no scalar, and an absent key offers no value at all.
 */
export type AnythingBut =
  | { readonly kind: 'strings'; readonly values: ReadonlySet<string> }
  | { readonly kind: 'numbers'; readonly values: ReadonlySet<number> }
  | { readonly kind: 'prefix'; readonly prefix: string };

/** The value conditions of one leaf (ORed), sorted by kind so a value meets only the conditions of its type. */
export interface ValueConditions {
  readonly strings: readonly string[];
  readonly numbers: readonly number[];
  readonly matchTrue: boolean;
  readonly matchFalse: boolean;
  readonly matchNull: boolean;
  /** `{"exists": true}`. */
  readonly exists: boolean;
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
  readonly ignoreCase: readonly string[];
  readonly anythingBut: readonly AnythingBut[];
  readonly numeric: readonly NumericRange[];
  readonly cidrs: readonly CidrRange[];
}

interface IgnoreCase {
  readonly lower: string;
  /** An ASCII-only target lets a mismatching ASCII character decide at once, without lowering the payload string. */
  readonly ascii: boolean;
}

export function isEmptyObject(o: object): boolean {
  for (const k in o) {
    if (Object.hasOwn(o, k)) return false;
  }
  return true;
}

/**
 * Whether a payload value (never an array: arrays are walked element by element) is a value at all. An object
 * with keys is not: its leaves are at deeper paths. `{}` is, as is null, though null does not satisfy `exists: true`.
 */
export function isLeafValue(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      return v === null || isEmptyObject(v);
    default:
      return false;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 128) return false;
  return true;
}

function equalsIgnoreCase(v: string, target: IgnoreCase): boolean {
  const lower = target.lower;
  if (v.length === lower.length) {
    let i = 0;
    for (; i < v.length; i++) {
      let c = v.charCodeAt(i);
      if (c >= 128) break;
      if (c >= 65 && c <= 90) c += 32;
      if (c !== lower.charCodeAt(i)) break;
    }
    if (i === v.length) return true;
    if (target.ascii && v.charCodeAt(i) < 128) return false;
  } else if (target.ascii) {
    // Lowering never shortens a string, and the only lengthening (İ) yields a non-ASCII mark.
    return false;
  }
  return v.toLowerCase() === lower;
}

/** A leaf's conditions, precompiled; `matches` is called for every candidate value on the delivery path. */
export class ValueTest {
  private readonly strings: ReadonlySet<string> | null;
  private readonly numbers: ReadonlySet<number> | null;
  private readonly matchTrue: boolean;
  private readonly matchFalse: boolean;
  private readonly matchNull: boolean;
  private readonly exists: boolean;
  private readonly prefixes: readonly string[];
  private readonly suffixes: readonly string[];
  private readonly ignoreCase: readonly IgnoreCase[];
  private readonly anythingBut: readonly AnythingBut[];
  private readonly numeric: readonly NumericRange[];
  private readonly cidrs: readonly CidrRange[];

  constructor(c: ValueConditions) {
    this.strings = c.strings.length > 0 ? new Set(c.strings) : null;
    this.numbers = c.numbers.length > 0 ? new Set(c.numbers) : null;
    this.matchTrue = c.matchTrue;
    this.matchFalse = c.matchFalse;
    this.matchNull = c.matchNull;
    this.exists = c.exists;
    this.prefixes = c.prefixes;
    this.suffixes = c.suffixes;
    this.ignoreCase = c.ignoreCase.map((s) => {
      const lower = s.toLowerCase();
      return { lower, ascii: isAscii(lower) };
    });
    this.anythingBut = c.anythingBut;
    this.numeric = c.numeric;
    this.cidrs = c.cidrs;
  }

  matches(value: unknown): boolean {
    switch (typeof value) {
      case 'string':
        return this.matchesString(value);
      case 'number':
        return this.matchesNumber(value);
      case 'boolean':
        return (value ? this.matchTrue : this.matchFalse) || this.exists || this.anythingBut.length > 0;
      case 'object':
        if (value === null) return this.matchNull || this.anythingBut.length > 0;
        return this.exists && isEmptyObject(value);
      default:
        return false;
    }
  }

  private matchesString(v: string): boolean {
    if (this.exists || (this.strings !== null && this.strings.has(v))) return true;
    for (let i = 0; i < this.prefixes.length; i++) if (v.startsWith(this.prefixes[i]!)) return true;
    for (let i = 0; i < this.suffixes.length; i++) if (v.endsWith(this.suffixes[i]!)) return true;
    for (let i = 0; i < this.ignoreCase.length; i++) if (equalsIgnoreCase(v, this.ignoreCase[i]!)) return true;
    for (let i = 0; i < this.anythingBut.length; i++) {
      const but = this.anythingBut[i]!;
      if (but.kind === 'strings' ? !but.values.has(v) : but.kind === 'numbers' || !v.startsWith(but.prefix)) return true;
    }
    return this.cidrs.length > 0 && cidrContains(this.cidrs, v);
  }

  private matchesNumber(n: number): boolean {
    if (this.exists || (this.numbers !== null && this.numbers.has(n))) return true;
    for (let i = 0; i < this.numeric.length; i++) if (inRange(this.numeric[i]!, n)) return true;
    for (let i = 0; i < this.anythingBut.length; i++) {
      const but = this.anythingBut[i]!;
      if (but.kind !== 'numbers' || !but.values.has(n)) return true;
    }
    return false;
  }
}
