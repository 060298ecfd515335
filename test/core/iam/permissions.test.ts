import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPERATIONS } from '../../../src/core/iam/operations.js';
import type { OperationName } from '../../../src/core/iam/operations.js';
import { ALL_PERMISSIONS, permissionsFor, RESOURCE_TYPES, VERBS } from '../../../src/core/iam/permissions.js';
import type { ResourceType, Verb } from '../../../src/core/iam/permissions.js';

/**
 * The weakest verb on each resource type that allows the operation, written out
 * by hand from the reference's tables (§5) rather than derived from the code
 * under test. A type missing from a row never allows that operation.
 */
const WEAKEST: Partial<Record<OperationName, Partial<Record<ResourceType, Verb>>>> = {
  ListTopics: { 'ons-topics': 'inspect', 'ons-family': 'inspect', 'all-resources': 'inspect' },
  GetTopic: { 'ons-topics': 'read', 'ons-family': 'read', 'all-resources': 'read' },
  PublishMessage: { 'ons-topics': 'use', 'ons-family': 'use', 'all-resources': 'use' },
  CreateTopic: { 'ons-topics': 'manage', 'ons-family': 'manage', 'all-resources': 'manage' },
  ChangeTopicCompartment: { 'ons-topics': 'manage', 'ons-family': 'manage', 'all-resources': 'manage' },
  // Subscribing is `use ons-topics`, or `manage ons-subscriptions`.
  CreateSubscription: { 'ons-topics': 'use', 'ons-subscriptions': 'manage', 'ons-family': 'use', 'all-resources': 'use' },
  DeleteSubscription: { 'ons-topics': 'use', 'ons-subscriptions': 'manage', 'ons-family': 'use', 'all-resources': 'use' },
  ListSubscriptions: { 'ons-subscriptions': 'inspect', 'ons-family': 'inspect', 'all-resources': 'inspect' },
  ChangeSubscriptionCompartment: { 'ons-subscriptions': 'manage', 'ons-family': 'manage', 'all-resources': 'manage' },
  ListApplications: { 'fn-app': 'inspect', 'functions-family': 'inspect', 'all-resources': 'inspect' },
  GetApplication: { 'fn-app': 'read', 'functions-family': 'read', 'all-resources': 'read' },
  CreateApplication: { 'fn-app': 'manage', 'functions-family': 'manage', 'all-resources': 'manage' },
  ChangeApplicationCompartment: { 'fn-app': 'manage', 'functions-family': 'manage', 'all-resources': 'manage' },
  ListFunctions: { 'fn-function': 'inspect', 'functions-family': 'inspect', 'all-resources': 'inspect' },
  GetFunction: { 'fn-function': 'read', 'functions-family': 'read', 'all-resources': 'read' },
  UpdateFunction: { 'fn-function': 'manage', 'functions-family': 'manage', 'all-resources': 'manage' },
  InvokeFunction: { 'fn-invocation': 'use', 'functions-family': 'use', 'all-resources': 'use' },
  GetTenancy: { tenancies: 'inspect', 'all-resources': 'inspect' },
  ListCompartments: { compartments: 'inspect', 'all-resources': 'inspect' },
  UpdateCompartment: { compartments: 'use', 'all-resources': 'use' },
  CreateCompartment: { compartments: 'manage', 'all-resources': 'manage' },
  DeleteCompartment: { compartments: 'manage', 'all-resources': 'manage' },
  ListUsers: { users: 'inspect', 'all-resources': 'inspect' },
  ListApiKeys: { users: 'read', 'all-resources': 'read' },
  UpdateUser: { users: 'use', 'all-resources': 'use' },
  CreateUser: { users: 'manage', 'all-resources': 'manage' },
  UploadApiKey: { users: 'manage', 'all-resources': 'manage' },
  DeleteApiKey: { users: 'manage', 'all-resources': 'manage' },
  CreateOrResetUIPassword: { users: 'manage', 'all-resources': 'manage' },
  ListGroups: { groups: 'inspect', 'all-resources': 'inspect' },
  UpdateGroup: { groups: 'use', 'all-resources': 'use' },
  CreateGroup: { groups: 'manage', 'all-resources': 'manage' },
  // Two permissions from two types: no single IAM type grants both, only all-resources.
  AddUserToGroup: { 'all-resources': 'use' },
  ListUserGroupMemberships: { 'all-resources': 'inspect' },
  ListPolicies: { policies: 'inspect', 'all-resources': 'inspect' },
  GetPolicy: { policies: 'inspect', 'all-resources': 'inspect' },
  // UpdatePolicy acts like a create, so `use` is not enough.
  UpdatePolicy: { policies: 'manage', 'all-resources': 'manage' },
  DeletePolicy: { policies: 'manage', 'all-resources': 'manage' },
  GetMessageTrace: { 'ons-topics': 'read', 'ons-family': 'read', 'all-resources': 'read' },
  RedriveDeadLetters: { 'ons-topics': 'use', 'ons-family': 'use', 'all-resources': 'use' },
  GetSigningSecret: { 'ons-topics': 'use', 'ons-subscriptions': 'manage', 'ons-family': 'use', 'all-resources': 'use' },
  UploadFunctionBundle: { 'fn-function': 'manage', 'functions-family': 'manage', 'all-resources': 'manage' },
};

