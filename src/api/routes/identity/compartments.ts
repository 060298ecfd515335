import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../../context.js';
import { pageRequest, sendPage } from '../../paging.js';
import { IDENTITY_PREFIX } from '../../prefixes.js';
import { header, parseJson } from '../../request.js';
import { createCompartmentDetails, toCompartment, toTenancy, updateCompartmentDetails } from '../../wire/identity.js';
import { parseBool, rawQuery } from './identity-request.js';

/** OCI Identity: compartments and the tenancy. */
export function registerIdentityCompartmentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { compartments } = deps.iam;
  const base = `${IDENTITY_PREFIX}/compartments`;

  app.get<{ Params: { tenancyId: string } }>(`${IDENTITY_PREFIX}/tenancies/:tenancyId`, async (req, reply) => {
    return reply.send(toTenancy(await compartments.getTenancy(callerOf(req), req.params.tenancyId)));
  });

  app.post(base, async (req, reply) => {
    const details = parseJson(req, createCompartmentDetails, 'CreateCompartmentDetails');
    const c = await compartments.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', c.etag).send(toCompartment(c));
  });

  app.get(base, async (req, reply) => {
    const q = rawQuery(req);
    const page = await compartments.list(callerOf(req), q.compartmentId, {
      ...pageRequest(q, 'page-first'),
      name: q.name,
      lifecycleState: q.lifecycleState,
      sortBy: q.sortBy,
      sortOrder: q.sortOrder,
      accessLevel: q.accessLevel,
      compartmentIdInSubtree: parseBool(q.compartmentIdInSubtree, 'compartmentIdInSubtree'),
    });
    return sendPage(reply, page, toCompartment);
  });

  app.get<{ Params: { compartmentId: string } }>(`${base}/:compartmentId`, async (req, reply) => {
    const c = await compartments.get(callerOf(req), req.params.compartmentId);
    return reply.header('etag', c.etag).send(toCompartment(c));
  });

  app.put<{ Params: { compartmentId: string } }>(`${base}/:compartmentId`, async (req, reply) => {
    const details = parseJson(req, updateCompartmentDetails, 'UpdateCompartmentDetails');
    const c = await compartments.update(callerOf(req), req.params.compartmentId, details, header(req, 'if-match'));
    return reply.header('etag', c.etag).send(toCompartment(c));
  });

  // OCI answers 202 with a work request; Herald deletes at once, so the id names no real work request.
  app.delete<{ Params: { compartmentId: string } }>(`${base}/:compartmentId`, async (req, reply) => {
    await compartments.delete(callerOf(req), req.params.compartmentId, header(req, 'if-match'));
    return reply.status(204).send();
  });
}
