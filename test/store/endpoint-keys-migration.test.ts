import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointKeyOf } from '../../src/core/endpoints.js';
import type { Protocol } from '../../src/core/models.js';
import { SUBSCRIPTION_COLUMNS, subscriptionValues } from '../../src/store/rows.js';
import { execSql, migrateTo } from '../helpers/migrations.js';
import { makeTestStore, STORE_KINDS } from '../helpers/stores.js';
import { deliveryFixture } from './delivery-fixtures.js';
import { messageFixture, seedTenancy, subscriptionFixture, T0, topicFixture } from './fixtures.js';

/** Endpoints as subscriptions of an older Herald hold them, and the key each must get. */
const LEGACY: [Protocol, string][] = [
  ['HTTPS', 'https://Hooks.Example.com/a/b'],
  ['CUSTOM_HTTPS', 'http://user:secret@h.example:8080/x?y=1'],
  ['SLACK', 'https://hooks.slack.com/services/T/B/X'],
  ['PAGERDUTY', 'https://events.pagerduty.example?routing=1'],
  ['EMAIL', 'ops@example.com'],
  ['SMS', '+14255550100'],
  ['ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1..legacy'],
];

for (const kind of STORE_KINDS) {
  describe(`migration 13 on ${kind}`, () => {
    it('keys the endpoints of existing subscriptions as new ones are keyed, and their waiting deliveries with them', async () => {
      const t = await makeTestStore(kind, { migrate: false });
      try {
        await migrateTo(t, 12);
        const { tenancy } = await seedTenancy(t.store);
        const topic = topicFixture(tenancy.id);
        await t.store.topics.insertTopic(topic);
        const subs = LEGACY.map(([protocol, endpoint]) => subscriptionFixture(topic, { protocol, endpoint, lifecycleState: 'ACTIVE', activatedAt: T0 }));
        // Inserted as version 12 stored them: every column but the key.
        const columns = SUBSCRIPTION_COLUMNS.filter((c) => c !== 'endpoint_key');
        for (const s of subs) {
          await execSql(t, `INSERT INTO subscriptions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, subscriptionValues(s).slice(0, columns.length));
        }
        const m = messageFixture(topic);
        await execSql(
          t,
          'INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent, fanout_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)',
          [m.id, m.tenancyId, m.topicId, m.title, m.body, m.messageType, m.publishedAt, m.traceParent],
        );
        await t.store.deliveries.insertDeliveries(subs.map((s) => deliveryFixture(m, { subscriptionId: s.id, protocol: s.protocol, nextAttemptAt: T0 })));
        await t.store.migrate();

        const keys = await execSql(t, 'SELECT id, endpoint_key FROM subscriptions WHERE topic_id = ?', [topic.id]);
        const keyOf = new Map(keys.map((r) => [String(r.id), r.endpoint_key]));
        for (const s of subs) assert.equal(keyOf.get(s.id), endpointKeyOf(s.protocol, s.endpoint), `the key of ${s.endpoint}`);
        // The waiting deliveries carry it: a claim leaving out every endpoint but the last finds only that one's.
        const others = subs.slice(0, -1).map((s) => endpointKeyOf(s.protocol, s.endpoint));
        const claimed = await t.store.deliveries.claimDeliveries(10, T0 + 1, T0 + 100, 'n', { endpoints: others, subscriptions: [] });
        assert.deepEqual(claimed.map((d) => d.subscriptionId), [subs.at(-1)!.id]);
      } finally {
        await t.cleanup();
      }
    });
  });
}
