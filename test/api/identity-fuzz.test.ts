import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  accessLevel, boolQuery, bodyJunkString, definedTags, description, email, fakeFingerprint, fakeOcid, HOME_NAME, iamCompartment, iamName, INNER_NAME,
  lifecycleState, limit, looseObject, page, publicKey, rawQueryJunk, Ref, ref, sortBy, sortOrder, statements, tags, tagsOk, urlJunk, versionDate, w,
  type Env, type RefName, type Val,
} from '../helpers/arbitraries.js';
import { assertFuzz, judge, pair, sendFuzz, type Op as FuzzOp, type Seg, type Suite } from '../helpers/fuzz.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { send, SignedCaller, type RawResponse } from '../helpers/oci.js';

/**
 * The Identity operations (/20160918) under the fuzz property of test/helpers/fuzz.ts: 2xx or a
 * well-formed OCI error, 401 exactly for unsigned requests, never the retryable IncorrectState. The
 * fuzzer signs as the bootstrap admin, who may delete anything: it is given the ids of victims only
 * (recreated when a case deleted them), never those of the admin, the Administrators group, the
 * admin's membership or the Tenant-Admin-Policy, and the last test checks those and a canary user,
 * group, membership and policy are untouched and the admin can still work.
 */

const IAM = '/20160918';
type Kind = 'tenancy' | 'compartment' | 'user' | 'group' | 'membership' | 'policy' | 'fingerprint';
type Op = FuzzOp<Kind>;

/** Per kind: the live ids of that kind, an id of another kind, and lookalikes that name nothing. */
const ID_SOURCES: Record<Kind, [fc.Arbitrary<Val>, fc.Arbitrary<Val>, fc.Arbitrary<Val>]> = {
  tenancy: [ref('tenancy'), ref('compartment'), fakeOcid('tenancy')],
  compartment: [ref('compartment'), ref('tenancy'), fakeOcid('compartment')],
  user: [fc.oneof(ref('user'), ref('memberUser')), ref('group'), fakeOcid('user')],
  group: [fc.oneof(ref('group'), ref('memberGroup')), ref('user'), fakeOcid('group')],
  membership: [ref('membership'), ref('group'), fakeOcid('groupmembership')],
  policy: [ref('policy'), ref('compartment'), fakeOcid('policy')],
  fingerprint: [ref('fingerprint'), ref('user'), fakeFingerprint],
};
const idSeg = (kind: Kind): fc.Arbitrary<Seg> => {
  const [mine, other, fake] = ID_SOURCES[kind];
  return fc.oneof(w(8, mine), w(1, other), w(2, fake), w(2, urlJunk), w(1, fc.uint8Array({ minLength: 1, maxLength: 12 })));
};
const SUITE: Suite<Kind> = { prefix: IAM, idSeg, etags: [ref('compartmentEtag'), ref('userEtag'), ref('groupEtag'), ref('policyEtag')], rawQuery: true };

const fzName = fc.stringMatching(/^fz-[a-z0-9]{1,10}$/);
const shortText = fc.string({ maxLength: 30 });
const queryName = (live: RefName): fc.Arbitrary<Val> => fc.oneof(w(2, ref(live)), w(2, iamName), w(2, rawQueryJunk));
const listQuery = (live: RefName): Record<string, fc.Arbitrary<Val>> => ({ compartmentId: iamCompartment, name: queryName(live), sortBy, sortOrder, lifecycleState, limit, page });
const users = fc.oneof(w(3, ref('user')), w(3, ref('memberUser')), w(1, fakeOcid('user')), w(1, urlJunk));
const groups = fc.oneof(w(3, ref('group')), w(3, ref('memberGroup')), w(1, fakeOcid('group')), w(1, urlJunk));
const goodKey = fc.constantFrom<Val>(new Ref('pem1'), new Ref('pem2'), new Ref('pem3'), new Ref('pem4'));
const goodDate = fc.constantFrom<Val>('2024-01-01', '2024-02-29T12:00:00.000Z', null);

// --- the 28 operations ----------------------------------------------------------------------------