function allows(verb: Verb, type: ResourceType, op: OperationName): boolean {
  const granted = permissionsFor(verb, type);
  return OPERATIONS[op].every((p) => granted.has(p));
}

describe('permission tables', () => {
  for (const [op, weakest] of Object.entries(WEAKEST) as [OperationName, Partial<Record<ResourceType, Verb>>][]) {
    it(`${op} (${OPERATIONS[op].join(' + ')})`, () => {
      for (const type of RESOURCE_TYPES) {
        for (const verb of VERBS) {
          const min = weakest[type];
          const expected = min !== undefined && VERBS.indexOf(verb) >= VERBS.indexOf(min);
          assert.equal(allows(verb, type, op), expected, `${verb} ${type} ${expected ? 'should' : 'should not'} allow ${op}`);
        }
      }
    });
  }

  it('makes every verb include the ones before it', () => {
    for (const type of RESOURCE_TYPES) {
      for (let i = 1; i < VERBS.length; i++) {
        const weaker = permissionsFor(VERBS[i - 1] as Verb, type);
        const stronger = permissionsFor(VERBS[i] as Verb, type);
        for (const p of weaker) assert.ok(stronger.has(p), `${VERBS[i]} ${type} lacks ${p}`);
      }
    }
  });

  it('builds families as unions of their members', () => {
    const union = (verb: Verb, types: ResourceType[]) => new Set(types.flatMap((t) => [...permissionsFor(verb, t)]));
    for (const verb of VERBS) {
      assert.deepEqual(permissionsFor(verb, 'ons-family'), union(verb, ['ons-topics', 'ons-subscriptions']));
      assert.deepEqual(permissionsFor(verb, 'functions-family'), union(verb, ['fn-app', 'fn-function', 'fn-invocation']));
      const every = RESOURCE_TYPES.filter((t) => t !== 'all-resources');
      assert.deepEqual(permissionsFor(verb, 'all-resources'), union(verb, every));
    }
  });

  it('keeps invoking apart from building functions', () => {
    assert.ok(!permissionsFor('manage', 'fn-app').has('FN_INVOCATION'));
    assert.ok(!permissionsFor('manage', 'fn-function').has('FN_INVOCATION'));
    assert.deepEqual([...permissionsFor('inspect', 'fn-invocation')], []);
    assert.deepEqual([...permissionsFor('manage', 'fn-invocation')], ['FN_INVOCATION']);
  });

  it('lists the credential and tenancy permissions the tables leave as "…"', () => {
    const users = permissionsFor('manage', 'users');
    for (const p of ['USER_CREATE', 'USER_DELETE', 'USER_APIKEY_ADD', 'USER_APIKEY_REMOVE', 'USER_UIPASS_SET']) assert.ok(users.has(p), p);
    assert.ok(!permissionsFor('use', 'users').has('USER_APIKEY_ADD'));
    assert.ok(permissionsFor('manage', 'tenancies').has('TENANCY_UPDATE'));
    assert.ok(!permissionsFor('inspect', 'tenancies').has('TENANCY_UPDATE'));
  });

  it('knows every permission an operation checks, and manage all-resources grants them all', () => {
    const all = permissionsFor('manage', 'all-resources');
    for (const [op, perms] of Object.entries(OPERATIONS)) {
      for (const p of perms) {
        assert.ok(ALL_PERMISSIONS.has(p), `${op}: ${p} unknown`);
        assert.ok(all.has(p), `${op}: ${p} not in manage all-resources`);
      }
    }
    assert.deepEqual(ALL_PERMISSIONS, all);
    assert.ok(ALL_PERMISSIONS.has('COMPARTMENT_RECOVER'));
  });

  it('refuses an unknown pair', () => {
    assert.throws(() => permissionsFor('write' as Verb, 'users'));
  });
});
