/**
 * The console's stored history: per-minute counters of each topic, kept by every node's recorder and
 * merged by adding (so several nodes, and several flushes of one node, fill the same minute's row).
 */

/** What one topic did in one span of time; `latency` holds the counts of the publish→delivery histogram. */
export interface StatsCounts {
  published: number;
  /** Notifications delivered (MESSAGE deliveries); confirmation handshakes are `confirmations`. */
  delivered: number;
  /** Failed attempts of notifications (each retry counts). */
  failedAttempts: number;
  /** Notifications that went to the dead letters. */
  deadLetters: number;
  /** Confirmation handshakes delivered. */
  confirmations: number;
  /** One count per bucket of LATENCY_BOUNDS_MS (src/core/stats.ts), the last for anything slower. */
  latency: number[];
}

/** One topic's counts in one minute. */
export interface MinuteStatsRow extends StatsCounts {
  tenancyId: string;
  topicId: string;
  /** Start of the minute, epoch ms (a multiple of 60,000). */
  minute: number;
}

/** A bucket of a range read: its start (epoch ms) and the tenancy's counts in it. */
export interface StatsBucket extends StatsCounts {
  start: number;
}

/** A live topic with its counts over a range and its unfinished notifications now. */
export interface TopicActivityRow {
  topicId: string;
  name: string;
  compartmentId: string;
  published: number;
  delivered: number;
  failedAttempts: number;
  deadLetters: number;
  /** PENDING and IN_FLIGHT MESSAGE deliveries now. */
  backlog: number;
  /** createdAt of the oldest of those, null when none. */
  oldestPendingAt: number | null;
}

export interface StatsStore {
  /** Adds each row's counts to what its (tenancy, topic, minute) already holds, all in one transaction. */
  addMinuteStats(rows: readonly MinuteStatsRow[]): Promise<void>;
  /**
   * The tenancy's counts for minutes in [from, to), summed per bucket of bucketMs counted from `from`;
   * only buckets with a row, oldest first.
   */
  statsByBucket(tenancyId: string, from: number, to: number, bucketMs: number): Promise<StatsBucket[]>;
  /**
   * The tenancy's live topics with their counts over [from, to) and their backlog now, busiest first
   * (published + delivered + failed attempts + dead letters + backlog, then by name), at most `limit`.
   */
  topicActivity(tenancyId: string, from: number, to: number, limit: number): Promise<TopicActivityRow[]>;
  /** Deletes at most `limit` minute rows older than `before` (oldest first); returns how many. */
  pruneMinuteStats(before: number, limit: number): Promise<number>;
}
