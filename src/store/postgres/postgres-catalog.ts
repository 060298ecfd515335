import { DatabaseError, type Pool, type PoolClient } from 'pg';
import type { CasResult } from '../../core/cas.js';
import { ConflictError } from '../../core/errors.js';
import type { Message, Page, RetryTokenRecord, Subscription, Topic } from '../../core/models.js';
import type { MessageStore } from '../../core/ports/messages.js';
import type { RetryTokenStore } from '../../core/ports/retry-tokens.js';
import type { ListSubscriptionsQuery, SubscriptionStore } from '../../core/ports/subscriptions.js';
import type { ListTopicsQuery, TopicStore } from '../../core/ports/topics.js';
import { subscriptionValues, toMessage, toRetryToken, topicValues, toTopic, type Row, type SqlValue } from '../rows.js';
import { toSubscription } from '../subscription-rows.js';
import { countsByTopic, countSubscriptionsByTopicSql, etagLookupSql, listSubscriptionsSql, listTopicsSql, SQL, toPage, type CasUpdate } from '../sql.js';
import { casMiss, first, rows, transaction } from './pg-query.js';
import { inList, messageArrays, WAKE_SQL } from './postgres-delivery-sql.js';

const COUNT_SUBSCRIPTIONS = countSubscriptionsByTopicSql(inList);

function topicNameConflict(err: unknown, name: string): unknown {
  if (err instanceof DatabaseError && err.code === '23505' && err.constraint === 'topics_live_name') {
    return new ConflictError(`Topic with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

/** Topics, subscriptions, stored messages and retry tokens on PostgreSQL. */
export class PostgresCatalog implements TopicStore, SubscriptionStore, MessageStore, RetryTokenStore {
  constructor(
    private readonly pool: Pool,
    /** The wake-up channel a message insert NOTIFYs, so every node's engine fans it out. */
    private readonly channel: string,
  ) {}

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  async insertTopic(t: Topic): Promise<void> {
    try {
      await rows(this.pool, SQL.insertTopic, topicValues(t));
    } catch (err) {
      throw topicNameConflict(err, t.name);
    }
  }

  async getTopic(tenancyId: string, id: string): Promise<Topic | undefined> {
    const row = await first(this.pool, SQL.getTopic, [tenancyId, id]);
    return row && toTopic(row);
  }

  async listTopics(q: ListTopicsQuery): Promise<Page<Topic>> {
    const { sql, params } = listTopicsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toTopic);
  }

  private async casUpdate<T>(
    u: CasUpdate,
    table: 'topics' | 'subscriptions',
    values: SqlValue[],
    tenancyId: string,
    id: string,
    expectedEtag: string,
    map: (r: Row) => T,
  ): Promise<CasResult<T>> {
    const row = await first(this.pool, u.sql, u.params(values, tenancyId, id, expectedEtag));
    return row !== undefined ? { ok: true, value: map(row) } : casMiss(this.pool, etagLookupSql(table), tenancyId, id);
  }

  async replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>> {
    try {
      return await this.casUpdate(SQL.replaceTopic, 'topics', topicValues(next), next.tenancyId, next.id, expectedEtag, toTopic);
    } catch (err) {
      throw topicNameConflict(err, next.name);
    }
  }

  async deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>> {
    return this.tx(async (c) => {
      const row = await first(c, SQL.deleteTopic, [now, tenancyId, id, expectedEtag]);
      if (row === undefined) return casMiss(c, etagLookupSql('topics'), tenancyId, id);
      await rows(c, SQL.cascadeDeleteSubscriptions, [now, now, id]);
      return { ok: true, value: toTopic(row) };
    });
  }

  async insertSubscription(s: Subscription): Promise<void> {
    await rows(this.pool, SQL.insertSubscription, subscriptionValues(s));
  }

  async getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined> {
    const row = await first(this.pool, SQL.getSubscription, [tenancyId, id]);
    return row && toSubscription(row);
  }

  async getSubscriptionById(id: string): Promise<Subscription | undefined> {
    const row = await first(this.pool, SQL.getSubscriptionById, [id]);
    return row && toSubscription(row);
  }

  async listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>> {
    const { sql, params } = listSubscriptionsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toSubscription);
  }

  async replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>> {
    const values = subscriptionValues(next);
    return this.casUpdate(SQL.replaceSubscription, 'subscriptions', values, next.tenancyId, next.id, expectedEtag, toSubscription);
  }

  async countSubscriptionsByTopic(tenancyId: string, topicIds: readonly string[]): Promise<Record<string, number>> {
    return countsByTopic(topicIds, topicIds.length === 0 ? [] : await rows(this.pool, COUNT_SUBSCRIPTIONS, [tenancyId, [...topicIds]]));
  }

  /**
   * One statement over parallel arrays: atomic by itself, and one round trip for any
   * batch size. Its NOTIFY (sent at commit) has every node's delivery engine fan out.
   */
  async insertMessages(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    await rows(
      this.pool,
      'WITH inserted AS (INSERT INTO messages (id, tenancy_id, topic_id, title, body, message_type, published_at, trace_parent) ' +
        'SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])) ' +
        WAKE_SQL,
      [
        ...messageArrays(messages),
        this.channel,
      ],
    );
  }

  async getMessage(tenancyId: string, id: string): Promise<Message | undefined> {
    const row = await first(this.pool, SQL.getMessage, [tenancyId, id]);
    return row && toMessage(row);
  }

  async claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined> {
    const { tenancyId, token, operation, requestHash, createdAt } = record;
    // The holder may release the token between our two statements; then the claim is simply retried.
    for (let attempt = 0; ; attempt++) {
      const claimed = await first(this.pool, SQL.claimRetryToken, [
        tenancyId,
        token,
        operation,
        requestHash,
        createdAt,
        notBefore,
      ]);
      if (claimed !== undefined) return undefined;
      const existing = await first(this.pool, SQL.getRetryToken, [tenancyId, token]);
      if (existing !== undefined) return toRetryToken(existing);
      if (attempt >= 10) throw new Error(`Could not claim retry token ${token}: it keeps being released`);
    }
  }

  async completeRetryToken(tenancyId: string, token: string, response: string): Promise<void> {
    await rows(this.pool, SQL.completeRetryToken, [response, tenancyId, token]);
  }

  async releaseRetryToken(tenancyId: string, token: string): Promise<void> {
    await rows(this.pool, SQL.releaseRetryToken, [tenancyId, token]);
  }
}
