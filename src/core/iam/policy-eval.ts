/**
 * Pure evaluation of parsed policy statements (../shared/reference/oci-identity.md
 * §4): does one statement allow one permission on one compartment for one caller.
 * The authorizer gathers the statements, groups and compartment tree; nothing
 * here does I/O, so every rule is testable with plain objects.
 */
import type { Condition, Location, Statement } from './policy-parser.js';

/** Condition variables for one request, keyed by lower-case name; request.groups.id is a list. */
export type RequestVariables = Readonly<Record<string, string | readonly string[]>>;

export interface CompartmentNode {
  id: string;
  /** null for the tenancy (root compartment). */
  parentId: string | null;
  name: string;
}

/** The live compartments of one tenancy. */
export interface CompartmentTree {
  rootId: string;
  get(id: string): CompartmentNode | undefined;
  children(id: string): { id: string; name: string }[];
}

/** Indexes a tenancy's live compartments (the root's parentId is null) for lookups by id and by parent. */
export function compartmentTree(rootId: string, nodes: readonly CompartmentNode[]): CompartmentTree {
  const byId = new Map(nodes.map((c) => [c.id, c]));
  const children = new Map<string, { id: string; name: string }[]>();
  for (const c of nodes) {
    if (c.parentId === null) continue;
    const list = children.get(c.parentId) ?? [];
    list.push({ id: c.id, name: c.name });
    children.set(c.parentId, list);
  }
  return { rootId, get: (id) => byId.get(id), children: (id) => children.get(id) ?? [] };
}

/** Returned when a comparison names a variable the request does not have. */
const INAPPLICABLE = Symbol('inapplicable');
type Outcome = boolean | typeof INAPPLICABLE;

function lookup(vars: RequestVariables, variable: string): string | readonly string[] | undefined {
  if (Object.hasOwn(vars, variable)) return vars[variable];
  // The parser lower-cases variable names; callers may still spell some in camelCase (request.user.mfaTotpVerified).
  for (const [k, v] of Object.entries(vars)) if (k.toLowerCase() === variable) return v;
  return undefined;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

type Value = Extract<Condition, { kind: 'compare' }>['value'];

function matcher(value: Value): (s: string) => boolean {
  if (value.kind === 'pattern') {
    const re = globToRegExp(value.pattern);
    return (s) => re.test(s);
  }
  const want = value.text.toLowerCase();
  return (s) => s.toLowerCase() === want;
}

function evaluate(c: Condition, vars: RequestVariables): Outcome {
  if (c.kind === 'compare') {
    const actual = lookup(vars, c.variable);
    if (actual === undefined) return INAPPLICABLE;
    const matches = matcher(c.value);
    // A list (request.groups.id) equals a value when any member does, and differs when none does.
    const hit = typeof actual === 'string' ? matches(actual) : actual.some(matches);
    return c.op === '=' ? hit : !hit;
  }
  // Every item is evaluated, without short-circuiting: an inapplicable variable anywhere declines
  // the statement, even inside an `any` that another item already satisfies.
  const results = c.items.map((item) => evaluate(item, vars));
  if (results.includes(INAPPLICABLE)) return INAPPLICABLE;
  return c.kind === 'any' ? results.includes(true) : results.every((r) => r === true);
}

/**
 * Whether the condition holds. Matching is case-insensitive; a variable missing
 * from `vars` does not apply to the request, and OCI then declines the whole
 * statement ("Variables that aren't applicable to a request result in a declined request").
 */
export function evaluateCondition(c: Condition, vars: RequestVariables): boolean {
  return evaluate(c, vars) === true;
}

/** True when `id` is `ancestorId` or lies below it. */
export function isAncestorOrSelf(tree: CompartmentTree, ancestorId: string, id: string): boolean {
  // The depth bound guards against a cycle in corrupt data; OCI allows six levels below the root.
  let cur: string | null = id;
  for (let depth = 0; cur !== null && depth < 64; depth++) {
    if (cur === ancestorId) return true;
    cur = tree.get(cur)?.parentId ?? null;
  }
  return false;
}

/**
 * The compartment a statement's location names, resolved from the compartment
 * its policy is attached to; undefined when it names nothing reachable (the
 * statement then grants nothing rather than failing the whole policy).
 */
export function resolveLocation(loc: Location, attachedTo: string, tree: CompartmentTree): string | undefined {
  if (tree.get(attachedTo) === undefined) return undefined;
  switch (loc.kind) {
    case 'tenancy':
      // Only a root policy may say `tenancy`; elsewhere it would reach above the attachment.
      return attachedTo === tree.rootId ? tree.rootId : undefined;
    case 'compartment-id':
      return isAncestorOrSelf(tree, attachedTo, loc.id) ? loc.id : undefined;
    case 'compartment-path': {
      const [first, ...rest] = loc.path;
      if (first === undefined) return undefined;
      // A direct child wins over the attachment's own name: of the two readings it grants less.
      let cur = tree.children(attachedTo).find((ch) => ch.name === first)?.id;
      if (cur === undefined && tree.get(attachedTo)?.name === first) cur = attachedTo;
      for (const name of rest) {
        if (cur === undefined) return undefined;
        const parent: string = cur;
        cur = tree.children(parent).find((ch) => ch.name === name)?.id;
      }
      return cur;
    }
  }
}

export interface StatementContext {
  /** The caller's groups through ACTIVE memberships. */
  groupIds: ReadonlySet<string>;
  /** The same groups' names, lower-cased. */
  groupNames: ReadonlySet<string>;
  /** The permission being checked; an operation needing several is checked once per permission. */
  permission: string;
  /** The compartment the operation acts in. */
  targetCompartmentId: string;
  /** The compartment the statement's policy is attached to. */
  attachedTo: string;
  tree: CompartmentTree;
  vars: RequestVariables;
}

function subjectMatches(st: Statement, ctx: StatementContext): boolean {
  const s = st.subject;
  switch (s.kind) {
    case 'any-user':
      return true;
    case 'any-group':
      return ctx.groupIds.size > 0;
    case 'group-names':
      return s.names.some((n) => ctx.groupNames.has(n.toLowerCase()));
    case 'group-ids':
      return s.ids.some((id) => ctx.groupIds.has(id));
  }
}

/** Whether this one statement grants `ctx.permission` on `ctx.targetCompartmentId` to the caller. */
export function statementAllows(st: Statement, ctx: StatementContext): boolean {
  if (!subjectMatches(st, ctx)) return false;
  if (!st.grant.permissions.has(ctx.permission)) return false;
  const where = resolveLocation(st.location, ctx.attachedTo, ctx.tree);
  // Inheritance: a grant on a compartment covers everything below it.
  if (where === undefined || !isAncestorOrSelf(ctx.tree, where, ctx.targetCompartmentId)) return false;
  if (st.condition === null) return true;
  return evaluateCondition(st.condition, { ...ctx.vars, 'request.permission': ctx.permission });
}
