import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callerOf, type ApiDeps } from '../context.js';
import { sendError } from '../error-reply.js';
import { functionResponseHeaders } from '../function-response-headers.js';
import { limitOnly, pageRequest, sendPage } from '../paging.js';
import { HERALD_PREFIX, OCI_PREFIX } from '../prefixes.js';
import { header, parseJson, query, rawBody } from '../request.js';
import { createFunctionDetails, toCallWire, toFunctionSummary, toFunctionWire, updateFunctionDetails } from '../wire/functions.js';
import { HeraldError, InvalidParameterError, PayloadTooLargeError, type OciErrorCode } from '../../core/errors.js';
import { inspectBundle, MAX_BUNDLE_BYTES } from '../../functions/bundles.js';

/** OCI's documented invoke body limit. */
const MAX_INVOKE_BYTES = 6 * 1024 * 1024;

/** Request headers that belong to the hop or the signature, not to the function. */
const NOT_FORWARDED = new Set([
  'authorization', 'x-content-sha256', 'x-date', 'date', 'host', 'content-length', 'connection', 'keep-alive',
  'transfer-encoding', 'accept-encoding', 'opc-client-retries', 'opc-client-info', 'fn-invoke-type', 'is-dry-run',
]);

/** Service codes for failed invokes whose function gave no body of its own (OCI's exact names are unpublished). */
const INVOKE_ERROR_CODE: Partial<Record<number, OciErrorCode>> = {
  429: 'TooManyRequests',
  502: 'FunctionInvokeExecutionFailed',
  503: 'ServiceUnavailable',
  504: 'FunctionInvokeTimeout',
};

function forwardedHeaders(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || NOT_FORWARDED.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** An upload over the cap gets a message that names the cap, not fastify's generic one. */
function bundleErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
  const message = `A function bundle may be at most ${MAX_BUNDLE_BYTES / (1024 * 1024)} MB; leave out what the function does not need (dev dependencies, tests).`;
  sendError(req, reply, tooLarge ? new PayloadTooLargeError(message) : err);
}

/** OCI Functions functions and invoke, plus Herald's bundle upload and call logs. */
export function registerFunctionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { functions } = deps;
  const wire = (f: Parameters<typeof toFunctionWire>[0]) => toFunctionWire(f, deps.publicUrl());

  app.post(`${OCI_PREFIX}/functions`, async (req, reply) => {
    const details = parseJson(req, createFunctionDetails, 'CreateFunctionDetails');
    const f = await functions.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', f.etag).send(wire(f));
  });

  app.get(`${OCI_PREFIX}/functions`, async (req, reply) => {
    const q = query(req);
    const paging = pageRequest(q);
    const page = await functions.list(callerOf(req), q.applicationId, {
      id: q.id,
      displayName: q.displayName,
      lifecycleState: q.lifecycleState,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      ...paging,
    });
    const endpoint = deps.publicUrl();
    return sendPage(reply, page, (f) => toFunctionSummary(f, endpoint));
  });

  app.get<{ Params: { functionId: string } }>(`${OCI_PREFIX}/functions/:functionId`, async (req, reply) => {
    const f = await functions.get(callerOf(req), req.params.functionId);
    return reply.header('etag', f.etag).send(wire(f));
  });

  app.put<{ Params: { functionId: string } }>(`${OCI_PREFIX}/functions/:functionId`, async (req, reply) => {
    const details = parseJson(req, updateFunctionDetails, 'UpdateFunctionDetails');
    const f = await functions.update(callerOf(req), req.params.functionId, details, header(req, 'if-match'));
    return reply.header('etag', f.etag).send(wire(f));
  });

  app.delete<{ Params: { functionId: string } }>(`${OCI_PREFIX}/functions/:functionId`, async (req, reply) => {
    await functions.delete(callerOf(req), req.params.functionId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  // Raw bytes in and out. The SDK sends fn-invoke-type (sync|detached), fn-intent and the caller's content-type.
  app.post<{ Params: { functionId: string } }>(`${OCI_PREFIX}/functions/:functionId/actions/invoke`, { bodyLimit: MAX_INVOKE_BYTES }, async (req, reply) => {
    const type = (header(req, 'fn-invoke-type') ?? 'sync').toLowerCase();
    if (type !== 'sync' && type !== 'detached') throw new InvalidParameterError('fn-invoke-type must be sync or detached.');
    const target = await functions.invokeTarget(callerOf(req), req.params.functionId);
    // A dry run checks that the call would be accepted, without running anything.
    if (header(req, 'is-dry-run') === 'true') return reply.status(200).send();
    const request = { body: rawBody(req) ?? Buffer.alloc(0), contentType: header(req, 'content-type'), headers: forwardedHeaders(req) };

    if (type === 'detached') {
      // Made here, not for every call: a child logger costs a sync invoke ~1 % of its CPU and only this branch logs.
      const log = req.log.child({ functionId: target.fn.id });
      // Answered before the function runs; its outcome only reaches the log (and the runtime's call records).
      void deps.functionInvoker.invoke(target, request, { detached: true }).then(
        (r) => r.status >= 300 && log.warn({ status: r.status, error: r.error }, 'detached invoke failed'),
        (err: unknown) => log.error({ err }, 'detached invoke threw'),
      );
      return reply.status(202).send();
    }

    // A caller that hangs up stops the function.
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const res = await deps.functionInvoker.invoke(target, request, { signal: abort.signal });
    // Only headers that mean nothing to Herald's origin or connection (src/api/function-response-headers.ts).
    for (const [k, v] of Object.entries(functionResponseHeaders(res.headers))) reply.header(k, v);
    if (res.status >= 300 && res.body.length === 0) {
      const code = INVOKE_ERROR_CODE[res.status] ?? 'FunctionInvokeFailed';
      // The runtime's status, whatever the code's own (a call the caller aborted is 499, FunctionInvokeFailed).
      return sendError(req, reply, new HeraldError(code, res.error ?? `The function failed with status ${res.status}.`), res.status);
    }
    reply.status(res.status);
    if (!reply.hasHeader('content-type')) reply.type('application/octet-stream');
    return reply.send(res.body);
  });

  app.post(`${HERALD_PREFIX}/functionBundles`, { bodyLimit: MAX_BUNDLE_BYTES, errorHandler: bundleErrorHandler }, async (req, reply) => {
    const caller = callerOf(req);
    const bytes = rawBody(req) ?? Buffer.alloc(0);
    await inspectBundle(bytes);
    // Owned by the uploading tenancy: only its functions may name the digest.
    return reply.send(await functions.putBundle(caller, bytes));
  });

  app.get<{ Params: { functionId: string } }>(`${HERALD_PREFIX}/functions/:functionId/logs`, async (req, reply) => {
    const limit = limitOnly(query(req), { whenAbsent: 20, atMost: 200 });
    const calls = await functions.listCalls(callerOf(req), req.params.functionId, limit);
    return reply.send(calls.map(toCallWire));
  });
}
