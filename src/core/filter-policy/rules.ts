import type { CompiledLeaf } from './conditions.js';
import type { Field, Route, Step, SubRule } from './model.js';
import type { ValueTest } from './value-test.js';

/** A leaf with its full payload path: once paths are absolute, object nesting carries no meaning but the path. */
export interface LeafNode {
  readonly segments: readonly string[];
  readonly leaf: CompiledLeaf;
  readonly combinations: number;
}

/** An AND of leaves and of `$or` groups (each an OR of AND branches). */
export interface AndNode {
  readonly leaves: LeafNode[];
  readonly ors: AndNode[][];
}

/** One leaf as one sub-rule uses it: either its value conditions or its absence. */
interface Choice {
  readonly segments: readonly string[];
  readonly test: ValueTest | null;
}

type Alternative = readonly Choice[];

function cross(left: readonly Alternative[], right: readonly Alternative[]): Alternative[] {
  const out: Alternative[] = [];
  for (const l of left) for (const r of right) out.push([...l, ...r]);
  return out;
}

/**
 * The policy as an OR of ANDs, as Event Ruler compiles it: each `$or` branch, and each side of a leaf that
 * mixes `{"exists": false}` with value conditions, becomes its own alternative. Absence and presence of one
 * key are different questions about the payload's arrays, which is why a mixed leaf splits rather than
 * staying one test. The count never exceeds the policy's combinations (at most 150), already checked.
 */
function expand(node: AndNode): Alternative[] {
  let alternatives: Alternative[] = [[]];
  for (const { segments, leaf } of node.leaves) {
    const options: Alternative[] = [];
    if (leaf.test !== null) options.push([{ segments, test: leaf.test }]);
    if (leaf.absent) options.push([{ segments, test: null }]);
    alternatives = cross(alternatives, options);
  }
  for (const branches of node.ors) {
    alternatives = cross(alternatives, branches.flatMap(expand));
  }
  return alternatives;
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function routesFrom(segments: readonly string[]): Route[][] {
  const routes: Route[][] = [];
  for (let s = 0; s < segments.length; s++) {
    const fromHere: Route[] = [];
    for (let next = s + 1; next <= segments.length; next++) {
      const key = segments.slice(s, next).join('.');
      fromHere.push({ key, next, guarded: key in Object.prototype });
    }
    routes.push(fromHere);
  }
  return routes;
}

function field(choice: Choice, shared: number): Field {
  const steps: Step[] = [];
  const f: Field = {
    length: choice.segments.length,
    routes: routesFrom(choice.segments),
    steps,
    test: choice.test,
    shared,
  };
  for (let at = 0; at <= f.length; at++) steps.push({ field: f, at });
  return f;
}

function subRule(alternative: Alternative): SubRule {
  const fields = alternative.map((choice, i) => {
    let shared = 0;
    for (let j = 0; j < alternative.length; j++) {
      const other = alternative[j]!;
      // Two absence tests never pin an array element, so only a pair with a value test can be coupled.
      if (j === i || (choice.test === null && other.test === null)) continue;
      shared = Math.max(shared, commonPrefix(choice.segments, other.segments));
    }
    return field(choice, shared);
  });
  return { fields, start: fields.map((f) => f.steps[0]!) };
}

export function buildRules(root: AndNode): SubRule[] {
  return expand(root).map(subRule);
}
