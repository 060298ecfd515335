import type { AttemptResult, DisabledSubscription, HealthPolicy, SettledClaim } from '../../core/deliveries.js';
import { healthDeltas } from '../../core/endpoint-health.js';
import type { Message, Subscription } from '../../core/models.js';
import type { DeliveryControlStore, ReplayWindowQuery } from '../../core/ports/delivery-control.js';
import { CONTROL_SQL as SQL, healthValues, replayInsertSql, replayResetSql, toDisabled } from '../control-sql.js';
import { checkLimit } from '../delivery-sql.js';
import { num, toMessage } from '../rows.js';
import type { InList } from '../sql.js';
import type { SqliteDb } from './sqlite-db.js';

const inList: InList = (column) => `${column} IN (SELECT value FROM json_each(?))`;
const REPLAY_RESET = replayResetSql(inList);
const REPLAY_INSERT = replayInsertSql(inList);

/**
 * Applies a completion batch's health deltas; call inside the batch's transaction. SQLite has
 * one writer, so the transaction alone orders it against an enable.
 */
export function applyHealth(sql: SqliteDb, results: readonly AttemptResult[], now: number, policy: HealthPolicy): DisabledSubscription[] {
  const disabled: DisabledSubscription[] = [];
  for (const d of healthDeltas(results)) {
    sql.run(SQL.applyHealth, ...healthValues(d));
    if (d.failures === 0) continue;
    const row = sql.get(SQL.disableIfDue, now, d.subscriptionId, now - policy.disableAfterMs);
    if (row === undefined) continue;
    const held = sql.run(SQL.holdPending, now, now, d.subscriptionId);
    disabled.push(toDisabled(row, held));
  }
  return disabled;
}

/** DeliveryStore.settleClaims; call inside a transaction. */
export function settleClaims(sql: SqliteDb, claims: readonly SettledClaim[], owner: string, now: number): void {
  for (const c of claims) {
    if (c.state === 'FILTERED') {
      sql.run(SQL.settleFiltered, now, c.id, owner);
      continue;
    }
    if (sql.run(SQL.settleHeld, now, now, c.id, owner, c.subscriptionId) === 0) sql.run(SQL.unclaimNow, now, c.id, owner);
  }
}

/** Enable and replay on SQLite. */
export class SqliteDeliveryControl implements DeliveryControlStore {
  constructor(private readonly sql: SqliteDb) {}

  async enableSubscription(tenancyId: string, id: string, now: number): Promise<{ wasDisabled: boolean; released: number }> {
    await this.sql.pass();
    return this.sql.tx(() => {
      const wasDisabled = this.sql.get(SQL.enable, tenancyId, id) !== undefined;
      // Released even when it was not disabled: nothing should be held then, and if anything is, it goes.
      const released = this.sql.run(SQL.releaseHeld, now, now, now, now, id);
      return { wasDisabled, released };
    });
  }

  async releaseHeldOf(scope: { subscriptionId: string } | { topicId: string }, now: number): Promise<number> {
    await this.sql.pass();
    return 'topicId' in scope
      ? this.sql.tx(() => this.sql.run(SQL.releaseHeldOfTopic, now, now, now, now, scope.topicId))
      : this.sql.tx(() => this.sql.run(SQL.releaseHeld, now, now, now, now, scope.subscriptionId));
  }

  async countHeld(subscriptionId: string): Promise<number> {
    return num(this.sql.get(SQL.countHeld, subscriptionId)?.n ?? 0);
  }

  async listMessagesInWindow(q: ReplayWindowQuery): Promise<Message[]> {
    checkLimit(q.limit);
    const after = q.after ?? { publishedAt: q.since - 1, id: '' };
    return this.sql.all(SQL.messagesInWindow, q.topicId, q.tenancyId, q.since, q.until, after.publishedAt, after.publishedAt, after.id, q.limit).map(toMessage);
  }

  async replayMessages(sub: Pick<Subscription, 'id' | 'tenancyId' | 'topicId' | 'protocol'>, messageIds: readonly string[], now: number): Promise<number> {
    if (messageIds.length === 0) return 0;
    await this.sql.pass();
    const ids = JSON.stringify(messageIds);
    return this.sql.tx(() => {
      const held = this.sql.get(SQL.isDisabled, sub.id)?.disabled_at;
      const state = held === null || held === undefined ? 'PENDING' : 'HELD';
      const heldAt = state === 'HELD' ? now : null;
      const reset = this.sql.run(REPLAY_RESET, state, now, now, heldAt, now, sub.id, ids);
      const inserted = this.sql.run(REPLAY_INSERT, sub.id, sub.protocol, sub.id, state, now, now, now, now, heldAt, sub.id, ids);
      return reset + inserted;
    });
  }
}
