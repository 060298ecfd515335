/**
 * The authorizer over a real store: a policy matrix (each verb × resource type × a sample of
 * operations, on the granted compartment, inherited below it, and refused beside it), and how
 * fast changes reach a node that did not make them.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Authorizer } from '../../../src/core/iam/authorizer.js';
import { newEtag, newOcid } from '../../../src/core/ids.js';
import type { Principal } from '../../../src/core/iam/principal.js';
import type { OperationName } from '../../../src/core/iam/operations.js';
import { STORE_KINDS, makeTestStore, type TestStore } from '../../helpers/stores.js';
import { compartmentFixture, seedTenancy, T0 } from '../../store/fixtures.js';

/** Written out from OCI's tables (oci-identity.md §5), not derived from src: the weakest verb that allows each sample. */
const SAMPLES: Record<string, [OperationName, 'inspect' | 'read' | 'use' | 'manage'][]> = {
  'ons-topics': [['ListTopics', 'inspect'], ['GetTopic', 'read'], ['PublishMessage', 'use'], ['CreateSubscription', 'use'], ['CreateTopic', 'manage'], ['DeleteTopic', 'manage']],
  'ons-subscriptions': [['ListSubscriptions', 'inspect'], ['ChangeSubscriptionCompartment', 'manage']],
  'fn-app': [['ListApplications', 'inspect'], ['GetApplication', 'read'], ['CreateApplication', 'manage']],
  'fn-function': [['ListFunctions', 'inspect'], ['GetFunction', 'read'], ['UpdateFunction', 'manage']],
  'fn-invocation': [['InvokeFunction', 'use']],
  compartments: [['ListCompartments', 'inspect'], ['UpdateCompartment', 'use'], ['CreateCompartment', 'manage']],
  policies: [['ListPolicies', 'inspect'], ['CreatePolicy', 'manage']],
};
const VERBS = ['inspect', 'read', 'use', 'manage'] as const;
const rank = (v: (typeof VERBS)[number]): number => VERBS.indexOf(v);

