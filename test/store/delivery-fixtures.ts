import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AttemptResult, Delivery, DeliveryAttempt, DeliveryTransition, NewDelivery } from '../../src/core/deliveries.js';
import { newOcid } from '../../src/core/ids.js';
import type { Message, Topic } from '../../src/core/models.js';
import type { Store } from '../../src/store/store.js';
import { withPg } from '../helpers/pg.js';
import type { TestStore } from '../helpers/stores.js';
import { T0 } from './fixtures.js';

/** Records and helpers for the delivery half of the store contract. */

/** A PENDING MESSAGE delivery of `message` to a made-up subscription (deliveries have no foreign keys). */
export function deliveryFixture(message: Message, over: Partial<NewDelivery> = {}): NewDelivery {
  return {
    tenancyId: message.tenancyId,
    topicId: message.topicId,
    subscriptionId: newOcid('onssubscription'),
    messageId: message.id,
    kind: 'MESSAGE',
    protocol: 'HTTPS',
    nextAttemptAt: T0,
    confirmationNonce: null,
    createdAt: T0,
    ...over,
  };
}

export function confirmationFixture(topic: Topic, over: Partial<NewDelivery> = {}): NewDelivery {
  return {
    tenancyId: topic.tenancyId,
    topicId: topic.id,
    subscriptionId: newOcid('onssubscription'),
    messageId: null,
    kind: 'CONFIRMATION',
    protocol: 'EMAIL',
    nextAttemptAt: T0,
    confirmationNonce: 3,
    createdAt: T0,
    ...over,
  };
}

/** The result a node reports for its attempt of a claimed delivery. */
export function resultFor(
  d: Delivery,
  transition: DeliveryTransition,
  over: { leaseOwner?: string; attempt?: Partial<DeliveryAttempt> } = {},
): AttemptResult {
  return {
    deliveryId: d.id,
    leaseOwner: over.leaseOwner ?? d.leaseOwner ?? 'nobody',
    attempt: {
      deliveryId: d.id,
      attemptNo: d.attempts + 1,
      startedAt: T0 + 1,
      durationMs: 12,
      outcome: transition.state === 'DELIVERED' ? 'SUCCESS' : 'FAILURE',
      statusCode: transition.state === 'DELIVERED' ? 200 : 503,
      reply: null,
      error: transition.state === 'DELIVERED' ? null : 'boom',
      responseExcerpt: 'ok',
      node: over.leaseOwner ?? d.leaseOwner,
      ...over.attempt,
    },
    transition,
  };
}

/** Every delivery of the message (with attempts), keyed by delivery id. */
export async function deliveriesOf(store: Store, m: Message): Promise<Map<number, Awaited<ReturnType<Store['activity']['getMessageDeliveries']>>[number]>> {
  return new Map((await store.activity.getMessageDeliveries(m.tenancyId, m.id)).map((x) => [x.delivery.id, x]));
}

/** Writes behind the port's back (SQL with `?` placeholders), to stage states the port cannot reach directly. */
export async function rawExec(t: TestStore, sql: string, params: (string | number | null)[] = []): Promise<void> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  let n = 0;
  await withPg(t.schema, (c) => c.query(sql.replace(/\?/g, () => `$${++n}`), params));
}

/** Reads behind the port's back (SQL with `?` placeholders): counts and columns the port does not show. */
export async function rawRows(t: TestStore, sql: string, params: (string | number | null)[] = []): Promise<Record<string, unknown>[]> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'), { readonly: true });
    try {
      return db.prepare<(string | number | null)[], Record<string, unknown>>(sql).all(...params);
    } finally {
      db.close();
    }
  }
  let n = 0;
  return withPg(t.schema, async (c) => (await c.query<Record<string, unknown>>(sql.replace(/\?/g, () => `$${++n}`), params)).rows);
}

