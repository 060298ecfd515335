import type { Delivery, PublishOutcome, PublishPlan } from '../../core/deliveries.js';
import type { Message } from '../../core/models.js';
import type { PublishStore } from '../../core/ports/messages.js';
import { inlineClaimed, inlineClaimedOf, type Lease } from '../claim-rows.js';
import { DELIVERY_SQL as SQL } from '../delivery-sql.js';
import { num } from '../rows.js';
import type { SqliteDb } from './sqlite-db.js';
import { exclusionLists, FANOUT_CLAIMED, FANOUT_CLAIMED_EXCEPT, INSERT_MESSAGE, TOPIC_LIVE } from './sqlite-delivery-sql.js';
import type { WalSync } from './wal-sync.js';

/**
 * Group commits of publishes (PublishStore) on SqliteStore's connection: each group's messages, the inline fan-out
 * of small topics and the deliveries claimed for this node, in one transaction, handed on once committed
 * (`onCommitted`) and acknowledged once the WAL's fsync that started after it has ended.
 */
export class SqlitePublishing implements PublishStore {
  constructor(
    private readonly sql: SqliteDb,
    /** Set when the database is a file in WAL mode: publishes then fsync off the event loop (absent: they commit FULL). */
    private readonly walSync?: WalSync,
  ) {}

  async publishMessages(messages: Message[], plan: PublishPlan, onCommitted?: (outcome: PublishOutcome) => void): Promise<PublishOutcome> {
    await this.sql.pass();
    if (this.walSync === undefined) return this.publishGroup(messages, plan, false);
    // Committed without fsync (its frames are in the OS: a process crash keeps them), so the caller may start
    // delivering now; made durable off the event loop before the publish is acknowledged.
    const outcome = this.publishGroup(messages, plan, true);
    onCommitted?.(outcome);
    await this.walSync.sync();
    return outcome;
  }

  private publishGroup(messages: Message[], plan: PublishPlan, unsynced: boolean): PublishOutcome {
    const { now, inlineFanout, claim } = plan;
    return (unsynced ? this.sql.unsyncedTx.bind(this.sql) : this.sql.tx.bind(this.sql))(() => {
      const stored = new Set<string>();
      const claimed: Delivery[] = [];
      let budget = claim?.max ?? 0;
      const exclude = exclusionLists(claim?.exclude);
      let leftover = false;
      let backlogAdded = 0;
      let lease: Lease | undefined;
      // A group is mostly a few busy topics: look each one up once per group, not per message.
      const topics = new Map<string, { live: boolean; subs: number }>();
      for (const m of messages) {
        const key = `${m.tenancyId}/${m.topicId}`;
        let topic = topics.get(key);
        if (topic === undefined) {
          const live = this.sql.get(TOPIC_LIVE, m.tenancyId, m.topicId) !== undefined;
          topic = { live, subs: live ? num(this.sql.get(SQL.countSubscriptionsUpTo, m.topicId, inlineFanout)?.n ?? 0) : 0 };
          topics.set(key, topic);
        }
        if (!topic.live) continue;
        const subs = topic.subs;
        const inline = subs < inlineFanout;
        this.sql.run(INSERT_MESSAGE, m.id, m.tenancyId, m.topicId, m.title, m.body, m.messageType, m.publishedAt, m.traceParent, inline ? 1 : 0);
        stored.add(m.id);
        if (!inline) {
          leftover = true;
          backlogAdded++;
        } else if (subs === 0) {
          // Nothing to deliver.
        } else if (claim !== undefined && budget >= subs) {
          const rows =
            exclude === undefined
              ? this.sql.values(FANOUT_CLAIMED, m.tenancyId, m.id, claim.leaseUntil, claim.owner, now, now, now, m.topicId, m.publishedAt)
              : this.sql.values(FANOUT_CLAIMED_EXCEPT, ...exclude, m.topicId, m.publishedAt, m.tenancyId, m.id, now, claim.leaseUntil, claim.owner, now, now, now);
          lease ??= { owner: claim.owner, leaseUntil: claim.leaseUntil, now };
          for (const r of rows) {
            // An excluded subscription's delivery waits PENDING for the claim that follows its endpoint's reopening.
            if (!inlineClaimed(r)) continue;
            claimed.push(inlineClaimedOf(r, m, lease));
            budget--;
          }
          backlogAdded += rows.length;
        } else {
          // '' and the max id bound the whole topic; fanout_state is already 1 for it.
          const created = this.sql.run(SQL.fanoutInsert, m.tenancyId, m.id, now, now, now, now, m.topicId, '', '\u{10FFFF}', m.publishedAt);
          leftover ||= created > 0;
          backlogAdded += created;
        }
      }
      return { stored, claimed, leftover, backlogAdded };
    });
  }
}
