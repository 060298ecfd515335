import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../../src/core/models.js';
import { CLAIM_DELIVERIES } from '../../../src/store/postgres/postgres-delivery-sql.js';
import { numbered, prepared } from '../../../src/store/postgres/pg-query.js';
import { eventually } from '../../helpers/eventually.js';
import { withPg } from '../../helpers/pg.js';
import { makeTestStore, type TestStore } from '../../helpers/stores.js';
import { deliveryFixture } from '../delivery-fixtures.js';
import { messageFixture, seedTenancy, T0, topicFixture, topicWithSubscribers } from '../fixtures.js';
import { resultFor } from '../delivery-fixtures.js';

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

/**
 * Has every statement that inserts into or updates the delivery path's tables add a row to `table` (seq, tbl, op and
 * `column`), from a trigger in the writer's own session: `select` is what the row's last column is selected as there.
 */
async function recordWrites(schema: string | undefined, table: string, column: string, select: string): Promise<void> {
  const name = column.split(' ')[0]!;
  await withPg(schema, async (c) => {
    await c.query(`CREATE TABLE ${table} (seq serial, tbl text, op text, ${column})`);
    await c.query(`CREATE FUNCTION note_${table}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO ${table} (tbl, op, ${name}) SELECT TG_TABLE_NAME, TG_OP, ${select}; RETURN NULL; END $$`);
    for (const written of ['messages', 'deliveries', 'delivery_attempts']) {
      await c.query(`CREATE TRIGGER note_${table} AFTER INSERT OR UPDATE ON ${written} FOR EACH STATEMENT EXECUTE FUNCTION note_${table}()`);
    }
  });
}

/**
 * Which writes wait for PostgreSQL's WAL flush: each table the delivery path writes records, from a trigger in its
 * writer's own session, the `synchronous_commit` that session commits with.
 */
describe('PostgresDeliveries commits', () => {
  let t: TestStore;
  before(async () => {
    t = await makeTestStore('postgres');
    await recordWrites(t.schema, 'commit_modes', 'mode text', "current_setting('synchronous_commit')");
  });
  after(() => t.cleanup());

  /** What was written since the last call, as "table op mode", in order. */
  let seen = 0;
  const written = (): Promise<string[]> =>
    withPg(t.schema, async (c) => {
      const found = (await c.query<{ seq: number; tbl: string; op: string; mode: string }>('SELECT seq, tbl, op, mode FROM commit_modes WHERE seq > $1 ORDER BY seq', [seen])).rows;
      seen = Math.max(seen, ...found.map((r) => r.seq));
      return [...new Set(found.map((r) => `${r.tbl} ${r.op} ${r.mode}`))];
    });

  it("has a publish wait for the WAL flush, and the engine's claims and attempt results not", async () => {
    const topic = await topicWithSubscribers(t.store, 2);
    const m = messageFixture(topic, { publishedAt: T0 + 1 });
    const published = await t.store.publishing.publishMessages([m], { now: T0 + 1, inlineFanout: 64 });
    assert.deepEqual(published.stored, new Set([m.id]));
    assert.deepEqual(await written(), ['messages INSERT on', 'deliveries INSERT on']);

    const claimed = await t.store.deliveries.claimDeliveries(10, T0 + 2, T0 + 60_000, 'n1');
    assert.equal(claimed.length, 2);
    assert.deepEqual(await written(), ['deliveries UPDATE off']);

    await t.store.deliveries.completeAttempts(
      claimed.map((d) => resultFor({ ...d, leaseOwner: 'n1' }, { state: 'DELIVERED' })),
      T0 + 3,
    );
    const results = await written();
    assert.ok(results.includes('delivery_attempts INSERT off') && results.includes('deliveries UPDATE off'), results.join(', '));
    assert.ok(!results.some((r) => r.endsWith(' on')), results.join(', '));
  });
});

/**
 * The hot path's statements are named prepared statements (pg-query's `prepared`): a trigger records, from the writer's
 * own session, which statements that session holds prepared when each write runs.
 */
describe('PostgresDeliveries prepared statements', () => {
  let t: TestStore;
  before(async () => {
    t = await makeTestStore('postgres');
    await recordWrites(t.schema, 'prepared_seen', 'names text[]', "COALESCE(array_agg(name ORDER BY name), '{}') FROM pg_prepared_statements");
  });
  after(() => t.cleanup());

  const seen = (tbl: string, op: string): Promise<string[][]> =>
    withPg(t.schema, async (c) => (await c.query<{ names: string[] }>('SELECT names FROM prepared_seen WHERE tbl = $1 AND op = $2 ORDER BY seq', [tbl, op])).rows.map((r) => r.names));

  it('runs each publish, claim and completion as a statement its connection prepared by name', async () => {
    const topic = await topicWithSubscribers(t.store, 2);
    for (let i = 0; i < 3; i++) {
      await t.store.publishing.publishMessages([messageFixture(topic, { publishedAt: T0 + i })], { now: T0 + i, inlineFanout: 64 });
    }
    const claimed = await t.store.deliveries.claimDeliveries(10, T0 + 5, T0 + 60_000, 'n1');
    assert.equal(claimed.length, 6);
    await t.store.deliveries.completeAttempts(claimed.map((d) => resultFor({ ...d, leaseOwner: 'n1' }, { state: 'DELIVERED' })), T0 + 6);

    const publishes = await seen('messages', 'INSERT');
    assert.equal(publishes.length, 3);
    for (const names of publishes) assert.ok(names.includes('herald_publish'), names.join(', '));
    const claims = await seen('deliveries', 'UPDATE');
    assert.ok(claims[0]?.includes('herald_claim'), String(claims[0]));
    const attempts = await seen('delivery_attempts', 'INSERT');
    assert.equal(attempts.length, 1);
    assert.ok(attempts[0]!.includes('herald_complete_attempts') && attempts[0]!.includes('herald_lock_deliveries'), attempts[0]!.join(', '));
  });

  it('refuses one statement name for two different texts, which a connection would refuse at run time', () => {
    assert.deepEqual(prepared('test_once', 'SELECT ?::int'), prepared('test_once', 'SELECT ?::int'));
    assert.throws(() => prepared('test_once', 'SELECT ?::text'), /defined twice/);
  });
});
