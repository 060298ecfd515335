import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, type ApiDeps } from '../context.js';
import { limitOnly, pageRequest, sendPage } from '../paging.js';
import { HERALD_PREFIX } from '../prefixes.js';
import { parseJson, query } from '../request.js';
import type { Delivery, DeliveryAttempt } from '../../core/deliveries.js';
import { InvalidParameterError } from '../../core/errors.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function wireAttempt(a: DeliveryAttempt): Record<string, unknown> {
  return {
    attempt: a.attemptNo,
    timeStarted: iso(a.startedAt),
    durationMs: a.durationMs,
    outcome: a.outcome,
    statusCode: a.statusCode,
    reply: a.reply,
    error: a.error,
    responseExcerpt: a.responseExcerpt,
    node: a.node,
  };
}

function wireDelivery(d: Delivery): Record<string, unknown> {
  return {
    id: String(d.id),
    kind: d.kind,
    subscriptionId: d.subscriptionId,
    topicId: d.topicId,
    messageId: d.messageId,
    protocol: d.protocol,
    state: d.state,
    attempts: d.attempts,
    // While PENDING this is when the next retry is due; IN_FLIGHT: when the lease runs out.
    timeNextAttempt: d.state === 'PENDING' || d.state === 'IN_FLIGHT' ? iso(d.nextAttemptAt) : null,
    timeWindowStart: iso(d.windowStartAt),
    lastError: d.lastError,
    lastStatus: d.lastStatus,
    timeDelivered: iso(d.deliveredAt),
    timeCreated: iso(d.createdAt),
    timeUpdated: iso(d.updatedAt),
  };
}

const redriveBody = z.object({
  deliveryIds: z.array(z.union([z.string(), z.number()])).max(1000).optional(),
  topicId: z.string().optional(),
  subscriptionId: z.string().optional(),
});

/** Herald's own delivery endpoints: the per-message trace, dead letters and their re-drive, the dev mailbox. */
export function registerDeliveryRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { activity } = deps;

  app.get<{ Params: { messageId: string } }>(`${HERALD_PREFIX}/messages/:messageId`, async (req) => {
    const { message, deliveries } = await activity.trace(callerOf(req), req.params.messageId);
    return {
      id: message.id,
      topicId: message.topicId,
      title: message.title,
      body: message.body,
      messageType: message.messageType,
      timePublished: iso(message.publishedAt),
      deliveries: deliveries.map(({ delivery, attempts, endpoint }) => ({
        ...wireDelivery(delivery),
        endpoint,
        attemptHistory: attempts.map(wireAttempt),
      })),
    };
  });

  app.get(`${HERALD_PREFIX}/deadLetters`, async (req, reply) => {
    const q = query(req);
    const paging = pageRequest(q);
    const page = await activity.deadLetters(callerOf(req), { topicId: q.topicId, subscriptionId: q.subscriptionId }, paging);
    return sendPage(reply, page, wireDelivery);
  });

  app.post(`${HERALD_PREFIX}/deadLetters/actions/redrive`, async (req) => {
    const body = parseJson(req, redriveBody, 'RedriveDetails');
    const deliveryIds = body.deliveryIds?.map((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidParameterError(`deliveryIds: ${String(v)} is not a delivery id.`);
      return n;
    });
    const redriven = await activity.redrive(callerOf(req), { deliveryIds, topicId: body.topicId, subscriptionId: body.subscriptionId });
    deps.wakeDelivery();
    return { redriven };
  });

  app.get(`${HERALD_PREFIX}/mailbox`, async (req) => {
    const q = query(req);
    const mails = await activity.mailbox(callerOf(req), limitOnly(q), q.to);
    return mails.map((m) => ({ id: String(m.id), from: m.from, to: m.to, subject: m.subject, text: m.text, headers: m.headers, timeCreated: iso(m.createdAt) }));
  });

  app.get<{ Params: { subscriptionId: string } }>(`${HERALD_PREFIX}/subscriptions/:subscriptionId/signing-secret`, async (req) => {
    const { subscription, secret } = await activity.signingSecret(callerOf(req), req.params.subscriptionId);
    return { subscriptionId: subscription.id, secret, scheme: 'standard-webhooks-v1' };
  });
}
