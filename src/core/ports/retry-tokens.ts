import type { RetryTokenRecord } from '../models.js';

/** opc-retry-token bookkeeping: a create or move done at most once per (tenancy, token). */
export interface RetryTokenStore {
  /**
   * Claims a token. Returns the existing record when the token is already
   * known (and not expired, i.e. createdAt > notBefore), otherwise inserts
   * `record` (with response null) and returns undefined.
   */
  claimRetryToken(record: RetryTokenRecord, notBefore: number): Promise<RetryTokenRecord | undefined>;
  completeRetryToken(tenancyId: string, token: string, response: string): Promise<void>;
  releaseRetryToken(tenancyId: string, token: string): Promise<void>;
}
