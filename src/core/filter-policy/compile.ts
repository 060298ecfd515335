import { compileLeaf, OPERATORS } from './conditions.js';
import type { CompiledFilterPolicy } from './model.js';
import { invalid, show } from './problems.js';
import { buildRules } from './rules.js';
import type { AndNode } from './rules.js';

export const MAX_KEYS = 5;
export const MAX_COMBINATIONS = 150;
/** Levels of objects, `$or` branches included; the bound keeps compilation's recursion shallow for any input. */
export const MAX_NESTING = 20;

type PolicyObject = Record<string, unknown>;

function isObject(v: unknown): v is PolicyObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * `$or` is the operator only when it holds at least two objects none of which is keyed by an operator name;
 * otherwise it is an ordinary key (SNS's rule), e.g. `{"$or": ["a", "b"]}` matches the payload key "$or".
 */
function isOrOperator(value: unknown): value is PolicyObject[] {
  return (
    Array.isArray(value) &&
    value.length >= 2 &&
    value.every((branch) => isObject(branch) && !Object.keys(branch).some((k) => OPERATORS.has(k)))
  );
}

/** Validates and compiles a policy given as parsed JSON. */
export function compileFilterPolicy(policy: unknown): CompiledFilterPolicy {
  if (!isObject(policy)) throw invalid(`Filter policy must be a JSON object, got ${show(policy)}`);
  if (Object.keys(policy).length === 0) throw invalid('Filter policy must not be empty');
  const root: AndNode = { leaves: [], ors: [] };
  parseObject(policy, [], 1, 1, true, root);
  const total = combinations(root);
  if (total > MAX_COMBINATIONS) {
    throw invalid(`Filter policy is too complex: ${total} combinations, at most ${MAX_COMBINATIONS}`);
  }
  return { rules: buildRules(root) };
}

/**
 * Adds the leaves and `$or` groups of `obj` (whose keys sit at `prefix`) to `into`. `depth` is the depth of
 * `obj`'s keys in the payload (top level 1), which weighs a leaf's combinations; `level` counts every object.
 *
 * Key limit: AWS says "five keys" without saying how `$or` counts. Here the top-level keys other than `$or`
 * count, at most five, and each top-level `$or` branch (recursively, for `$or` inside a branch) is held to
 * five of its own top-level keys. Keys nested under a top-level key do not count (`{"a": {"b": [..], "c": [..]}}`
 * is one key): nesting is already weighed by the combinations limit.
 */
function parseObject(obj: PolicyObject, prefix: readonly string[], depth: number, level: number, counted: boolean, into: AndNode): void {
  if (level > MAX_NESTING) throw invalid(`Filter policy is nested too deeply: at most ${MAX_NESTING} levels of objects`);
  const keys = Object.keys(obj);
  if (keys.length === 0) {
    throw invalid(prefix.length === 0 ? 'Empty objects are not allowed in $or' : `${show(prefix.join('.'))}: Empty objects are not allowed`);
  }
  if (counted) {
    const plain = keys.filter((k) => !(k === '$or' && isOrOperator(obj[k]))).length;
    if (plain > MAX_KEYS) throw invalid(`Filter policy can not have more than ${MAX_KEYS} keys (it has ${plain})`);
  }
  for (const key of keys) {
    const value = obj[key];
    if (key === '$or' && isOrOperator(value)) {
      into.ors.push(
        value.map((branch) => {
          const node: AndNode = { leaves: [], ors: [] };
          parseObject(branch, prefix, depth, level + 1, counted, node);
          return node;
        }),
      );
      continue;
    }
    // A dotted key is the same path as the nesting it abbreviates: {"a.b": [..]} is {"a": {"b": [..]}}.
    const segments = [...prefix, ...key.split('.')];
    const path = segments.join('.');
    if (Array.isArray(value)) {
      const leaf = compileLeaf(path, value);
      into.leaves.push({ segments, leaf, combinations: value.length * depth });
    } else if (isObject(value)) {
      parseObject(value, segments, depth + 1, level + 1, false, into);
    } else {
      throw invalid(`${show(path)} must be an object or an array, got ${show(value)}`);
    }
  }
}

/**
 * SNS's complexity measure: leaf array lengths multiply, a nested leaf also multiplies by its depth, and
 * `$or` branches add. AWS rejected 216, 160 and 152 and accepted exactly 150, which this reproduces. Depth
 * counts objects, not dots: `{"a.b": [..]}` weighs as a top-level leaf.
 */
function combinations(node: AndNode): number {
  let product = 1;
  for (const leaf of node.leaves) product *= leaf.combinations;
  for (const branches of node.ors) {
    let sum = 0;
    for (const branch of branches) sum += combinations(branch);
    product *= sum;
  }
  return product;
}
