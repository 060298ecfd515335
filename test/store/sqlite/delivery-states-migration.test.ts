import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../../src/store/migrations.js';
import { migrateSqlite } from '../../../src/store/sqlite/migrate.js';

/**
 * Migration 12 rebuilds the delivery tables to widen the state CHECK (SQLite cannot alter one):
 * an installation upgraded with deliveries and attempts in it must keep every row, the attempts'
 * cascade, and never reuse an id, not even one of a pruned delivery.
 */
describe('SQLite migration 12 (FILTERED and HELD delivery states)', () => {
  it('keeps deliveries, attempts, the cascade and the id sequence of an upgraded database', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    const all = loadMigrations('sqlite');
    migrateSqlite(db, all.filter((m) => m.version < 12));
    const insert = db.prepare(
      "INSERT INTO deliveries (id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at, window_start_at, created_at, updated_at) VALUES (?, 't', 'tp', 's', ?, 'MESSAGE', 'HTTPS', ?, 1, 5, 5, 5, 5)",
    );
    insert.run(1, 'm1', 'DELIVERED');
    insert.run(2, 'm2', 'PENDING');
    insert.run(9, 'm9', 'DEAD');
    db.prepare("INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, duration_ms, outcome) VALUES (1, 1, 5, 1, 'SUCCESS'), (2, 1, 5, 1, 'FAILURE')").run();
    // The highest id is pruned before the upgrade: the sequence must still remember it.
    db.prepare('DELETE FROM deliveries WHERE id = 9').run();

    migrateSqlite(db, all);

    assert.deepEqual(db.prepare('SELECT id, state FROM deliveries ORDER BY id').all(), [{ id: 1, state: 'DELIVERED' }, { id: 2, state: 'PENDING' }]);
    assert.deepEqual(db.prepare('SELECT delivery_id FROM delivery_attempts ORDER BY delivery_id').all(), [{ delivery_id: 1 }, { delivery_id: 2 }]);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    // The new states are accepted, others still refused.
    db.prepare("UPDATE deliveries SET state = 'HELD', held_at = 7 WHERE id = 2").run();
    db.prepare("UPDATE deliveries SET state = 'FILTERED' WHERE id = 1").run();
    assert.throws(() => db.prepare("UPDATE deliveries SET state = 'LOST' WHERE id = 1").run(), /CHECK constraint/);
    const next = db
      .prepare("INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, kind, protocol, state, next_attempt_at, window_start_at, created_at, updated_at) VALUES ('t', 'tp', 's', 'CONFIRMATION', 'EMAIL', 'PENDING', 1, 1, 1, 1) RETURNING id")
      .get() as { id: number };
    assert.equal(next.id, 10);
    // The attempts still cascade with their delivery, and the indexes came back.
    db.prepare('DELETE FROM deliveries WHERE id = 1').run();
    assert.deepEqual(db.prepare('SELECT delivery_id FROM delivery_attempts').all(), [{ delivery_id: 2 }]);
    const indexes = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    assert.deepEqual(indexes, ['deliveries_confirmation_age', 'deliveries_dead_subscription', 'deliveries_dead_topic', 'deliveries_due', 'deliveries_held', 'deliveries_message']);
    db.close();
  });
});
