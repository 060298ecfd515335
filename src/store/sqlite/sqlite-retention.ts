import type { PruneBatch, PruneCursor, RetentionStore } from '../../core/retention.js';
import type { InList } from '../sql.js';
import { FINISHED, PRUNE_RECORDS_SQL, pruneMessagesSql, RETENTION_SQL } from '../retention-sql.js';
import { num } from '../rows.js';
import type { SqliteDb } from './sqlite-db.js';

const inList: InList = (column) => `${column} IN (SELECT value FROM json_each(?))`;

/** Whether a message still has a delivery to make (deliveries_message serves it). */
const UNFINISHED =
  `SELECT 1 FROM deliveries WHERE kind = 'MESSAGE' AND message_id = ? AND state NOT IN ${FINISHED} LIMIT 1`;

/**
 * Retention on SQLite. One writer, so a batch needs no locks beyond its IMMEDIATE
 * transaction. Batches commit with synchronous = NORMAL: a delete lost to a power cut
 * is simply done again by the next sweep. Deleted pages go to SQLite's free list and
 * new rows reuse them, so the file stops growing once the window is full.
 */
export class SqliteRetention implements RetentionStore {
  /** Batches run on the event loop: short ones keep publishes and deliveries flowing. */
  readonly batchBudgetMs = 4;
  private readonly deletes = pruneMessagesSql(inList);

  constructor(private readonly sql: SqliteDb) {}

  async pruneMessages(cutoff: number, after: PruneCursor | undefined, limit: number): Promise<PruneBatch> {
    await this.sql.pass();
    return this.sql.relaxedTx(() => {
      const rows = this.sql.stmt(RETENTION_SQL.candidates).all(cutoff, after?.publishedAt ?? -1, after?.id ?? '', limit);
      const prunable: string[] = [];
      let held = 0;
      let oldestHeldAt: number | null = null;
      for (const r of rows) {
        const id = String(r.id);
        const busy = num(r.fanout_state) !== 1 || this.sql.stmt(UNFINISHED).get(id) !== undefined;
        if (!busy) {
          prunable.push(id);
          continue;
        }
        held++;
        oldestHeldAt ??= num(r.published_at);
      }
      if (prunable.length > 0) {
        const ids = JSON.stringify(prunable);
        for (const sql of this.deletes) this.sql.stmt(sql).run(ids);
      }
      const last = rows.at(-1);
      const next = rows.length < limit || last === undefined ? undefined : { publishedAt: num(last.published_at), id: String(last.id) };
      return { scanned: rows.length, pruned: prunable.length, held, oldestHeldAt, next };
    });
  }

  async pruneRecords(cutoff: number, limit: number): Promise<number> {
    await this.sql.pass();
    return this.sql.relaxedTx(() => {
      const confirmations = this.sql.stmt(PRUNE_RECORDS_SQL.confirmations).run(cutoff, limit).changes;
      const mail = this.sql.stmt(PRUNE_RECORDS_SQL.mail).run(cutoff, limit - confirmations).changes;
      return confirmations + mail;
    });
  }

  async pruneRetryTokens(notBefore: number, limit: number): Promise<number> {
    await this.sql.pass();
    return this.sql.relaxedTx(() => this.sql.stmt(PRUNE_RECORDS_SQL.retryTokens).run(notBefore, limit).changes);
  }

  /** Nothing to do: SQLite puts deleted pages on its free list and new rows reuse them. */
  async reclaim(): Promise<void> {}
}
