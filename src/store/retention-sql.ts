/**
 * SQL of retention that both backends run verbatim (`?` placeholders, numbered for pg);
 * list parameters are rendered by each backend's InList.
 */
import type { InList } from './sql.js';

/** A delivery in one of these states will not be attempted again (unless re-driven from DEAD or replayed); HELD pins its message. */
export const FINISHED_STATES: ReadonlySet<string> = new Set(['DELIVERED', 'DEAD', 'CANCELLED', 'FILTERED']);
/** The same, as an SQL list. */
export const FINISHED = `(${[...FINISHED_STATES].map((s) => `'${s}'`).join(', ')})`;

export const RETENTION_SQL = {
  /** Old messages after the cursor, oldest first (messages_published). */
  candidates:
    'SELECT id, published_at, fanout_state FROM messages ' +
    'WHERE published_at < ? AND (published_at, id) > (?, ?) ORDER BY published_at, id LIMIT CAST(? AS INTEGER)',
} as const;

/** The deletes of a batch of prunable messages (ids as the one list parameter), in order. */
export function pruneMessagesSql(inList: InList): string[] {
  const ids = inList('message_id', 'text');
  return [
    `DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE kind = 'MESSAGE' AND ${ids})`,
    `DELETE FROM deliveries WHERE kind = 'MESSAGE' AND ${ids}`,
    `DELETE FROM messages WHERE ${inList('id', 'text')}`,
  ];
}

/** Finished confirmation sends created before `?`, at most `?` (deliveries_confirmation_age). */
const OLD_CONFIRMATIONS =
  `SELECT id FROM deliveries WHERE kind = 'CONFIRMATION' AND created_at < ? AND state IN ${FINISHED} ORDER BY created_at LIMIT CAST(? AS INTEGER)`;

/** Each binds (cutoff, limit). */
export const PRUNE_RECORDS_SQL = {
  /**
   * Their attempts go with them (delivery_attempts references deliveries ON DELETE CASCADE).
   * The state is checked again on the row itself: PostgreSQL re-reads a row a concurrent
   * re-drive changed, so a confirmation re-driven meanwhile stays.
   */
  confirmations: `DELETE FROM deliveries WHERE id IN (${OLD_CONFIRMATIONS}) AND state IN ${FINISHED}`,
  mail: 'DELETE FROM mailbox WHERE id IN (SELECT id FROM mailbox WHERE created_at < ? ORDER BY created_at LIMIT CAST(? AS INTEGER))',
  retryTokens:
    'DELETE FROM retry_tokens WHERE (tenancy_id, token) IN ' +
    '(SELECT tenancy_id, token FROM retry_tokens WHERE created_at < ? ORDER BY created_at LIMIT CAST(? AS INTEGER))',
} as const;
