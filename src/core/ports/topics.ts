import type { CasResult } from '../cas.js';
import type { Page, SortOrder, Topic, TopicState } from '../models.js';

export interface ListTopicsQuery {
  tenancyId: string;
  compartmentId: string;
  id?: string;
  name?: string;
  /** Upper-case; compared exactly. DELETED topics are never listed. */
  lifecycleState?: TopicState;
  sortBy: 'TIMECREATED' | 'LIFECYCLESTATE';
  sortOrder: SortOrder;
  offset: number;
  limit: number;
}

/**
 * Topics, tenancy-scoped: a row of another tenancy is indistinguishable from a missing one.
 * DELETED topics are kept for history (messages reference them) but never read back here.
 */
export interface TopicStore {
  /** Throws ConflictError when a non-deleted topic of the tenancy has the same name. */
  insertTopic(t: Topic): Promise<void>;
  getTopic(tenancyId: string, id: string): Promise<Topic | undefined>;
  listTopics(q: ListTopicsQuery): Promise<Page<Topic>>;
  /** Replaces the topic row when its current etag equals expectedEtag. */
  replaceTopic(next: Topic, expectedEtag: string): Promise<CasResult<Topic>>;
  /**
   * Marks the topic DELETED (when its etag matches) and, in the same transaction,
   * every live subscription of it DELETED with deletedAt = now.
   */
  deleteTopic(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<Topic>>;
}
