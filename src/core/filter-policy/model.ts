import type { ValueTest } from './value-test.js';

/**
 * A payload key that can continue a field's path. Payload keys may themselves contain dots (`{"a.b": 1}` is
 * the field `a.b`), so at each position there are several keys to try; they are joined at compile time so
 * that evaluation never builds a string.
 */
export interface Route {
  readonly key: string;
  /** Segments consumed once this key is taken. */
  readonly next: number;
  /** The key names something every object inherits (`constructor`, `__proto__`): only an own property counts. */
  readonly guarded: boolean;
}

/** A field at a position of its path, preallocated so the general matcher does not allocate one per step. */
export interface Step {
  readonly field: Field;
  readonly at: number;
}

/** One named payload path of one sub-rule, with what it must hold (or, with `test` null, that it is absent). */
export interface Field {
  readonly length: number;
  /** `routes[s]`: the payload keys to try after `s` segments. */
  readonly routes: readonly (readonly Route[])[];
  /** `steps[s]`: this field after `s` segments, for the general matcher. */
  readonly steps: readonly Step[];
  /** Null means the field must be absent (`{"exists": false}`). */
  readonly test: ValueTest | null;
  /**
   * How many leading segments this field shares with another field of its sub-rule (one of the two naming
   * a value). A payload array met at or above that depth may be the same array the other field walks through,
   * so the two must agree on an element there; below it the array is this field's alone.
   */
  readonly shared: number;
}

/** One alternative of the policy once `$or` and mixed `exists:false` leaves are expanded: an AND of fields. */
export interface SubRule {
  readonly fields: readonly Field[];
  /** Every field at its start, the general matcher's first call. */
  readonly start: readonly Step[];
}

/** A validated, compiled policy: cheap to evaluate many times. Opaque to callers. */
export interface CompiledFilterPolicy {
  /** The policy matches when any of these does (one per `$or` alternative). */
  readonly rules: readonly SubRule[];
}
