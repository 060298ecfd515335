import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateCondition, isAncestorOrSelf, resolveLocation, statementAllows } from '../../../src/core/iam/policy-eval.js';
import type { CompartmentNode, CompartmentTree, RequestVariables, StatementContext } from '../../../src/core/iam/policy-eval.js';
import { parseStatement } from '../../../src/core/iam/policy-parser.js';
import type { Condition, Location } from '../../../src/core/iam/policy-parser.js';

/** A tree from [id, parentId, name] rows. */
function treeOf(rows: [string, string | null, string][]): CompartmentTree {
  const nodes = new Map<string, CompartmentNode>(rows.map(([id, parentId, name]) => [id, { id, parentId, name }]));
  const root = rows.find((r) => r[1] === null)?.[0] ?? '';
  return {
    rootId: root,
    get: (id) => nodes.get(id),
    children: (id) => [...nodes.values()].filter((n) => n.parentId === id).map(({ id: cid, name }) => ({ id: cid, name })),
  };
}

// Acme ─┬─ Eng ─┬─ Dev ── Compute
//       │       └─ Eng (a child named like its parent)
//       └─ Ops
const TREE = treeOf([
  ['root', null, 'Acme'],
  ['eng', 'root', 'Eng'],
  ['dev', 'eng', 'Dev'],
  ['compute', 'dev', 'Compute'],
  ['eng2', 'eng', 'Eng'],
  ['ops', 'root', 'Ops'],
]);

/** The condition of `Allow any-user to inspect users in tenancy where <cond>`. */
function cond(text: string): Condition {
  const c = parseStatement(`Allow any-user to inspect users in tenancy where ${text}`).condition;
  assert.ok(c !== null);
  return c;
}

const VARS: RequestVariables = {
  'request.user.id': 'ocid1.user.oc1..alice',
  'request.operation': 'ListUsers',
  'request.groups.id': ['ocid1.group.oc1..ops', 'ocid1.group.oc1..dev'],
  'target.compartment.name': 'Prod-Web',
};

describe('conditions', () => {
  it('compares strings case-insensitively with = and !=', () => {
    assert.equal(evaluateCondition(cond("request.operation = 'listusers'"), VARS), true);
    assert.equal(evaluateCondition(cond("request.operation = 'GetUser'"), VARS), false);
    assert.equal(evaluateCondition(cond("request.operation != 'GetUser'"), VARS), true);
    assert.equal(evaluateCondition(cond("REQUEST.OPERATION != 'LISTUSERS'"), VARS), false);
  });

  it('matches patterns at the start, end, middle or whole, case-insensitively', () => {
    const holds = (p: string) => evaluateCondition(cond(`target.compartment.name = /${p}/`), VARS);
    assert.equal(holds('prod*'), true);
    assert.equal(holds('*web'), true);
    assert.equal(holds('*D-W*'), true);
    assert.equal(holds('Prod-Web'), true);
    assert.equal(holds('Prod'), false, 'without * a pattern must match the whole value');
    assert.equal(holds('web*'), false);
    assert.equal(holds('*prod'), false);
    assert.equal(holds('P*d*b'), true);
    assert.equal(holds('*'), true);
    // Regular-expression characters are literal.
    assert.equal(evaluateCondition(cond('target.compartment.name = /Prod.Web/'), VARS), false);
    assert.equal(evaluateCondition(cond('target.compartment.name != /*web/'), VARS), false);
  });

  it('treats a quoted * literally', () => {
    assert.equal(evaluateCondition(cond("target.compartment.name = 'Prod*'"), VARS), false);
    assert.equal(evaluateCondition(cond("target.compartment.name = 'Prod*'"), { 'target.compartment.name': 'prod*' }), true);
  });

  it('matches a list when any element does, and != when none does', () => {
    assert.equal(evaluateCondition(cond("request.groups.id = 'ocid1.group.oc1..DEV'"), VARS), true);
    assert.equal(evaluateCondition(cond("request.groups.id = 'ocid1.group.oc1..admins'"), VARS), false);
    assert.equal(evaluateCondition(cond("request.groups.id != 'ocid1.group.oc1..admins'"), VARS), true);
    assert.equal(evaluateCondition(cond("request.groups.id != 'ocid1.group.oc1..ops'"), VARS), false);
    assert.equal(evaluateCondition(cond('request.groups.id = /*..dev/'), VARS), true);
    assert.equal(evaluateCondition(cond("request.groups.id = 'x'"), { 'request.groups.id': [] }), false);
    assert.equal(evaluateCondition(cond("request.groups.id != 'x'"), { 'request.groups.id': [] }), true);
  });

  it('combines with any and all, nested', () => {
    const t = "request.operation = 'ListUsers'";
    const f = "request.operation = 'GetUser'";
    assert.equal(evaluateCondition(cond(`any {${f}, ${t}}`), VARS), true);
    assert.equal(evaluateCondition(cond(`any {${f}, ${f}}`), VARS), false);
    assert.equal(evaluateCondition(cond(`all {${t}, ${t}}`), VARS), true);
    assert.equal(evaluateCondition(cond(`all {${t}, ${f}}`), VARS), false);
    assert.equal(evaluateCondition(cond(`all {${t}, any {${f}, all {${t}, ${t}}}}`), VARS), true);
    assert.equal(evaluateCondition(cond(`any {${f}, all {${t}, any {${f}}}}`), VARS), false);
  });

  it('declines when a variable does not apply to the request, whatever the operator or nesting', () => {
    assert.equal(evaluateCondition(cond("target.group.name = 'Admins'"), VARS), false);
    assert.equal(evaluateCondition(cond("target.group.name != 'Admins'"), VARS), false, '!= on a missing variable is not true');
    assert.equal(evaluateCondition(cond("any {request.operation = 'ListUsers', target.group.name != 'Admins'}"), VARS), false);
    assert.equal(evaluateCondition(cond("all {request.operation = 'ListUsers', any {target.user.name = /a*/}}"), VARS), false);
  });

  it('looks variables up regardless of how the caller cased the key', () => {
    assert.equal(evaluateCondition(cond("request.user.mfaTotpVerified = 'true'"), { 'request.user.mfaTotpVerified': 'TRUE' }), true);
  });
});

