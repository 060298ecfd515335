import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import type { PublishOutcome, PublishPlan } from '../../src/core/deliveries.js';
import { INLINE_FANOUT, MessageService, type Fanout } from '../../src/core/messages.js';
import type { Message } from '../../src/core/models.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { eventually } from '../helpers/eventually.js';
import { makeTestStore, type TestStore } from '../helpers/stores.js';
import { seedAdminTenancy, subscriptionFixture, T0, topicFixture } from '../store/fixtures.js';

/** Records what the engine would be handed, claiming every delivery a publish makes for one owner. */
function recordingFanout(): Fanout & { handed: { messages: readonly Message[]; outcome: PublishOutcome }[] } {
  const handed: { messages: readonly Message[]; outcome: PublishOutcome }[] = [];
  return {
    handed,
    planPublish: (now: number): PublishPlan => ({ now, inlineFanout: INLINE_FANOUT, claim: { owner: 'node-a', leaseUntil: now + 60_000, max: 100 } }),
    published: (messages, outcome) => {
      handed.push({ messages, outcome });
    },
  };
}

describe('publishing hands a message to delivery at its commit, and acknowledges it once durable', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-handoff-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('SQLite: the deliveries are handed on while the WAL fsync still runs; the publish resolves only after it', async () => {
    const file = join(dir, 'handoff.db');
    const store = SqliteStore.open({ file, backgroundCheckpoints: false });
    try {
      await store.migrate();
      const seeded = await seedAdminTenancy(store);
      const topic = topicFixture(seeded.tenancy.id);
      await store.topics.insertTopic(topic);
      for (let i = 0; i < 3; i++) await store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
      const fanout = recordingFanout();
      const service = new MessageService(store, seeded.authz, { fanout });

      // Every FileHandle's sync() comes from one prototype: hold WalSync's fsync until the test lets it go.
      const handle = await open(`${file}-wal`, 'r');
      const proto = Object.getPrototypeOf(handle) as { sync(): Promise<void> };
      await handle.close();
      const realSync = proto.sync;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let fsyncsStarted = 0;
      const syncs = mock.method(proto, 'sync', async function (this: unknown) {
        fsyncsStarted++;
        await held;
        return realSync.call(this);
      });
      try {
        let acknowledged = false;
        const publishing = service.publish(seeded.admin, topic.id, { body: 'order placed' }, undefined).then((r) => {
          acknowledged = true;
          return r;
        });
        // The fsync is held, so nothing after it can happen: wait for the hand-off (a build that hands on only once
        // durable never gets there and fails here), then check what the held fsync still holds back.
        await eventually(() => fsyncsStarted >= 1 && fanout.handed.length >= 1, 15_000, 'the group handed on while its fsync is held');
        assert.equal(acknowledged, false, 'not acknowledged before the fsync ends');
        assert.equal(fanout.handed.length, 1, 'handed to delivery once, at the commit');
        const { messages, outcome } = fanout.handed[0]!;
        assert.equal(messages.length, 1);
        assert.equal(outcome.claimed.length, 3, "the message's three deliveries, claimed for this node");
        assert.ok(outcome.claimed.every((d) => d.messageId === messages[0]!.id));

        release();
        const result = await publishing;
        assert.equal(result.messageId, messages[0]!.id);
        assert.equal(fanout.handed.length, 1, 'handed on once, not again once durable');
      } finally {
        release();
        syncs.mock.restore();
      }
    } finally {
      await store.close();
    }
  });

  describe('PostgreSQL, whose commit is the durable point', () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore('postgres');
    });
    after(() => t.cleanup());

    it('hands the deliveries on once, when the publish is acknowledged', async () => {
      const seeded = await seedAdminTenancy(t.store);
      const topic = topicFixture(seeded.tenancy.id);
      await t.store.topics.insertTopic(topic);
      for (let i = 0; i < 2; i++) await t.store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
      const fanout = recordingFanout();
      const service = new MessageService(t.store, seeded.authz, { fanout });
      const result = await service.publish(seeded.admin, topic.id, { body: 'order placed' }, undefined);
      assert.equal(fanout.handed.length, 1);
      assert.equal(fanout.handed[0]!.messages[0]!.id, result.messageId);
      assert.equal(fanout.handed[0]!.outcome.claimed.length, 2);
    });
  });
});
