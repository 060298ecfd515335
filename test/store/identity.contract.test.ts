import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import type { ListIamQuery } from '../../src/core/iam/identity-store.js';
import type { Group, Membership, Policy } from '../../src/core/iam/models.js';
import { newEtag, newOcid } from '../../src/core/ids.js';
import type { ApiKey, User } from '../../src/core/models.js';
import type { Store } from '../../src/store/store.js';
import { execSql, migrateTo } from '../helpers/migrations.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { compartmentFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/** The IAM port's contract (src/core/iam/identity-store.ts), on both backends. */

/** The fields every IAM record shares, live and untagged. */
const live = () => ({ lifecycleState: 'ACTIVE' as const, etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0 });

const userFixture = (tenancyId: string, over: Partial<User> = {}): User => ({
  ...live(),
  id: newOcid('user'),
  tenancyId,
  name: `user-${newEtag()}`,
  description: 'a user',
  email: 'u@example.com',
  freeformTags: { b: '2', a: '1' },
  definedTags: { ns: { k: 'v', n: 1 } },
  ...over,
});

const groupFixture = (tenancyId: string, over: Partial<Group> = {}): Group => ({
  ...live(),
  id: newOcid('group'),
  tenancyId,
  name: `group-${newEtag()}`,
  description: 'a group',
  ...over,
});

const membershipFixture = (u: User, g: Group, over: Partial<Membership> = {}): Membership => ({
  id: newOcid('groupmembership'),
  tenancyId: u.tenancyId,
  userId: u.id,
  groupId: g.id,
  lifecycleState: 'ACTIVE',
  createdAt: T0,
  ...over,
});

const policyFixture = (tenancyId: string, over: Partial<Policy> = {}): Policy => ({
  ...live(),
  id: newOcid('policy'),
  tenancyId,
  compartmentId: tenancyId,
  name: `policy-${newEtag()}`,
  description: 'a policy',
  statements: ['Allow group Admins to manage all-resources in tenancy', 'Allow any-user to read ons-topics in tenancy'],
  versionDate: null,
  freeformTags: { z: '1' },
  ...over,
});

const keyFixture = (u: User, fingerprint: string): ApiKey => ({
  tenancyId: u.tenancyId,
  userId: u.id,
  fingerprint,
  publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMII...\n-----END PUBLIC KEY-----\n',
  createdAt: T0,
});

const q = (tenancyId: string, over: Partial<ListIamQuery> = {}): ListIamQuery => ({
  tenancyId,
  sortBy: 'TIMECREATED',
  sortOrder: 'ASC',
  offset: 0,
  limit: 100,
  ...over,
});

