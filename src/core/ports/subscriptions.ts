import type { CasResult } from '../cas.js';
import type { Page, Subscription } from '../models.js';

export interface ListSubscriptionsQuery {
  tenancyId: string;
  compartmentId?: string;
  topicId?: string;
  offset: number;
  limit: number;
}

/**
 * Subscriptions, tenancy-scoped. Reads return DELETED ones too: OCI shows a deleted
 * subscription as DELETED (the SDK's waiter depends on it); lists hide them.
 */
export interface SubscriptionStore {
  insertSubscription(s: Subscription): Promise<void>;
  /** Includes DELETED subscriptions. */
  getSubscription(tenancyId: string, id: string): Promise<Subscription | undefined>;
  /** Unscoped lookup (DELETED included) for the token-authorised confirmation/unsubscribe links. */
  getSubscriptionById(id: string): Promise<Subscription | undefined>;
  listSubscriptions(q: ListSubscriptionsQuery): Promise<Page<Subscription>>;
  replaceSubscription(next: Subscription, expectedEtag: string): Promise<CasResult<Subscription>>;
  /** Live (not DELETED) subscriptions of each topic, in one query; every requested id is a key, 0 when none. */
  countSubscriptionsByTopic(tenancyId: string, topicIds: readonly string[]): Promise<Record<string, number>>;
}