const OPS: Record<'compartments' | 'users' | 'groups' | 'policies', Op[]> = {
  compartments: [
    { name: 'GetTenancy', method: 'GET', path: '/tenancies/{id}', id: 'tenancy' },
    {
      name: 'CreateCompartment',
      method: 'POST',
      path: '/compartments',
      body: {
        strict: fc.record({ compartmentId: fc.oneof(ref('tenancy'), ref('home')), name: fzName, description: shortText, freeformTags: tagsOk }, { requiredKeys: ['compartmentId', 'name', 'description'] }),
        loose: looseObject({ compartmentId: iamCompartment, name: iamName, description, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListCompartments',
      method: 'GET',
      path: '/compartments',
      list: true,
      query: { ...listQuery('compartmentName'), compartmentIdInSubtree: boolQuery, accessLevel },
      base: pair('compartmentId', fc.oneof(ref('tenancy'), ref('home'))),
    },
    { name: 'GetCompartment', method: 'GET', path: '/compartments/{id}', id: 'compartment' },
    {
      name: 'UpdateCompartment',
      method: 'PUT',
      path: '/compartments/{id}',
      id: 'compartment',
      body: { strict: fc.record({ name: fzName, description: shortText, freeformTags: tagsOk }, { requiredKeys: [] }), loose: looseObject({ name: iamName, description, freeformTags: tags, definedTags }) },
    },
    { name: 'DeleteCompartment', method: 'DELETE', path: '/compartments/{id}', id: 'compartment' },
  ],
  users: [
    {
      name: 'CreateUser',
      method: 'POST',
      path: '/users',
      body: {
        strict: fc.record(
          { compartmentId: ref('tenancy'), name: fc.oneof(fzName, fc.stringMatching(/^fz\+[a-z0-9]{1,8}@x\.io$/)), description: shortText, email: fc.constantFrom('fz@example.com', ''), freeformTags: tagsOk },
          { requiredKeys: ['compartmentId', 'name', 'description'] },
        ),
        loose: looseObject({ compartmentId: iamCompartment, name: iamName, description, email, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListUsers',
      method: 'GET',
      path: '/users',
      list: true,
      query: { ...listQuery('userName'), identityProviderId: urlJunk, externalIdentifier: urlJunk },
      base: pair('compartmentId', ref('tenancy')),
    },
    { name: 'GetUser', method: 'GET', path: '/users/{id}', id: 'user' },
    {
      name: 'UpdateUser',
      method: 'PUT',
      path: '/users/{id}',
      id: 'user',
      body: {
        strict: fc.record({ description: shortText, email: fc.constantFrom('fz@example.com', 'a+b@x.io'), freeformTags: tagsOk }, { requiredKeys: [] }),
        loose: looseObject({ description, email, dbUserName: bodyJunkString, freeformTags: tags, definedTags }),
      },
    },
    { name: 'DeleteUser', method: 'DELETE', path: '/users/{id}', id: 'user' },
    { name: 'UploadApiKey', method: 'POST', path: '/users/{id}/apiKeys', id: 'user', body: { strict: fc.record({ key: goodKey }), loose: looseObject({ key: publicKey }) } },
    { name: 'ListApiKeys', method: 'GET', path: '/users/{id}/apiKeys', id: 'user', list: true },
    { name: 'DeleteApiKey', method: 'DELETE', path: '/users/{id}/apiKeys/{id2}', id: 'user', id2: 'fingerprint' },
  ],
  groups: [
    {
      name: 'CreateGroup',
      method: 'POST',
      path: '/groups',
      body: {
        strict: fc.record({ compartmentId: ref('tenancy'), name: fzName, description: shortText, freeformTags: tagsOk }, { requiredKeys: ['compartmentId', 'name', 'description'] }),
        loose: looseObject({ compartmentId: iamCompartment, name: iamName, description, freeformTags: tags, definedTags }),
      },
    },
    { name: 'ListGroups', method: 'GET', path: '/groups', list: true, query: listQuery('groupName'), base: pair('compartmentId', ref('tenancy')) },
    { name: 'GetGroup', method: 'GET', path: '/groups/{id}', id: 'group' },
    {
      name: 'UpdateGroup',
      method: 'PUT',
      path: '/groups/{id}',
      id: 'group',
      body: { strict: fc.record({ description: shortText, freeformTags: tagsOk }, { requiredKeys: [] }), loose: looseObject({ description, freeformTags: tags, definedTags }) },
    },
    { name: 'DeleteGroup', method: 'DELETE', path: '/groups/{id}', id: 'group' },
    {
      name: 'AddUserToGroup',
      method: 'POST',
      path: '/userGroupMemberships',
      body: {
        strict: fc.record({ userId: fc.oneof(ref('user'), ref('memberUser')), groupId: fc.oneof(ref('group'), ref('memberGroup')) }),
        loose: looseObject({ userId: users, groupId: groups }),
      },
    },
    {
      name: 'ListUserGroupMemberships',
      method: 'GET',
      path: '/userGroupMemberships',
      list: true,
      query: { compartmentId: iamCompartment, userId: users, groupId: groups, limit, page },
      base: fc
        .tuple(fc.option(users, { nil: undefined }), fc.option(groups, { nil: undefined }))
        .map(([u, g]): [Val, Val][] => [['compartmentId', new Ref('tenancy')], ...(u === undefined ? [] : [['userId', u] as [Val, Val]]), ...(g === undefined ? [] : [['groupId', g] as [Val, Val]])]),
    },
    { name: 'GetUserGroupMembership', method: 'GET', path: '/userGroupMemberships/{id}', id: 'membership' },
    { name: 'RemoveUserFromGroup', method: 'DELETE', path: '/userGroupMemberships/{id}', id: 'membership' },
  ],
  policies: [
    {
      name: 'CreatePolicy',
      method: 'POST',
      path: '/policies',
      body: {
        strict: fc.record(
          { compartmentId: fc.oneof(ref('tenancy'), ref('home')), name: fzName, description: shortText, statements: statements.strict, versionDate: goodDate, freeformTags: tagsOk },
          { requiredKeys: ['compartmentId', 'name', 'description', 'statements'] },
        ),
        loose: looseObject({ compartmentId: iamCompartment, name: iamName, description, statements: statements.loose, versionDate, freeformTags: tags, definedTags }),
      },
    },
    { name: 'ListPolicies', method: 'GET', path: '/policies', list: true, query: listQuery('policyName'), base: pair('compartmentId', fc.oneof(ref('tenancy'), ref('home'))) },
    { name: 'GetPolicy', method: 'GET', path: '/policies/{id}', id: 'policy' },
    {
      name: 'UpdatePolicy',
      method: 'PUT',
      path: '/policies/{id}',
      id: 'policy',
      body: {
        strict: fc.record({ description: shortText, statements: statements.strict, versionDate: goodDate, freeformTags: tagsOk }, { requiredKeys: [] }),
        loose: looseObject({ description, statements: statements.loose, versionDate, freeformTags: tags, definedTags }),
      },
    },
    { name: 'DeletePolicy', method: 'DELETE', path: '/policies/{id}', id: 'policy' },
  ],
};

/** Four RSA keys for uploads (the victim user holds pem1), an EC key and a 1024-bit RSA key to refuse. */
const pems: Partial<Record<RefName, string>> = {};
let pem1Fingerprint = '';
const spki = (k: { publicKey: { export(o: { type: 'spki'; format: 'pem' }): string | Buffer } }): string => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
before(() => {
  for (const name of ['pem1', 'pem2', 'pem3', 'pem4'] as const) pems[name] = spki(generateKeyPairSync('rsa', { modulusLength: 2048 }));
  pems.ecPem = spki(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  pems.smallPem = spki(generateKeyPairSync('rsa', { modulusLength: 1024 }));
  const der = createPublicKey(pems.pem1 ?? '').export({ type: 'spki', format: 'der' });
  pem1Fingerprint = (createHash('md5').update(der).digest('hex').match(/../g) ?? []).join(':');
});

// --- the tests ------------------------------------------------------------------------------------

for (const kind of KINDS) {
  describe(`Identity API fuzz (${kind})`, () => {
    let h: TestHerald;
    let caller: SignedCaller;
    let t: string;
    let home = '';
    let n = 0;
    const victim = { compartment: '', user: '', memberUser: '', group: '', memberGroup: '', membership: '', policy: '' };
    /** What no fuzz case may change: the canary's and the admin's rows, read as GETs at the start. */
    const untouched = new Map<string, RawResponse>();

    const create = async (path: string, body: Record<string, unknown>): Promise<string> => (await caller.call<{ id: string }>('POST', IAM + path, body)).id;
    const newUser = (): Promise<string> => create('/users', { compartmentId: t, name: `victim+${++n}@fz.io`, description: 'fuzz victim' });
    const newGroup = (): Promise<string> => create('/groups', { compartmentId: t, name: `victim-g${++n}`, description: 'fuzz victim' });
    const live = <T extends { lifecycleState: string }>(x: T | undefined): x is T => x?.lifecycleState === 'ACTIVE';

    /** Brings the victims back if a fuzz case deleted (or spoiled) them, and reads their current etags and names. */
    async function refresh(): Promise<Env> {
      const { store } = h.herald;
      const ids = store.identity;
      const q = { tenancyId: t, lifecycleState: 'ACTIVE' as const, sortBy: 'TIMECREATED' as const, sortOrder: 'ASC' as const, offset: 0, limit: 100 };
      let comp = await store.directory.getCompartment(t, victim.compartment);
      // A child or policy a fuzz case put in the victim (ids the fuzzer never learns) would keep it from being deleted again: retire it.
      if (live(comp) && ((await store.directory.listCompartments(t, comp.id)).some(live) || (await ids.listPolicies({ ...q, compartmentId: comp.id })).items.length > 0)) comp = undefined;
      if (!live(comp)) {
        victim.compartment = await create('/compartments', { compartmentId: t, name: `victim-c${++n}`, description: 'fuzz victim' });
        comp = await store.directory.getCompartment(t, victim.compartment);
      }

      let user = await ids.getUser(t, victim.user);
      if (!live(user)) user = await ids.getUser(t, (victim.user = await newUser()));
      let group = await ids.getGroup(t, victim.group);
      if (!live(group)) group = await ids.getGroup(t, (victim.group = await newGroup()));
      // The lone user and group stay in no membership a fuzz case made, so deleting them can succeed.
      const stray = [...(await ids.listMemberships({ ...q, userId: victim.user })).items, ...(await ids.listMemberships({ ...q, groupId: victim.group })).items];
      for (const m of stray) await ids.deleteMembership(t, m.id);
      // The victim user holds pem1 and at most one other key, so uploads can succeed.
      const keys = await store.directory.listApiKeys(t, victim.user);
      for (const k of keys.filter((k) => k.fingerprint !== pem1Fingerprint).slice(1)) await ids.deleteApiKey(t, victim.user, k.fingerprint);
      if (!keys.some((k) => k.fingerprint === pem1Fingerprint)) await caller.call('POST', `${IAM}/users/${victim.user}/apiKeys`, { key: pems.pem1 });

      if (!live(await ids.getMembership(t, victim.membership))) {
        if (!live(await ids.getUser(t, victim.memberUser))) victim.memberUser = await newUser();
        if (!live(await ids.getGroup(t, victim.memberGroup))) victim.memberGroup = await newGroup();
        victim.membership = await create('/userGroupMemberships', { userId: victim.memberUser, groupId: victim.memberGroup });
      }
      let policy = await ids.getPolicy(t, victim.policy);
      if (!live(policy)) {
        const statement = `Allow group ${group?.name ?? 'x'} to read ons-topics in compartment ${HOME_NAME}`;
        policy = await ids.getPolicy(t, (victim.policy = await create('/policies', { compartmentId: t, name: `victim-p${++n}`, description: 'fuzz victim', statements: [statement] })));
      }
      assert.ok(comp !== undefined && user !== undefined && group !== undefined && policy !== undefined);
      return {
        ...pems,
        tenancy: t,
        home,
        homeStatement: `Allow group fz-ids to read ons-topics in compartment id ${home}`,
        compartment: comp.id,
        compartmentEtag: comp.etag,
        compartmentName: comp.name,
        user: user.id,
        userEtag: user.etag,
        userName: user.name,
        fingerprint: pem1Fingerprint,
        memberUser: victim.memberUser,
        group: group.id,
        groupEtag: group.etag,
        groupName: group.name,
        memberGroup: victim.memberGroup,
        membership: victim.membership,
        policy: policy.id,
        policyEtag: policy.etag,
        policyName: policy.name,
      };
    }

    const first = async <T>(path: string): Promise<T> => {
      const items = await caller.call<T[]>('GET', IAM + path);
      assert.ok(items[0] !== undefined, path);
      return items[0];
    };

    before(async () => {
      h = await startTestHerald(kind);
      caller = new SignedCaller(h);
      t = h.tenancyId;
      home = await create('/compartments', { compartmentId: t, name: HOME_NAME, description: 'never a fuzz target' });
      await create('/compartments', { compartmentId: home, name: INNER_NAME, description: 'never a fuzz target' });

      // The canary, and what the admin's access rests on: none of these ids is ever given to the fuzzer.
      const adminUser = h.provider.getUser();
      const admins = await first<{ id: string }>(`/groups?compartmentId=${t}&name=Administrators`);
      const adminMembership = await first<{ id: string }>(`/userGroupMemberships?compartmentId=${t}&userId=${adminUser}&groupId=${admins.id}`);
      const adminPolicy = await first<{ id: string }>(`/policies?compartmentId=${t}&name=Tenant-Admin-Policy`);
      const canaryUser = await create('/users', { compartmentId: t, name: 'canary+user@fz.io', description: 'not a fuzz target', email: 'c@fz.io', freeformTags: { k: 'v' } });
      const canaryGroup = await create('/groups', { compartmentId: t, name: 'canary-group', description: 'not a fuzz target' });
      const canaryMembership = await create('/userGroupMemberships', { userId: canaryUser, groupId: canaryGroup });
      const statements = ['Allow group canary-group to read ons-topics in compartment FuzzHome', `Allow group canary-group to inspect compartments in compartment id ${home}`];
      const canaryPolicy = await create('/policies', { compartmentId: t, name: 'canary-policy', description: 'not a fuzz target', statements });
      const paths = [
        `/users/${adminUser}`, `/users/${adminUser}/apiKeys`, `/groups/${admins.id}`, `/userGroupMemberships/${adminMembership.id}`, `/policies/${adminPolicy.id}`,
        `/users/${canaryUser}`, `/users/${canaryUser}/apiKeys`, `/groups/${canaryGroup}`, `/userGroupMemberships/${canaryMembership}`, `/policies/${canaryPolicy}`,
        `/compartments/${home}`, `/tenancies/${t}`,
      ];
      for (const p of paths) untouched.set(p, await caller.raw('GET', IAM + p));
      await refresh();
    });
    after(async () => {
      await h.stop();
    });

    const groups: [keyof typeof OPS, number][] = [['compartments', 250], ['users', 250], ['groups', 250], ['policies', 250]];
    for (const [group, runs] of groups) {
      it(`answers junk to the ${group} operations with 2xx or a clean OCI error`, async () => {
        await assertFuzz(OPS[group], runs, SUITE, async (r) => {
          const { what, res } = await sendFuzz(r, await refresh(), IAM, caller, h.herald.url);
          judge(r, what, res);
          const say = (problem: string): string => `${problem}\n  request: ${what}\n  response: ${res.status} ${res.text.slice(0, 400)}`;
          // The Identity SDK retries IncorrectState for about 90 s: nothing here is a passing state.
          assert.notEqual(res.json.code, 'IncorrectState', say('IncorrectState from an Identity operation'));
          if (res.status < 200 || res.status >= 300 || r.op.list === true) return;
          if (r.op.method === 'DELETE') assert.equal(res.status, 204, say('a delete did not answer 204'));
          else assert.ok(typeof res.json.id === 'string' || typeof res.json.fingerprint === 'string', say('a 2xx did not answer the resource'));
        });
      });
    }

    it('leaves the canary and the admin untouched, and the admin able to work', async () => {
      for (const [path, before] of untouched) {
        const now = await caller.raw('GET', IAM + path);
        assert.equal(now.status, 200, `${path}: ${now.text}`);
        assert.equal(now.headers.etag, before.headers.etag, path);
        assert.deepEqual(JSON.parse(now.text), JSON.parse(before.text), path);
      }
      // Policies are evaluated afresh: the admin can still list topics, users and policies in the tenancy.
      for (const path of [`/20181201/topics?compartmentId=${t}`, `${IAM}/users?compartmentId=${t}`, `${IAM}/policies?compartmentId=${t}`]) {
        const res = await caller.raw('GET', path);
        assert.equal(res.status, 200, `${path}: ${res.text}`);
        assert.ok(Array.isArray(JSON.parse(res.text)), path);
      }
      const topic = await caller.raw('POST', '/20181201/topics', JSON.stringify({ name: 'after-fuzz', compartmentId: home }));
      assert.equal(topic.status, 200, topic.text);
      const health = await send(new URL(h.herald.url + '/health'), 'GET', {});
      assert.equal(health.status, 200);
    });
  });
}
