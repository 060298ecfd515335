import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PublishPlan } from '../../src/core/deliveries.js';
import type { Authorizer } from '../../src/core/iam/authorizer.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { INLINE_FANOUT, MessageService, type Fanout } from '../../src/core/messages.js';
import { DEFAULT_PACER_OPTIONS, PublishPacer } from '../../src/core/publish-pacer.js';
import { TooManyRequestsError } from '../../src/core/errors.js';
import { STORE_KINDS, makeTestStore, type TestStore } from '../helpers/stores.js';
import { seedAdminTenancy, topicFixture } from '../store/fixtures.js';

/** Fans nothing out: these tests are about admission, not delivery. */
const NO_FANOUT: Fanout = {
  planPublish: (now: number): PublishPlan => ({ now, inlineFanout: INLINE_FANOUT, claim: undefined }),
  published: () => undefined,
};

/** A pacer that is pacing: deliveries 1 s late on a saturated thread, 10 deliveries a publish. */
function pacingPacer(): PublishPacer {
  let now = 0;
  const pacer = new PublishPacer(
    { deliveryLagMs: () => 1000, oldestDueMs: () => 1000, busy: () => 1 },
    // No publish leaves the line by waiting out maxWaitMs during a test.
    { ...DEFAULT_PACER_OPTIONS, targetLagMs: 500, maxWaitMs: 60_000 },
    { now: () => now },
  );
  pacer.published(1, 10);
  pacer.delivered(100);
  now += 100;
  pacer.tick();
  assert.equal(pacer.state.paced, true);
  return pacer;
}

for (const kind of STORE_KINDS) {
  describe(`publish backpressure (${kind})`, () => {
    let t: TestStore;
    let admin: Principal;
    let authz: Authorizer;
    let topicId: string;

    before(async () => {
      t = await makeTestStore(kind);
      const seeded = await seedAdminTenancy(t.store);
      admin = seeded.admin;
      authz = seeded.authz;
      const topic = topicFixture(seeded.tenancy.id);
      await t.store.topics.insertTopic(topic);
      topicId = topic.id;
    });
    after(() => t.cleanup());

    it('a paced publish takes one turn: the one its route waited for, not a second one inside publish()', async () => {
      const pacer = pacingPacer();
      const messages = new MessageService(t.store, authz, { fanout: NO_FANOUT, backpressure: { backlog: () => 0, max: 1000, pacer } });
      // What the publish route's onRequest hook does before it reads the body.
      const turn = messages.checkBackpressure();
      assert.ok(turn instanceof Promise, 'the publish waits for its turn');
      pacer.delivered(12); // 12 deliveries later than the target earn 10.8: one publish's worth
      await turn;
      assert.equal(pacer.state.waiting, 0);
      await messages.publish(admin, topicId, { body: 'paced' }, undefined);
      await messages.drain();
      assert.equal(pacer.state.waiting, 0, 'publish() queued for no second turn');
      assert.equal(pacer.state.delayed, 1, 'the publish waited once');
    });

    it('a publish is refused over the backlog limit, by the route and by publish() itself', async () => {
      const messages = new MessageService(t.store, authz, { fanout: NO_FANOUT, backpressure: { backlog: () => 1001, max: 1000 } });
      assert.throws(() => messages.checkBackpressure(), TooManyRequestsError);
      await assert.rejects(messages.publish(admin, topicId, { body: 'refused' }, undefined), TooManyRequestsError);
    });
  });
}
