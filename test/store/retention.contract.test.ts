import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Delivery, DeliveryTransition } from '../../src/core/deliveries.js';
import type { Message, Topic } from '../../src/core/models.js';
import { RetentionService, retentionOptions, type RetentionOptions } from '../../src/core/retention.js';
import { RETRY_TOKEN_TTL_MS } from '../../src/core/idempotency.js';
import type { Store } from '../../src/store/store.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { freshDatabase } from '../helpers/databases.js';
import { withPg } from '../helpers/pg.js';
import { confirmationFixture, rawExec, rawRows, resultFor } from './delivery-fixtures.js';
import { messageFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/**
 * Retention on both backends: what a sweep deletes (finished messages past the window
 * with their deliveries, dead letters and attempts; old finished confirmations, mail and
 * retry tokens) and what it must keep (anything newer, and any message with a delivery
 * pending, in flight, or a fan-out not done).
 */

const RETENTION = 50_000;
/** The sweeps' clock: messages published before T0 + 10 s are past the window. */
const NOW = T0 + 60_000;
const CUTOFF = NOW - RETENTION;
const OWNER = 'node-a';

/** Tiny batches, so every sweep pages through several (the cursor is part of the contract). */
const PAGED: RetentionOptions = { ...retentionOptions(RETENTION), minBatch: 2, maxBatch: 2, batchBudgetMs: 1e9 };

const delivered: DeliveryTransition = { state: 'DELIVERED' };
const dead: DeliveryTransition = { state: 'DEAD' };
const cancelled: DeliveryTransition = { state: 'CANCELLED' };
const retryLater: DeliveryTransition = { state: 'PENDING', nextAttemptAt: NOW + 3_600_000 };

interface Seeded {
  store: Store;
  tenancyId: string;
  /** Finished and past the window: must go. */
  gone: Message[];
  /** Past the window with a delivery still to make: must stay. */
  retrying: Message;
  inFlight: Message;
  fanningOut: Message;
  /** Inside the window: must stay. */
  recent: Message;
  deliveriesOf: Map<string, Delivery[]>;
}

async function seed(t: TestStore): Promise<Seeded> {
  const { store } = t;
  const tenancyId = (await seedTenancy(store)).tenancy.id;
  const topicWith = async (subs: number): Promise<Topic> => {
    const topic = topicFixture(tenancyId);
    await store.topics.insertTopic(topic);
    for (let i = 0; i < subs; i++) await store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
    return topic;
  };
  const pair = await topicWith(2);
  const silent = await topicWith(0);
  const big = await topicWith(1);
  const at = (topic: Topic, offset: number): Message => messageFixture(topic, { publishedAt: T0 + offset });
  const allDelivered = at(pair, 10);
  const deadLetter = at(pair, 20);
  const retrying = at(pair, 30);
  const inFlight = at(pair, 40);
  const withCancelled = at(pair, 50);
  const noSubscribers = at(silent, 60);
  const recent = at(pair, 20_000);
  const plan = { now: T0 + 100, inlineFanout: 64, claim: { owner: OWNER, leaseUntil: NOW + 600_000, max: 1000 } };
  const out = await store.publishing.publishMessages([allDelivered, deadLetter, retrying, inFlight, withCancelled, noSubscribers, recent], plan);
  assert.equal(out.stored.size, 7);
  // One message whose fan-out is left to the engine: inlineFanout 1 keeps the 1-subscription topic out.
  const fanningOut = at(big, 70);
  await store.publishing.publishMessages([fanningOut], { ...plan, inlineFanout: 1 });

  const byMessage = new Map<string, Delivery[]>();
  for (const d of out.claimed) byMessage.set(d.messageId!, [...(byMessage.get(d.messageId!) ?? []), d]);
  const two = (m: Message): [Delivery, Delivery] => {
    const ds = byMessage.get(m.id) ?? [];
    assert.equal(ds.length, 2, 'every message of the pair topic has two claimed deliveries');
    return [ds[0]!, ds[1]!];
  };
  const [a1, a2] = two(allDelivered);
  const [d1, d2] = two(deadLetter);
  const [r1, r2] = two(retrying);
  const [i1] = two(inFlight);
  const [c1, c2] = two(withCancelled);
  const [n1, n2] = two(recent);
  await store.deliveries.completeAttempts(
    [
      resultFor(a1, delivered),
      resultFor(a2, delivered),
      resultFor(d1, delivered),
      resultFor(d2, dead),
      resultFor(r1, delivered),
      resultFor(r2, retryLater),
      resultFor(i1, delivered),
      resultFor(c1, cancelled),
      resultFor(c2, delivered),
      resultFor(n1, delivered),
      resultFor(n2, delivered),
    ],
    T0 + 200,
  );
  return {
    store,
    tenancyId,
    gone: [allDelivered, deadLetter, withCancelled, noSubscribers],
    retrying,
    inFlight,
    fanningOut,
    recent,
    deliveriesOf: byMessage,
  };
}

async function attemptsOf(t: TestStore, deliveryIds: number[]): Promise<number> {
  const rows = await rawRows(t, `SELECT COUNT(*) AS n FROM delivery_attempts WHERE delivery_id IN (${deliveryIds.join(', ')})`);
  return Number(rows[0]?.n);
}

for (const kind of STORE_KINDS) {
  describe(`retention (${kind})`, () => {
    let t: TestStore;
    let s: Seeded;
    before(async () => {
      t = await makeTestStore(kind);
      s = await seed(t);
    });
    after(async () => {
      await t.cleanup();
    });

    it('prunes finished messages past the window with their deliveries, dead letters and attempts, and keeps every unfinished or recent one', async () => {
      const { store, tenancyId } = s;
      const goneDeliveries = s.gone.flatMap((m) => (s.deliveriesOf.get(m.id) ?? []).map((d) => d.id));
      assert.equal(await attemptsOf(t, goneDeliveries), 6, 'the finished deliveries had their attempts recorded');
      assert.equal((await store.activity.listDeadLetters({ tenancyId, offset: 0, limit: 10 })).items.length, 1);
      const recentBefore = await store.activity.getMessageDeliveries(tenancyId, s.recent.id);

      const service = new RetentionService(store.retention, PAGED, (err) => assert.fail(String(err)), () => NOW);
      const result = await service.sweep();

      assert.equal(result.pruned, 4);
      assert.equal(result.held, 3);
      assert.equal(result.oldestHeldAt, s.retrying.publishedAt);
      for (const m of s.gone) {
        assert.equal(await store.messages.getMessage(tenancyId, m.id), undefined, `message at +${m.publishedAt - T0} ms is pruned`);
        assert.deepEqual(await store.activity.getMessageDeliveries(tenancyId, m.id), []);
      }
      assert.equal(await attemptsOf(t, goneDeliveries), 0, 'their attempts went with them');
      assert.deepEqual((await store.activity.listDeadLetters({ tenancyId, offset: 0, limit: 10 })).items, [], 'the dead letter went with its message');
      for (const m of [s.retrying, s.inFlight, s.fanningOut, s.recent]) {
        assert.deepEqual(await store.messages.getMessage(tenancyId, m.id), m, `message at +${m.publishedAt - T0} ms is kept`);
      }
      assert.deepEqual(await store.activity.getMessageDeliveries(tenancyId, s.recent.id), recentBefore, 'a recent message keeps its whole trace');
      assert.equal((await store.activity.getMessageDeliveries(tenancyId, s.retrying.id)).length, 2);
      assert.deepEqual(service.stats(), {
        prunedTotal: 4,
        recordsPrunedTotal: 0,
        heldMessages: 3,
        oldestHeldAt: s.retrying.publishedAt,
        sweeps: 1,
        lastSweepAt: NOW,
      });

      // A second pass finds the same three held, and nothing else to do.
      assert.deepEqual(await service.sweep(), { pruned: 0, held: 3, oldestHeldAt: s.retrying.publishedAt, records: 0 });

      // Once their deliveries finish, they go too (the fan-out one still has its fan-out to run).
      // An hour on, the retry is due and the in-flight lease has run out: both are claimed again.
      const claimed = await store.deliveries.claimDeliveries(10, NOW + 3_600_000, NOW + 4_000_000, OWNER);
      assert.deepEqual(claimed.map((d) => d.messageId).sort(), [s.retrying.id, s.inFlight.id].sort());
      await store.deliveries.completeAttempts(claimed.map((d) => resultFor(d, d.messageId === s.retrying.id ? delivered : dead)), NOW);
      assert.deepEqual(await service.sweep(), { pruned: 2, held: 1, oldestHeldAt: s.fanningOut.publishedAt, records: 0 });
      assert.equal(await store.messages.getMessage(tenancyId, s.retrying.id), undefined);
      assert.equal(await store.messages.getMessage(tenancyId, s.inFlight.id), undefined);
      assert.equal(service.stats().heldMessages, 1);
    });
  });

  describe(`retention of filtered and held deliveries (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('prunes a message whose delivery was FILTERED, and keeps one HELD for a disabled subscription until it goes out', async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store)).tenancy.id;
      const topic = topicFixture(tenancyId);
      await store.topics.insertTopic(topic);
      const [open, disabled] = [subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }), subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 })];
      for (const sub of [open, disabled]) await store.subscriptions.insertSubscription(sub);
      const filtered = messageFixture(topic, { publishedAt: T0 + 10 });
      const held = messageFixture(topic, { publishedAt: T0 + 20 });
      const plan = { now: T0 + 100, inlineFanout: 64, claim: { owner: OWNER, leaseUntil: NOW + 600_000, max: 1000 } };
      const out = await store.publishing.publishMessages([filtered, held], plan);
      const of = (m: Message, sub: { id: string }): Delivery => out.claimed.find((d) => d.messageId === m.id && d.subscriptionId === sub.id)!;
      await store.deliveries.completeAttempts([of(filtered, open), of(held, open)].map((d) => resultFor(d, delivered)), T0 + 200);
      await rawExec(t, 'UPDATE subscriptions SET disabled_at = ? WHERE id = ?', [T0 + 250, disabled.id]);
      await store.deliveries.settleClaims(
        [
          { id: of(filtered, disabled).id, subscriptionId: disabled.id, state: 'FILTERED' },
          { id: of(held, disabled).id, subscriptionId: disabled.id, state: 'HELD' },
        ],
        OWNER,
        T0 + 300,
      );
      const service = new RetentionService(store.retention, PAGED, (err) => assert.fail(String(err)), () => NOW);
      assert.deepEqual(await service.sweep(), { pruned: 1, held: 1, oldestHeldAt: held.publishedAt, records: 0 });
      assert.equal(await store.messages.getMessage(tenancyId, filtered.id), undefined);
      assert.deepEqual(await store.messages.getMessage(tenancyId, held.id), held);

      // Enabled, delivered: then it goes too.
      await store.deliveryControl.enableSubscription(tenancyId, disabled.id, NOW);
      const again = await store.deliveries.claimDeliveries(10, NOW, NOW + 60_000, OWNER);
      assert.deepEqual(again.map((d) => d.messageId), [held.id]);
      await store.deliveries.completeAttempts(again.map((d) => resultFor(d, delivered)), NOW + 1);
      assert.deepEqual(await service.sweep(), { pruned: 1, held: 0, oldestHeldAt: null, records: 0 });
    });
  });

  describe(`retention of other records (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('prunes finished confirmation sends, mail and expired retry tokens older than the window, and nothing newer or unfinished', async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store)).tenancy.id;
      const topic = topicFixture(tenancyId);
      await store.topics.insertTopic(topic);
      await store.deliveries.insertDeliveries([
        confirmationFixture(topic, { createdAt: T0, nextAttemptAt: T0 }),
        confirmationFixture(topic, { createdAt: T0, nextAttemptAt: NOW + 3_600_000 }),
        confirmationFixture(topic, { createdAt: CUTOFF + 1, nextAttemptAt: T0 }),
      ]);
      // The two due now are claimed and finished; the third (due in an hour) stays PENDING.
      const claimed = await store.deliveries.claimDeliveries(10, T0, T0 + 60_000, OWNER);
      assert.equal(claimed.length, 2);
      await store.deliveries.completeAttempts(claimed.map((d) => resultFor(d, delivered)), T0 + 1);
      const oldConfirmation = claimed.find((d) => d.createdAt === T0)!;
      const mail = (createdAt: number): Parameters<Store['mailbox']['insertMail']>[0] => ({
        tenancyId: 'ocid1.tenancy.oc1..aaaaaaaaretention',
        topicId: 'ocid1.onstopic.oc1.iad.aaaaaaaaretention',
        from: 'herald@example.com',
        to: 'ops@example.com',
        subject: 's',
        text: 't',
        headers: {},
        createdAt,
      });
      const oldMail = await store.mailbox.insertMail(mail(CUTOFF - 1));
      const newMail = await store.mailbox.insertMail(mail(CUTOFF));
      const token = (name: string, createdAt: number) => ({ tenancyId, token: name, operation: 'CreateTopic', requestHash: 'h', response: null, createdAt });
      assert.equal(await store.retryTokens.claimRetryToken(token('expired', NOW - RETRY_TOKEN_TTL_MS - 1), 0), undefined);
      assert.equal(await store.retryTokens.claimRetryToken(token('live', NOW - RETRY_TOKEN_TTL_MS + 1), 0), undefined);

      const service = new RetentionService(store.retention, PAGED, (err) => assert.fail(String(err)), () => NOW);
      const result = await service.sweep();

      assert.equal(result.records, 3, 'one confirmation, one mail, one retry token');
      assert.equal(service.stats().recordsPrunedTotal, 3);
      const confirmations = (await rawRows(t, "SELECT id, state, created_at FROM deliveries WHERE kind = 'CONFIRMATION' ORDER BY id")).map((r) => [
        String(r.state),
        Number(r.created_at),
      ]);
      assert.deepEqual(confirmations, [
        ['PENDING', T0],
        ['DELIVERED', CUTOFF + 1],
      ]);
      assert.equal(await attemptsOf(t, [oldConfirmation.id]), 0, 'the old confirmation took its attempt with it');
      assert.deepEqual((await store.mailbox.listMail('ocid1.tenancy.oc1..aaaaaaaaretention', 10)).map((m) => m.id), [newMail.id]);
      assert.notEqual(oldMail.id, newMail.id);
      const tokens = (await rawRows(t, 'SELECT token FROM retry_tokens ORDER BY token')).map((r) => String(r.token));
      assert.deepEqual(tokens, ['live']);
    });
  });

  describe(`retention with two nodes at once (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('prunes every finished message exactly once when two stores sweep the same data together', async () => {
      const { store } = t;
      const tenancyId = (await seedTenancy(store)).tenancy.id;
      const topic = topicFixture(tenancyId);
      await store.topics.insertTopic(topic);
      await store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
      const messages = Array.from({ length: 60 }, (_, i) => messageFixture(topic, { publishedAt: T0 + i }));
      const out = await store.publishing.publishMessages(messages, { now: T0 + 100, inlineFanout: 64, claim: { owner: OWNER, leaseUntil: NOW, max: 1000 } });
      await store.deliveries.completeAttempts(out.claimed.map((d) => resultFor(d, delivered)), T0 + 200);
      const other = await t.openAnother();
      const sweeper = (st: Store): RetentionService => new RetentionService(st.retention, { ...PAGED, minBatch: 5, maxBatch: 5 }, (err) => assert.fail(String(err)), () => NOW);
      const [a, b] = await Promise.all([sweeper(store).sweep(), sweeper(other).sweep()]);
      assert.equal(a.pruned + b.pruned, 60);
      assert.equal(Number((await rawRows(t, 'SELECT COUNT(*) AS n FROM messages'))[0]?.n), 0);
      assert.equal(Number((await rawRows(t, 'SELECT COUNT(*) AS n FROM deliveries'))[0]?.n), 0);
      assert.equal(Number((await rawRows(t, 'SELECT COUNT(*) AS n FROM delivery_attempts'))[0]?.n), 0);
    });
  });
}

/** Space the store's rows take: SQLite's pages in use (file pages minus the free list), PostgreSQL's table sizes after VACUUM made dead rows reusable. */
async function usedBytes(t: TestStore): Promise<{ total: number; used: number }> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'), { readonly: true });
    try {
      const size = Number(db.pragma('page_size', { simple: true }));
      const pages = Number(db.pragma('page_count', { simple: true }));
      const free = Number(db.pragma('freelist_count', { simple: true }));
      return { total: pages * size, used: (pages - free) * size };
    } finally {
      db.close();
    }
  }
  const total = (await t.store.storageStats()).databaseBytes;
  return { total, used: total };
}

for (const kind of STORE_KINDS) {
  describe(`space under retention (${kind})`, () => {
    let t: TestStore;
    let database: { url: string; drop(): Promise<void> } | undefined;
    before(async () => {
      // A database of its own: on PostgreSQL (14 and later) only transactions in the same database hold
      // back what VACUUM may reclaim, so the other suites running beside this one cannot keep it from
      // reclaiming a round's rows and the figure measures Herald alone.
      if (kind === 'postgres') database = await freshDatabase('herald_space');
      t = await makeTestStore(kind, database === undefined ? {} : { pgUrl: database.url });
    });
    after(async () => {
      await t.cleanup();
      await database?.drop();
    });

    it('reuses the space of pruned messages: the store stops growing once the window is full', async () => {
      const { store } = t;
      // Without autovacuum (this machine kind's server) Herald's own VACUUM is what reclaims the
      // space; with it, the test stands in for autovacuum, which would not run within the test.
      const autovacuum = kind === 'postgres' && (await store.storageStats()).autovacuum === true;
      const tenancyId = (await seedTenancy(store)).tenancy.id;
      const topic = topicFixture(tenancyId);
      await store.topics.insertTopic(topic);
      for (let i = 0; i < 3; i++) await store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
      const WINDOW = 10_000;
      let now = T0;
      const retention = new RetentionService(store.retention, retentionOptions(WINDOW), (err) => assert.fail(String(err)), () => now);
      const sizes: number[] = [];
      // Each round publishes a window's worth (1,000 messages of 1 KB × 3 deliveries, each with an
      // attempt), then moves the clock a window on and sweeps: the round's messages are pruned.
      for (let round = 0; round < 5; round++) {
        for (let g = 0; g < 50; g++) {
          const messages = Array.from({ length: 20 }, () => messageFixture(topic, { publishedAt: now, body: 'x'.repeat(1024) }));
          const out = await store.publishing.publishMessages(messages, { now, inlineFanout: 64, claim: { owner: OWNER, leaseUntil: now + 60_000, max: 1000 } });
          await store.deliveries.completeAttempts(out.claimed.map((d) => resultFor(d, delivered)), now);
        }
        now += WINDOW + 1;
        assert.equal((await retention.sweep()).pruned, 1000, `round ${round} pruned its messages`);
        if (autovacuum) await withPg(t.schema, (c) => c.query('VACUUM messages, deliveries, delivery_attempts'), t.pgUrl);
        sizes.push((await usedBytes(t)).total);
      }
      // Without reuse every round adds a window's worth (about the first size). With it, the last
      // three rounds add less than two windows' worth, room for one round whose VACUUM ran while a
      // snapshot could still see its rows.
      const [first, second, , , fifth] = sizes as [number, number, number, number, number];
      assert.ok(fifth - second < 2 * first, `the store stopped growing: ${sizes.map((b) => (b / 1e6).toFixed(2)).join(' → ')} MB`);
      const { total, used } = await usedBytes(t);
      if (kind === 'sqlite') assert.ok(used < total, 'pruned pages wait on the free list for the next round');
    });
  });
}
