import type { Pool } from 'pg';
import type { MinuteStatsRow, StatsBucket, StatsStore, TopicActivityRow } from '../../core/ports/stats.js';
import { minuteStatsValues, STATS_SQL, toStatsBucket, toTopicActivity, UPSERT_WIDTH, upsertMinuteStatsSql } from '../stats-sql.js';
import { execute, rows, transaction } from './pg-query.js';

/** Rows per upsert statement: one round trip each, well under pg's 65,535 parameters (29 a row). */
const CHUNK = 200;

/** The per-minute stats on PostgreSQL. */
export class PostgresStats implements StatsStore {
  constructor(private readonly pool: Pool) {}

  async addMinuteStats(list: readonly MinuteStatsRow[]): Promise<void> {
    if (list.length === 0) return;
    // Rows in a fixed order, so two nodes flushing the same minutes lock them in the same order (no deadlock).
    const sorted = [...list].sort((a, b) => cmp(a.tenancyId, b.tenancyId) || a.minute - b.minute || cmp(a.topicId, b.topicId));
    await transaction(this.pool, async (c) => {
      for (let i = 0; i < sorted.length; i += CHUNK) {
        const chunk = sorted.slice(i, i + CHUNK);
        const params = chunk.flatMap(minuteStatsValues);
        if (params.length !== chunk.length * UPSERT_WIDTH) throw new Error('minute_stats row width mismatch');
        await execute(c, upsertMinuteStatsSql(chunk.length), params);
      }
    });
  }

  async statsByBucket(tenancyId: string, from: number, to: number, bucketMs: number): Promise<StatsBucket[]> {
    return (await rows(this.pool, STATS_SQL.byBucket, [from, bucketMs, tenancyId, from, to])).map((r) => toStatsBucket(r, from, bucketMs));
  }

  async topicActivity(tenancyId: string, from: number, to: number, limit: number): Promise<TopicActivityRow[]> {
    return (await rows(this.pool, STATS_SQL.topicActivity, [tenancyId, from, to, tenancyId, tenancyId, limit])).map(toTopicActivity);
  }

  async pruneMinuteStats(before: number, limit: number): Promise<number> {
    return execute(this.pool, STATS_SQL.prune, [before, limit]);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
