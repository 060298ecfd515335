import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { ClaimExclusions, Delivery, DeliveryState, DuePosition, NewDelivery, PublishOutcome } from '../../src/core/deliveries.js';
import { endpointKeyOf } from '../../src/core/endpoints.js';
import { newOcid } from '../../src/core/ids.js';
import type { Message, Subscription, Topic } from '../../src/core/models.js';
import type { ClaimedDelivery } from '../../src/core/ports/deliveries.js';
import type { Store } from '../../src/store/store.js';
import { wakeChannel } from '../../src/store/postgres/notifier.js';
import { eventually } from '../helpers/eventually.js';
import { PG_URL, withPg } from '../helpers/pg.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import {
  confirmationFixture,
  deliveriesOf,
  deliveryFixture,
  rawExec,
  resultFor,
} from './delivery-fixtures.js';
import { cmp, messageFixture, rawRow, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/**
 * The delivery half of the Store contract (DeliveryStore), on both backends.
 * Claims, counts and nextDueAt see every row of a store, so the tests of those
 * get a private store each; the others share one and seed their own tenancies.
 */

const active = (activatedAt: number | null): Partial<Subscription> => ({ lifecycleState: 'ACTIVE', activatedAt });
const ids = (xs: { id: number }[]): number[] => xs.map((x) => x.id);

async function seedTopic(store: Store, tenancyId?: string): Promise<Topic> {
  const topic = topicFixture(tenancyId ?? (await seedTenancy(store)).tenancy.id);
  await store.topics.insertTopic(topic);
  return topic;
}

/** A topic of the tenancy with `live` subscriptions ACTIVE since T0 and `idle` PENDING ones; returns the ACTIVE ones. */
async function seedTopicWith(store: Store, tenancyId: string, live: number, idle = 0): Promise<{ topic: Topic; live: Subscription[] }> {
  const topic = await seedTopic(store, tenancyId);
  const subs = Array.from({ length: live }, () => subscriptionFixture(topic, active(T0)));
  for (const s of [...subs, ...Array.from({ length: idle }, () => subscriptionFixture(topic))]) await store.subscriptions.insertSubscription(s);
  return { topic, live: subs };
}

/** plan.now of the publish tests: after every publishedAt and activatedAt they use. */
const NOW = T0 + 1000;

/** Every MESSAGE delivery of the messages, by delivery id. */
async function deliveriesOfGroup(store: Store, messages: Message[]): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const m of messages) out.push(...(await store.activity.getMessageDeliveries(m.tenancyId, m.id)).map((r) => r.delivery));
  return byDeliveryId(out);
}

/** Exclusions of subscriptions only. */
const subs = (...subscriptions: string[]): ClaimExclusions => ({ endpoints: [], subscriptions });

const byDeliveryId = (xs: Delivery[]): Delivery[] => [...xs].sort((a, b) => a.id - b.id);

/** Which (message, subscription) pairs the deliveries are for, sorted; a duplicate shows twice. */
const pairs = (xs: { messageId: string | null; subscriptionId: string }[]): string[] =>
  xs.map((d) => `${d.messageId ?? '-'} ${d.subscriptionId}`).sort();
const pairsOf = (m: Message, subs: Subscription[]): string[] => pairs(subs.map((s) => ({ messageId: m.id, subscriptionId: s.id })));

/** The parts of a publish outcome the tests compare whole. */
const outcome = ({ stored, claimed, leftover }: PublishOutcome): Pick<PublishOutcome, 'stored' | 'claimed' | 'leftover'> => ({ stored, claimed, leftover });

/** A claimed delivery as the store shows it (without the due time the claim replaced). */
const plain = ({ dueAt: _dueAt, ...d }: ClaimedDelivery): Delivery => d;

/** Inserts deliveries of one message and claims them all (the store must hold no other due work). */
async function claimed(store: Store, deliveries: NewDelivery[], owner = 'node-a', now = T0 + 10): Promise<Delivery[]> {
  await store.deliveries.insertDeliveries(deliveries);
  const got = await store.deliveries.claimDeliveries(deliveries.length + 10, now, now + 1000, owner);
  assert.equal(got.length, deliveries.length);
  return got.map(plain);
}

