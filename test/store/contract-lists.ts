import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Topic, TopicState } from '../../src/core/models.js';
import type { ListTopicsQuery } from '../../src/core/ports/topics.js';
import type { Store } from '../../src/store/store.js';
import { cmp, compartmentFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/** The listing half of the store contract, run inside each backend's suite in store.contract.test.ts. */

async function listAll(store: Store, q: Omit<ListTopicsQuery, 'offset'>): Promise<{ ids: string[]; offsets: (number | null)[] }> {
  const ids: string[] = [];
  const offsets: (number | null)[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page = await store.topics.listTopics({ ...q, offset });
    assert.ok(page.items.length <= q.limit);
    ids.push(...page.items.map((t) => t.id));
    offsets.push(page.nextOffset);
    offset = page.nextOffset;
  }
  return { ids, offsets };
}

export function listTopicsContract(getStore: () => Store): void {
  describe('listTopics', () => {
    let store: Store;
    let tenancyId: string;
    let compartmentId: string;
    let live: Topic[];
    const base = { sortBy: 'TIMECREATED', sortOrder: 'ASC', offset: 0, limit: 50 } as const;
    before(async () => {
      store = getStore();
      ({ tenancy: { id: tenancyId } } = await seedTenancy(store));
      const c = compartmentFixture(tenancyId);
      compartmentId = c.id;
      await store.directory.insertCompartment(c);
      const specs: [number, TopicState][] = [
        [3, 'ACTIVE'], [1, 'CREATING'], [2, 'ACTIVE'], [1, 'ACTIVE'], [2, 'DELETING'], [1, 'ACTIVE'], [4, 'ACTIVE'],
      ];
      live = specs.map(([at, state], i) =>
        topicFixture(tenancyId, { compartmentId, name: `t${i}`, createdAt: T0 + at, lifecycleState: state }),
      );
      for (const topic of live) await store.topics.insertTopic(topic);
      const gone = topicFixture(tenancyId, { compartmentId, name: 'gone' });
      await store.topics.insertTopic(gone);
      await store.topics.deleteTopic(tenancyId, gone.id, gone.etag, T0);
      await store.topics.insertTopic(topicFixture(tenancyId, { name: 'in-root' }));
    });

    it('filters by id, name and lifecycleState, never listing DELETED', async () => {
      const q = { ...base, tenancyId, compartmentId };
      const t0 = live[0] as Topic;
      assert.deepEqual((await store.topics.listTopics({ ...q, id: t0.id })).items, [t0]);
      assert.deepEqual((await store.topics.listTopics({ ...q, name: 't2' })).items, [live[2]]);
      assert.deepEqual((await store.topics.listTopics({ ...q, name: 'T2' })).items, []);
      assert.deepEqual((await store.topics.listTopics({ ...q, name: 't2', id: t0.id })).items, []);
      const creating = await store.topics.listTopics({ ...q, lifecycleState: 'CREATING' });
      assert.deepEqual(creating.items, [live[1]]);
      assert.deepEqual((await store.topics.listTopics({ ...q, lifecycleState: 'DELETED' })).items, []);
      assert.deepEqual((await store.topics.listTopics({ ...q, name: 'gone' })).items, []);
      assert.equal((await store.topics.listTopics(q)).items.length, live.length);
    });

    for (const sortBy of ['TIMECREATED', 'LIFECYCLESTATE'] as const) {
      for (const sortOrder of ['ASC', 'DESC'] as const) {
        it(`sorts by ${sortBy} ${sortOrder} with id tie-breaks and pages stably`, async () => {
          const key = (x: Topic): string | number => (sortBy === 'TIMECREATED' ? x.createdAt : x.lifecycleState);
          const asc = [...live].sort((x, y) => cmp(key(x), key(y)) || cmp(x.id, y.id)).map((x) => x.id);
          const expected = sortOrder === 'ASC' ? asc : asc.reverse();
          const whole = await store.topics.listTopics({ ...base, tenancyId, compartmentId, sortBy, sortOrder });
          assert.deepEqual(whole.items.map((x) => x.id), expected);
          assert.equal(whole.nextOffset, null);
          const paged = await listAll(store, { ...base, tenancyId, compartmentId, sortBy, sortOrder, limit: 2 });
          assert.deepEqual(paged.ids, expected);
          assert.deepEqual(paged.offsets, [2, 4, 6, null]);
        });
      }
    }

    it('returns nextOffset null when the last page is exactly full', async () => {
      const q = { ...base, tenancyId, compartmentId, lifecycleState: 'ACTIVE' as const, limit: 5 };
      assert.equal((await store.topics.listTopics(q)).nextOffset, null);
      assert.equal((await store.topics.listTopics({ ...q, limit: 4 })).nextOffset, 4);
      assert.deepEqual(await store.topics.listTopics({ ...q, offset: 5 }), { items: [], nextOffset: null });
    });
  });
}

export function listSubscriptionsContract(getStore: () => Store): void {
  describe('listSubscriptions', () => {
    let store: Store;
    before(() => {
      store = getStore();
    });

    it('lists by compartment and/or topic, excluding DELETED, ordered by createdAt then id', async () => {
      const { tenancy } = await seedTenancy(store);
      const comp = compartmentFixture(tenancy.id);
      await store.directory.insertCompartment(comp);
      const t1 = topicFixture(tenancy.id);
      const t2 = topicFixture(tenancy.id, { compartmentId: comp.id });
      for (const x of [t1, t2]) await store.topics.insertTopic(x);
      const subs = [
        subscriptionFixture(t1, { createdAt: T0 + 2 }),
        subscriptionFixture(t1, { createdAt: T0 + 1 }),
        subscriptionFixture(t1, { createdAt: T0 + 2 }),
        subscriptionFixture(t2, { createdAt: T0 + 1 }),
        subscriptionFixture(t2, { createdAt: T0 }),
        subscriptionFixture(t1, { compartmentId: comp.id, createdAt: T0 + 3 }),
        subscriptionFixture(t1, { lifecycleState: 'DELETED', deletedAt: T0 }),
      ];
      for (const s of subs) await store.subscriptions.insertSubscription(s);
      const order = (xs: typeof subs) =>
        xs.filter((s) => s.lifecycleState !== 'DELETED').sort((x, y) => x.createdAt - y.createdAt || cmp(x.id, y.id));
      const ids = async (q: { compartmentId?: string; topicId?: string }, limit = 50, offset = 0) => {
        const page = await store.subscriptions.listSubscriptions({ tenancyId: tenancy.id, ...q, offset, limit });
        return { ids: page.items.map((s) => s.id), nextOffset: page.nextOffset };
      };
      const idsOf = (xs: typeof subs) => order(xs).map((s) => s.id);
      assert.deepEqual((await ids({ topicId: t1.id })).ids, idsOf(subs.filter((s) => s.topicId === t1.id)));
      assert.deepEqual((await ids({ compartmentId: comp.id })).ids, idsOf(subs.filter((s) => s.compartmentId === comp.id)));
      assert.deepEqual((await ids({ compartmentId: tenancy.id, topicId: t1.id })).ids, idsOf(subs.slice(0, 3)));
      assert.deepEqual((await ids({})).ids, idsOf(subs));
      assert.deepEqual(await ids({}, 4), { ids: idsOf(subs).slice(0, 4), nextOffset: 4 });
      assert.deepEqual(await ids({}, 4, 4), { ids: idsOf(subs).slice(4), nextOffset: null });
    });
  });
}
