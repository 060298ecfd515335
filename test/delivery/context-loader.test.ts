/** The engine's context loader: messages cached within a byte budget, the rest read from the store by id. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Delivery } from '../../src/core/deliveries.js';
import type { Message } from '../../src/core/models.js';
import type { DeliveryStore } from '../../src/core/ports/deliveries.js';
import { ContextLoader, MESSAGE_CACHE_BYTES } from '../../src/delivery/context-loader.js';
import { makeTestStore, type TestStore } from '../helpers/stores.js';
import { messageFixture, seedTenancy, topicFixture, T0 } from '../store/fixtures.js';

const BODY_BYTES = 60 * 1024;

/** A claimed delivery of `m` as the engine hands it to the loader (only its ids matter here). */
function deliveryOf(m: Message, id: number): Delivery {
  return {
    id, tenancyId: m.tenancyId, topicId: m.topicId, subscriptionId: 'ocid1.onssubscription.oc1..none', messageId: m.id, kind: 'MESSAGE',
    protocol: 'CUSTOM_HTTPS', state: 'IN_FLIGHT', attempts: 0, nextAttemptAt: T0, windowStartAt: T0, leaseOwner: 'n', confirmationNonce: null,
    lastError: null, lastStatus: null, deliveredAt: null, createdAt: T0, updatedAt: T0,
  };
}

describe('ContextLoader', () => {
  let t: TestStore;
  const messageReads: string[][] = [];
  let messages: Message[];
  let loader: ContextLoader;

  before(async () => {
    t = await makeTestStore('sqlite');
    const { tenancy } = await seedTenancy(t.store);
    const topic = topicFixture(tenancy.id);
    await t.store.topics.insertTopic(topic);
    // More 60 KB messages than the budget holds, so the oldest must have been let go.
    const count = Math.ceil((MESSAGE_CACHE_BYTES * 1.5) / BODY_BYTES);
    messages = Array.from({ length: count }, (_, i) => messageFixture(topic, { body: String(i % 10).repeat(BODY_BYTES), publishedAt: T0 + i }));
    const outcome = await t.store.publishing.publishMessages(messages, { now: T0 + count, inlineFanout: 10 });
    assert.equal(outcome.stored.size, count);
    const real = t.store.deliveries;
    const counting: Pick<DeliveryStore, 'getMessagesByIds' | 'getSubscriptionsByIds' | 'getTopicsByIds'> = {
      getMessagesByIds: async (ids) => {
        if (ids.length > 0) messageReads.push([...ids]);
        return real.getMessagesByIds(ids);
      },
      getSubscriptionsByIds: (ids) => real.getSubscriptionsByIds(ids),
      getTopicsByIds: (ids) => real.getTopicsByIds(ids),
    };
    loader = new ContextLoader(counting);
    for (const m of messages) loader.remember(m);
  });
  after(async () => t.cleanup());

  it('serves the messages just published from memory, without a read', async () => {
    const newest = messages.at(-1)!;
    messageReads.length = 0;
    const [ctx] = await loader.load([deliveryOf(newest, 1)], T0);
    assert.deepEqual(ctx?.message, newest);
    assert.deepEqual(messageReads, []);
  });

  it('keeps no more message bytes than its budget: the oldest are read from the store by id, then cached again', async () => {
    const oldest = messages[0]!;
    messageReads.length = 0;
    const [ctx] = await loader.load([deliveryOf(oldest, 2)], T0);
    assert.deepEqual(ctx?.message, oldest);
    assert.deepEqual(messageReads, [[oldest.id]]);
    await loader.load([deliveryOf(oldest, 3)], T0);
    assert.equal(messageReads.length, 1, 'read once, then served from the cache');
  });

  it('holds at most the budget: of the messages published, those beyond it were let go', async () => {
    messageReads.length = 0;
    await loader.load(messages.map((m, i) => deliveryOf(m, 10 + i)), T0);
    const read = messageReads.flat().length;
    const held = messages.length - read;
    assert.ok(held > 0, 'the newest stayed cached');
    assert.ok(held * BODY_BYTES <= MESSAGE_CACHE_BYTES, `${held} messages of ${BODY_BYTES} bytes held, over the ${MESSAGE_CACHE_BYTES}-byte budget`);
  });
});