describe('locations', () => {
  const path = (...p: string[]): Location => ({ kind: 'compartment-path', path: p });

  it('resolves tenancy only for a root policy', () => {
    assert.equal(resolveLocation({ kind: 'tenancy' }, 'root', TREE), 'root');
    assert.equal(resolveLocation({ kind: 'tenancy' }, 'eng', TREE), undefined);
  });

  it('resolves paths from the root: a direct child, then a : path', () => {
    assert.equal(resolveLocation(path('Eng'), 'root', TREE), 'eng');
    assert.equal(resolveLocation(path('Ops'), 'root', TREE), 'ops');
    assert.equal(resolveLocation(path('Acme'), 'root', TREE), 'root', 'the attachment compartment may name itself');
    assert.equal(resolveLocation(path('Eng', 'Dev', 'Compute'), 'root', TREE), 'compute');
    assert.equal(resolveLocation(path('Dev'), 'root', TREE), undefined, 'a grandchild needs a path');
    assert.equal(resolveLocation(path('Compute'), 'root', TREE), undefined);
    assert.equal(resolveLocation(path('Eng', 'Compute'), 'root', TREE), undefined);
    assert.equal(resolveLocation(path('eng'), 'root', TREE), undefined, 'names are compared exactly');
  });

  it('resolves paths from a nested attachment', () => {
    assert.equal(resolveLocation(path('Dev'), 'eng', TREE), 'dev');
    assert.equal(resolveLocation(path('Dev', 'Compute'), 'eng', TREE), 'compute');
    assert.equal(resolveLocation(path('Compute'), 'dev', TREE), 'compute');
    assert.equal(resolveLocation(path('Dev'), 'dev', TREE), 'dev', 'its own name');
    assert.equal(resolveLocation(path('Eng', 'Dev'), 'eng', TREE), undefined, 'Eng names the child Eng, which has no Dev');
    assert.equal(resolveLocation(path('Ops'), 'eng', TREE), undefined, 'a sibling is outside the subtree');
    assert.equal(resolveLocation(path('Acme'), 'eng', TREE), undefined, 'the parent is outside the subtree');
  });

  it('prefers a child over the attachment when both carry the name', () => {
    assert.equal(resolveLocation(path('Eng'), 'eng', TREE), 'eng2');
  });

  it('resolves ids only inside the attachment subtree', () => {
    const id = (x: string): Location => ({ kind: 'compartment-id', id: x });
    assert.equal(resolveLocation(id('compute'), 'root', TREE), 'compute');
    assert.equal(resolveLocation(id('compute'), 'eng', TREE), 'compute');
    assert.equal(resolveLocation(id('eng'), 'eng', TREE), 'eng');
    assert.equal(resolveLocation(id('ops'), 'eng', TREE), undefined);
    assert.equal(resolveLocation(id('root'), 'eng', TREE), undefined);
    assert.equal(resolveLocation(id('nowhere'), 'root', TREE), undefined);
  });

  it('resolves nothing from an unknown attachment', () => {
    assert.equal(resolveLocation(path('Eng'), 'gone', TREE), undefined);
    assert.equal(resolveLocation({ kind: 'compartment-id', id: 'gone' }, 'gone', TREE), undefined);
  });

  it('knows ancestry', () => {
    assert.equal(isAncestorOrSelf(TREE, 'root', 'compute'), true);
    assert.equal(isAncestorOrSelf(TREE, 'eng', 'compute'), true);
    assert.equal(isAncestorOrSelf(TREE, 'dev', 'dev'), true);
    assert.equal(isAncestorOrSelf(TREE, 'compute', 'dev'), false);
    assert.equal(isAncestorOrSelf(TREE, 'ops', 'compute'), false);
    assert.equal(isAncestorOrSelf(TREE, 'root', 'unknown'), false);
    const loop = treeOf([['r', null, 'R'], ['a', 'b', 'A'], ['b', 'a', 'B']]);
    assert.equal(isAncestorOrSelf(loop, 'r', 'a'), false, 'a cycle ends the walk');
  });
});

