import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, type ApiDeps } from '../context.js';
import { HERALD_PREFIX } from '../prefixes.js';
import { pageRequest, sendPage } from '../paging.js';
import { header, parseJson, query } from '../request.js';
import { healthState } from '../../core/endpoint-health.js';
import type { SubscriptionHealth } from '../../core/delivery-control.js';
import { formatDuration } from '../../config/duration.js';

type ById = { Params: { subscriptionId: string } };

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The policy itself is checked by the domain (SNS's language); here only the envelope. */
const filterPolicyBody = z.object({ filterPolicy: z.unknown() }).strict();
const rateLimitBody = z.object({ perSecond: z.unknown() }).strict();
const replayBody = z.object({ since: z.unknown(), until: z.unknown().optional() }).strict();
const testBody = z.object({ filterPolicy: z.unknown(), message: z.unknown() }).strict();

function wireHealth(subscriptionId: string, h: SubscriptionHealth): Record<string, unknown> {
  return {
    subscriptionId,
    state: h.state,
    since: iso(h.since),
    timeFailingSince: iso(h.failingSince),
    timeDisabled: iso(h.disabledAt),
    consecutiveFailures: h.consecutiveFailures,
    lastError: h.lastFailure?.error ?? null,
    lastFailure: h.lastFailure === null ? null : { time: iso(h.lastFailure.at), statusCode: h.lastFailure.statusCode, error: h.lastFailure.error },
    heldDeliveries: h.heldDeliveries,
    disableAfter: formatDuration(h.disableAfterMs),
  };
}

/**
 * Herald's delivery controls on a subscription: filter policy, rate limit, health, enable and
 * replay (signed like every call; the OCI API is untouched). Writes send the subscription's new etag.
 */
export function registerDeliveryControlRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { deliveryControl: control } = deps;
  const base = `${HERALD_PREFIX}/subscriptions/:subscriptionId`;

  app.get<ById>(`${base}/filterPolicy`, async (req) => {
    const policy = await control.getFilterPolicy(callerOf(req), req.params.subscriptionId);
    return { subscriptionId: req.params.subscriptionId, filterPolicy: policy };
  });

  app.put<ById>(`${base}/filterPolicy`, async (req, reply) => {
    const body = parseJson(req, filterPolicyBody, 'FilterPolicyDetails');
    const sub = await control.setFilterPolicy(callerOf(req), req.params.subscriptionId, body.filterPolicy, header(req, 'if-match'));
    return reply.header('etag', sub.etag).send({ subscriptionId: sub.id, filterPolicy: JSON.parse(sub.filterPolicy ?? 'null') as unknown });
  });

  app.delete<ById>(`${base}/filterPolicy`, async (req, reply) => {
    await control.deleteFilterPolicy(callerOf(req), req.params.subscriptionId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post(`${HERALD_PREFIX}/filterPolicy/actions/test`, async (req) => {
    const body = parseJson(req, testBody, 'TestFilterPolicyDetails');
    // Signed like every call, though it reads nothing: it is the console's "does this sample pass" box.
    callerOf(req);
    return { matches: control.testFilterPolicy(body.filterPolicy, body.message) };
  });

  app.get<ById>(`${base}/rateLimit`, async (req) => {
    const perSecond = await control.getRateLimit(callerOf(req), req.params.subscriptionId);
    return { subscriptionId: req.params.subscriptionId, perSecond };
  });

  app.put<ById>(`${base}/rateLimit`, async (req, reply) => {
    const body = parseJson(req, rateLimitBody, 'RateLimitDetails');
    const sub = await control.setRateLimit(callerOf(req), req.params.subscriptionId, body.perSecond, header(req, 'if-match'));
    return reply.header('etag', sub.etag).send({ subscriptionId: sub.id, perSecond: sub.rateLimitPerSecond });
  });

  app.delete<ById>(`${base}/rateLimit`, async (req, reply) => {
    await control.deleteRateLimit(callerOf(req), req.params.subscriptionId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.get<ById>(`${base}/health`, async (req) => {
    return wireHealth(req.params.subscriptionId, await control.health(callerOf(req), req.params.subscriptionId));
  });

  app.get<{ Params: { topicId: string } }>(`${HERALD_PREFIX}/topics/:topicId/subscriptionHealth`, async (req, reply) => {
    const page = await control.topicHealth(callerOf(req), req.params.topicId, pageRequest(query(req)));
    return sendPage(reply, page, (s) => {
      const h = s.health;
      return {
        subscriptionId: s.id,
        state: healthState(h),
        since: iso(h.disabledAt ?? h.failingSince),
        consecutiveFailures: h.consecutiveFailures,
        lastError: h.lastFailure?.error ?? null,
      };
    });
  });

  app.post<ById>(`${base}/actions/enable`, async (req) => {
    return wireHealth(req.params.subscriptionId, await control.enable(callerOf(req), req.params.subscriptionId));
  });

  app.post<ById>(`${base}/actions/replay`, async (req, reply) => {
    const body = parseJson(req, replayBody, 'ReplayDetails');
    const result = await control.replay(callerOf(req), req.params.subscriptionId, body);
    // 202: the deliveries are queued (durably); they go out afterwards, through the rate limit and retries.
    return reply.status(202).send(result);
  });
}
