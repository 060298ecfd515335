import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/core/models.js';
import type { DeliveryStore } from '../../src/core/ports/deliveries.js';
import { fanoutRound } from '../../src/delivery/fanout-round.js';
import { NO_TRACING } from '../../src/telemetry/tracing.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { messageFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from '../store/fixtures.js';

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
      const store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany'> = {
        claimFanout: (...a) => t.store.deliveries.claimFanout(...a),
        fanoutMany: (ids, limit, now) => {
          steps.push([...ids]);
          return t.store.deliveries.fanoutMany(ids, limit, now);
        },
      };
      const done = await fanoutRound(store, { remember: () => undefined }, NO_TRACING, { nodeId: 'n', leaseMs: 60_000, fanoutBatch: 100 });
      assert.equal(done, messages.length + messages.length * subs);
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
