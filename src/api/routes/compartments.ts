import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, type ApiDeps } from '../context.js';
import { HERALD_PREFIX } from '../prefixes.js';
import { header, parseJson, query } from '../request.js';
import { toApiKey, toCompartment } from '../wire/identity.js';

const createCompartmentBody = z.object({
  name: z.string(),
  description: z.string().optional(),
  compartmentId: z.string().optional(),
});
const addKeyBody = z.object({ key: z.string() });

/**
 * Herald's identity endpoints from before the OCI Identity API. Kept (not redirected: a
 * redirect would break the signature, which covers the path) as aliases of the same services,
 * so they are authorized by the same policies; new clients use /20160918.
 */
export function registerCompartmentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { compartments, users } = deps.iam;

  app.post(`${HERALD_PREFIX}/compartments`, async (req) => {
    const body = parseJson(req, createCompartmentBody, 'CreateCompartmentDetails');
    const caller = callerOf(req);
    const c = await compartments.create(caller, {
      compartmentId: body.compartmentId ?? caller.tenancyId,
      name: body.name,
      description: body.description ?? '',
    }, header(req, 'opc-retry-token'));
    return toCompartment(c);
  });

  app.get(`${HERALD_PREFIX}/compartments`, async (req) => {
    const caller = callerOf(req);
    const page = await compartments.list(caller, query(req).compartmentId ?? caller.tenancyId, { offset: 0, limit: 1000 });
    return page.items.map(toCompartment);
  });

  app.get(`${HERALD_PREFIX}/whoami`, async (req) => callerOf(req));

  app.post<{ Params: { userId: string } }>(`${HERALD_PREFIX}/users/:userId/apiKeys`, async (req) => {
    const body = parseJson(req, addKeyBody, 'CreateApiKeyDetails');
    return toApiKey(await users.uploadApiKey(callerOf(req), req.params.userId, body.key));
  });
}
