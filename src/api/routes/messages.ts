import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, type ApiDeps } from '../context.js';
import { OCI_PREFIX } from '../prefixes.js';
import { header, parseJson } from '../request.js';

const messageDetails = z.object({ title: z.string().optional(), body: z.string() });

export function registerMessageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId/messages`, {
    // Refused before the signature check: under overload a 429 must cost next to nothing,
    // or clients ignoring Retry-After would take the CPU the deliveries need.
    onRequest: async () => deps.messages.checkBackpressure(),
  }, async (req, reply) => {
    const details = parseJson(req, messageDetails, 'MessageDetails');
    // messageType is a request header in the SDKs, not a query parameter.
    const result = await deps.messages.publish(callerOf(req), req.params.topicId, details, header(req, 'messagetype'));
    return reply.status(202).send({ messageId: result.messageId, timeStamp: new Date(result.publishedAt).toISOString() });
  });
}
