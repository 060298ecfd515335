import type { FastifyInstance } from 'fastify';
import { callerOf, OCI_PREFIX, type ApiDeps } from '../http-server.js';
import { header, parseJson, query } from '../request.js';
import { changeApplicationCompartmentDetails, createApplicationDetails, toApplicationSummary, toApplicationWire, updateApplicationDetails } from '../wire/functions.js';
import { decodePageToken, encodePageToken, parseLimit } from '../../core/pagination.js';

/** OCI Functions applications, as FunctionsManagementClient calls them. */
export function registerApplicationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { applications } = deps;

  app.post(`${OCI_PREFIX}/applications`, async (req, reply) => {
    const details = parseJson(req, createApplicationDetails, 'CreateApplicationDetails');
    const a = await applications.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', a.etag).send(toApplicationWire(a));
  });

  app.get(`${OCI_PREFIX}/applications`, async (req, reply) => {
    const q = query(req);
    const limit = parseLimit(q.limit);
    const offset = decodePageToken(q.page);
    const page = await applications.list(callerOf(req), q.compartmentId, {
      id: q.id,
      displayName: q.displayName,
      lifecycleState: q.lifecycleState,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      offset,
      limit,
    });
    if (page.nextOffset !== null) reply.header('opc-next-page', encodePageToken(page.nextOffset));
    // The SDK requires a bare array here.
    return reply.send(page.items.map(toApplicationSummary));
  });

  app.get<{ Params: { applicationId: string } }>(`${OCI_PREFIX}/applications/:applicationId`, async (req, reply) => {
    const a = await applications.get(callerOf(req), req.params.applicationId);
    return reply.header('etag', a.etag).send(toApplicationWire(a));
  });

  app.put<{ Params: { applicationId: string } }>(`${OCI_PREFIX}/applications/:applicationId`, async (req, reply) => {
    const details = parseJson(req, updateApplicationDetails, 'UpdateApplicationDetails');
    const a = await applications.update(callerOf(req), req.params.applicationId, details, header(req, 'if-match'));
    return reply.header('etag', a.etag).send(toApplicationWire(a));
  });

  app.delete<{ Params: { applicationId: string } }>(`${OCI_PREFIX}/applications/:applicationId`, async (req, reply) => {
    await applications.delete(callerOf(req), req.params.applicationId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post<{ Params: { applicationId: string } }>(`${OCI_PREFIX}/applications/:applicationId/actions/changeCompartment`, async (req, reply) => {
    const details = parseJson(req, changeApplicationCompartmentDetails, 'ChangeApplicationCompartmentDetails');
    const tenancyId = callerOf(req);
    await applications.changeCompartment(tenancyId, req.params.applicationId, details.compartmentId, header(req, 'if-match'), header(req, 'opc-retry-token'));
    return reply.status(200).send();
  });
}
