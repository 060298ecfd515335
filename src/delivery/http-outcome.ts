/**
 * How an HTTP answer (or the lack of one) becomes an attempt result. Pure, so the retry
 * policy is one table that can be read and tested in isolation:
 *
 * - 2xx: delivered.
 * - 3xx: a failure, retried. Redirects are not followed (a receiver could bounce Herald
 *   to an internal address); Standard Webhooks also counts 3xx as failure.
 * - 408, 425, 429 and 5xx: retried, honouring Retry-After.
 * - other 4xx: dead-lettered at once. The receiver said the request itself is wrong, so
 *   the same bytes will fail again; the delivery is kept and can be re-driven.
 * - network errors and timeouts: retried.
 * - an SSRF refusal: dead-lettered; only a configuration change can fix it.
 */
import { STATUS_CODES } from 'node:http';
import { FORBIDDEN_ADDRESS_CODE } from './egress.js';
import type { HttpAnswer } from './http-client.js';
import type { SendResult } from './protocol.js';

export type HttpAttempt = { answer: HttpAnswer } | { error: unknown };

const RETRYABLE_4XX = new Set([408, 425, 429]);

/** Errors that mean the request can never succeed as built, so retrying is pointless. */
const PERMANENT_ERROR_CODES = new Set([FORBIDDEN_ADDRESS_CODE, 'ERR_INVALID_URL', 'UND_ERR_INVALID_ARG', 'ERR_INVALID_ARG_TYPE']);

export function httpOutcome(attempt: HttpAttempt, nowMs: number): SendResult {
  if ('error' in attempt) return errorOutcome(attempt.error);
  // The headers are read only for a failure: an answer may make its header record on first reading.
  const { statusCode, bodyExcerpt } = attempt.answer;
  if (statusCode >= 200 && statusCode < 300) return bodyExcerpt === '' ? { ok: true, statusCode } : { ok: true, statusCode, responseExcerpt: bodyExcerpt };

  const excerpt = bodyExcerpt === '' ? {} : { responseExcerpt: bodyExcerpt };
  const retryable = statusCode < 400 || statusCode >= 500 || RETRYABLE_4XX.has(statusCode);
  const retryAfterMs = parseRetryAfter(attempt.answer.headers['retry-after'], nowMs);
  let error = `HTTP ${statusCode}${STATUS_CODES[statusCode] ? ` ${STATUS_CODES[statusCode]}` : ''}`;
  if (statusCode >= 300 && statusCode < 400) error += ' (redirects are not followed)';
  return {
    ok: false,
    retryable,
    error,
    statusCode,
    ...excerpt,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  // Every HTTP-date form names a month; without this Date.parse reads "-5" as a year.
  if (!/[a-z]/i.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function errorOutcome(err: unknown): SendResult {
  const code = errorCode(err);
  return { ok: false, retryable: !(code !== undefined && PERMANENT_ERROR_CODES.has(code)), error: describeError(err) };
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A one-line reason for the trace. Node's happy-eyeballs connect fails with an
 * AggregateError whose own message is empty, so its parts are spelled out.
 */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map((e) => describeError(e)))].join('; ');
  }
  if (err instanceof Error) {
    const code = errorCode(err);
    const message = err.message !== '' ? err.message : err.name;
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}
