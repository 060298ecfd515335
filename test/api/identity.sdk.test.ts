/**
 * The OCI Identity API subset through the unmodified oci-identity SDK (same version as
 * oci-ons), with only its endpoint changed, on both stores.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as identity from 'oci-identity';
import { expectOciError } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

function rsaPublicPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** `openssl rsa -pubout -outform DER | openssl md5 -c`, written out independently of src/. */
function opensslFingerprint(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return (createHash('md5').update(der).digest('hex').match(/../g) ?? []).join(':');
}

async function all<T>(it: AsyncIterableIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

for (const kind of KINDS) {
  describe(`OCI Identity API through oci-identity (${kind})`, () => {
    let h: TestHerald;
    let iam: identity.IdentityClient;
    let tenancyId: string;

    before(async () => {
      h = await startTestHerald(kind);
      iam = new identity.IdentityClient({ authenticationDetailsProvider: h.provider });
      iam.endpoint = h.herald.url;
      tenancyId = h.tenancyId;
    });
    after(async () => {
      iam.close();
      await h.stop();
    });

    it('getTenancy answers the caller\'s tenancy and hides any other', async () => {
      const t = (await iam.getTenancy({ tenancyId })).tenancy;
      assert.equal(t.id, tenancyId);
      assert.equal(t.name, 'herald');
      await expectOciError(iam.getTenancy({ tenancyId: 'ocid1.tenancy.oc1..aaaaaaaaothertenancy' }), 404, 'NotAuthorizedOrNotFound');
    });

    it('bootstraps Administrators with the admin in it and a root policy that manages everything', async () => {
      const groups = (await iam.listGroups({ compartmentId: tenancyId })).items;
      const admins = groups.find((g) => g.name === 'Administrators');
      assert.ok(admins, 'an Administrators group');
      const members = (await iam.listUserGroupMemberships({ compartmentId: tenancyId, groupId: admins.id })).items;
      assert.deepEqual(members.map((m) => m.userId), [h.provider.getUser()]);
      const policies = (await iam.listPolicies({ compartmentId: tenancyId })).items;
      assert.ok(policies.some((p) => p.statements.some((s) => /^allow group administrators to manage all-resources in tenancy$/i.test(s))));
    });

    it('compartments: create, get, list (children and subtree), update, delete when empty', async () => {
      const eng = (await iam.createCompartment({ createCompartmentDetails: { compartmentId: tenancyId, name: 'Eng', description: 'engineering' } })).compartment;
      assert.match(eng.id, /^ocid1\.compartment\.oc1\.\./);
      assert.equal(eng.compartmentId, tenancyId);
      assert.equal(eng.lifecycleState, 'ACTIVE');
      assert.match(eng.timeCreated as unknown as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const dev = (await iam.createCompartment({ createCompartmentDetails: { compartmentId: eng.id, name: 'Dev', description: '' } })).compartment;
      const got = await iam.getCompartment({ compartmentId: dev.id });
      assert.equal(got.compartment.name, 'Dev');
      assert.ok(got.etag);

      const children = (await iam.listCompartments({ compartmentId: tenancyId })).items.map((c) => c.name);
      assert.ok(children.includes('Eng') && !children.includes('Dev'), `direct children only: ${children.join(',')}`);
      const subtree = (await iam.listCompartments({ compartmentId: tenancyId, compartmentIdInSubtree: true })).items.map((c) => c.id);
      assert.ok(subtree.includes(eng.id) && subtree.includes(dev.id) && !subtree.includes(tenancyId));
      await expectOciError(iam.listCompartments({ compartmentId: eng.id, compartmentIdInSubtree: true }), 400, 'InvalidParameter');

      const renamed = (await iam.updateCompartment({ compartmentId: dev.id, updateCompartmentDetails: { name: 'Development' }, ifMatch: got.etag })).compartment;
      assert.equal(renamed.name, 'Development');
      await expectOciError(iam.updateCompartment({ compartmentId: dev.id, updateCompartmentDetails: { description: 'x' }, ifMatch: got.etag }), 412, 'NoEtagMatch');
      await expectOciError(iam.createCompartment({ createCompartmentDetails: { compartmentId: eng.id, name: 'Development', description: '' } }), 409, 'Conflict');

      // Not empty: a Conflict, never the IncorrectState the SDK would retry for 90 s.
      await expectOciError(iam.deleteCompartment({ compartmentId: eng.id }), 409, 'Conflict');
      await iam.deleteCompartment({ compartmentId: dev.id });
      await iam.deleteCompartment({ compartmentId: eng.id });
      const gone = await iam.createWaiters().forCompartment({ compartmentId: eng.id }, identity.models.Compartment.LifecycleState.Deleted);
      assert.equal(gone?.compartment.lifecycleState, 'DELETED');
      const after = (await iam.listCompartments({ compartmentId: tenancyId })).items.map((c) => c.id);
      assert.ok(!after.includes(eng.id));
    });

    it('users: names with + and @ (sent unencoded in queries), list filters and paging, update, delete with a waiter', async () => {
      const name = 'ops+alerts@example.com';
      const user = (await iam.createUser({ createUserDetails: { compartmentId: tenancyId, name, description: 'on-call', email: 'ops@example.com' } })).user;
      assert.equal(user.name, name);
      assert.equal(user.isMfaActivated, false);
      assert.equal(user.lifecycleState, 'ACTIVE');
      const byName = (await iam.listUsers({ compartmentId: tenancyId, name })).items;
      assert.deepEqual(byName.map((u) => u.id), [user.id]);
      await expectOciError(iam.createUser({ createUserDetails: { compartmentId: tenancyId, name, description: 'again' } }), 409, 'Conflict');

      for (const n of ['u-a', 'u-b', 'u-c']) await iam.createUser({ createUserDetails: { compartmentId: tenancyId, name: n, description: n } });
      // The record iterator follows opc-next-page until it is absent.
      const paged = await all(iam.listUsersRecordIterator({ compartmentId: tenancyId, limit: 2, sortBy: identity.requests.ListUsersRequest.SortBy.Name }));
      assert.deepEqual(paged.map((u) => u.name), ['admin', 'ops+alerts@example.com', 'u-a', 'u-b', 'u-c'].sort());

      const updated = (await iam.updateUser({ userId: user.id, updateUserDetails: { description: 'paging' } })).user;
      assert.equal(updated.description, 'paging');
      assert.equal(updated.email, 'ops@example.com');

      await iam.deleteUser({ userId: user.id });
      const waited = await iam.createWaiters().forUser({ userId: user.id }, identity.models.User.LifecycleState.Deleted);
      assert.equal(waited?.user.lifecycleState, 'DELETED');
      assert.deepEqual((await iam.listUsers({ compartmentId: tenancyId, name })).items, []);
      // A deleted user's name is free again.
      await iam.createUser({ createUserDetails: { compartmentId: tenancyId, name, description: 'back' } });
    });

    it('groups and memberships: add (once), get, list by user and group, remove; a group with members cannot go', async () => {
      const user = (await iam.createUser({ createUserDetails: { compartmentId: tenancyId, name: 'carol', description: 'c' } })).user;
      const group = (await iam.createGroup({ createGroupDetails: { compartmentId: tenancyId, name: 'Publishers', description: 'p' } })).group;
      const m = (await iam.addUserToGroup({ addUserToGroupDetails: { userId: user.id, groupId: group.id } })).userGroupMembership;
      assert.match(m.id, /^ocid1\.groupmembership\.oc1\.\./);
      assert.equal(m.compartmentId, tenancyId);
      assert.equal((await iam.getUserGroupMembership({ userGroupMembershipId: m.id })).userGroupMembership.groupId, group.id);
      assert.deepEqual((await iam.listUserGroupMemberships({ compartmentId: tenancyId, userId: user.id })).items.map((x) => x.id), [m.id]);
      assert.deepEqual((await iam.listUserGroupMemberships({ compartmentId: tenancyId, groupId: group.id })).items.map((x) => x.id), [m.id]);
      const admin = h.provider.getUser();
      assert.deepEqual((await iam.listUserGroupMemberships({ compartmentId: tenancyId, userId: admin, groupId: group.id })).items, []);

      await expectOciError(iam.deleteGroup({ groupId: group.id }), 409, 'Conflict');
      await expectOciError(iam.deleteUser({ userId: user.id }), 409, 'Conflict');
      await iam.removeUserFromGroup({ userGroupMembershipId: m.id });
      assert.deepEqual((await iam.listUserGroupMemberships({ compartmentId: tenancyId, groupId: group.id })).items, []);
      await iam.deleteGroup({ groupId: group.id });
      await iam.deleteUser({ userId: user.id });
      await expectOciError(iam.addUserToGroup({ addUserToGroupDetails: { userId: user.id, groupId: group.id } }), 400, 'RelatedResourceNotAuthorizedOrNotFound');
    });

    it('API keys: upload with OCI fingerprints, at most 3 per user, list without paging, delete', async () => {
      const user = (await iam.createUser({ createUserDetails: { compartmentId: tenancyId, name: 'keyholder', description: 'k' } })).user;
      const pems = [rsaPublicPem(), rsaPublicPem(), rsaPublicPem()];
      for (const pem of pems) {
        const key = (await iam.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: pem } })).apiKey;
        assert.equal(key.fingerprint, opensslFingerprint(pem));
        assert.equal(key.keyId, `${tenancyId}/${user.id}/${key.fingerprint}`);
      }
      await expectOciError(iam.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: rsaPublicPem() } }), 400, 'LimitExceeded');
      await expectOciError(iam.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: pems[0] ?? '' } }), 409, 'Conflict');
      const listed = await iam.listApiKeys({ userId: user.id });
      assert.equal(listed.items.length, 3);
      assert.equal(listed.opcNextPage, undefined);
      // The fingerprint travels percent-encoded in the path.
      await iam.deleteApiKey({ userId: user.id, fingerprint: opensslFingerprint(pems[1] ?? '') });
      assert.deepEqual((await iam.listApiKeys({ userId: user.id })).items.map((k) => k.fingerprint).sort(), [pems[0], pems[2]].map((p) => opensslFingerprint(p ?? '')).sort());
      await expectOciError(iam.deleteApiKey({ userId: user.id, fingerprint: opensslFingerprint(pems[1] ?? '') }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(iam.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: 'not a key' } }), 400, 'InvalidParameter');
    });

    it('policies: create, get, list, update statements, delete; a bad statement is a 400 naming statement and position', async () => {
      const ops = (await iam.createCompartment({ createCompartmentDetails: { compartmentId: tenancyId, name: 'Ops', description: '' } })).compartment;
      const created = await iam.createPolicy({
        createPolicyDetails: {
          compartmentId: tenancyId,
          name: 'ops-readers',
          description: 'read ops topics',
          statements: ['Allow group Operators to read ons-topics in compartment Ops'],
          versionDate: new Date('2026-01-15T00:00:00Z'),
        },
        opcRetryToken: 'policy-token-1',
      });
      const p = created.policy;
      assert.deepEqual(p.statements, ['Allow group Operators to read ons-topics in compartment Ops']);
      assert.equal(String(p.versionDate), '2026-01-15');
      // The same retry token gives the same policy back, not a second one.
      const replay = await iam.createPolicy({
        createPolicyDetails: {
          compartmentId: tenancyId,
          name: 'ops-readers',
          description: 'read ops topics',
          statements: ['Allow group Operators to read ons-topics in compartment Ops'],
          versionDate: new Date('2026-01-15T00:00:00Z'),
        },
        opcRetryToken: 'policy-token-1',
      });
      assert.equal(replay.policy.id, p.id);

      const bad = iam.createPolicy({
        createPolicyDetails: { compartmentId: tenancyId, name: 'bad', description: 'd', statements: ['Allow group X to read ons-topics in tenancy', 'Allow group X too read ons-topics in tenancy'] },
      });
      await expectOciError(bad, 400, 'InvalidParameter');
      await bad.catch((err: { message: string }) => assert.match(err.message, /Statement 2 .*position 14/));
      await expectOciError(
        iam.createPolicy({ createPolicyDetails: { compartmentId: ops.id, name: 'outside', description: 'd', statements: ['Allow any-user to read ons-topics in tenancy'] } }),
        400,
        'InvalidParameter',
      );

      const updated = (await iam.updatePolicy({ policyId: p.id, updatePolicyDetails: { statements: ['Allow group Operators to manage ons-topics in compartment Ops'] } })).policy;
      assert.deepEqual(updated.statements, ['Allow group Operators to manage ons-topics in compartment Ops']);
      assert.equal((await iam.getPolicy({ policyId: p.id })).policy.statements[0], 'Allow group Operators to manage ons-topics in compartment Ops');
      assert.ok((await iam.listPolicies({ compartmentId: tenancyId, name: 'ops-readers' })).items.some((x) => x.id === p.id));
      await iam.deletePolicy({ policyId: p.id });
      assert.equal((await iam.getPolicy({ policyId: p.id })).policy.lifecycleState, 'DELETED');
      assert.deepEqual((await iam.listPolicies({ compartmentId: tenancyId, name: 'ops-readers' })).items, []);
    });
  });
}
