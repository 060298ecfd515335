import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../context.js';
import { pageRequest, sendPage } from '../paging.js';
import { OCI_PREFIX } from '../prefixes.js';
import { header, parseJson, query } from '../request.js';
import { changeApplicationCompartmentDetails, createApplicationDetails, toApplicationSummary, toApplicationWire, updateApplicationDetails } from '../wire/functions.js';

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
    const paging = pageRequest(q);
    const page = await applications.list(callerOf(req), q.compartmentId, {
      id: q.id,
      displayName: q.displayName,
      lifecycleState: q.lifecycleState,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      ...paging,
    });
    return sendPage(reply, page, toApplicationSummary);
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
