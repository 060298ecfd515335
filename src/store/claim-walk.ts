/**
 * The bounded walk of a claim that leaves endpoints out (claimDeliveriesWalking), shared by both stores: the
 * window of the due order one step may walk, and where the next step goes on from.
 */
import type { DuePosition } from '../core/deliveries.js';
import type { ClaimedDelivery } from '../core/ports/deliveries.js';
import { DUE } from './delivery-sql.js';
import { num, type Row } from './rows.js';

/** Before every due position. */
const WALK_START: DuePosition = { at: Number.MIN_SAFE_INTEGER, id: 0 };

/** After a position (binds it, two numbers); the row value is cast for PostgreSQL, which cannot type its parameters. */
const AFTER = '(next_attempt_at, id) > (CAST(? AS BIGINT), CAST(? AS BIGINT))';

/**
 * A step's window: after the walk's position and at or before the step's last entry (binds walkWindow's six numbers).
 * The due times bound it on their own as well: SQLite does not bound an index walk by a row value, and without them
 * each step would walk from its start to the end of the backlog (16 ms a step instead of 2 at 200,000 due).
 */
export const WALK_WINDOW =
  `next_attempt_at >= ? AND next_attempt_at <= ? AND ${AFTER} AND (next_attempt_at, id) <= (CAST(? AS BIGINT), CAST(? AS BIGINT))`;

/**
 * The last entry a step of `scan` entries walks (binds now, the position's due time, the position, then scan - 1): on
 * deliveries_due's entries alone, no row read. None when fewer are due: the step then walks to the end.
 */
export const WALK_END =
  `SELECT next_attempt_at, id FROM deliveries WHERE ${DUE} AND next_attempt_at <= ? AND next_attempt_at >= ? AND ${AFTER} ` +
  'ORDER BY next_attempt_at, id LIMIT 1 OFFSET ?';

export function checkScan(scan: number): void {
  if (scan !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(scan) || scan < 1)) throw new RangeError(`Invalid scan: ${scan}`);
}

/** The position a step starts after, and WALK_END's parameters for it (undefined when the walk is unbounded). */
export function walkStart(now: number, from: DuePosition | null, scan: number): { start: DuePosition; endParams: number[] | undefined } {
  const start = from ?? WALK_START;
  return { start, endParams: Number.isFinite(scan) ? [now, start.at, start.at, start.id, scan - 1] : undefined };
}

/** WALK_END's answer as a position. */
export function walkEnd(row: Row | undefined): DuePosition | undefined {
  return row === undefined ? undefined : { at: num(row.next_attempt_at), id: num(row.id) };
}

/** WALK_WINDOW's parameters: from `start` to the step's last entry, or to everything due at `now`. */
export function walkWindow(now: number, start: DuePosition, end: DuePosition | undefined): number[] {
  const endAt = end?.at ?? now;
  return [start.at, endAt, start.at, start.id, endAt, end?.id ?? Number.MAX_SAFE_INTEGER];
}

/** Where the next step goes on from: after the last claimed when the step took its limit, else after its last entry; null at the end. */
export function walkNext(claimed: readonly ClaimedDelivery[], limit: number, end: DuePosition | undefined): DuePosition | null {
  const last = claimed[claimed.length - 1];
  if (claimed.length >= limit && last !== undefined) return { at: last.dueAt, id: last.id };
  return end ?? null;
}