for (const kind of STORE_KINDS) {
  describe(`IdentityStore contract on ${kind}`, () => {
    let t: TestStore;
    let store: Store;
    let other: string;
    /** A tenancy of its own per test, so lists and snapshots see only that test's rows. */
    const tenancy = async (): Promise<{ id: string; admin: User }> => {
      const f = await seedTenancy(store, 'acme');
      return { id: f.tenancy.id, admin: f.user };
    };
    before(async () => {
      t = await makeTestStore(kind);
      store = t.store;
      other = (await seedTenancy(store, 'other')).tenancy.id;
    });
    after(async () => {
      await t.cleanup();
    });

    it('inserts, gets, replaces and deletes users, scoped to their tenancy', async () => {
      const { id } = await tenancy();
      const ids = store.identity;
      const u = userFixture(id);
      await ids.insertUser(u);
      assert.deepEqual(await ids.getUser(id, u.id), u);
      assert.equal(await ids.getUser(other, u.id), undefined);
      await assert.rejects(ids.insertUser(userFixture(id, { name: u.name })), (e: unknown) => e instanceof ConflictError && e.message.includes(`User with name "${u.name}"`));
      await ids.insertUser(userFixture(other, { name: u.name }));

      // The name and the state are not the replace's to change.
      const next = { ...u, description: 'changed', email: null, etag: newEtag(), freeformTags: { c: '3' } };
      assert.deepEqual(await ids.replaceUser(next, 'deadbeef'), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.replaceUser({ ...next, tenancyId: other }, u.etag), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.replaceUser({ ...next, name: 'renamed', lifecycleState: 'DELETED' }, u.etag), { ok: true, value: next });

      assert.deepEqual(await ids.deleteUser(id, u.id, u.etag, T0), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.deleteUser(other, u.id, next.etag, T0), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.deleteUser(id, u.id, next.etag, T0), { ok: true, value: { ...next, lifecycleState: 'DELETED' } });
      assert.equal((await ids.getUser(id, u.id))?.lifecycleState, 'DELETED');
      assert.deepEqual(await ids.deleteUser(id, u.id, next.etag, T0), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.replaceUser(next, next.etag), { ok: false, reason: 'not-found' });
      // The name is free again; the deleted row shows only when asked for.
      const again = userFixture(id, { name: u.name });
      await ids.insertUser(again);
      assert.deepEqual((await ids.listUsers(q(id, { name: u.name }))).items, [again]);
      assert.deepEqual((await ids.listUsers(q(id, { name: u.name, lifecycleState: 'DELETED' }))).items.map((x) => x.id), [u.id]);
    });

    it('lists users sorted by name or time, ties by id, one page at a time', async () => {
      const { id, admin } = await tenancy();
      const ids = store.identity;
      const [b, a, c] = [userFixture(id, { name: 'b', createdAt: T0 + 1 }), userFixture(id, { name: 'a', createdAt: T0 + 2 }), userFixture(id, { name: 'c', createdAt: T0 + 2 })];
      for (const u of [b, a, c]) await ids.insertUser(u);
      const names = async (over: Partial<ListIamQuery>) => (await ids.listUsers(q(id, over))).items.map((u) => u.name);
      assert.deepEqual(await names({ sortBy: 'NAME' }), ['a', 'admin', 'b', 'c']);
      assert.deepEqual(await names({ sortBy: 'NAME', sortOrder: 'DESC' }), ['c', 'b', 'admin', 'a']);
      const tied = [a, c].sort((x, y) => (x.id < y.id ? -1 : 1)).map((u) => u.name);
      assert.deepEqual(await names({}), [admin.name, 'b', ...tied]);
      assert.deepEqual(await names({ sortOrder: 'DESC' }), [...tied].reverse().concat('b', admin.name));
      const p1 = await ids.listUsers(q(id, { sortBy: 'NAME', limit: 3 }));
      assert.deepEqual([p1.items.map((u) => u.name), p1.nextOffset], [['a', 'admin', 'b'], 3]);
      const p2 = await ids.listUsers(q(id, { sortBy: 'NAME', limit: 3, offset: 3 }));
      assert.deepEqual([p2.items.map((u) => u.name), p2.nextOffset], [['c'], null]);
      assert.deepEqual(await names({ lifecycleState: 'ACTIVE', name: 'b' }), ['b']);
      const others = (await ids.listUsers(q(other))).items.map((u) => u.id);
      assert.ok(others.length > 0 && [a, b, c].every((u) => !others.includes(u.id)));
    });

    it('limits API keys per user, refuses duplicates, and deletes them', async () => {
      const { id, admin } = await tenancy();
      const ids = store.identity;
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'), 3), 'duplicate');
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'k2'), 3), 'ok');
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'k2'), 3), 'duplicate');
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'k3'), 3), 'ok');
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'k4'), 3), 'limit');
      assert.deepEqual((await store.directory.listApiKeys(id, admin.id)).map((k) => k.fingerprint).sort(), ['aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99', 'k2', 'k3']);
      assert.equal(await ids.deleteApiKey(other, admin.id, 'k2'), false);
      assert.equal(await ids.deleteApiKey(id, admin.id, 'k2'), true);
      assert.equal(await ids.deleteApiKey(id, admin.id, 'k2'), false);
      assert.equal(await ids.insertApiKeyLimited(keyFixture(admin, 'k4'), 3), 'ok');
      await assert.rejects(ids.insertApiKeyLimited(keyFixture({ ...admin, tenancyId: other }, 'k5'), 3), NotFoundError);
    });

    it('never lets concurrent key inserts pass the limit', async () => {
      const u = userFixture((await tenancy()).id);
      await store.identity.insertUser(u);
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.identity.insertApiKeyLimited(keyFixture(u, `f${i}`), 3)));
      assert.equal(results.filter((r) => r === 'ok').length, 3);
      assert.equal((await store.directory.listApiKeys(u.tenancyId, u.id)).length, 3);
    });

    it('deleteUser removes its API keys and console sign-in', async () => {
      const { id } = await tenancy();
      const u = userFixture(id);
      await store.identity.insertUser(u);
      assert.equal(await store.identity.insertApiKeyLimited(keyFixture(u, 'k1'), 3), 'ok');
      const username = `login-${newEtag()}`;
      await store.console.insertConsoleUserIfAbsent({ username, passwordHash: 'x', tenancyId: id, userId: u.id, createdAt: T0 });
      await store.console.insertConsoleSession({ idHash: newEtag(), username, csrfToken: 'c', createdAt: T0, expiresAt: Date.now() + 60_000 });
      assert.ok((await store.identity.deleteUser(id, u.id, u.etag, T0)).ok);
      assert.deepEqual(await store.directory.listApiKeys(id, u.id), []);
      assert.equal(await store.console.getConsoleUser(username), undefined);
      await assert.rejects(store.identity.insertApiKeyLimited(keyFixture(u, 'k2'), 3), NotFoundError);
    });

    it('keeps groups like users, and refuses deleting a group with members or a user in a group', async () => {
      const { id, admin } = await tenancy();
      const ids = store.identity;
      const g = groupFixture(id);
      await ids.insertGroup(g);
      assert.deepEqual(await ids.getGroup(id, g.id), g);
      assert.equal(await ids.getGroup(other, g.id), undefined);
      await assert.rejects(ids.insertGroup(groupFixture(id, { name: g.name })), (e: unknown) => e instanceof ConflictError && e.message.includes(`Group with name "${g.name}"`));
      const next = { ...g, description: 'd2', etag: newEtag() };
      assert.deepEqual(await ids.replaceGroup(next, g.etag), { ok: true, value: next });
      assert.deepEqual(await ids.replaceGroup(next, g.etag), { ok: false, reason: 'etag-mismatch' });

      const m = membershipFixture(admin, g);
      assert.deepEqual(await ids.insertMembership(m), { result: 'ok' });
      assert.deepEqual(await ids.deleteGroup(id, g.id, next.etag, T0), { ok: false, reason: 'not-empty', detail: 'it still has 1 member' });
      assert.deepEqual(await ids.deleteUser(id, admin.id, admin.etag, T0), { ok: false, reason: 'not-empty', detail: 'it is still a member of 1 group' });
      assert.deepEqual(await ids.deleteGroup(id, g.id, 'deadbeef', T0), { ok: false, reason: 'etag-mismatch' });
      assert.ok((await ids.deleteMembership(id, m.id)).ok);
      assert.deepEqual(await ids.deleteGroup(id, g.id, next.etag, T0), { ok: true, value: { ...next, lifecycleState: 'DELETED' } });
      assert.equal((await ids.getGroup(id, g.id))?.lifecycleState, 'DELETED');
      assert.deepEqual((await ids.listGroups(q(id))).items, []);
      await ids.insertGroup(groupFixture(id, { name: g.name }));
      assert.deepEqual((await ids.listGroups(q(id, { sortBy: 'NAME' }))).items.map((x) => x.name), [g.name]);
    });

    it('adds a user to a group once, only while both live in the tenancy', async () => {
      const { id, admin } = await tenancy();
      const ids = store.identity;
      const [g1, g2] = [groupFixture(id), groupFixture(id)];
      await ids.insertGroup(g1);
      await ids.insertGroup(g2);
      const m1 = membershipFixture(admin, g1, { createdAt: T0 + 1 });
      assert.deepEqual(await ids.insertMembership(m1), { result: 'ok' });
      assert.deepEqual(await ids.insertMembership(membershipFixture(admin, g1)), { result: 'exists', existing: m1 });
      assert.deepEqual(await ids.insertMembership(membershipFixture(admin, { ...g1, id: newOcid('group') })), { result: 'missing' });
      assert.deepEqual(await ids.insertMembership({ ...membershipFixture(admin, g1), tenancyId: other }), { result: 'missing' });
      const gone = userFixture(id);
      await ids.insertUser(gone);
      await ids.deleteUser(id, gone.id, gone.etag, T0);
      assert.deepEqual(await ids.insertMembership(membershipFixture(gone, g1)), { result: 'missing' });

      const m2 = membershipFixture(admin, g2, { createdAt: T0 + 2 });
      await ids.insertMembership(m2);
      const list = async (over: { userId?: string; groupId?: string; offset?: number; limit?: number }) =>
        ids.listMemberships({ tenancyId: id, offset: 0, limit: 10, ...over });
      assert.deepEqual((await list({})).items, [m1, m2]);
      assert.deepEqual((await list({ groupId: g2.id })).items, [m2]);
      assert.deepEqual(await list({ userId: admin.id, limit: 1 }), { items: [m1], nextOffset: 1 });
      assert.deepEqual((await ids.listMemberships({ tenancyId: other, offset: 0, limit: 10 })).items, []);

      assert.equal(await ids.getMembership(other, m1.id), undefined);
      assert.deepEqual(await ids.deleteMembership(other, m1.id), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.deleteMembership(id, m1.id), { ok: true, value: { ...m1, lifecycleState: 'DELETED' } });
      assert.deepEqual(await ids.deleteMembership(id, m1.id), { ok: false, reason: 'not-found' });
      assert.equal((await ids.getMembership(id, m1.id))?.lifecycleState, 'DELETED');
      assert.deepEqual((await list({})).items, [m2]);
      assert.deepEqual(await ids.insertMembership(membershipFixture(admin, g1)), { result: 'ok' });
    });

    it('agrees on one membership when the same pair is added at once', async () => {
      const { id, admin } = await tenancy();
      const g = groupFixture(id);
      await store.identity.insertGroup(g);
      const results = await Promise.all(Array.from({ length: 6 }, () => store.identity.insertMembership(membershipFixture(admin, g))));
      assert.equal(results.filter((r) => r.result === 'ok').length, 1);
      const existing = results.flatMap((r) => (r.result === 'exists' ? [r.existing.id] : []));
      assert.equal(new Set(existing).size, 1);
    });

    it('keeps policies per compartment, with their statements', async () => {
      const { id } = await tenancy();
      const ids = store.identity;
      const c = compartmentFixture(id);
      await store.directory.insertCompartment(c);
      const p = policyFixture(id, { versionDate: '2024-01-01' });
      const inC = policyFixture(id, { compartmentId: c.id });
      await ids.insertPolicy(p);
      await ids.insertPolicy(inC);
      assert.deepEqual(await ids.getPolicy(id, p.id), p);
      assert.equal(await ids.getPolicy(other, p.id), undefined);
      await assert.rejects(ids.insertPolicy(policyFixture(id, { name: p.name, compartmentId: c.id })), (e: unknown) => e instanceof ConflictError && e.message.includes(`Policy with name "${p.name}"`));
      assert.deepEqual((await ids.listPolicies({ ...q(id), compartmentId: id })).items, [p]);
      assert.deepEqual((await ids.listPolicies({ ...q(id), compartmentId: c.id })).items, [inC]);

      const next = { ...p, statements: ['Allow group X to use ons-topics in compartment dev'], versionDate: null, etag: newEtag() };
      assert.deepEqual(await ids.replacePolicy({ ...next, compartmentId: c.id }, p.etag), { ok: true, value: next });
      assert.deepEqual(await ids.replacePolicy(next, p.etag), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.deletePolicy(id, p.id, p.etag, T0), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.deletePolicy(other, p.id, next.etag, T0), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.deletePolicy(id, p.id, next.etag, T0), { ok: true, value: { ...next, lifecycleState: 'DELETED' } });
      assert.equal((await ids.getPolicy(id, p.id))?.lifecycleState, 'DELETED');
      assert.deepEqual((await ids.listPolicies({ ...q(id), compartmentId: id })).items, []);
      await ids.insertPolicy(policyFixture(id, { name: p.name }));
    });

    it('renames compartments unless a live sibling has the name', async () => {
      const { id } = await tenancy();
      const ids = store.identity;
      const [a, b] = [compartmentFixture(id, { name: 'a' }), compartmentFixture(id, { name: 'b' })];
      const nested = compartmentFixture(id, { parentId: a.id, name: 'b' });
      for (const c of [a, b, nested]) await store.directory.insertCompartment(c);
      const next = { ...a, name: 'c', description: 'renamed', etag: newEtag(), freeformTags: { x: 'y' } };
      assert.deepEqual(await ids.replaceCompartment({ ...next, parentId: null, lifecycleState: 'DELETED' }, a.etag), { ok: true, value: next });
      assert.deepEqual(await store.directory.getCompartment(id, a.id), next);
      await assert.rejects(ids.replaceCompartment({ ...next, name: 'b', etag: newEtag() }, next.etag), (e: unknown) => e instanceof ConflictError && e.message.includes('"b"'));
      assert.deepEqual(await ids.replaceCompartment({ ...next, etag: newEtag() }, a.etag), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.replaceCompartment({ ...next, tenancyId: other }, next.etag), { ok: false, reason: 'not-found' });
      assert.ok((await ids.deleteCompartment(id, b.id, b.etag, T0)).ok);
      assert.equal((await ids.replaceCompartment({ ...next, name: 'b', etag: newEtag() }, next.etag)).ok, true);
    });

    it('deletes a compartment only when nothing live is left in it', async () => {
      const { id } = await tenancy();
      const ids = store.identity;
      const c = compartmentFixture(id);
      const child = compartmentFixture(id, { parentId: c.id });
      await store.directory.insertCompartment(c);
      await store.directory.insertCompartment(child);
      const [t1, t2] = [topicFixture(id, { compartmentId: c.id }), topicFixture(id, { compartmentId: c.id })];
      await store.topics.insertTopic(t1);
      await store.topics.insertTopic(t2);
      // Deleting t1 below takes its subscription with it.
      await store.subscriptions.insertSubscription(subscriptionFixture(t1));
      const p = policyFixture(id, { compartmentId: c.id });
      await ids.insertPolicy(p);

      const refused = (detail: string) => ({ ok: false, reason: 'not-empty', detail });
      assert.deepEqual(await ids.deleteCompartment(id, c.id, 'deadbeef', T0), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await ids.deleteCompartment(other, c.id, c.etag, T0), { ok: false, reason: 'not-found' });
      assert.deepEqual(await ids.deleteCompartment(id, c.id, c.etag, T0), refused('it still holds 1 compartment, 2 topics, 1 subscription and 1 policy'));
      assert.ok((await ids.deleteCompartment(id, child.id, child.etag, T0)).ok);
      assert.ok((await store.topics.deleteTopic(id, t1.id, t1.etag, T0)).ok);
      assert.ok((await ids.deletePolicy(id, p.id, p.etag, T0)).ok);
      assert.deepEqual(await ids.deleteCompartment(id, c.id, c.etag, T0), refused('it still holds 1 topic'));
      assert.ok((await store.topics.deleteTopic(id, t2.id, t2.etag, T0)).ok);
      assert.deepEqual(await ids.deleteCompartment(id, c.id, c.etag, T0), { ok: true, value: { ...c, lifecycleState: 'DELETED' } });
      assert.equal(await store.directory.getCompartment(id, c.id), undefined);
      // Only the IAM port reads a deleted compartment back (the SDK's waiter needs it), and only in its tenancy.
      assert.deepEqual(await ids.getCompartmentAnyState(id, c.id), { ...c, lifecycleState: 'DELETED' });
      assert.equal(await ids.getCompartmentAnyState(other, c.id), undefined);
      assert.deepEqual(await ids.deleteCompartment(id, c.id, c.etag, T0), { ok: false, reason: 'not-found' });
      const root = await store.directory.getCompartment(id, id);
      assert.equal((await ids.deleteCompartment(id, id, root?.etag ?? '', T0)).ok, false);
    });

    it('lists the live compartment tree, root first', async () => {
      const { id } = await tenancy();
      const a = compartmentFixture(id, { createdAt: T0 - 10 });
      const b = compartmentFixture(id, { parentId: a.id, createdAt: T0 + 1 });
      const gone = compartmentFixture(id, { createdAt: T0 + 2 });
      for (const c of [a, b, gone]) await store.directory.insertCompartment(c);
      assert.ok((await store.identity.deleteCompartment(id, gone.id, gone.etag, T0)).ok);
      assert.deepEqual((await store.identity.listCompartmentTree(id)).map((c) => c.id), [id, a.id, b.id]);
    });

    it('loads a snapshot of live rows only', async () => {
      const { id, admin } = await tenancy();
      const ids = store.identity;
      const c = compartmentFixture(id, { name: 'dev' });
      const gone = compartmentFixture(id, { name: 'gone' });
      await store.directory.insertCompartment(c);
      await store.directory.insertCompartment(gone);
      const [u, leaver] = [userFixture(id, { name: 'u', createdAt: T0 + 1 }), userFixture(id, { name: 'leaver', createdAt: T0 + 2 })];
      const [g, dropped] = [groupFixture(id, { name: 'g' }), groupFixture(id, { name: 'dropped', createdAt: T0 + 1 })];
      for (const x of [u, leaver]) await ids.insertUser(x);
      for (const x of [g, dropped]) await ids.insertGroup(x);
      const ms = [membershipFixture(u, g), membershipFixture(leaver, g, { createdAt: T0 + 1 }), membershipFixture(u, dropped, { createdAt: T0 + 2 })];
      for (const m of ms) await ids.insertMembership(m);
      const [p, pGone, inGone] = [policyFixture(id, { name: 'p' }), policyFixture(id, { name: 'p2', createdAt: T0 + 1 }), policyFixture(id, { name: 'p3', compartmentId: gone.id })];
      for (const x of [p, pGone, inGone]) await ids.insertPolicy(x);

      await ids.deleteMembership(id, ms[1]?.id ?? '');
      assert.ok((await ids.deleteUser(id, leaver.id, leaver.etag, T0)).ok);
      await ids.deleteMembership(id, ms[2]?.id ?? '');
      assert.ok((await ids.deleteGroup(id, dropped.id, dropped.etag, T0)).ok);
      assert.ok((await ids.deletePolicy(id, pGone.id, pGone.etag, T0)).ok);
      // Behind the port: a compartment that went while a policy was still attached.
      await execSql(t, "UPDATE compartments SET lifecycle_state = 'DELETED' WHERE id = ?", [gone.id]);

      assert.deepEqual(await ids.loadAccessSnapshot(id), {
        compartments: [
          { id, parentId: null, name: 'acme' },
          { id: c.id, parentId: id, name: 'dev' },
        ],
        users: [
          { id: admin.id, name: 'admin' },
          { id: u.id, name: 'u' },
        ],
        groups: [{ id: g.id, name: 'g' }],
        memberships: [{ userId: u.id, groupId: g.id }],
        policies: [{ id: p.id, compartmentId: id, name: 'p', statements: p.statements }],
      });
      assert.deepEqual((await ids.loadAccessSnapshot(other)).groups, []);
    });

    it('lists every tenancy id', async () => {
      const { id } = await tenancy();
      const all = await store.identity.listTenancyIds();
      assert.ok(all.includes(id) && all.includes(other));
      assert.equal(all.length, await store.directory.countTenancies());
    });

    it('migration 8 gives existing users and compartments defaults and etags of their own', async () => {
      const fresh = await makeTestStore(kind, { migrate: false });
      try {
        await migrateTo(fresh, 7);
        const tid = newOcid('tenancy');
        const [u1, u2] = [newOcid('user'), newOcid('user')];
        await execSql(fresh, 'INSERT INTO tenancies (id, name, created_at) VALUES (?, ?, ?)', [tid, 'old', T0]);
        await execSql(fresh, "INSERT INTO compartments (id, tenancy_id, parent_id, name, description, lifecycle_state, created_at) VALUES (?, ?, NULL, 'old', '', 'ACTIVE', ?)", [tid, tid, T0]);
        for (const u of [u1, u2]) await execSql(fresh, 'INSERT INTO users (id, tenancy_id, name, created_at) VALUES (?, ?, ?, ?)', [u, tid, u === u1 ? 'admin' : 'second', T0]);
        await fresh.store.migrate();
        const [a, b] = [await fresh.store.identity.getUser(tid, u1), await fresh.store.identity.getUser(tid, u2)];
        assert.deepEqual({ ...a, etag: '' }, { id: u1, tenancyId: tid, name: 'admin', description: '', email: null, lifecycleState: 'ACTIVE', etag: '', freeformTags: {}, definedTags: {}, createdAt: T0 });
        assert.match(a?.etag ?? '', /^[0-9a-f]{8}$/);
        assert.notEqual(a?.etag, b?.etag);
        const root = await fresh.store.directory.getCompartment(tid, tid);
        assert.deepEqual([root?.freeformTags, root?.definedTags], [{}, {}]);
        assert.match(root?.etag ?? '', /^[0-9a-f]{8}$/);
        await assert.rejects(fresh.store.identity.insertUser(userFixture(tid, { name: 'admin' })), ConflictError);
      } finally {
        await fresh.cleanup();
      }
    });
  });
}
