import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import pino from 'pino';
import { CompletionWriter } from '../../src/delivery/completions.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { resultFor } from '../store/delivery-fixtures.js';
import { messageFixture, T0, topicWithSubscribers } from '../store/fixtures.js';

describe('CompletionWriter', () => {
  it('records finished attempts and tells of the retries with the earliest one due, once the batch is written', async () => {
    const store = SqliteStore.open({ file: ':memory:' });
    try {
      await store.migrate();
      const topic = await topicWithSubscribers(store, 3);
      const { tenancyId } = topic;
      const m = messageFixture(topic, { publishedAt: T0 });
      const { claimed } = await store.publishing.publishMessages([m], { now: T0, inlineFanout: 64, claim: { owner: 'n', leaseUntil: T0 + 60_000, max: 10 } });
      assert.equal(claimed.length, 3);
      const told: number[] = [];
      const writer = new CompletionWriter(store.deliveries, pino({ level: 'silent' }), (dueAt) => {
        told.push(dueAt);
      });
      const [a, b, c] = claimed;
      writer.add(resultFor(a!, { state: 'PENDING', nextAttemptAt: T0 + 30_000 }));
      writer.add(resultFor(b!, { state: 'DELIVERED' }));
      writer.add(resultFor(c!, { state: 'PENDING', nextAttemptAt: T0 + 20 }));
      await writer.drain();
      // The earliest: a claim's walk goes back to it, since it may have passed that time already.
      assert.deepEqual(told, [T0 + 20]);
      const states = [...(await store.activity.getMessageDeliveries(tenancyId, m.id))].map((x) => [x.delivery.id, x.delivery.state, x.delivery.nextAttemptAt]);
      assert.deepEqual(
        states.sort((x, y) => Number(x[0]) - Number(y[0])),
        [
          [a!.id, 'PENDING', T0 + 30_000],
          [b!.id, 'DELIVERED', b!.nextAttemptAt],
          [c!.id, 'PENDING', T0 + 20],
        ].sort((x, y) => Number(x[0]) - Number(y[0])),
      );

      // A batch without a retry tells nobody.
      const { claimed: more } = await store.publishing.publishMessages([messageFixture(topic, { publishedAt: T0 })], {
        now: T0,
        inlineFanout: 64,
        claim: { owner: 'n', leaseUntil: T0 + 60_000, max: 10 },
      });
      for (const d of more) writer.add(resultFor(d, { state: 'DELIVERED' }));
      await writer.drain();
      assert.deepEqual(told, [T0 + 20]);
    } finally {
      await store.close();
    }
  });
});
