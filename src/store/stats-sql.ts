/**
 * SQL of the per-minute stats (minute_stats, migration 0011) that both backends run verbatim (`?`
 * placeholders, numbered for pg), and the row mappers both share.
 */
import { LATENCY_BUCKETS } from '../core/stats.js';
import type { MinuteStatsRow, StatsBucket, StatsCounts, TopicActivityRow } from '../core/ports/stats.js';
import { num, type Row, type SqlValue } from './rows.js';

/** The histogram's columns, lat_00 … lat_20: one per bucket of LATENCY_BOUNDS_MS, the last the overflow. */
export const LATENCY_COLUMNS: readonly string[] = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `lat_${String(i).padStart(2, '0')}`);

const COUNT_COLUMNS = ['published', 'delivered', 'failed_attempts', 'dead_letters', 'confirmations', ...LATENCY_COLUMNS];
const INSERT_COLUMNS = ['tenancy_id', 'topic_id', 'minute', ...COUNT_COLUMNS];
/** Parameters per row of an upsert. */
export const UPSERT_WIDTH = INSERT_COLUMNS.length;

/** An upsert of `n` rows that adds each row's counts to the minute's (another node or an earlier flush may have written it). */
export function upsertMinuteStatsSql(n: number): string {
  const row = `(${INSERT_COLUMNS.map(() => '?').join(', ')})`;
  return (
    `INSERT INTO minute_stats (${INSERT_COLUMNS.join(', ')}) VALUES ${Array.from({ length: n }, () => row).join(', ')} ` +
    `ON CONFLICT (tenancy_id, minute, topic_id) DO UPDATE SET ${COUNT_COLUMNS.map((c) => `${c} = minute_stats.${c} + excluded.${c}`).join(', ')}`
  );
}

export function minuteStatsValues(r: MinuteStatsRow): SqlValue[] {
  return [r.tenancyId, r.topicId, r.minute, r.published, r.delivered, r.failedAttempts, r.deadLetters, r.confirmations, ...LATENCY_COLUMNS.map((_, i) => r.latency[i] ?? 0)];
}

const SUMS = COUNT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ');

/** Unfinished notifications: the predicate of deliveries_due, so PostgreSQL and SQLite walk that partial index. */
const UNFINISHED = "state IN ('PENDING', 'IN_FLIGHT')";

export const STATS_SQL = {
  /** Binds from, bucketMs, tenancy, from, to. Served by the primary key (tenancy_id, minute, topic_id). */
  byBucket:
    // CAST: better-sqlite3 may bind a number as REAL, and SQLite would then divide exactly.
    `SELECT CAST((minute - ?) / ? AS BIGINT) AS bucket, ${SUMS} FROM minute_stats WHERE tenancy_id = ? AND minute >= ? AND minute < ? ` +
    'GROUP BY 1 ORDER BY 1',
  /**
   * Binds tenancy, from, to, tenancy, tenancy, limit. The backlog is one grouped scan of the tenancy's
   * unfinished deliveries; those are bounded by --max-backlog, the same scan the overview's pending count makes.
   */
  topicActivity:
    'SELECT t.id AS topic_id, t.name AS name, t.compartment_id AS compartment_id, ' +
    'COALESCE(s.published, 0) AS published, COALESCE(s.delivered, 0) AS delivered, ' +
    'COALESCE(s.failed_attempts, 0) AS failed_attempts, COALESCE(s.dead_letters, 0) AS dead_letters, ' +
    'COALESCE(b.backlog, 0) AS backlog, b.oldest AS oldest_pending_at FROM topics t ' +
    'LEFT JOIN (SELECT topic_id, SUM(published) AS published, SUM(delivered) AS delivered, SUM(failed_attempts) AS failed_attempts, ' +
    'SUM(dead_letters) AS dead_letters FROM minute_stats WHERE tenancy_id = ? AND minute >= ? AND minute < ? GROUP BY topic_id) s ON s.topic_id = t.id ' +
    'LEFT JOIN (SELECT topic_id, COUNT(*) AS backlog, MIN(created_at) AS oldest FROM deliveries ' +
    `WHERE ${UNFINISHED} AND tenancy_id = ? AND kind = 'MESSAGE' GROUP BY topic_id) b ON b.topic_id = t.id ` +
    "WHERE t.tenancy_id = ? AND t.lifecycle_state <> 'DELETED' " +
    'ORDER BY COALESCE(s.published, 0) + COALESCE(s.delivered, 0) + COALESCE(s.failed_attempts, 0) + COALESCE(s.dead_letters, 0) ' +
    '+ COALESCE(b.backlog, 0) DESC, t.name, t.id LIMIT CAST(? AS INTEGER)',
  /** Binds before, limit (minute_stats_minute). */
  prune:
    'DELETE FROM minute_stats WHERE (tenancy_id, minute, topic_id) IN ' +
    '(SELECT tenancy_id, minute, topic_id FROM minute_stats WHERE minute < ? ORDER BY minute LIMIT CAST(? AS INTEGER))',
} as const;

/** PostgreSQL's SUM of BIGINT is NUMERIC, which pg hands back as a string. */
function countsOf(r: Row): StatsCounts {
  return {
    published: num(r.published),
    delivered: num(r.delivered),
    failedAttempts: num(r.failed_attempts),
    deadLetters: num(r.dead_letters),
    confirmations: num(r.confirmations),
    latency: LATENCY_COLUMNS.map((c) => num(r[c])),
  };
}

export function toStatsBucket(r: Row, from: number, bucketMs: number): StatsBucket {
  return { start: from + num(r.bucket) * bucketMs, ...countsOf(r) };
}

export function toTopicActivity(r: Row): TopicActivityRow {
  return {
    topicId: String(r.topic_id),
    name: String(r.name),
    compartmentId: String(r.compartment_id),
    published: num(r.published),
    delivered: num(r.delivered),
    failedAttempts: num(r.failed_attempts),
    deadLetters: num(r.dead_letters),
    backlog: num(r.backlog),
    oldestPendingAt: r.oldest_pending_at === null || r.oldest_pending_at === undefined ? null : num(r.oldest_pending_at),
  };
}
