import type { MinuteStatsRow, StatsBucket, StatsStore, TopicActivityRow } from '../../core/ports/stats.js';
import { minuteStatsValues, STATS_SQL, toStatsBucket, toTopicActivity, upsertMinuteStatsSql } from '../stats-sql.js';
import type { SqliteDb } from './sqlite-db.js';

/** One row per statement: SQLite runs a prepared single-row upsert in a loop as fast as a wide one, with one cached statement. */
const UPSERT_ONE = upsertMinuteStatsSql(1);

/** The per-minute stats on SQLite. */
export class SqliteStats implements StatsStore {
  constructor(private readonly sql: SqliteDb) {}

  async addMinuteStats(rows: readonly MinuteStatsRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.sql.pass();
    // Counters, not records: a flush lost to a power cut only undercounts, so it need not wait for fsync.
    this.sql.relaxedTx(() => {
      const stmt = this.sql.stmt(UPSERT_ONE);
      for (const r of rows) stmt.run(...minuteStatsValues(r));
    });
  }

  async statsByBucket(tenancyId: string, from: number, to: number, bucketMs: number): Promise<StatsBucket[]> {
    return this.sql.all(STATS_SQL.byBucket, from, bucketMs, tenancyId, from, to).map((r) => toStatsBucket(r, from, bucketMs));
  }

  async topicActivity(tenancyId: string, from: number, to: number, limit: number): Promise<TopicActivityRow[]> {
    // One snapshot: the counts and the backlog are read together.
    return this.sql.readTx(() => this.sql.all(STATS_SQL.topicActivity, tenancyId, from, to, tenancyId, tenancyId, limit).map(toTopicActivity));
  }

  async pruneMinuteStats(before: number, limit: number): Promise<number> {
    await this.sql.pass();
    return this.sql.relaxedTx(() => this.sql.run(STATS_SQL.prune, before, limit));
  }
}
