import type {
  AttemptOutcome,
  AttemptResult,
  Delivery,
  DeliveryAttempt,
  DeliveryCounts,
  DeliveryKind,
  DeliveryState,
  MailRecord,
  NewDelivery,
} from '../core/deliveries.js';
import { json, num, numOrNull, str, strOrNull, type Row, type SqlValue } from './rows.js';
import type { TenancyCounts } from '../core/ports/activity.js';

/** Row <-> domain mapping of the delivery tables, shared by both backends. */

export const toDelivery = (r: Row): Delivery => ({
  id: num(r.id),
  tenancyId: str(r.tenancy_id),
  topicId: str(r.topic_id),
  subscriptionId: str(r.subscription_id),
  messageId: strOrNull(r.message_id),
  kind: str(r.kind) as DeliveryKind,
  protocol: str(r.protocol),
  state: str(r.state) as DeliveryState,
  attempts: num(r.attempts),
  nextAttemptAt: num(r.next_attempt_at),
  windowStartAt: num(r.window_start_at),
  leaseOwner: strOrNull(r.lease_owner),
  confirmationNonce: numOrNull(r.confirmation_nonce),
  lastError: strOrNull(r.last_error),
  lastStatus: strOrNull(r.last_status),
  deliveredAt: numOrNull(r.delivered_at),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

export const toAttempt = (r: Row): DeliveryAttempt => ({
  deliveryId: num(r.delivery_id),
  attemptNo: num(r.attempt_no),
  startedAt: num(r.started_at),
  durationMs: num(r.duration_ms),
  outcome: str(r.outcome) as AttemptOutcome,
  statusCode: numOrNull(r.status_code),
  reply: strOrNull(r.reply),
  error: strOrNull(r.error),
  responseExcerpt: strOrNull(r.response_excerpt),
  node: strOrNull(r.node),
});

export const toMail = (r: Row): MailRecord => ({
  id: num(r.id),
  from: str(r.from_addr),
  to: str(r.to_addr),
  tenancyId: str(r.tenancy_id),
  topicId: str(r.topic_id),
  subject: str(r.subject),
  text: str(r.text),
  headers: json<Record<string, string>>(r.headers),
  createdAt: num(r.created_at),
});

export const mailValues = (m: Omit<MailRecord, 'id'>): SqlValue[] => [
  m.tenancyId,
  m.topicId,
  m.from,
  m.to,
  m.subject,
  m.text,
  JSON.stringify(m.headers),
  m.createdAt,
];

export const toCounts = (r: Row | undefined): DeliveryCounts => ({
  pending: num(r?.pending ?? 0),
  inFlight: num(r?.in_flight ?? 0),
  delivered: num(r?.delivered ?? 0),
  dead: num(r?.dead ?? 0),
  fanoutBacklog: num(r?.backlog ?? 0),
  held: num(r?.held ?? 0),
});

export const toTenancyCounts = (r: Row | undefined): TenancyCounts => ({
  topics: num(r?.topics ?? 0),
  subscriptions: num(r?.subscriptions ?? 0),
  pending: num(r?.pending ?? 0),
  inFlight: num(r?.in_flight ?? 0),
  dead: num(r?.dead ?? 0),
  published: num(r?.published ?? 0),
});

/** The parameters of DELIVERY_SQL.countTenancy. */
export const tenancyCountValues = (tenancyId: string, since: number): SqlValue[] => [tenancyId, tenancyId, tenancyId, tenancyId, tenancyId, since, tenancyId];

/** A new delivery starts PENDING with its retry window opening at creation. */
export const newDeliveryValues = (d: NewDelivery): SqlValue[] => [
  d.tenancyId,
  d.topicId,
  d.subscriptionId,
  d.messageId,
  d.kind,
  d.protocol,
  d.nextAttemptAt,
  d.confirmationNonce,
  d.createdAt,
];

const TRANSITION_STATES: ReadonlySet<string> = new Set(['DELIVERED', 'PENDING', 'DEAD', 'CANCELLED']);

/** An attempt result flattened into the columns the completion statements bind. */
export interface CompletionValues {
  deliveryId: number;
  leaseOwner: string;
  attemptNo: number;
  startedAt: number;
  /** Whole milliseconds: the column is an integer. */
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  reply: string | null;
  error: string | null;
  responseExcerpt: string | null;
  node: string | null;
  nextState: DeliveryState;
  /** Set for a retry (PENDING) only; other transitions keep the column. */
  nextAttemptAt: number | null;
  /** The HTTP status, else the protocol's reply line. */
  lastStatus: string | null;
}

/** Validates a result (it decides a row's state) and flattens it. */
export function completionValues(r: AttemptResult): CompletionValues {
  const t = r.transition;
  if (!TRANSITION_STATES.has(t.state)) throw new RangeError(`Invalid delivery transition: ${String(t.state)}`);
  if (t.state === 'PENDING' && !Number.isFinite(t.nextAttemptAt)) throw new RangeError(`Invalid nextAttemptAt: ${t.nextAttemptAt}`);
  const a = r.attempt;
  return {
    deliveryId: r.deliveryId,
    leaseOwner: r.leaseOwner,
    attemptNo: a.attemptNo,
    startedAt: a.startedAt,
    durationMs: Math.max(0, Math.round(a.durationMs)),
    outcome: a.outcome,
    statusCode: a.statusCode,
    reply: a.reply,
    error: a.error,
    responseExcerpt: a.responseExcerpt,
    node: a.node,
    nextState: t.state,
    nextAttemptAt: t.state === 'PENDING' ? t.nextAttemptAt : null,
    lastStatus: a.statusCode !== null ? String(a.statusCode) : a.reply,
  };
}
