import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/core/models.js';
import type { DeliveryStore } from '../../src/core/ports/deliveries.js';
import { FanoutRounds } from '../../src/delivery/fanout-round.js';
import { NO_TRACING } from '../../src/telemetry/tracing.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { messageFixture, seedTenancy, subscriptionFixture, T0, topicFixture, topicWithSubscribers } from '../store/fixtures.js';

for (const kind of STORE_KINDS) {
  describe(`batched fan-out round (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(() => t.cleanup());

    it('fans out a burst to a big topic a few messages per transaction, oldest first, every delivery once', async () => {
      const { tenancy } = await seedTenancy(t.store);
      const topic = topicFixture(tenancy.id);
      await t.store.topics.insertTopic(topic);
      const subs = 250;
      for (let i = 0; i < subs; i++) {
        await t.store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0, endpoint: `https://h${i % 7}.example/${i}` }));
      }
      const messages: Message[] = Array.from({ length: 12 }, (_, i) => messageFixture(topic, { publishedAt: T0 + 1 + i }));
      // inlineFanout 1: every message is left to the batched fan-out.
      await t.store.publishing.publishMessages(messages, { now: T0 + 20, inlineFanout: 1 });

      const steps: string[][] = [];
      const store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany' | 'releaseFanout'> = {
        claimFanout: (...a) => t.store.deliveries.claimFanout(...a),
        releaseFanout: (...a) => t.store.deliveries.releaseFanout(...a),
        fanoutMany: (ids, limit, now) => {
          steps.push([...ids]);
          return t.store.deliveries.fanoutMany(ids, limit, now);
        },
      };
      let reported = 0;
      const rounds = new FanoutRounds(store, { remember: () => undefined }, NO_TRACING, { fannedOut: (n) => (reported += n) }, { nodeId: 'n', leaseMs: 60_000, fanoutBatch: 100, idlePollMs: 1000 });
      let created = 0;
      let slices = 0;
      while (slices === 0 || rounds.busy) {
        created += await rounds.run();
        slices++;
      }
      // Each slice counts the messages it claimed and stepped and the deliveries it created.
      const stepped = steps.reduce((n, s) => n + s.length, 0);
      assert.equal(created, messages.length + stepped + messages.length * subs);
      // The deliveries it created are reported (the publish pacer counts them in what a big topic's publish costs).
      assert.equal(reported, messages.length * subs);
      // 100 subscriptions a batch: at most 10 messages (1,000 deliveries) in one transaction.
      assert.ok(steps.every((s) => s.length <= 10), `steps of ${steps.map((s) => s.length).join(', ')} messages`);
      // The ten oldest are fanned out first (3 batches each); the two newest start only after them.
      const oldest = new Set(messages.slice(0, 10).map((m) => m.id));
      const firstNewest = steps.findIndex((s) => s.some((id) => !oldest.has(id)));
      assert.equal(firstNewest, 3);
      assert.ok(steps.slice(0, 3).every((s) => s.length === 10 && s.every((id) => oldest.has(id))));
      for (const m of messages) {
        const ds = await t.store.activity.getMessageDeliveries(tenancy.id, m.id);
        assert.equal(new Set(ds.map((d) => d.delivery.subscriptionId)).size, subs, `deliveries of ${m.id}`);
        assert.equal(ds.length, subs);
      }
      assert.equal((await t.store.deliveries.countDeliveries()).fanoutBacklog, 0);
    });
  });
}

