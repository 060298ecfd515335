import { createHash } from 'node:crypto';
import { ConflictError, InvalidatedRetryTokenError, InvalidParameterError } from './errors.js';
import type { RetryTokenStore } from './ports/retry-tokens.js';

/** OCI keeps a retry token for 24 hours. */
export const RETRY_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export type { RetryTokenStore } from './ports/retry-tokens.js';

export interface RetryableCall {
  tenancyId: string;
  token: string | undefined;
  /** Operation plus target, e.g. "createTopic" or "changeTopicCompartment:<id>". */
  operation: string;
  /** The request as the client sent it; a replay must match it exactly. */
  request: unknown;
}

/**
 * Runs `run` at most once per (tenancy, opc-retry-token): a replay with the same
 * request gets the first answer back, a replay with a different request is
 * refused, and a replay racing the first call is told to retry later.
 */
export async function withRetryToken<T>(
  store: RetryTokenStore,
  call: RetryableCall,
  run: () => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  if (call.token === undefined || call.token === '') return run();
  if (call.token.length > 64) throw new InvalidParameterError('opc-retry-token must be at most 64 characters.');
  const requestHash = createHash('sha256').update(call.operation).update('\0').update(JSON.stringify(call.request ?? null)).digest('base64url');
  const t = now();
  const existing = await store.claimRetryToken(
    { tenancyId: call.tenancyId, token: call.token, operation: call.operation, requestHash, response: null, createdAt: t },
    t - RETRY_TOKEN_TTL_MS,
  );
  if (existing !== undefined) {
    if (existing.requestHash !== requestHash) throw new InvalidatedRetryTokenError();
    if (existing.response === null) throw new ConflictError('A request with this opc-retry-token is still in progress; retry later.');
    return JSON.parse(existing.response) as T;
  }
  let result: T;
  try {
    result = await run();
  } catch (err) {
    // A failed first attempt must not poison the token: the client's retry should run for real.
    await store.releaseRetryToken(call.tenancyId, call.token);
    throw err;
  }
  await store.completeRetryToken(call.tenancyId, call.token, JSON.stringify(result ?? null));
  return result;
}
