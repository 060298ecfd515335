import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptResult, Delivery, DeliveryTransition } from '../../src/core/deliveries.js';
import { endpointKeyOf } from '../../src/core/endpoints.js';
import type { Message, Subscription, Topic } from '../../src/core/models.js';
import type { ClaimedDelivery } from '../../src/core/ports/deliveries.js';
import type { Store } from '../../src/store/store.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { deliveriesOf, deliveryFixture, rawExec, resultFor } from './delivery-fixtures.js';
import { messageFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/**
 * Delivery control on both backends: endpoint health applied with completions (and the disable
 * that holds a subscription's deliveries), settling claims as FILTERED or HELD, enabling, and
 * replay. Each test has a store of its own: claims see every row.
 */

const OWNER = 'node-a';
const POLICY = { disableAfterMs: 1000 };
/** Long enough that nothing in a test is disabled. */
const LONG = { disableAfterMs: 10_000_000 };

/** A result that tried the endpoint (so it counts for health), at `startedAt`. */
function tried(d: Delivery, transition: DeliveryTransition, startedAt: number): AttemptResult {
  const ok = transition.state === 'DELIVERED';
  return { ...resultFor(d, transition, { attempt: { startedAt } }), health: ok ? 'success' : 'failure', subscriptionId: d.subscriptionId };
}

const stateOf = async (s: Store, m: Message, id: number): Promise<Delivery | undefined> => (await deliveriesOf(s, m)).get(id)?.delivery;

for (const kind of STORE_KINDS) {
  describe(`delivery control in the store on ${kind}`, () => {
    const opened: TestStore[] = [];
    let s: Store;
    let t: TestStore;
    let topic: Topic;
    let sub: Subscription;

    after(async () => {
      await Promise.all(opened.map((x) => x.cleanup()));
    });
    /** A fresh store with one topic and one ACTIVE subscription of it. */
    async function setup(): Promise<void> {
      t = await makeTestStore(kind);
      opened.push(t);
      s = t.store;
      const { tenancy } = await seedTenancy(s);
      topic = topicFixture(tenancy.id);
      await s.topics.insertTopic(topic);
      sub = subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 });
      await s.subscriptions.insertSubscription(sub);
    }
    async function message(over: Partial<Message> = {}): Promise<Message> {
      const m = messageFixture(topic, over);
      await s.messages.insertMessages([m]);
      return m;
    }
    /** Claims everything due at `now`. */
    async function claim(now: number): Promise<ClaimedDelivery[]> {
      return s.deliveries.claimDeliveries(100, now, now + 60_000, OWNER);
    }
    const health = async (): Promise<Subscription['health']> => (await s.subscriptions.getSubscription(sub.tenancyId, sub.id))!.health;

    it('records failures from the first failed attempt, clears them on a success, and disables after the window without one', async () => {
      await setup();
      const [m1, m2, m3] = [await message(), await message(), await message()];
      await s.deliveries.insertDeliveries([deliveryFixture(m1, { subscriptionId: sub.id }), deliveryFixture(m2, { subscriptionId: sub.id })]);
      const [d1, d2] = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d2);
      // A third delivery waits for later: a disable must hold it too.
      await s.deliveries.insertDeliveries([deliveryFixture(m3, { subscriptionId: sub.id, nextAttemptAt: T0 + 50_000 })]);

      assert.deepEqual(await s.deliveries.completeAttempts([tried(d1, { state: 'PENDING', nextAttemptAt: T0 + 40_000 }, T0 + 100)], T0 + 150, POLICY), []);
      assert.deepEqual(await health(), {
        failingSince: T0 + 100,
        consecutiveFailures: 1,
        lastFailure: { at: T0 + 100, statusCode: 503, error: 'boom' },
        disabledAt: null,
      });

      // 1,000 ms after the first failure, another failure disables it; both waiting deliveries are held.
      const disabled = await s.deliveries.completeAttempts([tried(d2, { state: 'PENDING', nextAttemptAt: T0 + 40_000 }, T0 + 1100)], T0 + 1200, POLICY);
      assert.equal(disabled.length, 1);
      assert.deepEqual({ ...disabled[0], lastFailure: disabled[0]!.lastFailure?.at }, {
        subscriptionId: sub.id,
        tenancyId: sub.tenancyId,
        topicId: topic.id,
        protocol: 'HTTPS',
        endpoint: sub.endpoint,
        failingSince: T0 + 100,
        disabledAt: T0 + 1200,
        consecutiveFailures: 2,
        lastFailure: T0 + 1100,
        heldCount: 3,
      });
      assert.equal((await health()).disabledAt, T0 + 1200);
      for (const [m, d] of [[m1, d1], [m2, d2]] as const) assert.equal((await stateOf(s, m, d.id))?.state, 'HELD');
      assert.equal(await s.deliveryControl.countHeld(sub.id), 3);
      // Held deliveries are not claimable, not even when long due.
      assert.deepEqual(await claim(T0 + 100_000), []);
    });

    it('the delivery engine reads a subscription by id as the catalog does, every field and its health included', async () => {
      await setup();
      // Every optional field set, each to something a mapping by the wrong column would get wrong.
      const full = subscriptionFixture(topic, {
        lifecycleState: 'ACTIVE',
        metadata: '{"channel":"ops"}',
        activatedAt: T0 + 1,
        updatedAt: T0 + 2,
        maxRetryDurationMs: 3_600_000,
        freeformTags: { team: 'shop' },
        definedTags: { ops: { tier: 'gold' } },
        confirmationNonce: 7,
        filterPolicy: '{"order":{"status":["placed"]}}',
        rateLimitPerSecond: 25,
      });
      await s.subscriptions.insertSubscription(full);
      const [m1, m2] = [await message(), await message()];
      await s.deliveries.insertDeliveries([deliveryFixture(m1, { subscriptionId: full.id }), deliveryFixture(m2, { subscriptionId: full.id })]);
      const [d1, d2] = (await claim(T0 + 10)).filter((d) => d.subscriptionId === full.id).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d2);
      // Two failures 1,000 ms apart disable it: failing since, count, last failure and disabled time all set.
      await s.deliveries.completeAttempts([tried(d1, { state: 'PENDING', nextAttemptAt: T0 + 40_000 }, T0 + 100)], T0 + 150, POLICY);
      await s.deliveries.completeAttempts([tried(d2, { state: 'PENDING', nextAttemptAt: T0 + 40_000 }, T0 + 1100)], T0 + 1200, POLICY);
      const catalog = await s.subscriptions.getSubscription(full.tenancyId, full.id);
      assert.deepEqual(catalog?.health, { failingSince: T0 + 100, consecutiveFailures: 2, lastFailure: { at: T0 + 1100, statusCode: 503, error: 'boom' }, disabledAt: T0 + 1200 });
      assert.deepEqual(catalog, { ...full, health: catalog.health });
      assert.deepEqual(await s.deliveries.getSubscriptionsByIds([full.id, sub.id, 'missing']).then((xs) => xs.sort((a, b) => (a.id === full.id ? -1 : b.id === full.id ? 1 : 0))), [
        catalog,
        await s.subscriptions.getSubscription(sub.tenancyId, sub.id),
      ]);
    });

    it('a success after failures in the same batch leaves the endpoint healthy; untried results change nothing', async () => {
      await setup();
      const [m1, m2, m3] = [await message(), await message(), await message()];
      await s.deliveries.insertDeliveries([m1, m2, m3].map((m) => deliveryFixture(m, { subscriptionId: sub.id })));
      const [d1, d2, d3] = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d2 && d3);
      // Listed out of order: the store folds them by start time (failure at +1, success at +2, failure at +3).
      await s.deliveries.completeAttempts(
        [
          tried(d3, { state: 'PENDING', nextAttemptAt: T0 + 9000 }, T0 + 3),
          tried(d1, { state: 'PENDING', nextAttemptAt: T0 + 9000 }, T0 + 1),
          tried(d2, { state: 'DELIVERED' }, T0 + 2),
        ],
        T0 + 5000,
        LONG,
      );
      const h = await health();
      assert.equal(h.failingSince, T0 + 3);
      assert.equal(h.consecutiveFailures, 1);
      assert.equal(h.disabledAt, null);
      const [again] = await claim(T0 + 9001);
      assert.ok(again);
      await s.deliveries.completeAttempts([tried(again, { state: 'DELIVERED' }, T0 + 9002)], T0 + 9003, LONG);
      assert.deepEqual(await health(), { failingSince: null, consecutiveFailures: 0, lastFailure: { at: T0 + 3, statusCode: 503, error: 'boom' }, disabledAt: null });
      // A result without a health outcome (a confirmation, a cancellation) is not about the endpoint.
      const m4 = await message();
      await s.deliveries.insertDeliveries([deliveryFixture(m4, { subscriptionId: sub.id, nextAttemptAt: T0 + 9100 })]);
      const [d4] = await claim(T0 + 9100);
      assert.ok(d4);
      await s.deliveries.completeAttempts([resultFor(d4, { state: 'CANCELLED' }, { attempt: { startedAt: T0 + 9101 } })], T0 + 90_000, LONG);
      assert.equal((await health()).failingSince, null);
    });

    it('one batch over several subscriptions applies each its own health: kept, cleared, marked, disabled', async () => {
      await setup();
      // sub: healthy, only a success (kept as it is). The others are given their past by a batch of their own.
      const [clearing, marking, disabling] = [0, 1, 2].map(() => subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
      const all = [sub, clearing!, marking!, disabling!];
      for (const x of all.slice(1)) await s.subscriptions.insertSubscription(x);
      const deliver = async (subs: Subscription[], now: number): Promise<Map<string, ClaimedDelivery>> => {
        await s.deliveries.insertDeliveries(await Promise.all(subs.map(async (x) => deliveryFixture(await message(), { subscriptionId: x.id, nextAttemptAt: now }))));
        return new Map((await claim(now)).map((d) => [d.subscriptionId, d]));
      };
      const retry = { state: 'PENDING', nextAttemptAt: T0 + 900_000 } as const;
      const past = await deliver([clearing!, disabling!], T0 + 10);
      await s.deliveries.completeAttempts([tried(past.get(clearing!.id)!, retry, T0 + 20), tried(past.get(disabling!.id)!, retry, T0 + 30)], T0 + 40, POLICY);

      const now = await deliver(all, T0 + 2000);
      assert.equal(now.size, 4);
      const disabled = await s.deliveries.completeAttempts(
        [
          tried(now.get(disabling!.id)!, retry, T0 + 2010),
          tried(now.get(marking!.id)!, retry, T0 + 2020),
          tried(now.get(clearing!.id)!, { state: 'DELIVERED' }, T0 + 2030),
          tried(now.get(sub.id)!, { state: 'DELIVERED' }, T0 + 2040),
        ],
        T0 + 2050,
        POLICY,
      );
      assert.deepEqual(
        disabled.map((d) => [d.subscriptionId, d.failingSince, d.consecutiveFailures, d.disabledAt]),
        [[disabling!.id, T0 + 30, 2, T0 + 2050]],
      );
      const healthOf = async (x: Subscription): Promise<Subscription['health']> => (await s.subscriptions.getSubscription(x.tenancyId, x.id))!.health;
      assert.deepEqual(await healthOf(sub), { failingSince: null, consecutiveFailures: 0, lastFailure: null, disabledAt: null });
      assert.deepEqual(await healthOf(clearing!), { failingSince: null, consecutiveFailures: 0, lastFailure: { at: T0 + 20, statusCode: 503, error: 'boom' }, disabledAt: null });
      assert.deepEqual(await healthOf(marking!), { failingSince: T0 + 2020, consecutiveFailures: 1, lastFailure: { at: T0 + 2020, statusCode: 503, error: 'boom' }, disabledAt: null });
      assert.deepEqual(await healthOf(disabling!), { failingSince: T0 + 30, consecutiveFailures: 2, lastFailure: { at: T0 + 2010, statusCode: 503, error: 'boom' }, disabledAt: T0 + 2050 });
      assert.equal(await s.deliveryControl.countHeld(disabling!.id), 2);
      assert.equal(await s.deliveryControl.countHeld(marking!.id), 0);
    });

    it('settles claims as FILTERED (final), and HELD only while the subscription is disabled', async () => {
      await setup();
      const [m1, m2, m3] = [await message(), await message(), await message()];
      await s.deliveries.insertDeliveries([m1, m2, m3].map((m) => deliveryFixture(m, { subscriptionId: sub.id })));
      const [d1, d2, d3] = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d2 && d3);
      // Not disabled: a hold goes back to the queue, due now, instead.
      await s.deliveries.settleClaims(
        [
          { id: d1.id, subscriptionId: sub.id, state: 'FILTERED' },
          { id: d2.id, subscriptionId: sub.id, state: 'HELD' },
          // Another node's claim is not ours to settle.
        ],
        OWNER,
        T0 + 20,
      );
      await s.deliveries.settleClaims([{ id: d3.id, subscriptionId: sub.id, state: 'FILTERED' }], 'node-b', T0 + 20);
      assert.equal((await stateOf(s, m1, d1.id))?.state, 'FILTERED');
      const { dueAt: _dueAt, ...plain2 } = d2;
      assert.deepEqual(await stateOf(s, m2, d2.id), { ...plain2, state: 'PENDING', leaseOwner: null, nextAttemptAt: T0 + 20 });
      assert.equal((await stateOf(s, m3, d3.id))?.state, 'IN_FLIGHT');
      // Disabled: the hold sticks and pauses the delivery.
      await rawExec(t, 'UPDATE subscriptions SET disabled_at = ? WHERE id = ?', [T0 + 30, sub.id]);
      const [again] = await claim(T0 + 40);
      assert.equal(again?.id, d2.id);
      await s.deliveries.settleClaims([{ id: d2.id, subscriptionId: sub.id, state: 'HELD' }], OWNER, T0 + 50);
      assert.equal((await stateOf(s, m2, d2.id))?.state, 'HELD');
      assert.equal(await s.deliveryControl.countHeld(sub.id), 1);
    });

    it('enabling releases held deliveries due now, their retry windows moved on by the time held, and clears the record', async () => {
      await setup();
      const [m1, m2] = [await message(), await message()];
      await s.deliveries.insertDeliveries([m1, m2].map((m) => deliveryFixture(m, { subscriptionId: sub.id, createdAt: T0 })));
      const claims = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      await s.deliveries.completeAttempts(claims.map((d) => tried(d, { state: 'PENDING', nextAttemptAt: T0 + 4000 }, T0 + 100)), T0 + 200, POLICY);
      // The next failure comes from an in-flight attempt: here a direct one, past the window.
      const m3 = await message();
      await s.deliveries.insertDeliveries([deliveryFixture(m3, { subscriptionId: sub.id, nextAttemptAt: T0 + 1300 })]);
      const [d3] = await claim(T0 + 1300);
      assert.ok(d3);
      assert.equal((await s.deliveries.completeAttempts([tried(d3, { state: 'PENDING', nextAttemptAt: T0 + 5000 }, T0 + 1400)], T0 + 2000, POLICY)).length, 1);
      assert.equal(await s.deliveryControl.countHeld(sub.id), 3);

      assert.deepEqual(await s.deliveryControl.enableSubscription(sub.tenancyId, sub.id, T0 + 10_000), { wasDisabled: true, released: 3 });
      const d1 = await stateOf(s, m1, claims[0]!.id);
      // Held from T0+2000 to T0+10000: the window that opened at T0 now opens at T0+8000.
      assert.equal(d1?.state, 'PENDING');
      assert.equal(d1?.nextAttemptAt, T0 + 10_000);
      assert.equal(d1?.windowStartAt, T0 + 8000);
      assert.deepEqual(await health(), { failingSince: null, consecutiveFailures: 0, lastFailure: { at: T0 + 1400, statusCode: 503, error: 'boom' }, disabledAt: null });
      assert.equal((await claim(T0 + 10_000)).length, 3);
      // Enabling what is not disabled changes nothing; another tenancy's call finds nothing to enable.
      assert.deepEqual(await s.deliveryControl.enableSubscription(sub.tenancyId, sub.id, T0 + 11_000), { wasDisabled: false, released: 0 });
    });

    it('releases the held deliveries of a deleted subscription or topic, and a hold never sticks to a deleted one', async () => {
      await setup();
      const other = subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 });
      await s.subscriptions.insertSubscription(other);
      const [m1, m2, m3] = [await message(), await message(), await message()];
      await s.deliveries.insertDeliveries([deliveryFixture(m1, { subscriptionId: sub.id }), deliveryFixture(m2, { subscriptionId: other.id }), deliveryFixture(m3, { subscriptionId: sub.id })]);
      const [d1, d2, d3] = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d2 && d3);
      await rawExec(t, 'UPDATE subscriptions SET disabled_at = ?', [T0 + 20]);
      await s.deliveries.settleClaims([d1, d2].map((d) => ({ id: d.id, subscriptionId: d.subscriptionId, state: 'HELD' as const })), OWNER, T0 + 30);
      assert.equal(await s.deliveryControl.countHeld(sub.id), 1);

      assert.equal(await s.deliveryControl.releaseHeldOf({ subscriptionId: sub.id }, T0 + 40), 1);
      assert.equal((await stateOf(s, m1, d1.id))?.state, 'PENDING');
      assert.equal((await stateOf(s, m2, d2.id))?.state, 'HELD');
      assert.equal(await s.deliveryControl.releaseHeldOf({ topicId: topic.id }, T0 + 50), 1);
      assert.equal((await stateOf(s, m2, d2.id))?.state, 'PENDING');
      assert.equal((await stateOf(s, m2, d2.id))?.nextAttemptAt, T0 + 50);

      // Deleted while still marked disabled: a hold decided on a stale copy goes back to the queue instead.
      await rawExec(t, "UPDATE subscriptions SET lifecycle_state = 'DELETED' WHERE id = ?", [sub.id]);
      await s.deliveries.settleClaims([{ id: d3.id, subscriptionId: sub.id, state: 'HELD' }], OWNER, T0 + 60);
      assert.deepEqual([(await stateOf(s, m3, d3.id))?.state, (await stateOf(s, m3, d3.id))?.nextAttemptAt], ['PENDING', T0 + 60]);
    });

    it('a hold racing an enable on another node never leaves a delivery held on an enabled subscription', async () => {
      await setup();
      const node2 = await t.openAnother();
      // Rounds of: disable, claim a few deliveries, then at once node 1 holds them while node 2 enables.
      for (let round = 0; round < 15; round++) {
        const ms = [await message(), await message(), await message()];
        await s.deliveries.insertDeliveries(ms.map((m) => deliveryFixture(m, { subscriptionId: sub.id, nextAttemptAt: T0 })));
        await rawExec(t, 'UPDATE subscriptions SET disabled_at = ? WHERE id = ?', [T0, sub.id]);
        const claimed = (await claim(T0 + 10 + round)).sort((a, b) => a.id - b.id);
        assert.equal(claimed.length, 3);
        const holds = s.deliveries.settleClaims(claimed.map((d) => ({ id: d.id, subscriptionId: sub.id, state: 'HELD' as const })), OWNER, T0 + 20);
        const enable = node2.deliveryControl.enableSubscription(sub.tenancyId, sub.id, T0 + 30);
        await Promise.all([holds, enable]);
        // Whichever order they ran in, the subscription is enabled and nothing of it may stay held.
        assert.equal(await s.deliveryControl.countHeld(sub.id), 0, `round ${round}`);
        for (const [i, m] of ms.entries()) assert.equal((await stateOf(s, m, claimed[i]!.id))?.state, 'PENDING', `round ${round}`);
        // Out of the way for the next round.
        const again = await claim(T0 + 100_000);
        await s.deliveries.completeAttempts(again.map((d) => tried(d, { state: 'DELIVERED' }, T0 + 40)), T0 + 41, LONG);
      }
    });

    it('replay restarts finished deliveries, creates missing ones, skips those still to make, and holds when disabled', async () => {
      await setup();
      const [m1, m2, m3, m4] = [
        await message({ publishedAt: T0 + 1 }),
        await message({ publishedAt: T0 + 2 }),
        await message({ publishedAt: T0 + 3 }),
        await message({ publishedAt: T0 + 4 }),
      ];
      await s.deliveries.insertDeliveries([m1, m3].map((m) => deliveryFixture(m, { subscriptionId: sub.id })));
      const [d1, d3] = (await claim(T0 + 10)).sort((a, b) => a.id - b.id);
      assert.ok(d1 && d3);
      await s.deliveries.completeAttempts([tried(d1, { state: 'DELIVERED' }, T0 + 11)], T0 + 12, POLICY);
      await s.deliveries.settleClaims([{ id: d3.id, subscriptionId: sub.id, state: 'FILTERED' }], OWNER, T0 + 12);
      // m2 still has a delivery to make.
      await s.deliveries.insertDeliveries([deliveryFixture(m2, { subscriptionId: sub.id, nextAttemptAt: T0 + 90_000 })]);

      const window = await s.deliveryControl.listMessagesInWindow({ tenancyId: sub.tenancyId, topicId: topic.id, since: T0 + 1, until: T0 + 4, limit: 2 });
      assert.deepEqual(window.map((m) => m.id), [m1.id, m2.id]);
      const next = await s.deliveryControl.listMessagesInWindow({ tenancyId: sub.tenancyId, topicId: topic.id, since: T0 + 1, until: T0 + 4, after: { publishedAt: m2.publishedAt, id: m2.id }, limit: 2 });
      assert.deepEqual(next.map((m) => m.id), [m3.id]);
      assert.deepEqual(await s.deliveryControl.listMessagesInWindow({ tenancyId: 'ocid1.tenancy.oc1..other', topicId: topic.id, since: T0, until: T0 + 9, limit: 9 }), []);

      assert.equal(await s.deliveryControl.replayMessages(sub, [m1.id, m2.id, m3.id, m4.id], T0 + 100), 3);
      const after1 = await stateOf(s, m1, d1.id);
      assert.deepEqual([after1?.state, after1?.nextAttemptAt, after1?.windowStartAt, after1?.attempts], ['PENDING', T0 + 100, T0 + 100, 1]);
      assert.equal((await stateOf(s, m3, d3.id))?.state, 'PENDING');
      const m4Deliveries = [...(await deliveriesOf(s, m4)).values()];
      assert.deepEqual(m4Deliveries.map((x) => [x.delivery.subscriptionId, x.delivery.state, x.delivery.protocol]), [[sub.id, 'PENDING', sub.protocol]]);
      assert.equal([...(await deliveriesOf(s, m2)).values()][0]?.delivery.nextAttemptAt, T0 + 90_000);
      // Again at once: everything has a delivery to make now.
      assert.equal(await s.deliveryControl.replayMessages(sub, [m1.id, m2.id, m3.id, m4.id], T0 + 101), 0);
      // The delivery a replay creates carries its endpoint's key: claims that leave the endpoint out leave it alone.
      const fullEndpoint = { endpoints: [endpointKeyOf(sub.protocol, sub.endpoint)], subscriptions: [] };
      const elsewhere = await s.deliveries.claimDeliveries(10, T0 + 150, T0 + 160, OWNER, fullEndpoint);
      assert.ok(!elsewhere.some((d) => d.id === m4Deliveries[0]?.delivery.id), 'the replayed delivery was claimed while its endpoint was left out');

      // Disabled: what a replay queues is held.
      const done = await claim(T0 + 200);
      await s.deliveries.completeAttempts(done.map((d) => tried(d, { state: 'DELIVERED' }, T0 + 201)), T0 + 202, POLICY);
      await rawExec(t, 'UPDATE subscriptions SET disabled_at = ? WHERE id = ?', [T0 + 300, sub.id]);
      assert.equal(await s.deliveryControl.replayMessages(sub, [m1.id], T0 + 400), 1);
      assert.equal((await stateOf(s, m1, d1.id))?.state, 'HELD');
      assert.equal(await s.deliveryControl.countHeld(sub.id), 1);
    });
  });
}