describe('fan-out rounds in slices', () => {
  let t: TestStore;
  before(async () => {
    t = await makeTestStore('sqlite');
  });
  after(() => t.cleanup());

  it('returns to the engine after a slow step with the round unfinished, and claims again what outlived its lease', async () => {
    const topic = await topicWithSubscribers(t.store, 30);
    const messages = [1, 2].map((i) => messageFixture(topic, { publishedAt: T0 + i }));
    await t.store.publishing.publishMessages(messages, { now: T0 + 5, inlineFanout: 1 });
    let claims = 0;
    let steps = 0;
    const store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany' | 'releaseFanout'> = {
      releaseFanout: (...a) => t.store.deliveries.releaseFanout(...a),
      claimFanout: async (...a) => {
        claims++;
        return t.store.deliveries.claimFanout(...a);
      },
      fanoutMany: async (ids, limit, now) => {
        steps++;
        // Longer than a slice: the engine gets its loop back after every step.
        await new Promise((r) => setTimeout(r, 15));
        return t.store.deliveries.fanoutMany(ids, limit, now);
      },
    };
    // 10 subscriptions a batch (both messages in each step): 4 steps see the 30 subscriptions and the end.
    const rounds = new FanoutRounds(store, { remember: () => undefined }, NO_TRACING, { fannedOut: () => undefined }, { nodeId: 'n', leaseMs: 1500, fanoutBatch: 10, idlePollMs: 1000 });
    assert.ok((await rounds.run()) > 0);
    assert.equal(steps, 1, 'one step, then back to the engine');
    assert.equal(rounds.busy, true);
    await rounds.run();
    assert.equal(steps, 2);
    assert.equal(claims, 1, 'the round goes on without claiming again');
    // Past the lease, what is left is claimed again (by this node here) before it is stepped.
    await new Promise((r) => setTimeout(r, 1600));
    while (rounds.busy) await rounds.run();
    assert.equal(claims, 2);
    for (const m of messages) {
      const ds = await t.store.activity.getMessageDeliveries(topic.tenancyId, m.id);
      assert.equal(new Set(ds.map((d) => d.delivery.subscriptionId)).size, 30, `deliveries of ${m.id}`);
      assert.equal(ds.length, 30);
    }
    assert.equal((await t.store.deliveries.countDeliveries()).fanoutBacklog, 0);
  });

  it('gives back what its round had left when the engine stops, so the next claim takes it at once', async () => {
    const topic = await topicWithSubscribers(t.store, 30);
    const m = messageFixture(topic, { publishedAt: T0 + 10 });
    await t.store.publishing.publishMessages([m], { now: T0 + 11, inlineFanout: 1 });
    const store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany' | 'releaseFanout'> = {
      claimFanout: (...a) => t.store.deliveries.claimFanout(...a),
      releaseFanout: (...a) => t.store.deliveries.releaseFanout(...a),
      fanoutMany: async (ids, limit, now) => {
        await new Promise((r) => setTimeout(r, 15));
        return t.store.deliveries.fanoutMany(ids, limit, now);
      },
    };
    const rounds = new FanoutRounds(store, { remember: () => undefined }, NO_TRACING, { fannedOut: () => undefined }, { nodeId: 'leaving', leaseMs: 600_000, fanoutBatch: 10, idlePollMs: 1000 });
    await rounds.run();
    assert.equal(rounds.busy, true);
    await rounds.stop();
    assert.equal(rounds.busy, false);
    // Within the lease it took: claimable only because it was given back.
    const now = Date.now();
    assert.deepEqual((await t.store.deliveries.claimFanout(10, now, now + 1000, 'next')).map((x) => x.id), [m.id]);
  });
});

describe('fan-out rounds between hints', () => {
  let t: TestStore;
  before(async () => {
    t = await makeTestStore('sqlite');
  });
  after(() => t.cleanup());

  it('claims again after finding nothing only when hinted or once the poll interval has passed', async () => {
    const topic = await topicWithSubscribers(t.store, 3);
    let claims = 0;
    let hintDuringClaim = false;
    const store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany' | 'releaseFanout'> = {
      releaseFanout: (...a) => t.store.deliveries.releaseFanout(...a),
      fanoutMany: (...a) => t.store.deliveries.fanoutMany(...a),
      claimFanout: async (...a) => {
        claims++;
        const found = await t.store.deliveries.claimFanout(...a);
        // A publish that commits while this claim runs, and says so.
        if (hintDuringClaim) {
          hintDuringClaim = false;
          rounds.maybeDue();
        }
        return found;
      },
    };
    const rounds = new FanoutRounds(store, { remember: () => undefined }, NO_TRACING, { fannedOut: () => undefined }, { nodeId: 'n', leaseMs: 60_000, fanoutBatch: 10, idlePollMs: 1000 });
    assert.equal(await rounds.run(), 0);
    assert.equal(claims, 1);
    // Nothing was there and nothing was hinted: the loop's next turns write nothing.
    for (let i = 0; i < 5; i++) assert.equal(await rounds.run(), 0);
    assert.equal(claims, 1);

    // A big topic's publish leaves its fan-out, and the engine's wake hints at it: the next turn claims and fans out.
    const m = messageFixture(topic, { publishedAt: T0 + 20 });
    await t.store.publishing.publishMessages([m], { now: T0 + 21, inlineFanout: 1 });
    rounds.maybeDue();
    while ((await rounds.run()) > 0 || rounds.busy);
    assert.equal(claims, 3, 'the hinted claim, then the one that found the round done');
    assert.equal((await t.store.activity.getMessageDeliveries(topic.tenancyId, m.id)).length, 3);

    // A hint that arrives while a claim finds nothing is not lost with it.
    rounds.maybeDue();
    hintDuringClaim = true;
    await rounds.run();
    assert.equal(claims, 4);
    await rounds.run();
    assert.equal(claims, 5, 'claimed again for the hint that came during the empty claim');
    await rounds.run();
    assert.equal(claims, 5);

    // Without hints, work no hint announced (here: a message left to fan out behind the store's back) is found once the
    // poll interval has passed.
    const late = messageFixture(topic, { publishedAt: T0 + 30 });
    await t.store.publishing.publishMessages([late], { now: T0 + 31, inlineFanout: 1 });
    assert.equal(await rounds.run(), 0);
    assert.equal(claims, 5);
    await new Promise((r) => setTimeout(r, 1100));
    while ((await rounds.run()) > 0 || rounds.busy);
    assert.equal((await t.store.activity.getMessageDeliveries(topic.tenancyId, late.id)).length, 3);
  });
});
