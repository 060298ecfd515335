/**
 * The rows claims hand back on both backends, read as arrays of values (SqliteDb.values, pg's array row mode) and
 * completed from what the claim itself set. A claim runs for every delivery: on SQLite, reading all 19 columns
 * back as objects cost more than the UPDATE (13 µs a row against 8 µs for these columns as arrays, measured on
 * the claim of 256 due rows); on PostgreSQL every column read back is text parsed on the main thread.
 */
import type { Delivery, DeliveryKind } from '../core/deliveries.js';
import type { Message } from '../core/models.js';
import type { ClaimedDelivery } from '../core/ports/deliveries.js';
import { num, numOrNull, str, strOrNull } from './rows.js';

const CLAIMED = [
  'id',
  'tenancy_id',
  'topic_id',
  'subscription_id',
  'message_id',
  'kind',
  'protocol',
  'attempts',
  'window_start_at',
  'confirmation_nonce',
  'last_error',
  'last_status',
  'delivered_at',
  'created_at',
];

/** What a claim of due deliveries reads back, in claimedOf's order (qualified by `alias` if given): every column it does not set itself. */
export const claimedColumns = (alias?: string): string => CLAIMED.map((c) => (alias === undefined ? c : `${alias}.${c}`)).join(', ');

/** Where claimedColumns' row has the extra columns a backend's claim appends (PostgreSQL's due time). */
export const CLAIMED_WIDTH = CLAIMED.length;

/** What an inline fan-out reads back, in inlineClaimedOf's order: the rest are the publish's own values. */
export const INLINE_COLUMNS = 'id, subscription_id, protocol, state';

/** The lease a claim set: its owner, its end (the claimed rows' next_attempt_at) and when it was taken (updated_at). */
export interface Lease {
  owner: string;
  leaseUntil: number;
  now: number;
}

/** The id of a row that starts with it: claimedColumns(), INLINE_COLUMNS, or a due row [id, next_attempt_at]. */
export const idOf = (v: unknown[]): number => num(v[0]);

/** A claimed delivery from a claimedColumns() row; `dueAt` is the due time the claim replaced. */
export function claimedOf(v: unknown[], lease: Lease, dueAt: number): ClaimedDelivery {
  return {
    id: num(v[0]),
    tenancyId: str(v[1]),
    topicId: str(v[2]),
    subscriptionId: str(v[3]),
    messageId: strOrNull(v[4]),
    kind: str(v[5]) as DeliveryKind,
    protocol: str(v[6]),
    state: 'IN_FLIGHT',
    attempts: num(v[7]),
    nextAttemptAt: lease.leaseUntil,
    windowStartAt: num(v[8]),
    leaseOwner: lease.owner,
    confirmationNonce: numOrNull(v[9]),
    lastError: strOrNull(v[10]),
    lastStatus: strOrNull(v[11]),
    deliveredAt: numOrNull(v[12]),
    createdAt: num(v[13]),
    updatedAt: lease.now,
    dueAt,
  };
}

/** Whether an INLINE_COLUMNS row was created claimed (FANOUT_CLAIMED_EXCEPT creates an excluded one PENDING). */
export const inlineClaimed = (v: unknown[]): boolean => v[3] === 'IN_FLIGHT';

/** A delivery the publish of `m` created claimed, from its INLINE_COLUMNS row: new, so all else is the publish's. */
export function inlineClaimedOf(v: unknown[], m: Message, lease: Lease): Delivery {
  return {
    id: num(v[0]),
    tenancyId: m.tenancyId,
    topicId: m.topicId,
    subscriptionId: str(v[1]),
    messageId: m.id,
    kind: 'MESSAGE',
    protocol: str(v[2]),
    state: 'IN_FLIGHT',
    attempts: 0,
    nextAttemptAt: lease.leaseUntil,
    windowStartAt: lease.now,
    leaseOwner: lease.owner,
    confirmationNonce: null,
    lastError: null,
    lastStatus: null,
    deliveredAt: null,
    createdAt: lease.now,
    updatedAt: lease.now,
  };
}
