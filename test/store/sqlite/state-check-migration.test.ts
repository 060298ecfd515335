import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../../src/store/migrations.js';
import { migrateSqlite } from '../../../src/store/sqlite/migrate.js';

/** The opcodes of an UPDATE that writes a delivery's state, as the engine's completion does. */
function stateWriteOps(db: Database.Database): string[] {
  const plan = db.prepare("EXPLAIN UPDATE deliveries SET state = ?, updated_at = ? WHERE id = ? AND state = 'IN_FLIGHT'").all('DELIVERED', 1, 1) as { opcode: string }[];
  return plan.map((r) => r.opcode);
}

/**
 * Migration 14 rebuilds the delivery tables so that their state CHECK needs no temporary table per row written: an
 * installation upgraded with deliveries and attempts in it must keep every row and column, the attempts' cascade, the
 * indexes and the id sequence, and still refuse a state that is not one.
 */
describe('SQLite migration 14 (the delivery state CHECK without a list)', () => {
  it('keeps every row, the cascade, the indexes and the id sequence, and checks states without a temporary table', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    const all = loadMigrations('sqlite');
    migrateSqlite(db, all.filter((m) => m.version < 14));
    // Before: writing a state builds the CHECK's list as a temporary table.
    assert.ok(stateWriteOps(db).includes('OpenEphemeral'));
    const insert = db.prepare(
      'INSERT INTO deliveries (id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at, window_start_at, ' +
        "lease_owner, last_error, last_status, delivered_at, created_at, updated_at, held_at, endpoint_key) VALUES (?, 't', 'tp', 's', ?, 'MESSAGE', 'HTTPS', ?, 1, 5, 4, ?, 'boom', '503', ?, 3, 6, ?, 'HTTPS:http://a')",
    );
    insert.run(1, 'm1', 'DELIVERED', null, 9, null);
    insert.run(2, 'm2', 'IN_FLIGHT', 'node-1', null, null);
    insert.run(3, 'm3', 'HELD', null, null, 8);
    insert.run(9, 'm9', 'DEAD', null, null, null);
    db.prepare("INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, duration_ms, outcome, node) VALUES (1, 1, 5, 1, 'SUCCESS', 'n'), (2, 1, 5, 1, 'FAILURE', 'n'), (2, 2, 6, 1, 'FAILURE', 'n')").run();
    // The highest id is pruned before the upgrade: the sequence must still remember it.
    db.prepare('DELETE FROM deliveries WHERE id = 9').run();
    const before = db.prepare('SELECT * FROM deliveries ORDER BY id').all();
    const attemptsBefore = db.prepare('SELECT * FROM delivery_attempts ORDER BY delivery_id, attempt_no').all();

    migrateSqlite(db, all);

    assert.deepEqual(db.prepare('SELECT * FROM deliveries ORDER BY id').all(), before);
    assert.deepEqual(db.prepare('SELECT * FROM delivery_attempts ORDER BY delivery_id, attempt_no').all(), attemptsBefore);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    assert.equal(stateWriteOps(db).includes('OpenEphemeral'), false, 'a state write still builds a temporary table');
    // Every state is still accepted, anything else refused, and so for kind.
    for (const state of ['PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD', 'CANCELLED', 'FILTERED', 'HELD']) db.prepare('UPDATE deliveries SET state = ? WHERE id = 1').run(state);
    assert.throws(() => db.prepare("UPDATE deliveries SET state = 'LOST' WHERE id = 1").run(), /CHECK constraint/);
    assert.throws(() => db.prepare("UPDATE deliveries SET kind = 'OTHER' WHERE id = 1").run(), /CHECK constraint/);
    const next = db
      .prepare("INSERT INTO deliveries (tenancy_id, topic_id, subscription_id, kind, protocol, state, next_attempt_at, window_start_at, created_at, updated_at) VALUES ('t', 'tp', 's', 'CONFIRMATION', 'EMAIL', 'PENDING', 1, 1, 1, 1) RETURNING id")
      .get() as { id: number };
    assert.equal(next.id, 10);
    // The attempts still cascade with their delivery, and the indexes came back, the due one used by the claims.
    db.prepare('DELETE FROM deliveries WHERE id = 2').run();
    assert.deepEqual(db.prepare('SELECT delivery_id FROM delivery_attempts').all(), [{ delivery_id: 1 }]);
    const indexes = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    assert.deepEqual(indexes, ['deliveries_confirmation_age', 'deliveries_dead_subscription', 'deliveries_dead_topic', 'deliveries_due', 'deliveries_held', 'deliveries_message']);
    const due = db.prepare("EXPLAIN QUERY PLAN SELECT id, next_attempt_at FROM deliveries WHERE state IN ('PENDING', 'IN_FLIGHT') AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 5").all(9) as { detail: string }[];
    assert.match(due.map((r) => r.detail).join(' '), /deliveries_due/);
    db.close();
  });
});
