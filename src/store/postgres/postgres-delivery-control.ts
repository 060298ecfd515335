import type { Pool, PoolClient } from 'pg';
import type { AttemptResult, DisabledSubscription, HealthPolicy, SettledClaim } from '../../core/deliveries.js';
import { healthDeltas } from '../../core/endpoint-health.js';
import type { Message, Subscription } from '../../core/models.js';
import type { DeliveryControlStore, ReplayWindowQuery } from '../../core/ports/delivery-control.js';
import { CONTROL_SQL as SQL, healthFields, replayInsertSql, replayResetSql, toDisabled } from '../control-sql.js';
import { checkLimit } from '../delivery-sql.js';
import { num, toMessage } from '../rows.js';
import { inList } from './postgres-delivery-sql.js';
import { execute, first, prepared, rows, transaction } from './pg-query.js';

const REPLAY_RESET = replayResetSql(inList);
const REPLAY_INSERT = replayInsertSql(inList);
/**
 * A hold or a replay decides on the subscription's disabled mark: the share lock makes an enable
 * running at the same time wait for it (and see its held rows), or it wait for the enable (and
 * see the mark cleared). Without it a hold could land just after an enable released the rest.
 */
const LOCK_SUBSCRIPTIONS = 'SELECT id, disabled_at FROM subscriptions WHERE id = ANY(?::text[]) ORDER BY id FOR SHARE';

/**
 * A completion batch's health deltas in one statement over parallel arrays (id, reset, first failure, failures, last
 * failure). The rows it writes are locked first, in id order, so two nodes' batches cannot deadlock on them; a healthy
 * subscription with only successes is read, not written (as CONTROL_SQL.applyHealth, one statement per subscription,
 * which was nine in ten of the statements a drain sent to the server).
 */
const APPLY_HEALTH = `WITH u AS (
  SELECT * FROM unnest(?::text[], ?::int[], ?::bigint[], ?::int[], ?::text[]) AS u(id, reset, first_failure_at, failures, last_failure)
), target AS (
  SELECT s.id FROM subscriptions s JOIN u ON u.id = s.id
  WHERE u.failures > 0 OR s.failing_since IS NOT NULL OR s.consecutive_failures <> 0
  ORDER BY s.id FOR UPDATE OF s
)
UPDATE subscriptions s SET
  failing_since = CASE WHEN u.reset = 1 THEN u.first_failure_at ELSE COALESCE(s.failing_since, u.first_failure_at) END,
  consecutive_failures = CASE WHEN u.reset = 1 THEN u.failures ELSE s.consecutive_failures + u.failures END,
  last_failure = COALESCE(u.last_failure, s.last_failure)
FROM u JOIN target t ON t.id = u.id
WHERE s.id = u.id`;
/** Run with every completion batch that has health deltas: prepared on each connection (pg-query's `prepared`). */
const APPLY_HEALTH_PREPARED = prepared('apply_health', APPLY_HEALTH);

/**
 * Applies a completion batch's health deltas inside its transaction, then disables (and holds the deliveries of)
 * each failing subscription whose failures have lasted the policy's window, in id order (healthDeltas sorts them).
 */
export async function applyHealth(c: PoolClient, results: readonly AttemptResult[], now: number, policy: HealthPolicy): Promise<DisabledSubscription[]> {
  const deltas = healthDeltas(results);
  if (deltas.length === 0) return [];
  const fields = deltas.map(healthFields);
  await execute(c, APPLY_HEALTH_PREPARED, [
    fields.map((f) => f.id),
    fields.map((f) => f.reset),
    fields.map((f) => f.firstFailureAt),
    fields.map((f) => f.failures),
    fields.map((f) => f.lastFailure),
  ]);
  const disabled: DisabledSubscription[] = [];
  for (const d of deltas) {
    if (d.failures === 0) continue;
    const row = await first(c, SQL.disableIfDue, [now, d.subscriptionId, now - policy.disableAfterMs]);
    if (row === undefined) continue;
    const held = await execute(c, SQL.holdPending, [now, now, d.subscriptionId]);
    disabled.push(toDisabled(row, held));
  }
  return disabled;
}

export async function settleClaims(pool: Pool, claims: readonly SettledClaim[], owner: string, now: number): Promise<void> {
  if (claims.length === 0) return;
  const toHold = [...new Set(claims.filter((c) => c.state === 'HELD').map((c) => c.subscriptionId))];
  await transaction(pool, async (c) => {
    if (toHold.length > 0) await rows(c, LOCK_SUBSCRIPTIONS, [toHold]);
    for (const claim of [...claims].sort((a, b) => a.id - b.id)) {
      if (claim.state === 'FILTERED') {
        await execute(c, SQL.settleFiltered, [now, claim.id, owner]);
        continue;
      }
      if ((await execute(c, SQL.settleHeld, [now, now, claim.id, owner, claim.subscriptionId])) === 0) {
        await execute(c, SQL.unclaimNow, [now, claim.id, owner]);
      }
    }
  });
}

/** Enable and replay on PostgreSQL. */
export class PostgresDeliveryControl implements DeliveryControlStore {
  constructor(private readonly pool: Pool) {}

  async enableSubscription(tenancyId: string, id: string, now: number): Promise<{ wasDisabled: boolean; released: number }> {
    return transaction(this.pool, async (c) => {
      // The UPDATE takes the row lock first: a hold or replay deciding on the mark waits for this commit.
      const wasDisabled = (await first(c, SQL.enable, [tenancyId, id])) !== undefined;
      if (!wasDisabled) await rows(c, LOCK_SUBSCRIPTIONS.replace('FOR SHARE', 'FOR UPDATE'), [[id]]);
      const released = await execute(c, SQL.releaseHeld, [now, now, now, now, id]);
      return { wasDisabled, released };
    });
  }

  async releaseHeldOf(scope: { subscriptionId: string } | { topicId: string }, now: number): Promise<number> {
    return 'topicId' in scope
      ? execute(this.pool, SQL.releaseHeldOfTopic, [now, now, now, now, scope.topicId])
      : execute(this.pool, SQL.releaseHeld, [now, now, now, now, scope.subscriptionId]);
  }

  async countHeld(subscriptionId: string): Promise<number> {
    return num((await first(this.pool, SQL.countHeld, [subscriptionId]))?.n ?? 0);
  }

  async listMessagesInWindow(q: ReplayWindowQuery): Promise<Message[]> {
    checkLimit(q.limit);
    const after = q.after ?? { publishedAt: q.since - 1, id: '' };
    const found = await rows(this.pool, SQL.messagesInWindow, [q.topicId, q.tenancyId, q.since, q.until, after.publishedAt, after.publishedAt, after.id, q.limit]);
    return found.map(toMessage);
  }

  async replayMessages(sub: Pick<Subscription, 'id' | 'tenancyId' | 'topicId' | 'protocol'>, messageIds: readonly string[], now: number): Promise<number> {
    if (messageIds.length === 0) return 0;
    const ids = [...messageIds];
    return transaction(this.pool, async (c) => {
      const lock = await rows(c, LOCK_SUBSCRIPTIONS, [[sub.id]]);
      const disabledAt = lock[0]?.disabled_at;
      const state = disabledAt === null || disabledAt === undefined ? 'PENDING' : 'HELD';
      const heldAt = state === 'HELD' ? now : null;
      const reset = await execute(c, REPLAY_RESET, [state, now, now, heldAt, now, sub.id, ids]);
      const inserted = await execute(c, REPLAY_INSERT, [sub.id, sub.protocol, sub.id, state, now, now, now, now, heldAt, sub.id, ids]);
      return reset + inserted;
    });
  }
}