for (const kind of STORE_KINDS) {
  describe(`authorizer over the ${kind} store`, () => {
    let t: TestStore;
    let tenancyId: string;
    let granted: string;
    let child: string;
    let sibling: string;
    let groupId: string;
    let user: Principal;
    let now = T0;

    before(async () => {
      t = await makeTestStore(kind);
      const f = await seedTenancy(t.store);
      tenancyId = f.tenancy.id;
      user = { tenancyId, userId: f.user.id };
      const a = compartmentFixture(tenancyId, { name: 'Granted' });
      const b = compartmentFixture(tenancyId, { name: 'Child', parentId: a.id });
      const c = compartmentFixture(tenancyId, { name: 'Sibling' });
      for (const x of [a, b, c]) await t.store.directory.insertCompartment(x);
      [granted, child, sibling] = [a.id, b.id, c.id];
      groupId = newOcid('group');
      await t.store.identity.insertGroup({ id: groupId, tenancyId, name: 'Team', description: '', lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0 });
      await t.store.identity.insertMembership({ id: newOcid('groupmembership'), tenancyId, userId: user.userId, groupId, lifecycleState: 'ACTIVE', createdAt: T0 });
    });
    after(() => t.cleanup());

    async function withPolicy<T>(statements: string[], run: (authz: Authorizer) => Promise<T>): Promise<T> {
      const id = newOcid('policy');
      const etag = newEtag();
      await t.store.identity.insertPolicy({ id, tenancyId, compartmentId: tenancyId, name: `p-${id.slice(-8)}`, description: '', statements, versionDate: null, lifecycleState: 'ACTIVE', etag, freeformTags: {}, definedTags: {}, createdAt: T0 });
      try {
        return await run(new Authorizer(t.store.identity));
      } finally {
        await t.store.identity.deletePolicy(tenancyId, id, etag, T0);
      }
    }

    it('with no policy nothing is allowed, not even inspecting', async () => {
      const authz = new Authorizer(t.store.identity);
      for (const op of ['ListTopics', 'GetTenancy', 'ListUsers', 'InvokeFunction'] as const) assert.equal(await authz.allows(user, op, tenancyId), false, op);
    });

    for (const [type, samples] of Object.entries(SAMPLES)) {
      for (const verb of VERBS) {
        it(`${verb} ${type} in compartment Granted: the sample allowed exactly as OCI's table says, inherited by Child, refused in Sibling`, async () => {
          await withPolicy([`Allow group Team to ${verb} ${type} in compartment Granted`], async (authz) => {
            for (const [op, weakest] of samples) {
              const expected = rank(verb) >= rank(weakest);
              assert.equal(await authz.allows(user, op, granted), expected, `${op} in Granted`);
              assert.equal(await authz.allows(user, op, child), expected, `${op} in Child (inherited)`);
              assert.equal(await authz.allows(user, op, sibling), false, `${op} in Sibling`);
              assert.equal(await authz.allows(user, op, tenancyId), false, `${op} in the root (grants do not go up)`);
            }
          });
        });
      }
    }

    it('families and all-resources cover their members; a group-id subject and a compartment path work', async () => {
      await withPolicy(['Allow group Team to manage ons-family in compartment Granted:Child'], async (authz) => {
        assert.equal(await authz.allows(user, 'CreateTopic', child), true);
        assert.equal(await authz.allows(user, 'ChangeSubscriptionCompartment', child), true);
        assert.equal(await authz.allows(user, 'CreateTopic', granted), false, 'the path names Child, not Granted');
        assert.equal(await authz.allows(user, 'CreateApplication', child), false, 'ons-family holds no functions');
      });
      await withPolicy([`Allow group id ${groupId} to manage all-resources in tenancy`], async (authz) => {
        for (const op of ['CreateTopic', 'InvokeFunction', 'CreatePolicy', 'DeleteUser', 'UploadFunctionBundle'] as const) assert.equal(await authz.allows(user, op, sibling), true, op);
      });
    });

    it('operations needing two permissions need both (AddUserToGroup = use users + use groups)', async () => {
      await withPolicy(['Allow group Team to use users in tenancy'], async (authz) => assert.equal(await authz.allows(user, 'AddUserToGroup', tenancyId), false));
      await withPolicy(['Allow group Team to use users in tenancy', 'Allow group Team to use groups in tenancy'], async (authz) =>
        assert.equal(await authz.allows(user, 'AddUserToGroup', tenancyId), true),
      );
    });

    it('conditions: request.operation (either Functions spelling), target.compartment.name, request.permission, inapplicable variables', async () => {
      await withPolicy(["Allow group Team to manage fn-app in tenancy where request.operation = 'ListApp'"], async (authz) => {
        assert.equal(await authz.allows(user, 'ListApplications', sibling), true);
        assert.equal(await authz.allows(user, 'GetApplication', sibling), false);
      });
      await withPolicy(["Allow group Team to read ons-topics in tenancy where target.compartment.name = /Gran*/"], async (authz) => {
        assert.equal(await authz.allows(user, 'GetTopic', granted), true);
        assert.equal(await authz.allows(user, 'GetTopic', sibling), false);
      });
      await withPolicy(["Allow group Team to manage ons-topics in tenancy where request.permission != 'ONS_TOPIC_DELETE'"], async (authz) => {
        assert.equal(await authz.allows(user, 'CreateTopic', sibling), true);
        assert.equal(await authz.allows(user, 'DeleteTopic', sibling), false);
      });
      await withPolicy(["Allow group Team to manage groups in tenancy where target.group.name = 'Team'"], async (authz) => {
        assert.equal(await authz.allows(user, 'UpdateGroup', tenancyId, { 'target.group.id': groupId, 'target.group.name': 'Team' }), true);
        // ListGroups has no target group: the statement declines rather than matching.
        assert.equal(await authz.allows(user, 'ListGroups', tenancyId), false);
      });
    });

    it('another node sees a new membership once its snapshot is older than the TTL; this node at once on invalidate', async () => {
      const other: Principal = { tenancyId, userId: newOcid('user') };
      await t.store.identity.insertUser({ id: other.userId, tenancyId, name: 'late', description: '', email: null, lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0 });
      await withPolicy(['Allow group Team to read ons-topics in tenancy'], async () => {
        const here = new Authorizer(t.store.identity, { ttlMs: 1000, now: () => now });
        const elsewhere = new Authorizer(t.store.identity, { ttlMs: 1000, now: () => now });
        assert.equal(await here.allows(other, 'GetTopic', tenancyId), false);
        assert.equal(await elsewhere.allows(other, 'GetTopic', tenancyId), false);
        await t.store.identity.insertMembership({ id: newOcid('groupmembership'), tenancyId, userId: other.userId, groupId, lifecycleState: 'ACTIVE', createdAt: now });
        here.invalidate(tenancyId);
        assert.equal(await here.allows(other, 'GetTopic', tenancyId), true, 'the node that changed IAM applies it at once');
        now += 999;
        assert.equal(await elsewhere.allows(other, 'GetTopic', tenancyId), false, 'within the TTL the old snapshot stands');
        now += 1;
        assert.equal(await elsewhere.allows(other, 'GetTopic', tenancyId), true, 'after the TTL the change applies');
      });
    });
  });
}