for (const kind of STORE_KINDS) {
  describe(`DeliveryStore contract on ${kind}`, () => {
    let t: TestStore;
    let store: Store;
    const privateStores: TestStore[] = [];
    /** A store of its own, for tests of the global queues. */
    const fresh = async (): Promise<TestStore> => {
      const f = await makeTestStore(kind);
      privateStores.push(f);
      return f;
    };
    before(async () => {
      t = await makeTestStore(kind);
      store = t.store;
    });
    after(async () => {
      await Promise.all([t, ...privateStores].map((x) => x.cleanup()));
    });

    describe('fan-out', () => {
      it('creates one delivery per subscription ACTIVE at publish time, batch by batch', async () => {
        const topic = await seedTopic(store);
        const elsewhere = await seedTopic(store, topic.tenancyId);
        const P = T0 + 100;
        const eligible = [
          subscriptionFixture(topic, active(T0)),
          subscriptionFixture(topic, { ...active(T0 + 50), protocol: 'EMAIL' }),
          subscriptionFixture(topic, active(P)),
          subscriptionFixture(topic, { ...active(T0), protocol: 'SLACK' }),
          subscriptionFixture(topic, active(T0 + 1)),
          subscriptionFixture(topic, active(T0 + 2)),
        ];
        const ineligible = [
          subscriptionFixture(topic, active(P + 1)),
          subscriptionFixture(topic),
          subscriptionFixture(topic, { lifecycleState: 'DELETED', activatedAt: T0, deletedAt: P + 5 }),
          subscriptionFixture(topic, active(null)),
        ];
        for (const s of [...eligible, ...ineligible, subscriptionFixture(elsewhere, active(T0))]) await store.subscriptions.insertSubscription(s);
        const m = messageFixture(topic, { publishedAt: P });
        await store.messages.insertMessages([m]);

        const order = [...eligible, ...ineligible].sort((a, b) => cmp(a.id, b.id));
        const isEligible = new Set(eligible.map((s) => s.id));
        const results: { created: number; done: boolean }[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await store.deliveries.fanoutBatch(m.id, 3, T0 + 1000 + i);
          results.push(r);
          const expectedCreated = order.slice(3 * i, 3 * i + 3).filter((s) => isEligible.has(s.id)).length;
          assert.equal(r.created, expectedCreated, `batch ${i}`);
          const raw = await rawRow(t, 'messages', m.id);
          assert.equal(raw?.fanout_cursor, order[Math.min(3 * i + 3, order.length) - 1]?.id, `cursor after batch ${i}`);
          assert.equal(Number(raw?.fanout_state), r.done ? 1 : 0);
          if (r.done) break;
        }
        assert.deepEqual(
          results.map((r) => r.done),
          [false, false, false, true],
        );

        const rows = await store.activity.getMessageDeliveries(topic.tenancyId, m.id);
        assert.deepEqual(
          rows.map((r) => r.delivery.subscriptionId).sort(),
          eligible.map((s) => s.id).sort(),
        );
        assert.deepEqual(ids(rows.map((r) => r.delivery)), ids(rows.map((r) => r.delivery)).sort((a, b) => a - b));
        for (const { delivery: d, attempts } of rows) {
          const sub = eligible.find((s) => s.id === d.subscriptionId);
          const batchNow = T0 + 1000 + Math.floor(order.findIndex((s) => s.id === d.subscriptionId) / 3);
          assert.deepEqual(d, {
            id: d.id,
            tenancyId: topic.tenancyId,
            topicId: topic.id,
            subscriptionId: sub?.id,
            messageId: m.id,
            kind: 'MESSAGE',
            protocol: sub?.protocol,
            state: 'PENDING',
            attempts: 0,
            nextAttemptAt: batchNow,
            windowStartAt: batchNow,
            leaseOwner: null,
            confirmationNonce: null,
            lastError: null,
            lastStatus: null,
            deliveredAt: null,
            createdAt: batchNow,
            updatedAt: batchNow,
          });
          assert.deepEqual(attempts, []);
        }

        assert.deepEqual(await store.deliveries.fanoutBatch(m.id, 3, T0 + 2000), { created: 0, done: true });
        // A node that took the lease over replays the fan-out from the start: nothing is duplicated.
        await rawExec(t, 'UPDATE messages SET fanout_state = 0, fanout_cursor = NULL WHERE id = ?', [m.id]);
        assert.deepEqual(await store.deliveries.fanoutBatch(m.id, 100, T0 + 3000), { created: 0, done: true });
        assert.equal((await store.activity.getMessageDeliveries(topic.tenancyId, m.id)).length, eligible.length);
      });

      it('advances past ineligible subscriptions and finishes topics without any', async () => {
        const topic = await seedTopic(store);
        for (let i = 0; i < 5; i++) await store.subscriptions.insertSubscription(subscriptionFixture(topic));
        const m = messageFixture(topic);
        await store.messages.insertMessages([m]);
        const got = [];
        for (let i = 0; i < 3; i++) got.push(await store.deliveries.fanoutBatch(m.id, 2, T0));
        assert.deepEqual(got, [
          { created: 0, done: false },
          { created: 0, done: false },
          { created: 0, done: true },
        ]);

        const empty = await seedTopic(store);
        const lonely = messageFixture(empty);
        await store.messages.insertMessages([lonely]);
        assert.deepEqual(await store.deliveries.fanoutBatch(lonely.id, 2, T0), { created: 0, done: true });
        assert.deepEqual(await store.deliveries.fanoutBatch('no-such-message', 2, T0), { created: 0, done: true });
        await assert.rejects(store.deliveries.fanoutBatch(m.id, 0, T0), RangeError);
      });

      it('fans a group of messages out together, reporting the ones with batches left', async () => {
        const big = await seedTopic(store);
        for (let i = 0; i < 3; i++) await store.subscriptions.insertSubscription(subscriptionFixture(big, active(T0)));
        const small = await seedTopic(store);
        await store.subscriptions.insertSubscription(subscriptionFixture(small, active(T0)));
        const empty = await seedTopic(store);
        const ms = [messageFixture(big, { publishedAt: T0 + 1 }), messageFixture(small, { publishedAt: T0 + 1 }), messageFixture(empty, { publishedAt: T0 + 1 })];
        await store.messages.insertMessages(ms);
        const first = await store.deliveries.fanoutMany(ms.map((m) => m.id), 2, T0 + 5);
        assert.deepEqual(first, { created: 3, unfinished: [ms[0]!.id] });
        const second = await store.deliveries.fanoutMany(first.unfinished, 2, T0 + 6);
        assert.deepEqual(second, { created: 1, unfinished: [] });
        assert.equal((await store.activity.getMessageDeliveries(big.tenancyId, ms[0]!.id)).length, 3);
        assert.equal((await store.activity.getMessageDeliveries(small.tenancyId, ms[1]!.id)).length, 1);
        assert.deepEqual(await store.deliveries.fanoutMany(ms.map((m) => m.id), 2, T0 + 7), { created: 0, unfinished: [] });
      });

      it('fans a large topic out in a few set-based batches', async () => {
        const topic = await seedTopic(store);
        const n = 1200;
        const subs = Array.from({ length: n }, () => subscriptionFixture(topic, active(T0)));
        for (let i = 0; i < n; i += 100) await Promise.all(subs.slice(i, i + 100).map((x) => store.subscriptions.insertSubscription(x)));
        const m = messageFixture(topic, { publishedAt: T0 + 1 });
        await store.messages.insertMessages([m]);
        const got = [];
        for (;;) {
          const r = await store.deliveries.fanoutBatch(m.id, 500, T0 + 5);
          got.push(r);
          if (r.done) break;
        }
        assert.deepEqual(got, [
          { created: 500, done: false },
          { created: 500, done: false },
          { created: 200, done: true },
        ]);
        const rows = await store.activity.getMessageDeliveries(topic.tenancyId, m.id);
        assert.equal(new Set(rows.map((r) => r.delivery.subscriptionId)).size, n);
      });

      it('claimFanout leases unfinished messages oldest first until the lease runs out', async () => {
        const f = await fresh();
        const s = f.store;
        const topic = await seedTopic(s);
        const [m0, m1, m2] = [T0 + 2, T0, T0 + 1].map((publishedAt) => messageFixture(topic, { publishedAt })) as [Message, Message, Message];
        await s.messages.insertMessages([m0, m1, m2]);
        assert.deepEqual(await s.deliveries.claimFanout(2, T0, T0 + 100, 'a'), [m1, m2]);
        assert.deepEqual(await s.deliveries.claimFanout(10, T0 + 50, T0 + 150, 'b'), [m0]);
        assert.deepEqual(await s.deliveries.claimFanout(10, T0 + 99, T0 + 200, 'c'), []);
        // m1 and m2's lease (T0 + 100) has run out; m0's (T0 + 150) has not.
        assert.deepEqual(await s.deliveries.claimFanout(10, T0 + 100, T0 + 300, 'c'), [m1, m2]);
        assert.equal((await rawRow(f, 'messages', m1.id))?.fanout_lease_owner, 'c');
        assert.equal(Number((await rawRow(f, 'messages', m1.id))?.fanout_lease_until), T0 + 300);
        // A finished fan-out is never claimed again.
        assert.deepEqual(await s.deliveries.fanoutBatch(m1.id, 10, T0 + 300), { created: 0, done: true });
        assert.deepEqual(await s.deliveries.claimFanout(10, T0 + 10_000, T0 + 10_100, 'd'), [m2, m0]);
        await assert.rejects(s.deliveries.claimFanout(0, T0, T0, 'd'), RangeError);
      });

      it('releaseFanout gives back only the caller\'s unfinished leases, claimable again at once', async () => {
        const f = await fresh();
        const s = f.store;
        const topic = await seedTopic(s);
        const [m0, m1, m2] = [T0, T0 + 1, T0 + 2].map((publishedAt) => messageFixture(topic, { publishedAt })) as [Message, Message, Message];
        await s.messages.insertMessages([m0, m1, m2]);
        assert.deepEqual(await s.deliveries.claimFanout(2, T0, T0 + 1000, 'a'), [m0, m1]);
        assert.deepEqual(await s.deliveries.claimFanout(10, T0, T0 + 1000, 'b'), [m2]);
        // m1's fan-out finishes (its topic has no subscriptions); then 'a' stops, naming all three.
        assert.deepEqual(await s.deliveries.fanoutBatch(m1.id, 10, T0 + 1), { created: 0, done: true });
        await s.deliveries.releaseFanout([m0.id, m1.id, m2.id], 'a');
        await s.deliveries.releaseFanout([], 'a');
        // Well within the leases: m0 is claimable again, m2 is still 'b''s, m1 is done.
        assert.deepEqual(await s.deliveries.claimFanout(10, T0 + 2, T0 + 2000, 'c'), [m0]);
        assert.equal((await rawRow(f, 'messages', m2.id))?.fanout_lease_owner, 'b');
        assert.equal(Number((await rawRow(f, 'messages', m2.id))?.fanout_lease_until), T0 + 1000);
      });
    });

    describe('publish', () => {
      const lease = (max: number, leaseUntil = NOW + 5000) => ({ owner: 'publisher', leaseUntil, max });

      it('stores only messages of live topics of their own tenancy, and the rest of the group', async () => {
        const topic = await seedTopic(store);
        const sibling = await seedTopic(store, topic.tenancyId);
        const gone = await seedTopic(store, topic.tenancyId);
        await store.subscriptions.insertSubscription(subscriptionFixture(gone, active(T0)));
        assert.equal((await store.topics.deleteTopic(gone.tenancyId, gone.id, gone.etag, T0 + 1)).ok, true);
        const foreign = await seedTopic(store);
        await store.subscriptions.insertSubscription(subscriptionFixture(foreign, active(T0)));
        const stored = [messageFixture(topic), messageFixture(sibling, { title: null })] as [Message, Message];
        const skipped = [
          messageFixture(topic, { topicId: newOcid('onstopic') }),
          messageFixture(gone),
          // Another tenancy's topic, published to from this one.
          messageFixture(foreign, { tenancyId: topic.tenancyId }),
        ] as [Message, Message, Message];
        const plan = { now: NOW, inlineFanout: 10, claim: lease(10) };

        const out = await store.publishing.publishMessages([skipped[0], stored[0], skipped[1], skipped[2], stored[1]], plan);
        assert.deepEqual(outcome(out), { stored: new Set(stored.map((m) => m.id)), claimed: [], leftover: false });
        for (const m of stored) assert.deepEqual(await store.messages.getMessage(m.tenancyId, m.id), m);
        assert.deepEqual(await store.deliveries.getMessagesByIds(skipped.map((m) => m.id)), []);
        for (const m of skipped) assert.deepEqual(await store.activity.getMessageDeliveries(m.tenancyId, m.id), []);
        assert.deepEqual(await store.activity.getMessageDeliveries(foreign.tenancyId, skipped[2].id), []);

        // A group with nothing to store, and an empty group, store and claim nothing.
        assert.deepEqual(outcome(await store.publishing.publishMessages(skipped, plan)), { stored: new Set(), claimed: [], leftover: false });
        assert.deepEqual(outcome(await store.publishing.publishMessages([], plan)), { stored: new Set(), claimed: [], leftover: false });
        assert.deepEqual(await store.deliveries.getMessagesByIds(skipped.map((m) => m.id)), []);
      });

      it('hands a group on at its commit where the commit is not durable yet (SQLite), with the outcome it resolves with', async () => {
        const topic = await seedTopic(store);
        await store.subscriptions.insertSubscription(subscriptionFixture(topic, active(T0)));
        const m = messageFixture(topic);
        let settled = false;
        let handed: { outcome: PublishOutcome; settledYet: boolean; read: Promise<Message | undefined> } | undefined;
        const published = store.publishing.publishMessages([m], { now: NOW, inlineFanout: 10, claim: lease(10) }, (outcome) => {
          handed = { outcome, settledYet: settled, read: store.messages.getMessage(m.tenancyId, m.id) };
        });
        const out = await published;
        settled = true;
        assert.deepEqual(out.stored, new Set([m.id]));
        assert.deepEqual(
          out.claimed.map((d) => d.messageId),
          [m.id],
        );
        if (kind === 'postgres') {
          // Its publish commits once the WAL is flushed: nothing to hand on before that (a flush barrier after an
          // unflushed commit was tried: it cost (a) a fifth of its publishes; docs/performance.md).
          assert.equal(handed, undefined);
          return;
        }
        // SQLite commits without fsync, hands on, and resolves once the fsync that started after the commit ended.
        assert.ok(handed !== undefined, 'the group was not handed on at its commit');
        assert.equal(handed.settledYet, false);
        assert.equal(handed.outcome, out);
        assert.deepEqual(await handed.read, m);
      });

      it("keeps each message's traceparent through publish, lookups and the fan-out claim, null when it had none", async () => {
        const f = await fresh();
        const s = f.store;
        const topic = await seedTopic(s);
        await s.subscriptions.insertSubscription(subscriptionFixture(topic, active(T0)));
        const traced = messageFixture(topic, { traceParent: `00-${'0af7651916cd43dd8448eb211c80319c'}-b7ad6b7169203331-01` });
        const untraced = messageFixture(topic);
        // inlineFanout 0: nothing is fanned out inline, so claimFanout hands both messages back as stored.
        await s.publishing.publishMessages([traced, untraced], { now: NOW, inlineFanout: 0 });
        for (const m of [traced, untraced]) assert.deepEqual(await s.messages.getMessage(m.tenancyId, m.id), m);
        const byId = new Map((await s.deliveries.getMessagesByIds([traced.id, untraced.id])).map((m) => [m.id, m.traceParent]));
        assert.deepEqual(byId, new Map([[traced.id, traced.traceParent], [untraced.id, null]]));
        const claimed = await s.deliveries.claimFanout(10, NOW, NOW + 5000, 'node');
        assert.deepEqual(new Map(claimed.map((m) => [m.id, m.traceParent])), byId);
      });

      it('fans a topic with fewer than inlineFanout subscriptions out at once, to those ACTIVE at publish time', async () => {
        const f = await fresh();
        const s = f.store;
        const topic = await seedTopic(s);
        const elsewhere = await seedTopic(s, topic.tenancyId);
        const P = T0 + 100;
        const eligible = [
          subscriptionFixture(topic, active(T0)),
          subscriptionFixture(topic, { ...active(T0 + 50), protocol: 'EMAIL' }),
          subscriptionFixture(topic, active(P)),
        ];
        const ineligible = [
          subscriptionFixture(topic, active(P + 1)),
          subscriptionFixture(topic),
          subscriptionFixture(topic, { lifecycleState: 'DELETED', activatedAt: T0, deletedAt: P - 5 }),
          subscriptionFixture(topic, active(null)),
        ];
        for (const x of [...eligible, ...ineligible, subscriptionFixture(elsewhere, active(T0))]) await s.subscriptions.insertSubscription(x);
        const m = messageFixture(topic, { publishedAt: P });
        // Seven subscriptions in all, one below the threshold.
        const out = await s.publishing.publishMessages([m], { now: NOW, inlineFanout: 8 });
        assert.deepEqual(outcome(out), { stored: new Set([m.id]), claimed: [], leftover: true });
        assert.equal(out.backlogAdded, eligible.length, 'the backlog grows by the deliveries created');

        const rows = await s.activity.getMessageDeliveries(topic.tenancyId, m.id);
        assert.deepEqual(pairs(rows.map((r) => r.delivery)), pairsOf(m, eligible));
        for (const { delivery: d, attempts } of rows) {
          const sub = eligible.find((x) => x.id === d.subscriptionId);
          assert.deepEqual(d, {
            id: d.id,
            tenancyId: topic.tenancyId,
            topicId: topic.id,
            subscriptionId: sub?.id,
            messageId: m.id,
            kind: 'MESSAGE',
            protocol: sub?.protocol,
            state: 'PENDING',
            attempts: 0,
            nextAttemptAt: NOW,
            windowStartAt: NOW,
            leaseOwner: null,
            confirmationNonce: null,
            lastError: null,
            lastStatus: null,
            deliveredAt: null,
            createdAt: NOW,
            updatedAt: NOW,
          });
          assert.deepEqual(attempts, []);
        }
        assert.deepEqual(await s.messages.getMessage(m.tenancyId, m.id), m);
        // The fan-out is finished: the engine has nothing to lease or add.
        assert.equal(Number((await rawRow(f, 'messages', m.id))?.fanout_state), 1);
        assert.deepEqual(await s.deliveries.claimFanout(10, NOW, NOW + 100, 'engine'), []);
        assert.deepEqual(await s.deliveries.fanoutMany([m.id], 10, NOW + 1), { created: 0, unfinished: [] });
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 3, inFlight: 0, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });

        // A small topic with no eligible subscription, or none at all, is finished with nothing left over.
        const quiet = await seedTopic(s, topic.tenancyId);
        for (const x of [subscriptionFixture(quiet), subscriptionFixture(quiet, active(P + 1))]) await s.subscriptions.insertSubscription(x);
        const empty = await seedTopic(s, topic.tenancyId);
        const idle = [messageFixture(quiet, { publishedAt: P }), messageFixture(empty, { publishedAt: P })];
        const none = await s.publishing.publishMessages(idle, { now: NOW, inlineFanout: 8 });
        assert.deepEqual(outcome(none), { stored: new Set(idle.map((x) => x.id)), claimed: [], leftover: false });
        assert.deepEqual(await deliveriesOfGroup(s, idle), []);
        for (const x of idle) assert.equal(Number((await rawRow(f, 'messages', x.id))?.fanout_state), 1);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 3, inFlight: 0, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });
      });

      it('creates up to claim.max deliveries IN_FLIGHT for the publisher; the rest are PENDING for the engine', async () => {
        const { store: s } = await fresh();
        const { tenancy } = await seedTenancy(s);
        // 3 + 2 + 4 eligible deliveries (9), each topic with one PENDING subscription besides.
        const seeded = [await seedTopicWith(s, tenancy.id, 3, 1), await seedTopicWith(s, tenancy.id, 2, 1), await seedTopicWith(s, tenancy.id, 4, 1)];
        const ms = seeded.map(({ topic }) => messageFixture(topic, { publishedAt: T0 + 1 }));
        const claim = lease(4);
        const out = await s.publishing.publishMessages(ms, { now: NOW, inlineFanout: 10, claim });
        assert.deepEqual(out.stored, new Set(ms.map((m) => m.id)));
        assert.equal(out.leftover, true);
        // How the budget is spent (whole messages, or the first rows) is the backend's choice; never over max.
        const c = out.claimed.length;
        assert.ok(c > 0 && c <= claim.max, `claimed ${c}`);

        const all = await deliveriesOfGroup(s, ms);
        assert.deepEqual(pairs(all), ms.flatMap((m, i) => pairsOf(m, seeded[i]?.live ?? [])).sort());
        const inFlight = all.filter((d) => d.state === 'IN_FLIGHT');
        const pending = all.filter((d) => d.state !== 'IN_FLIGHT');
        assert.deepEqual(byDeliveryId(out.claimed), inFlight);
        assert.equal(c + pending.length, 9);
        const common = { tenancyId: tenancy.id, kind: 'MESSAGE', attempts: 0, windowStartAt: NOW, createdAt: NOW, updatedAt: NOW };
        for (const d of out.claimed) {
          assert.deepEqual(d, { ...d, ...common, state: 'IN_FLIGHT', leaseOwner: claim.owner, nextAttemptAt: claim.leaseUntil });
        }
        for (const d of pending) assert.deepEqual(d, { ...d, ...common, state: 'PENDING', leaseOwner: null, nextAttemptAt: NOW });
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 9 - c, inFlight: c, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });
        assert.equal(await s.deliveries.nextDueAt(), NOW);

        // Another node claims the PENDING rest (due at plan.now), not the publisher's deliveries.
        assert.deepEqual(await s.deliveries.claimDeliveries(100, NOW - 1, NOW + 100_000, 'engine'), []);
        const rest = await s.deliveries.claimDeliveries(100, NOW, NOW + 100_000, 'engine');
        assert.deepEqual(ids(rest).sort((a, b) => a - b), ids(pending));
        assert.deepEqual(await s.deliveries.claimDeliveries(100, claim.leaseUntil - 1, NOW + 100_000, 'engine'), []);
        // The publisher holds the lease: its result applies.
        const [done, ...unfinished] = out.claimed as [Delivery, ...Delivery[]];
        await s.deliveries.completeAttempts([resultFor(done, { state: 'DELIVERED' })], NOW + 1);
        assert.equal((await deliveriesOfGroup(s, ms)).find((d) => d.id === done.id)?.state, 'DELIVERED');
        // The rest come back when the publisher's lease runs out.
        const retaken = await s.deliveries.claimDeliveries(100, claim.leaseUntil, claim.leaseUntil + 1000, 'engine');
        assert.deepEqual(ids(retaken).sort((a, b) => a - b), ids(byDeliveryId(unfinished)));
      });

      it('creates the deliveries of excluded subscriptions PENDING and unclaimed, without calling them leftover', async () => {
        const { store: s } = await fresh();
        const { tenancy } = await seedTenancy(s);
        const a = await seedTopicWith(s, tenancy.id, 3, 1);
        const b = await seedTopicWith(s, tenancy.id, 2);
        const ms = [messageFixture(a.topic, { publishedAt: T0 + 1 }), messageFixture(b.topic, { publishedAt: T0 + 1 })] as [Message, Message];
        // One of a's subscriptions and both of b's sit behind a full endpoint: only a's other two are claimed.
        const [heldA, ...openA] = a.live as [Subscription, ...Subscription[]];
        const claim = { ...lease(10, NOW + 500), exclude: subs(heldA.id, ...b.live.map((x) => x.id)) };
        const out = await s.publishing.publishMessages(ms, { now: NOW, inlineFanout: 10, claim });
        assert.deepEqual(out.stored, new Set(ms.map((m) => m.id)));
        assert.equal(out.leftover, false, 'work only a full endpoint can take was reported as leftover');
        assert.deepEqual(pairs(out.claimed), pairsOf(ms[0], openA));
        assert.ok(out.claimed.every((d) => d.state === 'IN_FLIGHT' && d.leaseOwner === claim.owner && d.nextAttemptAt === claim.leaseUntil));
        const all = await deliveriesOfGroup(s, ms);
        const waiting = all.filter((d) => d.state === 'PENDING');
        assert.deepEqual(pairs(waiting), [...pairsOf(ms[0], [heldA]), ...pairsOf(ms[1], b.live)].sort());
        assert.ok(waiting.every((d) => d.leaseOwner === null && d.nextAttemptAt === NOW && d.windowStartAt === NOW));
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 3, inFlight: 2, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });
        // Once the endpoint has room, a claim takes them, due since the publish.
        const later = await s.deliveries.claimDeliveries(10, NOW, NOW + 100, 'publisher');
        assert.deepEqual(ids(later).sort((x, y) => x - y), ids(waiting));

        // Work an excluded subscription does not cover is still leftover: here the budget runs out.
        const c = await seedTopicWith(s, tenancy.id, 3);
        const m3 = messageFixture(c.topic, { publishedAt: T0 + 1 });
        const short = await s.publishing.publishMessages([m3], { now: NOW, inlineFanout: 10, claim: { ...lease(1), exclude: subs(c.live[0]!.id) } });
        assert.ok(short.claimed.length <= 1 && short.claimed.every((d) => d.subscriptionId !== c.live[0]!.id));
        assert.equal(short.leftover, true);
      });

      it('leaves a full endpoint out of publishes and claims by its key, whatever the subscription', async () => {
        const { store: s } = await fresh();
        const { tenancy } = await seedTenancy(s);
        const topic = await seedTopic(s, tenancy.id);
        // Four subscriptions, two endpoints: the first two share hooks.full.example (different paths).
        const endpoints = ['https://hooks.full.example/a', 'https://hooks.full.example/b?x=1', 'https://open.example/c', 'https://open.example/d'];
        const live = endpoints.map((endpoint) => subscriptionFixture(topic, { ...active(T0), endpoint }));
        for (const sub of live) await s.subscriptions.insertSubscription(sub);
        const [fullA, fullB, openC, openD] = live as [Subscription, Subscription, Subscription, Subscription];
        const full: ClaimExclusions = { endpoints: [endpointKeyOf('HTTPS', fullA.endpoint)], subscriptions: [] };

        const m1 = messageFixture(topic, { publishedAt: T0 + 1 });
        const out = await s.publishing.publishMessages([m1], { now: NOW, inlineFanout: 10, claim: { ...lease(10, NOW + 500), exclude: full } });
        assert.deepEqual(pairs(out.claimed), pairsOf(m1, [openC, openD]));
        assert.equal(out.leftover, false);
        // A batched fan-out (a topic too big to fan out inline) keys its deliveries the same way.
        const m2 = messageFixture(topic, { publishedAt: T0 + 2 });
        await s.publishing.publishMessages([m2], { now: NOW, inlineFanout: 1 });
        await s.deliveries.claimFanout(10, NOW, NOW + 1000, 'engine');
        assert.deepEqual(await s.deliveries.fanoutMany([m2.id], 10, NOW + 1), { created: 4, unfinished: [] });
        // A keyless delivery (a confirmation) is never left out by endpoint.
        await s.deliveries.insertDeliveries([confirmationFixture(topic, { subscriptionId: fullA.id, nextAttemptAt: NOW })]);

        const both: ClaimExclusions = { endpoints: full.endpoints, subscriptions: [openC.id] };
        assert.equal(await s.deliveries.nextDueAt({ endpoints: [...full.endpoints, endpointKeyOf('HTTPS', openC.endpoint)], subscriptions: [] }), NOW);
        const taken = await s.deliveries.claimDeliveries(10, NOW + 10, NOW + 100, 'engine', both);
        assert.deepEqual(taken.map((d) => [d.kind, d.subscriptionId]).sort(), [['CONFIRMATION', fullA.id], ['MESSAGE', openD.id]].sort());
        assert.equal(await s.deliveries.nextDueAt(both), NOW + 100);
        // Once the endpoint has room, its deliveries of both messages are there, due since they were created.
        const rest = await s.deliveries.claimDeliveries(10, NOW + 10, NOW + 100, 'engine');
        assert.deepEqual(pairs(rest), [...pairsOf(m1, [fullA, fullB]), ...pairsOf(m2, [fullA, fullB, openC])].sort());
      });

      it('leaves nothing over when the claim budget covers every delivery', async () => {
        const { store: s } = await fresh();
        const { tenancy } = await seedTenancy(s);
        const a = await seedTopicWith(s, tenancy.id, 2, 1);
        const b = await seedTopicWith(s, tenancy.id, 1);
        const ms = [messageFixture(a.topic, { publishedAt: T0 + 1 }), messageFixture(b.topic, { publishedAt: T0 + 1 })] as [Message, Message];
        const claim = lease(10, NOW + 500);
        const out = await s.publishing.publishMessages(ms, { now: NOW, inlineFanout: 10, claim });
        assert.equal(out.leftover, false);
        assert.deepEqual(out.stored, new Set(ms.map((m) => m.id)));
        assert.deepEqual(pairs(out.claimed), [...pairsOf(ms[0], a.live), ...pairsOf(ms[1], b.live)].sort());
        assert.ok(out.claimed.every((d) => d.state === 'IN_FLIGHT' && d.leaseOwner === claim.owner && d.nextAttemptAt === claim.leaseUntil));
        assert.deepEqual(byDeliveryId(out.claimed), await deliveriesOfGroup(s, ms));
        assert.deepEqual(await s.deliveries.claimDeliveries(10, NOW, NOW + 100, 'engine'), []);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 0, inFlight: 3, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });
        assert.equal(await s.deliveries.nextDueAt(), claim.leaseUntil);
      });

      it('without a claim, or with max 0, creates every delivery PENDING, due at plan.now', async () => {
        const { store: s } = await fresh();
        const { topic, live } = await seedTopicWith(s, (await seedTenancy(s)).tenancy.id, 3);
        const [m1, m2] = [messageFixture(topic, { publishedAt: T0 + 1 }), messageFixture(topic, { publishedAt: T0 + 1 })] as [Message, Message];
        const first = await s.publishing.publishMessages([m1], { now: NOW, inlineFanout: 10 });
        const second = await s.publishing.publishMessages([m2], { now: NOW + 1, inlineFanout: 10, claim: lease(0) });
        assert.deepEqual(outcome(first), { stored: new Set([m1.id]), claimed: [], leftover: true });
        assert.deepEqual(outcome(second), { stored: new Set([m2.id]), claimed: [], leftover: true });
        const all = await deliveriesOfGroup(s, [m1, m2]);
        assert.deepEqual(pairs(all), [...pairsOf(m1, live), ...pairsOf(m2, live)].sort());
        for (const d of all) {
          const due = d.messageId === m1.id ? NOW : NOW + 1;
          assert.deepEqual(d, { ...d, state: 'PENDING', leaseOwner: null, nextAttemptAt: due, windowStartAt: due, createdAt: due, updatedAt: due });
        }
        assert.deepEqual(await s.deliveries.claimDeliveries(10, NOW - 1, NOW + 100, 'engine'), []);
        const ofM1 = await s.deliveries.claimDeliveries(10, NOW, NOW + 100, 'engine');
        assert.deepEqual(ids(ofM1).sort((a, b) => a - b), ids(all.filter((d) => d.messageId === m1.id)));
        const ofM2 = await s.deliveries.claimDeliveries(10, NOW + 1, NOW + 100, 'engine');
        assert.deepEqual(ids(ofM2).sort((a, b) => a - b), ids(all.filter((d) => d.messageId === m2.id)));
      });

      it('leaves a topic with inlineFanout or more subscriptions to claimFanout and fanoutMany, which finish it without duplicates', async () => {
        const f = await fresh();
        const s = f.store;
        const { tenancy } = await seedTenancy(s);
        // inlineFanout 3: exactly 3 subscriptions (any state), more than 3, and fewer.
        const atLimit = await seedTopicWith(s, tenancy.id, 2, 1);
        const over = await seedTopicWith(s, tenancy.id, 5);
        const under = await seedTopicWith(s, tenancy.id, 2);
        const mAt = messageFixture(atLimit.topic, { publishedAt: T0 + 1 });
        const mOver = messageFixture(over.topic, { publishedAt: T0 + 2 });
        const mUnder = messageFixture(under.topic, { publishedAt: T0 + 3 });
        const group = [mAt, mOver, mUnder];
        const out = await s.publishing.publishMessages(group, { now: NOW, inlineFanout: 3, claim: lease(10) });
        assert.deepEqual(out.stored, new Set(group.map((m) => m.id)));
        // The small topic's deliveries are all claimed: only the unfinished fan-outs are left over.
        assert.deepEqual(pairs(out.claimed), pairsOf(mUnder, under.live));
        assert.equal(out.leftover, true);
        assert.deepEqual(await deliveriesOfGroup(s, [mAt, mOver]), []);
        const fanoutState = async (m: Message) => Number((await rawRow(f, 'messages', m.id))?.fanout_state);
        assert.deepEqual(await Promise.all(group.map(fanoutState)), [0, 0, 1]);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 0, inFlight: 2, delivered: 0, dead: 0, fanoutBacklog: 2, held: 0 });
        // What the backlog monitor adds between readings matches what the next reading counts.
        assert.equal(out.backlogAdded, 2 + 2);
        assert.equal(await s.deliveries.nextDueAt(), 0);

        const leased = await s.deliveries.claimFanout(10, NOW, NOW + 100, 'engine');
        assert.deepEqual(leased, [mAt, mOver]);
        let created = 0;
        let todo = leased.map((m) => m.id);
        for (let i = 0; todo.length > 0 && i < 10; i++) {
          const r = await s.deliveries.fanoutMany(todo, 2, NOW + 1);
          created += r.created;
          todo = r.unfinished;
        }
        assert.deepEqual(todo, []);
        assert.equal(created, atLimit.live.length + over.live.length);
        const all = await deliveriesOfGroup(s, group);
        assert.deepEqual(pairs(all), [...pairsOf(mAt, atLimit.live), ...pairsOf(mOver, over.live), ...pairsOf(mUnder, under.live)].sort());
        assert.ok(all.filter((d) => d.messageId !== mUnder.id).every((d) => d.state === 'PENDING' && d.nextAttemptAt === NOW + 1));
        assert.deepEqual(await Promise.all(group.map(fanoutState)), [1, 1, 1]);
        assert.deepEqual(await s.deliveries.claimFanout(10, NOW + 10_000, NOW + 10_100, 'engine'), []);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 7, inFlight: 2, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });

        // Replaying every fan-out, the inline one included, adds nothing.
        await rawExec(f, 'UPDATE messages SET fanout_state = 0, fanout_cursor = NULL WHERE id IN (?, ?, ?)', group.map((m) => m.id));
        assert.deepEqual(await s.deliveries.fanoutMany(group.map((m) => m.id), 100, NOW + 2), { created: 0, unfinished: [] });
        assert.equal((await deliveriesOfGroup(s, group)).length, all.length);
      });

      it('rejects a group with a repeated message id and stores nothing of it', async () => {
        const { store: s } = await fresh();
        const { topic } = await seedTopicWith(s, (await seedTenancy(s)).tenancy.id, 1);
        const [m1, m2] = [messageFixture(topic, { publishedAt: T0 + 1 }), messageFixture(topic, { publishedAt: T0 + 1 })] as [Message, Message];
        const plan = { now: NOW, inlineFanout: 10, claim: lease(10) };
        const zero = { pending: 0, inFlight: 0, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 };
        await assert.rejects(s.publishing.publishMessages([m1, m2, { ...m1, body: 'again' }], plan));
        assert.deepEqual(await s.deliveries.getMessagesByIds([m1.id, m2.id]), []);
        assert.deepEqual(await s.deliveries.countDeliveries(), zero);
        assert.equal(await s.deliveries.nextDueAt(), null);

        // An id an earlier group stored is a repeat too; that message keeps its one fan-out.
        const first = await s.publishing.publishMessages([m1], plan);
        assert.equal(first.claimed.length, 1);
        await assert.rejects(s.publishing.publishMessages([m2, { ...m1, body: 'again' }], plan));
        assert.deepEqual(await s.deliveries.getMessagesByIds([m1.id, m2.id]), [m1]);
        assert.deepEqual(await deliveriesOfGroup(s, [m1, m2]), first.claimed);
        assert.deepEqual(await s.deliveries.countDeliveries(), { ...zero, inFlight: 1 });
      });
    });

    describe('claims and completions', () => {
      it('claimDeliveries takes due work oldest first, within the limit, and takes back expired leases', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        const due = [T0 + 3, T0 + 1, T0 + 2, T0 + 1000].map((nextAttemptAt) => deliveryFixture(m, { nextAttemptAt }));
        await s.deliveries.insertDeliveries(due);
        const first = await s.deliveries.claimDeliveries(2, T0 + 5, T0 + 100, 'n1');
        assert.deepEqual(
          first.map((d) => [d.state, d.leaseOwner, d.nextAttemptAt, d.dueAt, d.updatedAt, d.subscriptionId]),
          [
            ['IN_FLIGHT', 'n1', T0 + 100, T0 + 1, T0 + 5, due[1]?.subscriptionId],
            ['IN_FLIGHT', 'n1', T0 + 100, T0 + 2, T0 + 5, due[2]?.subscriptionId],
          ],
        );
        const second = await s.deliveries.claimDeliveries(10, T0 + 5, T0 + 101, 'n2');
        assert.deepEqual(
          second.map((d) => d.subscriptionId),
          [due[0]?.subscriptionId],
        );
        assert.deepEqual(await s.deliveries.claimDeliveries(10, T0 + 99, T0 + 200, 'n3'), []);
        // n1's lease ends at T0 + 100: its deliveries come back (by lease end, then id); n2's does not yet.
        const retaken = await s.deliveries.claimDeliveries(10, T0 + 100, T0 + 300, 'n3');
        assert.deepEqual(ids(retaken), ids(first));
        // Due when the expired lease ended.
        assert.ok(retaken.every((d) => d.leaseOwner === 'n3' && d.state === 'IN_FLIGHT' && d.attempts === 0 && d.dueAt === T0 + 100));
        // Everything is due by T0 + 1000: n2's lease (T0 + 101), n3's (T0 + 300), then the late one.
        const last = await s.deliveries.claimDeliveries(10, T0 + 1000, T0 + 2000, 'n4');
        assert.deepEqual(ids(last.slice(0, 3)), [...ids(second), ...ids(retaken)]);
        assert.equal(last[3]?.subscriptionId, due[3]?.subscriptionId);
        assert.equal(last.length, 4);
        await assert.rejects(s.deliveries.claimDeliveries(0, T0, T0, 'n'), RangeError);
      });

      it('two nodes claiming at once never get the same delivery', async () => {
        const f = await fresh();
        const other = await f.openAnother();
        const topic = await seedTopic(f.store);
        const m = messageFixture(topic);
        const all = Array.from({ length: 500 }, (_, i) => deliveryFixture(m, { nextAttemptAt: T0 + (i % 7) }));
        await f.store.deliveries.insertDeliveries(all);
        // Half of them claim with an exclude list (of no delivery's subscription): that claim must share the work too.
        const drain = async (s: Store, owner: string, exclude?: ClaimExclusions): Promise<number[]> => {
          const got: number[] = [];
          for (;;) {
            const batch = await s.deliveries.claimDeliveries(25, T0 + 10, T0 + 60_000, owner, exclude);
            if (batch.length === 0) return got;
            assert.ok(batch.every((d) => d.leaseOwner === owner));
            got.push(...ids(batch));
          }
        };
        const elsewhere = { endpoints: ['HTTPS:https://elsewhere.example'], subscriptions: [newOcid('onssubscription')] };
        const claims = await Promise.all([drain(f.store, 'a1'), drain(other, 'b1', elsewhere), drain(f.store, 'a2', elsewhere), drain(other, 'b2')]);
        const flat = claims.flat();
        assert.equal(new Set(flat).size, flat.length, 'a delivery was claimed twice');
        assert.equal(flat.length, all.length);
        assert.equal((await f.store.deliveries.countDeliveries()).inFlight, all.length);
      });

      it('claimDeliveries and nextDueAt skip the excluded subscriptions, due or leased (nextDueAt also what is due by `after`)', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const [s1, s2, s3] = [newOcid('onssubscription'), newOcid('onssubscription'), newOcid('onssubscription')];
        // One message per delivery: a subscription gets at most one delivery of a message.
        const at = (subscriptionId: string, nextAttemptAt: number) => deliveryFixture(messageFixture(topic), { subscriptionId, nextAttemptAt });
        await s.deliveries.insertDeliveries([at(s1, T0 + 1), at(s2, T0 + 2), at(s1, T0 + 3), at(s3, T0 + 4), at(s2, T0 + 5)]);
        const seen = (xs: ClaimedDelivery[]) => xs.map((d) => [d.subscriptionId, d.dueAt, d.leaseOwner, d.nextAttemptAt]);

        assert.equal(await s.deliveries.nextDueAt(), T0 + 1);
        assert.equal(await s.deliveries.nextDueAt(subs()), T0 + 1);
        assert.equal(await s.deliveries.nextDueAt(subs(s1)), T0 + 2);
        assert.equal(await s.deliveries.nextDueAt(subs(s1, s2)), T0 + 4);
        assert.equal(await s.deliveries.nextDueAt(subs(s3, s1, s2)), null);
        // Only what is due after `after` (the time of a claim that took all that was due then).
        assert.equal(await s.deliveries.nextDueAt(subs(s1), T0 + 2), T0 + 4);
        assert.equal(await s.deliveries.nextDueAt(subs(), T0 + 4), T0 + 5);
        assert.equal(await s.deliveries.nextDueAt(undefined, T0 + 5), null);
        // Oldest first among the rest; excluded deliveries do not count against the limit.
        const first = await s.deliveries.claimDeliveries(2, T0 + 10, T0 + 100, 'n1', subs(s1));
        assert.deepEqual(seen(first), [
          [s2, T0 + 2, 'n1', T0 + 100],
          [s3, T0 + 4, 'n1', T0 + 100],
        ]);
        assert.deepEqual(await s.deliveries.claimDeliveries(10, T0 + 10, T0 + 100, 'n1', subs(s1, s2)), []);
        // A lease is due work too: s2's lease is excluded with s2, s3's is not.
        assert.equal(await s.deliveries.nextDueAt(subs(s1, s2)), T0 + 100);
        // An empty list excludes nothing.
        const rest = await s.deliveries.claimDeliveries(10, T0 + 10, T0 + 200, 'n2', subs());
        assert.deepEqual(seen(rest), [
          [s1, T0 + 1, 'n2', T0 + 200],
          [s1, T0 + 3, 'n2', T0 + 200],
          [s2, T0 + 5, 'n2', T0 + 200],
        ]);
        // Expired leases of excluded subscriptions are not taken back either.
        assert.deepEqual(seen(await s.deliveries.claimDeliveries(10, T0 + 200, T0 + 300, 'n3', subs(s2, s3))), [
          [s1, T0 + 200, 'n3', T0 + 300],
          [s1, T0 + 200, 'n3', T0 + 300],
        ]);
        assert.deepEqual(seen(await s.deliveries.claimDeliveries(10, T0 + 200, T0 + 300, 'n3', subs(s1, s3))), [
          [s2, T0 + 100, 'n3', T0 + 300],
          [s2, T0 + 200, 'n3', T0 + 300],
        ]);
        assert.deepEqual(seen(await s.deliveries.claimDeliveries(10, T0 + 200, T0 + 300, 'n3')), [[s3, T0 + 100, 'n3', T0 + 300]]);
        assert.equal((await s.deliveries.countDeliveries()).inFlight, 5);
      });

      it('claimDeliveriesWalking walks at most `scan` due entries a step and goes on from where the last step stopped', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const [s1, s2] = [newOcid('onssubscription'), newOcid('onssubscription')];
        const at = (subscriptionId: string, nextAttemptAt: number) => deliveryFixture(messageFixture(topic), { subscriptionId, nextAttemptAt });
        const order: [string, number][] = [[s1, 1], [s1, 2], [s2, 3], [s1, 4], [s1, 5], [s2, 6], [s1, 7]];
        await s.deliveries.insertDeliveries(order.map(([sub, t]) => at(sub, T0 + t)));
        const walk = (exclude: ClaimExclusions, from: DuePosition | null, scan: number, limit = 10) =>
          s.deliveries.claimDeliveriesWalking(limit, T0 + 10, T0 + 100, 'n1', exclude, from, scan);
        const seen = (xs: ClaimedDelivery[]) => xs.map((d) => [d.subscriptionId, d.dueAt]);

        // Two entries, both left out: nothing claimed, the walk goes on after the second.
        const one = await walk(subs(s1), null, 2);
        assert.deepEqual(seen(one.claimed), []);
        assert.equal(one.next?.at, T0 + 2);
        const two = await walk(subs(s1), one.next, 2);
        assert.deepEqual(seen(two.claimed), [[s2, T0 + 3]]);
        assert.equal(two.next?.at, T0 + 4);
        // Fewer due than the step may walk: it reaches the end.
        const three = await walk(subs(s1), two.next, 10);
        assert.deepEqual(seen(three.claimed), [[s2, T0 + 6]]);
        assert.equal(three.next, null);
        // A step that takes its limit goes on after the last it claimed, not after the last it walked.
        const four = await walk(subs(s2), null, 100, 2);
        assert.deepEqual(seen(four.claimed), [[s1, T0 + 1], [s1, T0 + 2]]);
        assert.equal(four.next?.at, T0 + 2);
        const five = await walk(subs(s2), four.next, 100);
        assert.deepEqual(seen(five.claimed), [[s1, T0 + 4], [s1, T0 + 5], [s1, T0 + 7]]);
        assert.equal(five.next, null);
        // After everything due: nothing to walk.
        assert.deepEqual(await walk(subs(), { at: T0 + 10, id: Number.MAX_SAFE_INTEGER }, 100), { claimed: [], next: null });
        assert.equal((await s.deliveries.countDeliveries()).inFlight, 7);
        await assert.rejects(walk(subs(), null, 0), RangeError);
      });

      it('releaseClaims hands back only the owner\'s IN_FLIGHT claims, unattempted, due in their old place', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        await s.deliveries.insertDeliveries([1, 2, 3, 4].map((i) => deliveryFixture(m, { nextAttemptAt: T0 + i })));
        const mine = await s.deliveries.claimDeliveries(3, T0 + 10, T0 + 1000, 'n1');
        const theirs = await s.deliveries.claimDeliveries(3, T0 + 10, T0 + 1000, 'n2');
        assert.deepEqual(mine.map((d) => d.dueAt), [T0 + 1, T0 + 2, T0 + 3]);
        assert.equal(theirs.length, 1);
        const [d1, d2, d3] = mine as [ClaimedDelivery, ClaimedDelivery, ClaimedDelivery];
        const [d4] = theirs as [ClaimedDelivery];
        await s.deliveries.completeAttempts([resultFor(d2, { state: 'DELIVERED' })], T0 + 20);
        // Later than everything claimed, earlier than the lease: due work the released ones must come back ahead of.
        await s.deliveries.insertDeliveries([deliveryFixture(m, { nextAttemptAt: T0 + 5 })]);
        const before = await deliveriesOf(s, m);
        const back = (d: ClaimedDelivery) => ({ id: d.id, dueAt: d.dueAt });

        // d2 is finished and d4 is another node's: only d1 and d3 go back.
        assert.equal(await s.deliveries.releaseClaims([back(d1), back(d2), back(d3), back(d4)], 'n1'), 2);
        const after = await deliveriesOf(s, m);
        for (const d of [d1, d3]) {
          assert.deepEqual(after.get(d.id), {
            delivery: { ...plain(d), state: 'PENDING', leaseOwner: null, nextAttemptAt: d.dueAt },
            attempts: [],
          });
        }
        for (const d of [d2, d4]) assert.deepEqual(after.get(d.id), before.get(d.id));
        assert.equal(after.get(d4.id)?.delivery.leaseOwner, 'n2');
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 3, inFlight: 1, delivered: 1, dead: 0, fanoutBacklog: 0, held: 0 });
        assert.equal(await s.deliveries.nextDueAt(), T0 + 1);
        // Nothing is left to hand back: not twice, not by a stranger, not an empty list.
        assert.equal(await s.deliveries.releaseClaims([back(d1), back(d3)], 'n1'), 0);
        assert.equal(await s.deliveries.releaseClaims([back(d4)], 'n1'), 0);
        assert.equal(await s.deliveries.releaseClaims([], 'n1'), 0);

        // Claimable again at once, in their old places: ahead of the delivery due at T0 + 5.
        const again = await s.deliveries.claimDeliveries(10, T0 + 30, T0 + 2000, 'n3');
        assert.deepEqual(
          again.map((d) => [d.id, d.dueAt, d.attempts]),
          [
            [d1.id, T0 + 1, 0],
            [d3.id, T0 + 3, 0],
            [again[2]?.id, T0 + 5, 0],
          ],
        );
        assert.ok(again[2] && ![d1.id, d2.id, d3.id, d4.id].includes(again[2].id));
        // The new holder's result applies; n2's claim is still its own to complete.
        await s.deliveries.completeAttempts([resultFor(plain(again[0]!), { state: 'DELIVERED' }), resultFor(d4, { state: 'DELIVERED' })], T0 + 40);
        const done = await deliveriesOf(s, m);
        assert.deepEqual([d1, d4].map((d) => [done.get(d.id)?.delivery.state, done.get(d.id)?.attempts.length]), [
          ['DELIVERED', 1],
          ['DELIVERED', 1],
        ]);
      });

      it('releaseClaims hands back a large batch at once, each to its own due time', async () => {
        const { store: s } = await fresh();
        const m = messageFixture(await seedTopic(s));
        const n = 1100;
        await s.deliveries.insertDeliveries(Array.from({ length: n }, (_, i) => deliveryFixture(m, { nextAttemptAt: T0 + (i % 37) })));
        const first = await s.deliveries.claimDeliveries(n, T0 + 100, T0 + 10_000, 'n1');
        assert.equal(first.length, n);
        // Handed back in any order; they come back in the order they were claimed in.
        const shuffled = [...first].reverse().map((d) => ({ id: d.id, dueAt: d.dueAt }));
        assert.equal(await s.deliveries.releaseClaims(shuffled, 'n1'), n);
        const again = await s.deliveries.claimDeliveries(n, T0 + 100, T0 + 10_000, 'n2');
        assert.deepEqual(
          again.map((d) => [d.id, d.dueAt]),
          first.map((d) => [d.id, d.dueAt]),
        );
      });

      it('completeAttempts applies each transition, records every attempt and counts', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        const [ok, retry, dead, cancelled, bounced, stale] = await claimed(s, Array.from({ length: 6 }, () => deliveryFixture(m)));
        assert.ok(ok && retry && dead && cancelled && bounced && stale);
        await s.deliveries.completeAttempts(
          [
            resultFor(ok, { state: 'DELIVERED' }, { attempt: { durationMs: 12.6 } }),
            resultFor(retry, { state: 'PENDING', nextAttemptAt: T0 + 500 }),
            resultFor(dead, { state: 'DEAD' }, { attempt: { statusCode: 400, error: 'bad request' } }),
            resultFor(cancelled, { state: 'CANCELLED' }, { attempt: { statusCode: null, error: 'gone' } }),
            resultFor(bounced, { state: 'DEAD' }, { attempt: { statusCode: null, reply: '550 no such user' } }),
            resultFor(stale, { state: 'DELIVERED' }, { leaseOwner: 'someone-else' }),
          ],
          T0 + 20,
        );
        const after = await deliveriesOf(s, m);
        const common = { attempts: 1, leaseOwner: null, updatedAt: T0 + 20 };
        assert.deepEqual(after.get(ok.id)?.delivery, { ...ok, ...common, state: 'DELIVERED', deliveredAt: T0 + 20, lastError: null, lastStatus: '200' });
        assert.deepEqual(after.get(retry.id)?.delivery, { ...retry, ...common, state: 'PENDING', nextAttemptAt: T0 + 500, lastError: 'boom', lastStatus: '503' });
        assert.deepEqual(after.get(dead.id)?.delivery, { ...dead, ...common, state: 'DEAD', lastError: 'bad request', lastStatus: '400' });
        assert.deepEqual(after.get(cancelled.id)?.delivery, { ...cancelled, ...common, state: 'CANCELLED', lastError: 'gone', lastStatus: null });
        assert.deepEqual(after.get(bounced.id)?.delivery, { ...bounced, ...common, state: 'DEAD', lastError: 'boom', lastStatus: '550 no such user' });
        // Only the lease holder moves a delivery; the late result is still on record.
        assert.deepEqual(after.get(stale.id)?.delivery, stale);
        assert.deepEqual(after.get(ok.id)?.attempts, [{ ...resultFor(ok, { state: 'DELIVERED' }).attempt, durationMs: 13 }]);
        assert.deepEqual(after.get(stale.id)?.attempts, [resultFor(stale, { state: 'DELIVERED' }, { leaseOwner: 'someone-else' }).attempt]);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 1, inFlight: 1, delivered: 1, dead: 2, fanoutBacklog: 0, held: 0 });

        // The retry comes due and succeeds on its second attempt (stale's lease ran out too).
        const again = await s.deliveries.claimDeliveries(10, T0 + 1010, T0 + 2000, 'node-b');
        assert.deepEqual(ids(again).sort((a, b) => a - b), [retry.id, stale.id].sort((a, b) => a - b));
        const retry2 = again.find((d) => d.id === retry.id);
        assert.ok(retry2);
        await s.deliveries.completeAttempts([resultFor(retry2, { state: 'DELIVERED' })], T0 + 1020);
        const trace = (await deliveriesOf(s, m)).get(retry.id);
        assert.equal(trace?.delivery.attempts, 2);
        assert.deepEqual(trace?.attempts.map((a) => a.attemptNo), [1, 2]);
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 0, inFlight: 1, delivered: 2, dead: 2, fanoutBacklog: 0, held: 0 });
      });

      it('a claimed delivery is the stored row under its new lease, a retried one with its last error and attempts', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        const [retry] = await claimed(s, [deliveryFixture(m)]);
        assert.ok(retry);
        await s.deliveries.completeAttempts([resultFor(retry, { state: 'PENDING', nextAttemptAt: T0 + 500 })], T0 + 20);
        const [again, ...more] = await s.deliveries.claimDeliveries(10, T0 + 600, T0 + 1600, 'node-b');
        assert.equal(more.length, 0);
        assert.ok(again);
        const stored = (await deliveriesOf(s, m)).get(retry.id)?.delivery;
        assert.deepEqual({ ...again }, { ...stored, dueAt: T0 + 500 });
        assert.deepEqual(
          [again.state, again.leaseOwner, again.nextAttemptAt, again.updatedAt, again.attempts, again.lastError, again.lastStatus],
          ['IN_FLIGHT', 'node-b', T0 + 1600, T0 + 600, 1, 'boom', '503'],
        );
      });

      it('keeps late duplicate attempts and unknown deliveries from failing the batch', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        const [d] = await claimed(s, [deliveryFixture(m)], 'n1', T0);
        assert.ok(d);
        // n1 is presumed dead; n2 takes the lease over and attempts #1 too.
        const [d2] = await s.deliveries.claimDeliveries(10, T0 + 1000, T0 + 5000, 'n2');
        assert.equal(d2?.id, d.id);
        assert.ok(d2);
        const ghost = { ...d2, id: 987_654_321 };
        await s.deliveries.completeAttempts([resultFor(d2, { state: 'PENDING', nextAttemptAt: T0 + 9000 }), resultFor(ghost, { state: 'DELIVERED' })], T0 + 1001);
        await s.deliveries.completeAttempts([resultFor(d, { state: 'DELIVERED' }), resultFor(d, { state: 'DEAD' })], T0 + 1002);
        const trace = (await deliveriesOf(s, m)).get(d.id);
        assert.equal(trace?.delivery.state, 'PENDING');
        assert.equal(trace?.delivery.attempts, 1);
        assert.deepEqual(trace?.attempts.map((a) => [a.attemptNo, a.node]), [
          [1, 'n2'],
          [2, 'n1'],
          [3, 'n1'],
        ]);
        await assert.rejects(s.deliveries.completeAttempts([resultFor(d, { state: 'IN_FLIGHT' } as never)], T0), RangeError);
        assert.equal((await deliveriesOf(s, m)).get(d.id)?.attempts.length, 3);
        await s.deliveries.completeAttempts([], T0);
      });
    });

    describe('message traces and lookups', () => {
      it('getMessageDeliveries is tenancy-scoped, by delivery id, attempts in order', async () => {
        const topic = await seedTopic(store);
        const m = messageFixture(topic);
        await store.messages.insertMessages([m]);
        const subIds = [newOcid('onssubscription'), newOcid('onssubscription')];
        await store.deliveries.insertDeliveries([
          ...subIds.map((subscriptionId) => deliveryFixture(m, { subscriptionId })),
          confirmationFixture(topic),
          // The same (message, subscription) again: ignored.
          deliveryFixture(m, { subscriptionId: subIds[0], protocol: 'EMAIL' }),
        ]);
        const rows = await store.activity.getMessageDeliveries(topic.tenancyId, m.id);
        assert.equal(rows.length, 2);
        const [d1, d2] = rows.map((r) => r.delivery) as [Delivery, Delivery];
        assert.ok(d1.id < d2.id);
        assert.equal(d1.protocol, 'HTTPS');
        // Not the lease holder (they are PENDING): only the attempts are recorded.
        const at = (d: Delivery, attemptNo: number) => resultFor(d, { state: 'DEAD' }, { leaseOwner: 'x', attempt: { attemptNo, startedAt: T0 + attemptNo } });
        await store.deliveries.completeAttempts([at(d2, 1), at(d1, 1), at(d1, 2), at(d2, 2), at(d1, 3)], T0 + 10);
        const trace = await store.activity.getMessageDeliveries(topic.tenancyId, m.id);
        assert.deepEqual(ids(trace.map((r) => r.delivery)), [d1.id, d2.id]);
        assert.deepEqual(trace.map((r) => r.attempts.map((a) => [a.deliveryId, a.attemptNo, a.startedAt])), [
          [
            [d1.id, 1, T0 + 1],
            [d1.id, 2, T0 + 2],
            [d1.id, 3, T0 + 3],
          ],
          [
            [d2.id, 1, T0 + 1],
            [d2.id, 2, T0 + 2],
          ],
        ]);
        assert.ok(trace.every((r) => r.delivery.state === 'PENDING' && r.delivery.attempts === 0));
        const stranger = await seedTenancy(store);
        assert.deepEqual(await store.activity.getMessageDeliveries(stranger.tenancy.id, m.id), []);
      });

      it('looks messages, subscriptions and topics up by id across tenancies, DELETED included', async () => {
        const a = await seedTopic(store);
        const b = await seedTopic(store);
        const ma = messageFixture(a);
        const mb = messageFixture(b, { title: null });
        await store.messages.insertMessages([ma, mb]);
        const sa = subscriptionFixture(a, active(T0));
        const sb = subscriptionFixture(b);
        for (const s of [sa, sb]) await store.subscriptions.insertSubscription(s);
        const gone = topicFixture(a.tenancyId);
        await store.topics.insertTopic(gone);
        const sg = subscriptionFixture(gone);
        await store.subscriptions.insertSubscription(sg);
        await store.topics.deleteTopic(gone.tenancyId, gone.id, gone.etag, T0 + 7);
        const byId = <X extends { id: string }>(xs: X[]) => [...xs].sort((x, y) => cmp(x.id, y.id));

        assert.deepEqual(byId(await store.deliveries.getMessagesByIds([ma.id, mb.id, 'missing'])), byId([ma, mb]));
        assert.deepEqual(await store.deliveries.getMessagesByIds([]), []);
        const subs = byId(await store.deliveries.getSubscriptionsByIds([sa.id, sb.id, sg.id]));
        assert.deepEqual(subs.filter((s) => s.id !== sg.id), byId([sa, sb]));
        assert.equal(subs.find((s) => s.id === sg.id)?.lifecycleState, 'DELETED');
        assert.deepEqual(await store.deliveries.getSubscriptionsByIds([]), []);
        const topics = byId(await store.deliveries.getTopicsByIds([a.id, b.id, gone.id, 'missing']));
        assert.deepEqual(topics.filter((x) => x.id !== gone.id), byId([a, b]));
        assert.equal(topics.find((x) => x.id === gone.id)?.lifecycleState, 'DELETED');
        assert.deepEqual(await store.deliveries.getTopicsByIds([]), []);
      });

      it('listRecentMessages is tenancy-scoped, newest first (then id descending), within the limit', async () => {
        const topic = await seedTopic(store);
        const other = await seedTopic(store, topic.tenancyId);
        const older = messageFixture(topic, { publishedAt: T0 + 1 });
        const tiedA = messageFixture(topic, { publishedAt: T0 + 5, title: null });
        const tiedB = messageFixture(topic, { publishedAt: T0 + 5 });
        const newest = messageFixture(topic, { publishedAt: T0 + 9 });
        await store.messages.insertMessages([tiedA, older, newest, tiedB, messageFixture(other, { publishedAt: T0 + 20 })]);
        const tied = [tiedA, tiedB].sort((x, y) => cmp(y.id, x.id));
        assert.deepEqual(await store.activity.listRecentMessages(topic.tenancyId, topic.id, 10), [newest, ...tied, older]);
        assert.deepEqual(await store.activity.listRecentMessages(topic.tenancyId, topic.id, 2), [newest, tied[0]]);
        const stranger = await seedTenancy(store);
        assert.deepEqual(await store.activity.listRecentMessages(stranger.tenancy.id, topic.id, 10), []);
        assert.deepEqual(await store.activity.listRecentMessages(topic.tenancyId, 'missing', 10), []);
        await assert.rejects(store.activity.listRecentMessages(topic.tenancyId, topic.id, 0), RangeError);
      });

      it('countRecentMessages counts per topic since a time, tenancy-scoped, 0 for quiet topics', async () => {
        const a = await seedTopic(store);
        const b = await seedTopic(store, a.tenancyId);
        const quiet = await seedTopic(store, a.tenancyId);
        await store.messages.insertMessages([
          messageFixture(a, { publishedAt: T0 - 1 }),
          messageFixture(a, { publishedAt: T0 }),
          messageFixture(a, { publishedAt: T0 + 3 }),
          messageFixture(b, { publishedAt: T0 + 4 }),
        ]);
        assert.deepEqual(await store.activity.countRecentMessages(a.tenancyId, [a.id, b.id, quiet.id, 'missing'], T0), {
          [a.id]: 2,
          [b.id]: 1,
          [quiet.id]: 0,
          missing: 0,
        });
        assert.deepEqual(await store.activity.countRecentMessages(a.tenancyId, [a.id], T0 - 1), { [a.id]: 3 });
        assert.deepEqual(await store.activity.countRecentMessages(a.tenancyId, [a.id, b.id], T0 + 5), { [a.id]: 0, [b.id]: 0 });
        assert.deepEqual(await store.activity.countRecentMessages(a.tenancyId, [], T0), {});
        const stranger = await seedTenancy(store);
        assert.deepEqual(await store.activity.countRecentMessages(stranger.tenancy.id, [a.id], 0), { [a.id]: 0 });
      });

      it('stores confirmation deliveries with their nonce', async () => {
        const { store: s } = await fresh();
        const topic = await seedTopic(s);
        const c = confirmationFixture(topic, { confirmationNonce: 7, nextAttemptAt: T0 + 1, createdAt: T0 - 5 });
        await s.deliveries.insertDeliveries([c]);
        await s.deliveries.insertDeliveries([]);
        const [got] = await s.deliveries.claimDeliveries(5, T0 + 1, T0 + 2, 'n');
        assert.deepEqual(got, {
          id: got?.id,
          ...c,
          state: 'IN_FLIGHT',
          attempts: 0,
          nextAttemptAt: T0 + 2,
          dueAt: T0 + 1,
          windowStartAt: T0 - 5,
          leaseOwner: 'n',
          lastError: null,
          lastStatus: null,
          deliveredAt: null,
          updatedAt: T0 + 1,
        });
      });
    });

    describe('dead letters', () => {
      let s: Store;
      let tenancyId: string;
      let topicA: Topic;
      let topicB: Topic;
      const subA1 = newOcid('onssubscription');
      const subA2 = newOcid('onssubscription');
      let dead: Delivery[];
      let foreign: Delivery;
      let deliveredOne: Delivery;

      before(async () => {
        s = (await fresh()).store;
        topicA = await seedTopic(s);
        tenancyId = topicA.tenancyId;
        topicB = await seedTopic(s, tenancyId);
        const [m1, m2, m3] = [messageFixture(topicA), messageFixture(topicB), messageFixture(topicA)] as [Message, Message, Message];
        const other = await seedTopic(s);
        const all = await claimed(s, [
          deliveryFixture(m1, { subscriptionId: subA1 }),
          deliveryFixture(m1, { subscriptionId: subA2 }),
          deliveryFixture(m2),
          deliveryFixture(m3, { subscriptionId: subA1 }),
          deliveryFixture(m3, { subscriptionId: subA2 }),
          deliveryFixture(messageFixture(other)),
        ]);
        // Out of id order in time, with a tie, to show the (updatedAt, id) order.
        const when = [T0 + 30, T0 + 10, T0 + 20, T0 + 10, T0 + 40, T0 + 10];
        for (const [i, d] of all.entries()) await s.deliveries.completeAttempts([resultFor(d, { state: 'DEAD' })], when[i] ?? 0);
        const [extra] = await claimed(s, [deliveryFixture(m3)], 'n', T0 + 2000);
        assert.ok(extra);
        await s.deliveries.completeAttempts([resultFor(extra, { state: 'DELIVERED' })], T0 + 2001);
        deliveredOne = extra;
        foreign = all[5] as Delivery;
        dead = all
          .slice(0, 5)
          .map((d, i) => ({
            ...d,
            state: 'DEAD' as const,
            attempts: 1,
            leaseOwner: null,
            lastError: 'boom',
            lastStatus: '503',
            updatedAt: when[i] ?? 0,
          }))
          .sort((x, y) => x.updatedAt - y.updatedAt || x.id - y.id);
      });

      const list = async (q: { topicId?: string; subscriptionId?: string }, limit = 50, offset = 0) => {
        const page = await s.activity.listDeadLetters({ tenancyId, ...q, offset, limit });
        assert.ok(page.items.every((d) => d.state === 'DEAD' && d.tenancyId === tenancyId));
        return { ids: ids(page.items), nextOffset: page.nextOffset };
      };

      it('lists by tenancy, topic and subscription, ordered by updatedAt then id, in pages', async () => {
        assert.deepEqual((await list({})).ids, ids(dead));
        assert.deepEqual((await list({ topicId: topicA.id })).ids, ids(dead.filter((d) => d.topicId === topicA.id)));
        assert.deepEqual((await list({ topicId: topicB.id })).ids, ids(dead.filter((d) => d.topicId === topicB.id)));
        assert.deepEqual((await list({ subscriptionId: subA1 })).ids, ids(dead.filter((d) => d.subscriptionId === subA1)));
        assert.deepEqual((await list({ topicId: topicB.id, subscriptionId: subA1 })).ids, []);
        assert.deepEqual(await list({}, 2), { ids: ids(dead).slice(0, 2), nextOffset: 2 });
        assert.deepEqual(await list({}, 2, 2), { ids: ids(dead).slice(2, 4), nextOffset: 4 });
        assert.deepEqual(await list({}, 2, 4), { ids: ids(dead).slice(4), nextOffset: null });
        assert.deepEqual(await list({}, 5), { ids: ids(dead), nextOffset: null });
        const page = await s.activity.listDeadLetters({ tenancyId: foreign.tenancyId, offset: 0, limit: 10 });
        assert.deepEqual(ids(page.items), [foreign.id]);
        assert.equal(page.items[0]?.lastError, 'boom');
        await assert.rejects(s.activity.listDeadLetters({ tenancyId, offset: -1, limit: 10 }), RangeError);
      });

      it('redrives by id, subscription, topic or all, within the tenancy only', async () => {
        const [first, second] = dead as [Delivery, Delivery];
        assert.equal(await s.activity.redrive({ tenancyId, deliveryIds: [] }, T0 + 3000), 0);
        // Another tenancy's dead letter and a delivered one are not touched.
        assert.equal(await s.activity.redrive({ tenancyId, deliveryIds: [first.id, foreign.id, deliveredOne.id] }, T0 + 3000), 1);
        const [back] = await s.deliveries.claimDeliveries(10, T0 + 3000, T0 + 4000, 'again');
        assert.deepEqual(back, {
          ...first,
          state: 'IN_FLIGHT',
          leaseOwner: 'again',
          nextAttemptAt: T0 + 4000,
          dueAt: T0 + 3000,
          windowStartAt: T0 + 3000,
          updatedAt: T0 + 3000,
        });
        assert.equal(await s.activity.redrive({ tenancyId, deliveryIds: [first.id] }, T0 + 3001), 0);

        const remaining = dead.slice(1);
        const ofA1 = remaining.filter((d) => d.subscriptionId === subA1);
        assert.equal(await s.activity.redrive({ tenancyId, subscriptionId: subA1 }, T0 + 3002), ofA1.length);
        const ofB = remaining.filter((d) => d.topicId === topicB.id && d.subscriptionId !== subA1);
        assert.equal(await s.activity.redrive({ tenancyId, topicId: topicB.id }, T0 + 3003), ofB.length);
        const rest = remaining.filter((d) => !ofA1.includes(d) && !ofB.includes(d));
        assert.ok(rest.length > 0);
        assert.equal(await s.activity.redrive({ tenancyId }, T0 + 3004), rest.length);
        assert.deepEqual((await list({})).ids, []);
        assert.ok(remaining.includes(second));
        const counts = await s.deliveries.countDeliveries();
        assert.equal(counts.pending, remaining.length);
        assert.equal(counts.dead, 1);
        assert.deepEqual(ids(await s.activity.listDeadLetters({ tenancyId: foreign.tenancyId, offset: 0, limit: 10 }).then((p) => p.items)), [foreign.id]);
      });
    });

    describe('queue state', () => {
      it('countDeliveries counts deliveries by state and unfinished fan-outs, countBacklog what is undelivered of them', async () => {
        const { store: s } = await fresh();
        assert.deepEqual(await s.deliveries.countDeliveries(), { pending: 0, inFlight: 0, delivered: 0, dead: 0, fanoutBacklog: 0, held: 0 });
        assert.equal(await s.deliveries.countBacklog(), 0);
        const topic = await seedTopic(s);
        const ms = [messageFixture(topic), messageFixture(topic), messageFixture(topic)];
        await s.messages.insertMessages(ms);
        await s.deliveries.fanoutBatch(ms[0]?.id ?? '', 10, T0);
        await s.deliveries.insertDeliveries(Array.from({ length: 4 }, () => deliveryFixture(ms[1] as Message)));
        const [a, b] = await s.deliveries.claimDeliveries(2, T0, T0 + 10, 'n');
        assert.ok(a && b);
        const expected = (over: Partial<Record<DeliveryState, number>>) => ({
          pending: over.PENDING ?? 0,
          inFlight: over.IN_FLIGHT ?? 0,
          delivered: over.DELIVERED ?? 0,
          dead: over.DEAD ?? 0,
          fanoutBacklog: 2,
          held: 0,
        });
        assert.deepEqual(await s.deliveries.countDeliveries(), expected({ PENDING: 2, IN_FLIGHT: 2 }));
        // Pending and in flight alike; the two messages not fanned out add nothing, their topic having no subscription.
        assert.equal(await s.deliveries.countBacklog(), 4);
        await s.deliveries.completeAttempts([resultFor(a, { state: 'DELIVERED' }), resultFor(b, { state: 'CANCELLED' })], T0 + 1);
        assert.deepEqual(await s.deliveries.countDeliveries(), expected({ PENDING: 2, DELIVERED: 1 }));
        assert.equal(await s.deliveries.countBacklog(), 2);
        const [c, d] = await s.deliveries.claimDeliveries(2, T0, T0 + 10, 'n');
        assert.ok(c && d);
        await s.deliveries.completeAttempts([resultFor(c, { state: 'DELIVERED' }), resultFor(d, { state: 'DEAD' })], T0 + 2);
        assert.deepEqual(await s.deliveries.countDeliveries(), expected({ DELIVERED: 2, DEAD: 1 }));
        assert.equal(await s.deliveries.countBacklog(), 0);
      });

      it("countBacklog counts a message whose fan-out has not ended as the deliveries it is still to make, not as one", async () => {
        const { store: s } = await fresh();
        const { topic } = await seedTopicWith(s, (await seedTenancy(s)).tenancy.id, 5);
        const ms = [messageFixture(topic), messageFixture(topic)];
        await s.messages.insertMessages(ms);
        assert.equal(await s.deliveries.countBacklog(), 10, 'two messages of a topic of five subscriptions');
        // Part of the first one's fan-out made: its two deliveries and the three it is still to make.
        assert.deepEqual(await s.deliveries.fanoutBatch(ms[0]!.id, 2, T0 + 1), { created: 2, done: false });
        assert.equal(await s.deliveries.countBacklog(), 10);
        assert.deepEqual(await s.deliveries.fanoutBatch(ms[0]!.id, 10, T0 + 1), { created: 3, done: true });
        assert.equal(await s.deliveries.countBacklog(), 10);
        const [a] = await s.deliveries.claimDeliveries(1, T0 + 2, T0 + 60_000, 'n');
        assert.ok(a);
        await s.deliveries.completeAttempts([resultFor(a, { state: 'DELIVERED' })], T0 + 3);
        assert.equal(await s.deliveries.countBacklog(), 9);
      });

      it('takeRateTokens grants from a bucket that starts full, refills at its rate and never holds more than one second of it', async () => {
        const { store: s } = await fresh();
        const take = (want: number, at: number, perSecond = 5, id = 'sub-a') => s.deliveries.takeRateTokens([{ subscriptionId: id, perSecond, want }], at);
        assert.deepEqual(await s.deliveries.takeRateTokens([], T0), []);
        assert.deepEqual(await take(3, T0), [3]);
        assert.deepEqual(await take(3, T0), [2], 'only what is left of the burst');
        assert.deepEqual(await take(3, T0), [0]);
        // 5 a second: one whole token after 200 ms, none after 199 (tokens are whole, the refill is not).
        assert.deepEqual(await take(3, T0 + 199), [0]);
        assert.deepEqual(await take(3, T0 + 200), [1]);
        // A long idle time refills to the burst and no further; asking for more than the limit gets the limit.
        assert.deepEqual(await take(50, T0 + 60_000), [5]);
        // A clock behind the bucket's (another node's) refills nothing and does not rewind it.
        assert.deepEqual(await take(1, T0 + 59_000), [0]);
        assert.deepEqual(await take(1, T0 + 60_200), [1]);
        // A lowered limit: the bucket holds no more than the new burst.
        assert.deepEqual(await take(10, T0 + 120_000, 2), [2]);
        // Several subscriptions in one call, each its own bucket, answers in request order.
        assert.deepEqual(
          await s.deliveries.takeRateTokens([{ subscriptionId: 'sub-c', perSecond: 1, want: 1 }, { subscriptionId: 'sub-b', perSecond: 4, want: 3 }, { subscriptionId: 'sub-a', perSecond: 2, want: 1 }], T0 + 120_000),
          [1, 3, 0],
        );
      });

      it('nextDueAt is the earliest due delivery or unfinished fan-out', async () => {
        const { store: s } = await fresh();
        assert.equal(await s.deliveries.nextDueAt(), null);
        const topic = await seedTopic(s);
        const m = messageFixture(topic);
        await s.messages.insertMessages([m]);
        assert.equal(await s.deliveries.nextDueAt(), 0);
        await s.deliveries.claimFanout(1, T0, T0 + 500, 'n');
        assert.equal(await s.deliveries.nextDueAt(), T0 + 500);
        await s.deliveries.insertDeliveries([deliveryFixture(m, { nextAttemptAt: T0 + 300 }), deliveryFixture(m, { nextAttemptAt: T0 + 900 })]);
        assert.equal(await s.deliveries.nextDueAt(), T0 + 300);
        await s.deliveries.fanoutBatch(m.id, 10, T0);
        assert.equal(await s.deliveries.nextDueAt(), T0 + 300);
        const [d] = await s.deliveries.claimDeliveries(1, T0 + 300, T0 + 700, 'n');
        assert.ok(d);
        // The IN_FLIGHT one is due again when its lease runs out.
        assert.equal(await s.deliveries.nextDueAt(), T0 + 700);
        await s.deliveries.completeAttempts([resultFor(d, { state: 'DELIVERED' })], T0 + 301);
        assert.equal(await s.deliveries.nextDueAt(), T0 + 900);
        const [e] = await s.deliveries.claimDeliveries(1, T0 + 900, T0 + 950, 'n');
        assert.ok(e);
        await s.deliveries.completeAttempts([resultFor(e, { state: 'DEAD' })], T0 + 901);
        assert.equal(await s.deliveries.nextDueAt(), null);
      });
    });

    describe('mailbox', () => {
      it('keeps mail per tenancy, newest first, filtered by recipient', async () => {
        const { store: s } = await fresh();
        const mail = (to: string, createdAt: number, subject = 's', tenancyId = 'ocid1.tenancy.oc1..aaaaaaaamine') => ({
          tenancyId,
          topicId: 'ocid1.onstopic.oc1.iad.aaaaaaaatopic',
          from: 'herald@localhost',
          to,
          subject,
          text: `hello ${to}`,
          headers: { 'X-OCI-NS-MessageId': 'm1', 'Content-Type': 'text/plain' },
          createdAt,
        });
        const a = await s.mailbox.insertMail(mail('a@example.com', T0 + 1));
        const b = await s.mailbox.insertMail(mail('b@example.com', T0 + 3));
        const c = await s.mailbox.insertMail(mail('a@example.com', T0 + 2));
        const d = await s.mailbox.insertMail(mail('a@example.com', T0 + 2, 'tie'));
        assert.deepEqual(a, { id: a.id, ...mail('a@example.com', T0 + 1) });
        assert.ok(a.id < b.id && b.id < c.id && c.id < d.id);
        // Another tenancy's mail, to the same address, is never listed for this one.
        await s.mailbox.insertMail(mail('a@example.com', T0 + 4, 's', 'ocid1.tenancy.oc1..aaaaaaaaother'));
        const mine = 'ocid1.tenancy.oc1..aaaaaaaamine';
        assert.deepEqual(await s.mailbox.listMail(mine, 10), [b, d, c, a]);
        assert.deepEqual(await s.mailbox.listMail(mine, 2), [b, d]);
        assert.deepEqual(await s.mailbox.listMail(mine, 10, 'a@example.com'), [d, c, a]);
        assert.deepEqual(await s.mailbox.listMail(mine, 10, 'nobody@example.com'), []);
        assert.equal((await s.mailbox.listMail('ocid1.tenancy.oc1..aaaaaaaaother', 10)).length, 1);
      });
    });

    describe('wake-ups', () => {
      it('wake() calls every subscribed callback until it unsubscribes', async () => {
        let calls = 0;
        let others = 0;
        let sentinel = 0;
        const stop = await store.deliveries.onWake(() => calls++);
        const stopOther = await store.deliveries.onWake(() => {
          others++;
          throw new Error('a failing listener does not stop the others');
        });
        const stopSentinel = await store.deliveries.onWake(() => sentinel++);
        await store.deliveries.wake();
        await eventually(() => calls >= 1 && others >= 1 && sentinel >= 1, 15_000, 'both callbacks woken');
        await stop();
        await stopOther();
        const [before, othersBefore, sentinelBefore] = [calls, others, sentinel];
        await store.deliveries.wake();
        // The sentinel hears the same wake-up: once it has, the unsubscribed callbacks would have too.
        await eventually(() => sentinel > sentinelBefore, 15_000, 'the sentinel callback');
        assert.equal(calls, before);
        assert.equal(others, othersBefore);
        await stopSentinel();
      });

      if (kind === 'postgres') {
        it('wakes the other nodes of the same schema, also when messages are published', async () => {
          const other = await t.openAnother();
          let calls = 0;
          const stop = await store.deliveries.onWake(() => calls++);
          await other.deliveries.wake();
          await eventually(() => calls >= 1, 15_000, 'a wake-up from the other node');
          const afterWake = calls;
          await other.messages.insertMessages([messageFixture(await seedTopic(other))]);
          await eventually(() => calls > afterWake, 15_000, 'a wake-up from a published message');
          await stop();
        });

        it('takeRateTokens shares one bucket per subscription between the nodes', async () => {
          const f = await fresh();
          const other = await f.openAnother();
          const take = (node: Store, want: number, at: number) => node.deliveries.takeRateTokens([{ subscriptionId: 'shared', perSecond: 4, want }], at);
          assert.deepEqual(await take(f.store, 3, T0), [3]);
          assert.deepEqual(await take(other, 3, T0), [1], 'the other node got what the first left');
          // Taking at once from both nodes never grants more than the bucket holds.
          const both = await Promise.all([take(f.store, 4, T0 + 1000), take(other, 4, T0 + 1000), take(f.store, 4, T0 + 1000)]);
          assert.equal(both.flat().reduce((a, b) => a + b, 0), 4);
        });

        it('a store in another schema has its own channel', async () => {
          const heard = await listenRaw(wakeChannel(t.schema));
          try {
            const elsewhere = await fresh();
            await elsewhere.store.deliveries.wake();
            await heard.sentinel();
            assert.deepEqual(heard.before(), [], 'woken by another schema\'s channel');
          } finally {
            await heard.close();
          }
        });

        it('publishMessages wakes the other nodes only when it leaves them work', async () => {
          const f = await fresh();
          const other = await f.openAnother();
          let calls = 0;
          const stop = await f.store.deliveries.onWake(() => calls++);
          const heard = await listenRaw(wakeChannel(f.schema));
          try {
            const { topic, live } = await seedTopicWith(other, (await seedTenancy(other)).tenancy.id, 1);
            const plan = (max: number) => ({ now: NOW, inlineFanout: 10, claim: { owner: 'publisher', leaseUntil: NOW + 500, max } });
            assert.equal((await other.publishing.publishMessages([messageFixture(topic)], plan(1))).leftover, false);
            await heard.sentinel();
            assert.deepEqual(heard.before(), [], 'a publish that left no work woke the other nodes');
            const before = calls;
            assert.equal((await other.publishing.publishMessages([messageFixture(topic)], plan(0))).leftover, true);
            await eventually(() => calls > before, 15_000, 'a wake-up for the leftover work');
            // Held back from the publisher (its endpoint is full there): not the publisher's leftover, but other nodes may take it.
            const held = calls;
            const out = await other.publishing.publishMessages([messageFixture(topic)], { ...plan(1), claim: { ...plan(1).claim, exclude: { endpoints: [endpointKeyOf('HTTPS', live[0]!.endpoint)], subscriptions: [] } } });
            assert.deepEqual([out.leftover, out.claimed.length], [false, 0]);
            await eventually(() => calls > held, 15_000, 'a wake-up for the work held back from the publisher');
          } finally {
            await heard.close();
            await stop();
          }
        });

        it('re-listens after losing its connection, and wakes its callbacks when back', async () => {
          const f = await fresh();
          let calls = 0;
          await f.store.deliveries.onWake(() => calls++);
          const killed = await withPg(undefined, async (c) => {
            const r = await c.query(
              "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'herald-wake-listener' AND query LIKE $1",
              [`%herald_wake_${f.schema ?? ''}%`],
            );
            return r.rowCount;
          });
          assert.equal(killed, 1);
          await eventually(() => calls >= 1, 15_000, 'a wake-up after reconnecting');
          const back = calls;
          await f.store.deliveries.wake();
          await eventually(() => calls > back, 15_000, 'a wake-up through the new connection');
        });
      }
    });
  });
}

/**
 * A bare LISTEN on a wake channel that records payloads in arrival order. PostgreSQL hands a session its
 * notifications in commit order, so once a sentinel NOTIFY sent after an action has arrived, any NOTIFY the action
 * sent has arrived before it: `before()` is then exactly what the action sent, with no waiting on time.
 */
async function listenRaw(channel: string): Promise<{ sentinel(): Promise<void>; before(): string[]; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: PG_URL });
  const payloads: string[] = [];
  client.on('notification', (n) => {
    if (n.channel === channel) payloads.push(n.payload ?? '');
  });
  await client.connect();
  await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
  const token = `sentinel-${Math.random().toString(36).slice(2)}`;
  return {
    async sentinel() {
      await withPg(undefined, (c) => c.query('SELECT pg_notify($1, $2)', [channel, token]));
      await eventually(() => payloads.includes(token), 15_000, 'the sentinel notification');
    },
    before: () => payloads.slice(0, payloads.indexOf(token)),
    close: () => client.end(),
  };
}
