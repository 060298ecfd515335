import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, type ApiDeps } from '../context.js';
import { OCI_PREFIX } from '../prefixes.js';
import { header, parseJson } from '../request.js';
import { HeraldError } from '../../core/errors.js';
import { NO_TRACING } from '../../telemetry/tracing.js';

const messageDetails = z.object({ title: z.string().optional(), body: z.string() });

export function registerMessageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const tracing = deps.tracing ?? NO_TRACING;
  app.post<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId/messages`, {
    // Refused, or paced, before the signature check and before the body is read: under overload a 429 must
    // cost next to nothing, or clients ignoring Retry-After would take the CPU the deliveries need, and a
    // publish waiting for its turn holds no body and has spent no CPU.
    onRequest: async () => deps.messages.checkBackpressure(),
    // Publishes come thousands a second: under load their signature checks go to the verify thread (rsa-check.ts).
    config: { signatureCheckOffLoop: true },
  }, async (req, reply) => {
    // Continues the publisher's trace (W3C traceparent; an invalid one starts a new trace). The span's own
    // traceparent is stored with the message, so the deliveries made later join the same trace.
    const span = tracing.startSpan('publish', {
      kind: 'producer',
      parent: header(req, 'traceparent') ?? null,
      attributes: {
        'messaging.system': 'herald',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': req.params.topicId,
        'http.request.method': 'POST',
        'http.route': `${OCI_PREFIX}/topics/{topicId}/messages`,
      },
    });
    try {
      const details = parseJson(req, messageDetails, 'MessageDetails');
      // messageType is a request header in the SDKs, not a query parameter.
      const caller = callerOf(req);
      const result = await deps.messages.publish(caller, req.params.topicId, details, header(req, 'messagetype'), {
        traceParent: span.traceParent,
      });
      span.setAttributes({ 'messaging.message.id': result.messageId, 'herald.tenancy.id': caller.tenancyId, 'http.response.status_code': 202 });
      return reply.status(202).send({ messageId: result.messageId, timeStamp: new Date(result.publishedAt).toISOString() });
    } catch (err) {
      span.setAttributes({ 'error.type': err instanceof HeraldError ? err.code : 'InternalServerError' });
      span.fail(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      span.end();
    }
  });
}
