import type { Pool } from 'pg';
import type { PruneBatch, PruneCursor, RetentionStore } from '../../core/retention.js';
import type { InList } from '../sql.js';
import { FINISHED_STATES, PRUNE_RECORDS_SQL, pruneMessagesSql, RETENTION_SQL } from '../retention-sql.js';
import { num } from '../rows.js';
import { execute, first, rows, transaction } from './pg-query.js';

const inList: InList = (column, type) => `${column} = ANY(?::${type}[])`;

/** Candidates are locked; one another node is pruning (or fanning out) is skipped, not waited for. */
const LOCK_CANDIDATES = `${RETENTION_SQL.candidates} FOR UPDATE SKIP LOCKED`;
/**
 * Locks the candidates' deliveries. SKIP LOCKED: a delivery locked elsewhere (a completion
 * or a re-drive in progress) is missing from the answer, so its message counts as held
 * this time instead of deadlocking with that transaction.
 */
const LOCK_DELIVERIES =
  "SELECT message_id, state FROM deliveries WHERE kind = 'MESSAGE' AND message_id = ANY(?::text[]) ORDER BY id FOR UPDATE SKIP LOCKED";
/** The tables retention deletes from. */
const PRUNED_TABLES = 'messages, deliveries, delivery_attempts, mailbox, retry_tokens';
/** Without autovacuum, vacuum after a sweep that deleted rows, at most this often. */
const VACUUM_EVERY_MS = 10_000;
const COUNT_DELIVERIES =
  "SELECT message_id, COUNT(*) AS n FROM deliveries WHERE kind = 'MESSAGE' AND message_id = ANY(?::text[]) GROUP BY message_id";

/**
 * Retention on PostgreSQL, safe with several nodes: every row a batch deletes is locked by
 * it first, so no delivery can be claimed, completed or re-driven between the check that
 * it finished and its delete. Deleted rows are reclaimed by autovacuum (tuned in 0006), or
 * by Herald's own VACUUM when the server runs without it, and their space is reused, so the
 * tables stop growing once the window is full.
 */
export class PostgresRetention implements RetentionStore {
  /** The deletes run in the server; the event loop only waits on a connection. */
  readonly batchBudgetMs = 50;
  private readonly deletes = pruneMessagesSql(inList);
  #autovacuum: Promise<boolean> | undefined;
  #vacuumedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly pool: Pool) {}

  /** Whether the server runs autovacuum (a server-wide setting; a table cannot turn it back on). */
  autovacuumOn(): Promise<boolean> {
    this.#autovacuum ??= first(this.pool, "SELECT current_setting('autovacuum') = 'on' AS on").then((r) => r?.on === true);
    return this.#autovacuum;
  }

  async reclaim(deleted: number, now: number): Promise<void> {
    if (deleted === 0 || (await this.autovacuumOn()) || now - this.#vacuumedAt < VACUUM_EVERY_MS) return;
    this.#vacuumedAt = now;
    const c = await this.pool.connect();
    try {
      // One node at a time: two VACUUMs of one table wait for each other.
      const key = "hashtext(current_schema() || '.herald-retention-vacuum')";
      if ((await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${key}) AS ok`)).rows[0]?.ok !== true) return;
      try {
        // Plain VACUUM takes no lock that stops reads or writes; it marks the dead rows' space reusable.
        await c.query(`VACUUM (ANALYZE) ${PRUNED_TABLES}`);
      } finally {
        await c.query(`SELECT pg_advisory_unlock(${key})`);
      }
    } finally {
      c.release();
    }
  }

  async pruneMessages(cutoff: number, after: PruneCursor | undefined, limit: number): Promise<PruneBatch> {
    return transaction(this.pool, async (c) => {
      const candidates = await rows(c, LOCK_CANDIDATES, [cutoff, after?.publishedAt ?? -1, after?.id ?? '', limit]);
      const ids = candidates.map((r) => String(r.id));
      const lockedRows = ids.length === 0 ? [] : await rows(c, LOCK_DELIVERIES, [ids]);
      const totals = new Map((ids.length === 0 ? [] : await rows(c, COUNT_DELIVERIES, [ids])).map((r) => [String(r.message_id), num(r.n)]));
      const locked = new Map<string, { n: number; unfinished: boolean }>();
      for (const r of lockedRows) {
        const id = String(r.message_id);
        const e = locked.get(id) ?? { n: 0, unfinished: false };
        e.n++;
        e.unfinished ||= !FINISHED_STATES.has(String(r.state));
        locked.set(id, e);
      }
      const prunable: string[] = [];
      let held = 0;
      let oldestHeldAt: number | null = null;
      for (const r of candidates) {
        const id = String(r.id);
        const mine = locked.get(id) ?? { n: 0, unfinished: false };
        const busy = num(r.fanout_state) !== 1 || mine.unfinished || mine.n < (totals.get(id) ?? 0);
        if (!busy) {
          prunable.push(id);
          continue;
        }
        held++;
        oldestHeldAt ??= num(r.published_at);
      }
      if (prunable.length > 0) for (const sql of this.deletes) await execute(c, sql, [prunable]);
      const last = candidates.at(-1);
      const next = candidates.length < limit || last === undefined ? undefined : { publishedAt: num(last.published_at), id: String(last.id) };
      return { scanned: candidates.length, pruned: prunable.length, held, oldestHeldAt, next };
    });
  }

  async pruneRecords(cutoff: number, limit: number): Promise<number> {
    const confirmations = await execute(this.pool, PRUNE_RECORDS_SQL.confirmations, [cutoff, limit]);
    const mail = await execute(this.pool, PRUNE_RECORDS_SQL.mail, [cutoff, limit - confirmations]);
    return confirmations + mail;
  }

  async pruneRetryTokens(notBefore: number, limit: number): Promise<number> {
    return execute(this.pool, PRUNE_RECORDS_SQL.retryTokens, [notBefore, limit]);
  }
}
