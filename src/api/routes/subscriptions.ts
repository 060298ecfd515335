import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../context.js';
import { pageRequest, sendPage } from '../paging.js';
import { HERALD_PREFIX, OCI_PREFIX } from '../prefixes.js';
import { header, parseJson, query } from '../request.js';
import {
  createSubscriptionDetails,
  toSubscription,
  toSubscriptionSummary,
  toUpdateSubscriptionDetails,
  updateSubscriptionDetails,
} from '../wire/subscriptions.js';
import { changeCompartmentDetails } from '../wire/topics.js';

type ById = { Params: { subscriptionId: string } };

export function registerSubscriptionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { subscriptions } = deps;

  app.post(`${OCI_PREFIX}/subscriptions`, async (req, reply) => {
    const details = parseJson(req, createSubscriptionDetails, 'CreateSubscriptionDetails');
    const sub = await subscriptions.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', sub.etag).send(toSubscription(sub));
  });

  app.get(`${OCI_PREFIX}/subscriptions`, async (req, reply) => {
    const q = query(req);
    const paging = pageRequest(q);
    const page = await subscriptions.list(callerOf(req), { compartmentId: q.compartmentId, topicId: q.topicId, ...paging });
    return sendPage(reply, page, toSubscriptionSummary);
  });

  app.get<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId`, async (req, reply) => {
    const sub = await subscriptions.get(callerOf(req), req.params.subscriptionId);
    return reply.header('etag', sub.etag).send(toSubscription(sub));
  });

  app.put<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId`, async (req, reply) => {
    const details = parseJson(req, updateSubscriptionDetails, 'UpdateSubscriptionDetails');
    const sub = await subscriptions.update(
      callerOf(req),
      req.params.subscriptionId,
      {
        maxRetryDurationMs: details.deliveryPolicy?.backoffRetryPolicy?.maxRetryDuration,
        freeformTags: details.freeformTags,
        definedTags: details.definedTags,
      },
      header(req, 'if-match'),
    );
    return reply.header('etag', sub.etag).send(toUpdateSubscriptionDetails(sub));
  });

  app.delete<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId`, async (req, reply) => {
    await subscriptions.delete(callerOf(req), req.params.subscriptionId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId/actions/changeCompartment`, async (req, reply) => {
    const details = parseJson(req, changeCompartmentDetails, 'ChangeCompartmentDetails');
    await subscriptions.changeCompartment(
      callerOf(req),
      req.params.subscriptionId,
      details.compartmentId,
      header(req, 'if-match'),
      header(req, 'opc-retry-token'),
    );
    return reply.status(200).send();
  });

  app.post<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId/resendConfirmation`, async (req, reply) => {
    const sub = await subscriptions.resendConfirmation(callerOf(req), req.params.subscriptionId);
    return reply.header('etag', sub.etag).send(toSubscription(sub));
  });

  // Herald's own: hands the owner the live confirmation link, for automation that cannot click.
  app.get<ById>(`${HERALD_PREFIX}/subscriptions/:subscriptionId/confirmation-link`, async (req) => {
    const sub = await subscriptions.get(callerOf(req), req.params.subscriptionId);
    return {
      subscriptionId: sub.id,
      lifecycleState: sub.lifecycleState,
      confirmationUrl: sub.lifecycleState === 'PENDING' ? deps.links.confirmationUrl(sub) : null,
      expiresAt: sub.confirmationExpiresAt === null ? null : new Date(sub.confirmationExpiresAt).toISOString(),
    };
  });
}
