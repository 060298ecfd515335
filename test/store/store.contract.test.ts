import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '../../src/core/errors.js';
import type { Topic } from '../../src/core/models.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { listSubscriptionsContract, listTopicsContract } from './contract-lists.js';
import {
  compartmentFixture,
  messageFixture,
  rawRow,
  seedTenancy,
  subscriptionFixture,
  T0,
  tenancyFixture,
  topicFixture,
} from './fixtures.js';

/**
 * The one contract both Store backends must satisfy. Each backend gets a
 * private store (temp dir / fresh schema); tests seed their own tenancies so
 * they stay independent of each other's rows.
 */

for (const kind of STORE_KINDS) {
  describe(`Store contract on ${kind}`, () => {
    let t: TestStore;
    let store: Store;
    before(async () => {
      t = await makeTestStore(kind);
      store = t.store;
    });
    after(async () => {
      await t.cleanup();
    });

    describe('migrations and lifecycle', () => {
      it('migrate() is idempotent', async () => {
        await store.migrate();
        await store.migrate();
        const { tenancy } = await seedTenancy(store);
        assert.equal((await store.directory.getTenancy(tenancy.id))?.name, 'acme');
      });

      it('two nodes migrating a fresh database at once both succeed', async () => {
        const fresh = await makeTestStore(kind, { migrate: false });
        try {
          const other = await fresh.openAnother();
          await Promise.all([fresh.store.migrate(), other.migrate(), fresh.store.migrate()]);
          assert.equal(await fresh.store.directory.countTenancies(), 0);
          await seedTenancy(other);
          assert.equal(await fresh.store.directory.countTenancies(), 1);
        } finally {
          await fresh.cleanup();
        }
      });

      it('keeps data across close and reopen', async () => {
        const fresh = await makeTestStore(kind);
        try {
          const { tenancy } = await seedTenancy(fresh.store);
          const topic = topicFixture(tenancy.id, { description: null });
          await fresh.store.topics.insertTopic(topic);
          await fresh.store.settings.putSettingIfAbsent('secret', 's1');
          await fresh.store.close();
          await fresh.store.close();
          const reopened = await openStore(fresh.spec, fresh.dataDir, { schema: fresh.schema });
          try {
            assert.deepEqual(await reopened.topics.getTopic(tenancy.id, topic.id), topic);
            assert.equal(await reopened.settings.getSetting('secret'), 's1');
            assert.equal(await reopened.directory.countTenancies(), 1);
          } finally {
            await reopened.close();
          }
        } finally {
          await fresh.cleanup();
        }
      });
    });

    describe('settings', () => {
      it('keeps the first value and reports it', async () => {
        assert.equal(await store.settings.getSetting('k1'), undefined);
        assert.equal(await store.settings.putSettingIfAbsent('k1', 'first'), 'first');
        assert.equal(await store.settings.putSettingIfAbsent('k1', 'second'), 'first');
        assert.equal(await store.settings.getSetting('k1'), 'first');
      });

      it('agrees on one winner when two nodes race', async () => {
        const other = await t.openAnother();
        const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
        const won = await Promise.all(values.map((v, i) => (i % 2 ? other : store).settings.putSettingIfAbsent('race', v)));
        assert.equal(new Set(won).size, 1);
        assert.ok(values.includes(won[0] ?? ''));
        assert.equal(await store.settings.getSetting('race'), won[0]);
      });
    });

    describe('identity', () => {
      it('creates tenancy, root compartment, admin user and key together', async () => {
        const before = await store.directory.countTenancies();
        const { tenancy, user, key } = await seedTenancy(store, 'root-test');
        assert.equal(await store.directory.countTenancies(), before + 1);
        assert.deepEqual(await store.directory.getTenancy(tenancy.id), tenancy);
        assert.deepEqual(await store.directory.getUser(tenancy.id, user.id), user);
        assert.deepEqual(await store.directory.getApiKey(tenancy.id, user.id, key.fingerprint), key);
        const root = await store.directory.getCompartment(tenancy.id, tenancy.id);
        assert.equal(root?.parentId, null);
        assert.equal(root?.lifecycleState, 'ACTIVE');
      });

      it('createTenancy is all or nothing', async () => {
        const { user } = await seedTenancy(store);
        const f = tenancyFixture('dup-user');
        const before = await store.directory.countTenancies();
        await assert.rejects(store.directory.createTenancy(f.tenancy, { ...f.user, id: user.id }, { ...f.key, userId: user.id }));
        assert.equal(await store.directory.getTenancy(f.tenancy.id), undefined);
        assert.equal(await store.directory.getCompartment(f.tenancy.id, f.tenancy.id), undefined);
        assert.equal(await store.directory.countTenancies(), before);
      });

      it("hides another tenancy's users, keys and compartments", async () => {
        const a = await seedTenancy(store, 'a');
        const b = await seedTenancy(store, 'b');
        assert.equal(await store.directory.getUser(b.tenancy.id, a.user.id), undefined);
        assert.equal(await store.directory.getApiKey(b.tenancy.id, a.user.id, a.key.fingerprint), undefined);
        assert.deepEqual(await store.directory.listApiKeys(b.tenancy.id, a.user.id), []);
        assert.equal(await store.directory.getCompartment(b.tenancy.id, a.tenancy.id), undefined);
        assert.deepEqual(await store.directory.listCompartments(b.tenancy.id, a.tenancy.id), []);
      });

      it('lists api keys and child compartments, hiding DELETED compartments', async () => {
        const { tenancy, user, key } = await seedTenancy(store);
        const key2 = { ...key, fingerprint: '11:22', createdAt: T0 + 1 };
        await store.directory.insertApiKey(key2);
        assert.deepEqual(await store.directory.listApiKeys(tenancy.id, user.id), [key, key2]);
        const dev = compartmentFixture(tenancy.id, { name: 'dev' });
        const prod = compartmentFixture(tenancy.id, { name: 'prod', createdAt: T0 + 1 });
        const gone = compartmentFixture(tenancy.id, { name: 'gone', lifecycleState: 'DELETED' });
        const child = compartmentFixture(tenancy.id, { parentId: dev.id, name: 'child' });
        for (const c of [dev, prod, gone, child]) await store.directory.insertCompartment(c);
        assert.deepEqual(await store.directory.getCompartment(tenancy.id, dev.id), dev);
        assert.equal(await store.directory.getCompartment(tenancy.id, gone.id), undefined);
        assert.deepEqual(await store.directory.listCompartments(tenancy.id, tenancy.id), [dev, prod]);
        assert.deepEqual(await store.directory.listCompartments(tenancy.id, dev.id), [child]);
      });
    });

    describe('topics', () => {
      it('round-trips every field and hides it from other tenancies', async () => {
        const a = await seedTenancy(store);
        const b = await seedTenancy(store);
        const topic = topicFixture(a.tenancy.id, { description: null, createdAt: T0 + 5, updatedAt: T0 + 6 });
        await store.topics.insertTopic(topic);
        assert.deepEqual(await store.topics.getTopic(a.tenancy.id, topic.id), topic);
        assert.equal(await store.topics.getTopic(b.tenancy.id, topic.id), undefined);
        const q = { sortBy: 'TIMECREATED', sortOrder: 'ASC', offset: 0, limit: 10 } as const;
        assert.deepEqual(await store.topics.listTopics({ ...q, tenancyId: b.tenancy.id, compartmentId: a.tenancy.id }), {
          items: [],
          nextOffset: null,
        });
        assert.deepEqual(await store.topics.replaceTopic({ ...topic, tenancyId: b.tenancy.id, etag: 'x' }, topic.etag), {
          ok: false,
          reason: 'not-found',
        });
        assert.deepEqual(await store.topics.deleteTopic(b.tenancy.id, topic.id, topic.etag, T0), { ok: false, reason: 'not-found' });
        assert.deepEqual(await store.topics.getTopic(a.tenancy.id, topic.id), topic);
      });

      it('rejects a duplicate live name with ConflictError, case-sensitively, per tenancy', async () => {
        const a = await seedTenancy(store);
        const b = await seedTenancy(store);
        const first = topicFixture(a.tenancy.id, { name: 'orders' });
        await store.topics.insertTopic(first);
        await assert.rejects(store.topics.insertTopic(topicFixture(a.tenancy.id, { name: 'orders' })), (err: unknown) => {
          assert.ok(err instanceof ConflictError);
          assert.equal(err.message, 'Topic with name "orders" already exists in this tenancy.');
          return true;
        });
        await store.topics.insertTopic(topicFixture(a.tenancy.id, { name: 'Orders' }));
        await store.topics.insertTopic(topicFixture(b.tenancy.id, { name: 'orders' }));
        assert.equal((await store.topics.deleteTopic(a.tenancy.id, first.id, first.etag, T0 + 1)).ok, true);
        const again = topicFixture(a.tenancy.id, { name: 'orders' });
        await store.topics.insertTopic(again);
        assert.deepEqual(await store.topics.getTopic(a.tenancy.id, again.id), again);
        const renamed = { ...topicFixture(a.tenancy.id), etag: 'e2' };
        await store.topics.insertTopic({ ...renamed, etag: 'e1' });
        await assert.rejects(store.topics.replaceTopic({ ...renamed, name: 'orders' }, 'e1'), ConflictError);
      });

      it('lets exactly one of several racing inserts of a name win', async () => {
        const { tenancy } = await seedTenancy(store);
        const other = await t.openAnother();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).topics.insertTopic(topicFixture(tenancy.id, { name: 'race' }))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
      });

      it('replaceTopic is a compare-and-swap on the etag', async () => {
        const { tenancy } = await seedTenancy(store);
        const topic = topicFixture(tenancy.id);
        await store.topics.insertTopic(topic);
        const next: Topic = {
          ...topic,
          description: 'changed',
          freeformTags: { a: 'b' },
          definedTags: {},
          etag: 'e-next',
          updatedAt: T0 + 10,
        };
        assert.deepEqual(await store.topics.replaceTopic(next, 'wrong'), { ok: false, reason: 'etag-mismatch' });
        assert.deepEqual(await store.topics.replaceTopic(next, topic.etag), { ok: true, value: next });
        assert.deepEqual(await store.topics.getTopic(tenancy.id, topic.id), next);
        assert.deepEqual(await store.topics.replaceTopic({ ...next, etag: 'e3' }, topic.etag), { ok: false, reason: 'etag-mismatch' });
        assert.deepEqual(await store.topics.replaceTopic({ ...next, id: 'ocid1.onstopic.oc1.iad.missing' }, 'e-next'), {
          ok: false,
          reason: 'not-found',
        });
      });

      it('deleteTopic cascades to live subscriptions and hides the topic', async () => {
        const { tenancy } = await seedTenancy(store);
        const topic = topicFixture(tenancy.id);
        await store.topics.insertTopic(topic);
        const s1 = subscriptionFixture(topic);
        const s2 = subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 });
        const old = subscriptionFixture(topic, { lifecycleState: 'DELETED', deletedAt: T0 + 1 });
        for (const s of [s1, s2, old]) await store.subscriptions.insertSubscription(s);
        assert.deepEqual(await store.topics.deleteTopic(tenancy.id, topic.id, 'wrong', T0 + 50), { ok: false, reason: 'etag-mismatch' });
        assert.deepEqual(await store.subscriptions.getSubscription(tenancy.id, s1.id), s1);

        const res = await store.topics.deleteTopic(tenancy.id, topic.id, topic.etag, T0 + 99);
        assert.ok(res.ok);
        assert.equal(res.value.lifecycleState, 'DELETED');
        assert.equal(res.value.id, topic.id);
        assert.equal(await store.topics.getTopic(tenancy.id, topic.id), undefined);
        assert.deepEqual(await store.topics.deleteTopic(tenancy.id, topic.id, topic.etag, T0 + 100), { ok: false, reason: 'not-found' });
        for (const s of [s1, s2]) {
          // Deleted subscriptions stay readable in state DELETED, as OCI shows them.
          assert.equal((await store.subscriptions.getSubscription(tenancy.id, s.id))?.lifecycleState, 'DELETED');
          assert.equal((await store.subscriptions.getSubscriptionById(s.id))?.deletedAt, T0 + 99);
          const raw = await rawRow(t, 'subscriptions', s.id);
          assert.equal(raw?.lifecycle_state, 'DELETED');
          assert.equal(Number(raw?.deleted_at), T0 + 99);
        }
        assert.equal(Number((await rawRow(t, 'subscriptions', old.id))?.deleted_at), T0 + 1);
        assert.equal((await rawRow(t, 'topics', topic.id))?.lifecycle_state, 'DELETED');
        const page = await store.subscriptions.listSubscriptions({ tenancyId: tenancy.id, topicId: topic.id, offset: 0, limit: 10 });
        assert.deepEqual(page, { items: [], nextOffset: null });
      });

      listTopicsContract(() => store);
    });

    describe('subscriptions', () => {
      it('scopes get by tenancy; getSubscriptionById is unscoped', async () => {
        const a = await seedTenancy(store);
        const b = await seedTenancy(store);
        const topic = topicFixture(a.tenancy.id);
        await store.topics.insertTopic(topic);
        const s = subscriptionFixture(topic, { metadata: '{"x":1}', freeformTags: { k: 'v' }, confirmationExpiresAt: null });
        await store.subscriptions.insertSubscription(s);
        assert.deepEqual(await store.subscriptions.getSubscription(a.tenancy.id, s.id), s);
        assert.equal(await store.subscriptions.getSubscription(b.tenancy.id, s.id), undefined);
        assert.deepEqual(await store.subscriptions.getSubscriptionById(s.id), s);
        assert.equal(await store.subscriptions.getSubscriptionById('ocid1.onssubscription.oc1.iad.nope'), undefined);
        const page = await store.subscriptions.listSubscriptions({ tenancyId: b.tenancy.id, topicId: topic.id, offset: 0, limit: 10 });
        assert.deepEqual(page.items, []);
      });

      listSubscriptionsContract(() => store);

      it('replaceSubscription is a compare-and-swap on the etag', async () => {
        const { tenancy } = await seedTenancy(store);
        const topic = topicFixture(tenancy.id);
        await store.topics.insertTopic(topic);
        const s = subscriptionFixture(topic);
        await store.subscriptions.insertSubscription(s);
        const active = {
          ...s,
          lifecycleState: 'ACTIVE' as const,
          etag: 'e2',
          activatedAt: T0 + 5,
          confirmationTokenHash: null,
          confirmationExpiresAt: null,
          confirmationNonce: 2,
          maxRetryDurationMs: 60_000,
          updatedAt: T0 + 5,
        };
        assert.deepEqual(await store.subscriptions.replaceSubscription(active, 'stale'), { ok: false, reason: 'etag-mismatch' });
        assert.deepEqual(await store.subscriptions.replaceSubscription(active, s.etag), { ok: true, value: active });
        assert.deepEqual(await store.subscriptions.getSubscriptionById(s.id), active);
        const other = tenancyFixture('other').tenancy.id;
        assert.deepEqual(await store.subscriptions.replaceSubscription({ ...active, tenancyId: other }, 'e2'), { ok: false, reason: 'not-found' });
        const gone = { ...active, lifecycleState: 'DELETED' as const, deletedAt: T0 + 6, etag: 'e3' };
        assert.equal((await store.subscriptions.replaceSubscription(gone, 'e2')).ok, true);
        assert.deepEqual(await store.subscriptions.getSubscription(tenancy.id, s.id), gone);
        assert.deepEqual(await store.subscriptions.replaceSubscription({ ...gone, etag: 'e4' }, 'e3'), { ok: false, reason: 'not-found' });
      });

      it('countSubscriptionsByTopic counts live subscriptions per topic of the tenancy, 0 for the rest', async () => {
        const a = await seedTenancy(store);
        const b = await seedTenancy(store);
        const [busy, quiet, empty] = [topicFixture(a.tenancy.id), topicFixture(a.tenancy.id), topicFixture(a.tenancy.id)];
        for (const t of [busy, quiet, empty]) await store.topics.insertTopic(t);
        for (let i = 0; i < 3; i++) await store.subscriptions.insertSubscription(subscriptionFixture(busy));
        const deleted = subscriptionFixture(busy, { lifecycleState: 'DELETED', deletedAt: T0 + 1 });
        await store.subscriptions.insertSubscription(deleted);
        await store.subscriptions.insertSubscription(subscriptionFixture(quiet, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
        const ids = [busy.id, quiet.id, empty.id, 'ocid1.onstopic.oc1.iad.nope'];
        assert.deepEqual(await store.subscriptions.countSubscriptionsByTopic(a.tenancy.id, ids), {
          [busy.id]: 3,
          [quiet.id]: 1,
          [empty.id]: 0,
          'ocid1.onstopic.oc1.iad.nope': 0,
        });
        // Another tenancy asking about the same topics sees nothing of them.
        assert.deepEqual(await store.subscriptions.countSubscriptionsByTopic(b.tenancy.id, [busy.id]), { [busy.id]: 0 });
        assert.deepEqual(await store.subscriptions.countSubscriptionsByTopic(a.tenancy.id, []), {});
      });
    });

    describe('messages', () => {
      it('stores a batch, scoped by tenancy', async () => {
        const a = await seedTenancy(store);
        const b = await seedTenancy(store);
        const topic = topicFixture(a.tenancy.id);
        await store.topics.insertTopic(topic);
        const batch = Array.from({ length: 300 }, (_, i) =>
          messageFixture(topic, {
            publishedAt: T0 + i,
            title: i % 2 ? null : `t${i}`,
            messageType: i % 3 ? 'RAW_TEXT' : 'JSON',
            // The publish span's W3C traceparent, or null when tracing was off.
            traceParent: i % 2 ? `00-${'ab'.repeat(16)}-${i.toString(16).padStart(16, '0')}-01` : null,
          }),
        );
        await store.messages.insertMessages(batch);
        await store.messages.insertMessages([]);
        for (const m of [batch[0], batch[1], batch[299]]) {
          assert.ok(m);
          assert.deepEqual(await store.messages.getMessage(a.tenancy.id, m.id), m);
          assert.equal(await store.messages.getMessage(b.tenancy.id, m.id), undefined);
        }
        assert.equal(Number((await rawRow(t, 'messages', batch[0]?.id ?? ''))?.fanout_state), 0);
      });

      it('inserts all or nothing', async () => {
        const { tenancy } = await seedTenancy(store);
        const topic = topicFixture(tenancy.id);
        await store.topics.insertTopic(topic);
        const existing = messageFixture(topic);
        await store.messages.insertMessages([existing]);
        const fresh = [messageFixture(topic), messageFixture(topic)];
        await assert.rejects(store.messages.insertMessages([...fresh, { ...existing, body: 'dup' }]));
        for (const m of fresh) assert.equal(await store.messages.getMessage(tenancy.id, m.id), undefined);
        assert.deepEqual(await store.messages.getMessage(tenancy.id, existing.id), existing);
      });
    });

    describe('retry tokens', () => {
      const rec = (tenancyId: string, over: { requestHash?: string; createdAt?: number; token?: string } = {}) => ({
        tenancyId,
        token: over.token ?? 'tok-1',
        operation: 'CreateTopic',
        requestHash: over.requestHash ?? 'h1',
        response: null,
        createdAt: over.createdAt ?? T0,
      });

      it('claims once, then returns the record; complete and release', async () => {
        const a = tenancyFixture('a').tenancy.id;
        const b = tenancyFixture('b').tenancy.id;
        assert.equal(await store.retryTokens.claimRetryToken(rec(a), T0 - 1000), undefined);
        assert.deepEqual(await store.retryTokens.claimRetryToken(rec(a, { requestHash: 'h2', createdAt: T0 + 5 }), T0 - 1000), rec(a));
        assert.equal(await store.retryTokens.claimRetryToken(rec(b), T0 - 1000), undefined);
        await store.retryTokens.completeRetryToken(a, 'tok-1', '{"id":"x"}');
        assert.deepEqual(await store.retryTokens.claimRetryToken(rec(a), T0 - 1000), { ...rec(a), response: '{"id":"x"}' });
        await store.retryTokens.releaseRetryToken(a, 'tok-1');
        assert.equal(await store.retryTokens.claimRetryToken(rec(a, { requestHash: 'h3' }), T0 - 1000), undefined);
        assert.equal((await store.retryTokens.claimRetryToken(rec(a), T0 - 1000))?.requestHash, 'h3');
      });

      it('replaces an expired token (createdAt <= notBefore)', async () => {
        const a = tenancyFixture('a').tenancy.id;
        const token = 'tok-exp';
        await store.retryTokens.claimRetryToken(rec(a, { token }), T0 - 1);
        await store.retryTokens.completeRetryToken(a, token, 'old');
        const renewed = rec(a, { token, requestHash: 'h2', createdAt: T0 + 10 });
        assert.equal(await store.retryTokens.claimRetryToken(renewed, T0), undefined);
        assert.deepEqual(await store.retryTokens.claimRetryToken(rec(a, { token }), T0), renewed);
      });

      it('lets exactly one of several racing claims win', async () => {
        const a = tenancyFixture('a').tenancy.id;
        const other = await t.openAnother();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? other : store).retryTokens.claimRetryToken(rec(a, { token: 'tok-race', requestHash: `h${i}` }), T0 - 1),
          ),
        );
        assert.equal(results.filter((r) => r === undefined).length, 1);
        const winners = new Set(results.filter((r) => r !== undefined).map((r) => r?.requestHash));
        assert.equal(winners.size, 1);
      });
    });
  });
}
