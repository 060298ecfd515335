import type { Delivery, DeliveryAttempt } from '../deliveries.js';
import type { Message, Page } from '../models.js';
import type { DeliveryStore } from './deliveries.js';

export interface DeadLetterQuery {
  tenancyId: string;
  topicId?: string;
  subscriptionId?: string;
  offset: number;
  limit: number;
}

export interface RedriveQuery {
  tenancyId: string;
  deliveryIds?: number[];
  topicId?: string;
  subscriptionId?: string;
}

/** Live topics and subscriptions, unfinished and dead deliveries, and recent messages of one tenancy. */
export interface TenancyCounts {
  topics: number;
  subscriptions: number;
  pending: number;
  inFlight: number;
  dead: number;
  /** Messages published at or after the time asked for. */
  published: number;
}

/** What traces, dead letters, re-drives and the console overview read, every read tenancy-scoped. */
export interface ActivityStore extends Pick<DeliveryStore, 'getTopicsByIds' | 'getSubscriptionsByIds'> {
  /** Every delivery of the message (tenancy-scoped) with its attempts, oldest attempt first. */
  getMessageDeliveries(tenancyId: string, messageId: string): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }[]>;
  /** The topic's messages (tenancy-scoped), newest first: by publishedAt, then id, descending. */
  listRecentMessages(tenancyId: string, topicId: string, limit: number): Promise<Message[]>;
  /**
   * How many messages of each topic (tenancy-scoped) were published at or after
   * `since`; every requested topic id is a key, 0 when none.
   */
  countRecentMessages(tenancyId: string, topicIds: string[], since: number): Promise<Record<string, number>>;
  listDeadLetters(q: DeadLetterQuery): Promise<Page<Delivery>>;
  /** Moves matching DEAD deliveries back to PENDING, due now, with a fresh window. Returns how many. */
  redrive(q: RedriveQuery, now: number): Promise<number>;
  /** One tenancy's own figures (the console overview), read in one statement. */
  countTenancy(tenancyId: string, publishedSince: number): Promise<TenancyCounts>;
}
