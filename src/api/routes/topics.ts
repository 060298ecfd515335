import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../context.js';
import { pageRequest, sendPage } from '../paging.js';
import { OCI_PREFIX } from '../prefixes.js';
import { header, parseJson, query } from '../request.js';
import { changeCompartmentDetails, createTopicDetails, toNotificationTopic, topicAttributesDetails } from '../wire/topics.js';

export function registerTopicRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { topics } = deps;
  const wire = (t: Parameters<typeof toNotificationTopic>[0]) => toNotificationTopic(t, deps.publicUrl());

  app.post(`${OCI_PREFIX}/topics`, async (req, reply) => {
    const details = parseJson(req, createTopicDetails, 'CreateTopicDetails');
    const topic = await topics.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', topic.etag).send(wire(topic));
  });

  app.get(`${OCI_PREFIX}/topics`, async (req, reply) => {
    const q = query(req);
    const paging = pageRequest(q);
    const page = await topics.list(callerOf(req), {
      compartmentId: q.compartmentId,
      id: q.id,
      name: q.name,
      lifecycleState: q.lifecycleState,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      ...paging,
    });
    return sendPage(reply, page, wire, paging);
  });

  app.get<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId`, async (req, reply) => {
    const topic = await topics.get(callerOf(req), req.params.topicId);
    return reply.header('etag', topic.etag).send(wire(topic));
  });

  app.put<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId`, async (req, reply) => {
    const details = parseJson(req, topicAttributesDetails, 'TopicAttributesDetails');
    const topic = await topics.update(callerOf(req), req.params.topicId, details, header(req, 'if-match'));
    return reply.header('etag', topic.etag).send(wire(topic));
  });

  app.delete<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId`, async (req, reply) => {
    await topics.delete(callerOf(req), req.params.topicId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post<{ Params: { topicId: string } }>(`${OCI_PREFIX}/topics/:topicId/actions/changeCompartment`, async (req, reply) => {
    const details = parseJson(req, changeCompartmentDetails, 'ChangeCompartmentDetails');
    await topics.changeCompartment(callerOf(req), req.params.topicId, details.compartmentId, header(req, 'if-match'), header(req, 'opc-retry-token'));
    return reply.status(200).send();
  });
}
