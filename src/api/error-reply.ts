import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromFrameworkError, STATUS_BY_CODE, type OciErrorBody } from './errors.js';
import { HeraldError, TooManyRequestsError } from '../core/errors.js';

/**
 * The one error path. Whatever refuses a request (a route's HeraldError, fastify's own errors, the not-found
 * handler, the URL errors fastify raises before routing, Node's refusals before fastify) answers through
 * `errorAnswer`, and everything inside fastify writes it with `sendError`: an OCI body `{code, message}`, the
 * status STATUS_BY_CODE gives its code, an opc-request-id, and Retry-After on a 429.
 */
export interface ErrorAnswer {
  status: number;
  body: OciErrorBody;
  /** Headers the answer carries besides content-type and opc-request-id (retry-after on a TooManyRequestsError). */
  headers: Readonly<Record<string, string>>;
  /** No error Herald knows (a bug): answered 500, to be logged with the request. */
  unhandled: boolean;
}

/** What `err` answers. `requestId` is quoted in a 500's message, to find the logged error by. */
export function errorAnswer(err: unknown, requestId: string): ErrorAnswer {
  if (err instanceof HeraldError) {
    const headers: Record<string, string> = err instanceof TooManyRequestsError ? { 'retry-after': String(err.retryAfterSeconds) } : {};
    return { status: STATUS_BY_CODE[err.code], body: { code: err.code, message: err.message }, headers, unhandled: false };
  }
  const mapped = typeof err === 'object' && err !== null ? fromFrameworkError(err as { code?: string; statusCode?: number; message: string }) : undefined;
  if (mapped !== undefined) return { status: STATUS_BY_CODE[mapped.code], body: mapped, headers: {}, unhandled: false };
  const body: OciErrorBody = { code: 'InternalServerError', message: 'Internal error; see the server log for opc-request-id ' + requestId + '.' };
  return { status: STATUS_BY_CODE[body.code], body, headers: {}, unhandled: true };
}

/**
 * Writes `err`'s answer (errorAnswer) on `reply` and logs what needs logging. `status` replaces the code's own
 * status only where Herald relays someone else's (a failed function invoke answers with the runtime's status).
 */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown, status?: number): FastifyReply {
  const answer = errorAnswer(err, req.id);
  if (answer.unhandled) req.log.error({ err, url: req.url, method: req.method }, 'unhandled error');
  if (answer.body.code === 'NotAuthenticated') req.log.info({ url: req.url, reason: answer.body.message }, 'request not authenticated');
  // Already set by the authentication hook on routed requests; not on the errors fastify raises before routing.
  void reply.header('opc-request-id', req.id);
  for (const [name, value] of Object.entries(answer.headers)) void reply.header(name, value);
  return reply.status(status ?? answer.status).type('application/json').send(answer.body);
}