describe('statementAllows', () => {
  const ctx = (over: Partial<StatementContext> = {}): StatementContext => ({
    groupIds: new Set(['ocid1.group.oc1..ops']),
    groupNames: new Set(['operators']),
    permission: 'ONS_TOPIC_PUBLISH',
    targetCompartmentId: 'dev',
    attachedTo: 'root',
    tree: TREE,
    vars: { 'request.user.id': 'u1', 'request.operation': 'PublishMessage' },
    ...over,
  });
  const allows = (text: string, over: Partial<StatementContext> = {}) => statementAllows(parseStatement(text), ctx(over));

  it('matches subjects: names case-insensitively, ids, any-user, any-group', () => {
    assert.equal(allows('Allow group OPERATORS to use ons-topics in tenancy'), true);
    assert.equal(allows("Allow group Default/'Operators' to use ons-topics in tenancy"), true);
    assert.equal(allows('Allow group Admins, Operators to use ons-topics in tenancy'), true);
    assert.equal(allows('Allow group Admins to use ons-topics in tenancy'), false);
    assert.equal(allows('Allow group id ocid1.group.oc1..ops to use ons-topics in tenancy'), true);
    assert.equal(allows('Allow group id ocid1.group.oc1..admins to use ons-topics in tenancy'), false);
    assert.equal(allows('Allow any-user to use ons-topics in tenancy', { groupIds: new Set(), groupNames: new Set() }), true);
    assert.equal(allows('Allow any-group to use ons-topics in tenancy'), true);
    assert.equal(allows('Allow any-group to use ons-topics in tenancy', { groupIds: new Set(), groupNames: new Set() }), false);
  });

  it('needs the grant to include the permission', () => {
    assert.equal(allows('Allow any-user to read ons-topics in tenancy'), false);
    assert.equal(allows('Allow any-user to {ONS_TOPIC_PUBLISH} in tenancy'), true);
    assert.equal(allows('Allow any-user to {ONS_TOPIC_READ} in tenancy'), false);
    assert.equal(allows('Allow any-user to manage all-resources in tenancy'), true);
  });

  it('inherits down the tree but never up or sideways', () => {
    const s = 'Allow any-user to use ons-topics in compartment Eng';
    assert.equal(allows(s, { targetCompartmentId: 'eng' }), true);
    assert.equal(allows(s, { targetCompartmentId: 'compute' }), true);
    assert.equal(allows(s, { targetCompartmentId: 'root' }), false);
    assert.equal(allows(s, { targetCompartmentId: 'ops' }), false);
    assert.equal(allows('Allow any-user to use ons-topics in compartment Eng:Dev:Compute', { targetCompartmentId: 'dev' }), false);
  });

  it('resolves the location from the attachment', () => {
    assert.equal(allows('Allow any-user to use ons-topics in compartment Dev', { attachedTo: 'eng', targetCompartmentId: 'compute' }), true);
    assert.equal(allows('Allow any-user to use ons-topics in compartment Dev', { attachedTo: 'root' }), false);
    assert.equal(allows('Allow any-user to use ons-topics in tenancy', { attachedTo: 'eng' }), false);
    assert.equal(allows('Allow any-user to use ons-topics in compartment id ops', { attachedTo: 'eng', targetCompartmentId: 'ops' }), false);
  });

  it('checks the condition with request.permission set to the permission checked', () => {
    assert.equal(allows("Allow any-user to manage ons-topics in tenancy where request.permission = 'ONS_TOPIC_PUBLISH'"), true);
    assert.equal(
      allows("Allow any-user to manage ons-topics in tenancy where request.permission = 'ONS_TOPIC_PUBLISH'", { permission: 'ONS_TOPIC_DELETE' }),
      false,
    );
    assert.equal(allows("Allow any-user to use ons-topics in tenancy where request.user.id = 'U1'"), true);
    assert.equal(allows("Allow any-user to use ons-topics in tenancy where request.user.id != 'u1'"), false);
    assert.equal(allows("Allow any-user to use ons-topics in tenancy where target.topic.id = 'x'"), false, 'inapplicable');
    assert.equal(
      allows("Allow any-user to use ons-topics in tenancy where request.permission = 'ONS_TOPIC_READ'", {
        vars: { 'request.permission': 'ONS_TOPIC_READ' },
      }),
      false,
      'the checked permission overrides a stale one in vars',
    );
  });
});
