import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { DueProbe } from '../../src/delivery/due-probe.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { seedTenancy, subscriptionFixture, T0, topicFixture } from '../store/fixtures.js';

for (const kind of STORE_KINDS) {
  describe(`DueProbe (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('reads how long the oldest due delivery in the store has waited, and 0 when none is due', async () => {
      let now = T0;
      const probe = new DueProbe(t.store.deliveries, pino({ level: 'silent' }), () => now);
      await probe.read();
      assert.equal(probe.ageMs(), 0);
      const tenancyId = (await seedTenancy(t.store)).tenancy.id;
      const topic = topicFixture(tenancyId);
      await t.store.topics.insertTopic(topic);
      const sub = subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 });
      await t.store.subscriptions.insertSubscription(sub);
      const due = (at: number) => ({ tenancyId, topicId: topic.id, subscriptionId: sub.id, messageId: null, kind: 'CONFIRMATION' as const, protocol: sub.protocol, nextAttemptAt: at, confirmationNonce: sub.confirmationNonce, createdAt: at });
      await t.store.deliveries.insertDeliveries([due(T0 + 5000)]);
      now = T0 + 1000;
      await probe.read(); // the reading ageMs() above started
      await probe.read();
      assert.equal(probe.ageMs(), 0, 'due only later: nothing waits yet');
      now = T0 + 7500;
      await probe.read(); // the reading ageMs() above started
      await probe.read();
      assert.equal(probe.ageMs(), 2500);
    });
  });
}
