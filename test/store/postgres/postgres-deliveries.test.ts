import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../../src/core/models.js';
import { CLAIM_DELIVERIES } from '../../../src/store/postgres/postgres-delivery-sql.js';
import { numbered } from '../../../src/store/postgres/pg-query.js';
import { eventually } from '../../helpers/eventually.js';
import { withPg } from '../../helpers/pg.js';
import { makeTestStore, type TestStore } from '../../helpers/stores.js';
import { deliveryFixture } from '../delivery-fixtures.js';
import { messageFixture, seedTenancy, T0, topicFixture } from '../fixtures.js';

/** PostgreSQL's own behaviour behind the delivery contract: what the planner is given. */
describe('PostgresDeliveries', () => {
  let t: TestStore;
  let m: Message;
  before(async () => {
    t = await makeTestStore('postgres');
    const { tenancy } = await seedTenancy(t.store);
    const topic = topicFixture(tenancy.id);
    await t.store.topics.insertTopic(topic);
    m = messageFixture(topic);
    // Only Herald may analyze the table here: autovacuum could come by at any moment and make the test prove nothing.
    await withPg(t.schema, (c) => c.query('ALTER TABLE deliveries SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)'));
  });
  after(() => t.cleanup());

  /** The planner's row count of the deliveries table: -1 until it was first analyzed (or vacuumed). */
  const reltuples = (): Promise<number> =>
    withPg(t.schema, async (c) => Number((await c.query("SELECT reltuples FROM pg_class WHERE oid = 'deliveries'::regclass")).rows[0]?.reltuples));

  it("has a new database's delivery tables analyzed at the first full claim, so claims walk the due index", async () => {
    await t.store.deliveries.insertDeliveries(Array.from({ length: 300 }, (_, i) => deliveryFixture(m, { nextAttemptAt: T0 + i })));
    // A claim that takes all that is due shows no backlog: nothing to analyze for.
    assert.equal((await t.store.deliveries.claimDeliveries(1000, T0 + 10_000, T0 + 60_000, 'n1')).length, 300);
    assert.equal(await reltuples(), -1);

    await t.store.deliveries.insertDeliveries(Array.from({ length: 5000 }, (_, i) => deliveryFixture(m, { nextAttemptAt: T0 + i })));
    assert.equal((await t.store.deliveries.claimDeliveries(256, T0 + 10_000, T0 + 60_000, 'n1')).length, 256);
    const rows = await eventually(async () => ((await reltuples()) > 0 ? reltuples() : false), 15_000, 'the deliveries table analyzed');
    assert.ok(rows >= 5000, `the planner counts ${rows} rows`);

    const plan = await withPg(t.schema, async (c) =>
      (await c.query(`EXPLAIN ${numbered(CLAIM_DELIVERIES)}`, [T0 + 10_000, 256, 'n2', T0 + 70_000, T0 + 10_000])).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'),
    );
    assert.match(plan, /Index Scan using deliveries_due/);
    assert.doesNotMatch(plan, /Sort/);
  });
});
