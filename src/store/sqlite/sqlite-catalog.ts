import Database from 'better-sqlite3';
import type { CasResult } from '../../core/cas.js';
import { ConflictError } from '../../core/errors.js';
import type { Message, Page, RetryTokenRecord, Subscription, Topic } from '../../core/models.js';
import type { MessageStore } from '../../core/ports/messages.js';
import type { RetryTokenStore } from '../../core/ports/retry-tokens.js';
import type { ListSubscriptionsQuery, SubscriptionStore } from '../../core/ports/subscriptions.js';
import type { ListTopicsQuery, TopicStore } from '../../core/ports/topics.js';
import { messageValues, subscriptionValues, toMessage, toRetryToken, topicValues, toTopic } from '../rows.js';
import { toSubscription } from '../subscription-rows.js';
import { countsByTopic, countSubscriptionsByTopicSql, etagLookupSql, listSubscriptionsSql, listTopicsSql, SQL, toPage, type InList } from '../sql.js';
import type { SqliteDb } from './sqlite-db.js';

const inList: InList = (column) => `${column} IN (SELECT value FROM json_each(?))`;
const COUNT_SUBSCRIPTIONS = countSubscriptionsByTopicSql(inList);

function topicNameConflict(err: unknown, name: string): unknown {
  // The partial unique index is the only UNIQUE constraint naming topics.name.
  if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes('topics.name')) {
    return new ConflictError(`Topic with name "${name}" already exists in this tenancy.`);
  }
  return err;
}

/**
 * Topics, subscriptions, stored messages and retry tokens on SQLite. better-sqlite3 is
 * synchronous, so every method runs to completion before yielding; the async signatures
 * only satisfy the ports.
 */
export class SqliteCatalog implements TopicStore, SubscriptionStore, MessageStore, RetryTokenStore {
  constructor(private readonly sql: SqliteDb) {}

  async insertTopic(t: Topic): Promise<void> {
    await this.sql.pass();
    try {
      this.sql.run(SQL.insertTopic, ...topicValues(t));
    } catch (err) {
      throw topicNameConflict(err, t.name);
    }
  }

  async getTopic(tenancyId: string, id: string): Promise<Topic | undefined> {
    const row = this.sql.get(SQL.getTopic, tenancyId, id);
    return row && toTopic(row);
  }

  async listTopics(q: ListTopicsQuery): Promise<Page<Topic>> {
    const { sql, params } = listTopicsSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toTopic);
  }

  async replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>> {
    await this.sql.pass();
    try {
      return this.sql.cas(
        etagLookupSql('topics'),
        next.tenancyId,
        next.id,
        () => this.sql.casUpdate(SQL.replaceTopic, topicValues(next), next.tenancyId, next.id, expectedEtag),
        toTopic,
      );
    } catch (err) {
      throw topicNameConflict(err, next.name);
    }
  }

  async deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>> {
    await this.sql.pass();
    return this.sql.cas(
      etagLookupSql('topics'),
      tenancyId,
      id,
      () => {
        const row = this.sql.get(SQL.deleteTopic, now, tenancyId, id, expectedEtag);
        if (row !== undefined) this.sql.run(SQL.cascadeDeleteSubscriptions, now, now, id);
        return row;
      },
      toTopic,
    );
  }

  async insertSubscription(s: Subscription): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.insertSubscription, ...subscriptionValues(s));
  }

  async getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined> {
    const row = this.sql.get(SQL.getSubscription, tenancyId, id);
    return row && toSubscription(row);
  }

  async getSubscriptionById(id: string): Promise<Subscription | undefined> {
    const row = this.sql.get(SQL.getSubscriptionById, id);
    return row && toSubscription(row);
  }

  async listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>> {
    const { sql, params } = listSubscriptionsSql(q);
    return toPage(this.sql.all(sql, ...params), q.offset, q.limit, toSubscription);
  }

  async replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>> {
    await this.sql.pass();
    return this.sql.cas(
      etagLookupSql('subscriptions'),
      next.tenancyId,
      next.id,
      () => this.sql.casUpdate(SQL.replaceSubscription, subscriptionValues(next), next.tenancyId, next.id, expectedEtag),
      toSubscription,
    );
  }

  async countSubscriptionsByTopic(tenancyId: string, topicIds: readonly string[]): Promise<Record<string, number>> {
    const ids = [...topicIds];
    return countsByTopic(ids, ids.length === 0 ? [] : this.sql.all(COUNT_SUBSCRIPTIONS, tenancyId, JSON.stringify(ids)));
  }

  async insertMessages(messages: Message[]): Promise<void> {
    await this.sql.pass();
    if (messages.length === 0) return;
    this.sql.tx(() => {
      for (const m of messages) this.sql.run(SQL.insertMessage, ...messageValues(m));
    });
  }

  async getMessage(tenancyId: string, id: string): Promise<Message | undefined> {
    const row = this.sql.get(SQL.getMessage, tenancyId, id);
    return row && toMessage(row);
  }

  async claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined> {
    await this.sql.pass();
    const { tenancyId, token, operation, requestHash, createdAt } = record;
    return this.sql.tx(() => {
      const claimed = this.sql.get(SQL.claimRetryToken, tenancyId, token, operation, requestHash, createdAt, notBefore);
      if (claimed !== undefined) return undefined;
      const existing = this.sql.get(SQL.getRetryToken, tenancyId, token);
      return existing && toRetryToken(existing);
    });
  }

  async completeRetryToken(tenancyId: string, token: string, response: string): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.completeRetryToken, response, tenancyId, token);
  }

  async releaseRetryToken(tenancyId: string, token: string): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.releaseRetryToken, tenancyId, token);
  }
}
