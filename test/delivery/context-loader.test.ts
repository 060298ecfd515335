/** The engine's context loader: messages cached within byte budgets, the rest read from the store by id. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Delivery } from '../../src/core/deliveries.js';
import type { Message, Subscription, Topic } from '../../src/core/models.js';
import type { DeliveryStore } from '../../src/core/ports/deliveries.js';
import { ContextLoader, MESSAGE_CACHE_BYTES, READ_BACK_BYTES } from '../../src/delivery/context-loader.js';
import { makeTestStore, type TestStore } from '../helpers/stores.js';
import { rawExec } from '../store/delivery-fixtures.js';
import { messageFixture, seedTenancy, subscriptionFixture, topicFixture, T0 } from '../store/fixtures.js';

const BODY_BYTES = 60 * 1024;

/** A claimed delivery of `m` as the engine hands it to the loader (only its ids matter here). */
function deliveryOf(m: Message, id: number, subscriptionId = 'ocid1.onssubscription.oc1..none'): Delivery {
  return {
    id, tenancyId: m.tenancyId, topicId: m.topicId, subscriptionId, messageId: m.id, kind: 'MESSAGE',
    protocol: 'CUSTOM_HTTPS', state: 'IN_FLIGHT', attempts: 0, nextAttemptAt: T0, windowStartAt: T0, leaseOwner: 'n', confirmationNonce: null,
    lastError: null, lastStatus: null, deliveredAt: null, createdAt: T0, updatedAt: T0,
  };
}

describe('ContextLoader', () => {
  let t: TestStore;
  const messageReads: string[][] = [];
  let messages: Message[];
  let topic: Topic;
  let subs: Subscription[];
  let loader: ContextLoader;

  /** A loader over the real store whose message reads are recorded. */
  function countingLoader(opts: { maxCachedSubscriptions?: number } = {}): ContextLoader {
    const real = t.store.deliveries;
    const counting: Pick<DeliveryStore, 'getMessagesByIds' | 'getSubscriptionsByIds' | 'getTopicsByIds'> = {
      getMessagesByIds: async (ids) => {
        if (ids.length > 0) messageReads.push([...ids]);
        return real.getMessagesByIds(ids);
      },
      getSubscriptionsByIds: (ids) => real.getSubscriptionsByIds(ids),
      getTopicsByIds: (ids) => real.getTopicsByIds(ids),
    };
    return new ContextLoader(counting, opts);
  }

  before(async () => {
    t = await makeTestStore('sqlite');
    const { tenancy } = await seedTenancy(t.store);
    topic = topicFixture(tenancy.id);
    await t.store.topics.insertTopic(topic);
    // More 60 KB messages than the budget holds, so the oldest must have been let go.
    const count = Math.ceil((MESSAGE_CACHE_BYTES * 1.5) / BODY_BYTES);
    messages = Array.from({ length: count }, (_, i) => messageFixture(topic, { body: String(i % 10).repeat(BODY_BYTES), publishedAt: T0 + i }));
    const outcome = await t.store.publishing.publishMessages(messages, { now: T0 + count, inlineFanout: 10 });
    assert.equal(outcome.stored.size, count);
    subs = Array.from({ length: 5 }, () => subscriptionFixture(topic));
    for (const sub of subs) await t.store.subscriptions.insertSubscription(sub);
    loader = countingLoader();
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

  it('holds at most its budgets: of the messages published, those beyond them are read back', async () => {
    messageReads.length = 0;
    const contexts = await loader.load(messages.map((m, i) => deliveryOf(m, 10 + i)), T0);
    assert.deepEqual(contexts.map((c) => c.message?.id), messages.map((m) => m.id));
    const held = messages.length - messageReads.flat().length;
    assert.ok(held > 0, 'the newest stayed cached');
    assert.ok(held * BODY_BYTES <= MESSAGE_CACHE_BYTES + READ_BACK_BYTES, `${held} messages of ${BODY_BYTES} bytes held, over the budgets`);
  });

  it('gives a batch every message it needs, even when they are more than the caches hold', async () => {
    const fresh = countingLoader();
    messageReads.length = 0;
    const contexts = await fresh.load(messages.map((m, i) => deliveryOf(m, 1000 + i)), T0);
    assert.ok(messages.length * BODY_BYTES > MESSAGE_CACHE_BYTES + READ_BACK_BYTES);
    assert.deepEqual(contexts.map((c) => c.message?.id), messages.map((m) => m.id));
    assert.equal(messageReads.flat().length, messages.length);
  });

  it('drains a backlog bigger than the cache reading back only the messages it had let go, oldest first', async () => {
    const drain = countingLoader();
    for (const m of messages) drain.remember(m);
    messageReads.length = 0;
    // Claimed batches of a few deliveries each, in publishing order, as a backlog drains.
    for (let i = 0; i < messages.length; i += 4) {
      const batch = messages.slice(i, i + 4);
      const contexts = await drain.load(batch.map((m, j) => deliveryOf(m, 2000 + i + j)), T0);
      assert.deepEqual(contexts.map((c) => c.message?.id), batch.map((m) => m.id));
    }
    const read = messageReads.flat();
    const letGo = messages.length - Math.floor(MESSAGE_CACHE_BYTES / (BODY_BYTES + 200));
    assert.ok(read.length <= letGo + 1, `${read.length} messages read back, ${letGo} had been let go`);
    assert.deepEqual(read, messages.slice(0, read.length).map((m) => m.id), 'only the oldest');
  });

  it('keeps the subscription a batch took from the cache when it is forgotten while the batch waits for the store', async () => {
    const sub = subs[0]!;
    const l = countingLoader();
    await l.load([deliveryOf(messages.at(-1)!, 3000, sub.id)], T0);
    // Cached and fresh now: the next batch takes it from the cache, then waits for the message read.
    const pending = l.load([deliveryOf(messages[0]!, 3001, sub.id)], T0 + 10);
    l.forget(sub.id);
    const [ctx] = await pending;
    assert.equal(ctx?.subscription?.id, sub.id);
  });

  it('gives no subscription for one the store no longer has, whatever an older copy says', async () => {
    const l = countingLoader();
    const sub = subscriptionFixture(topic);
    await t.store.subscriptions.insertSubscription(sub);
    const [first] = await l.load([deliveryOf(messages.at(-1)!, 3100, sub.id)], T0);
    assert.equal(first?.subscription?.id, sub.id);
    await rawExec(t, 'DELETE FROM subscriptions WHERE id = ?', [sub.id]);
    // Past the subscription TTL the cached copy is stale: the store is asked, and says it is gone.
    const [later] = await l.load([deliveryOf(messages.at(-1)!, 3101, sub.id)], T0 + 5_000);
    assert.equal(later?.subscription, undefined);
    assert.equal(l.cached().subscriptions, 0);
  });

  it('bounds the subscriptions it caches: past the bound the stale ones are dropped', async () => {
    const l = countingLoader({ maxCachedSubscriptions: 3 });
    await l.load(subs.map((s, i) => deliveryOf(messages.at(-1)!, 3200 + i, s.id)), T0);
    assert.equal(l.cached().subscriptions, 5, 'fresh entries are kept, even past the bound');
    const [ctx] = await l.load([deliveryOf(messages.at(-1)!, 3300, subs[0]!.id)], T0 + 5_000);
    assert.equal(ctx?.subscription?.id, subs[0]!.id);
    assert.equal(l.cached().subscriptions, 1, 'the four stale ones were dropped');
  });
});
