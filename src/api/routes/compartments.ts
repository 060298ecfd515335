import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerOf, HERALD_PREFIX, type ApiDeps } from '../http-server.js';
import { parseJson, query } from '../request.js';
import { addApiKey, createCompartment, listCompartments } from '../../core/identity.js';
import type { Compartment } from '../../core/models.js';

const createCompartmentBody = z.object({
  name: z.string(),
  description: z.string().optional(),
  compartmentId: z.string().optional(),
});
const addKeyBody = z.object({ key: z.string() });

function wireCompartment(c: Compartment): Record<string, unknown> {
  return {
    id: c.id,
    compartmentId: c.parentId,
    name: c.name,
    description: c.description,
    lifecycleState: c.lifecycleState,
    timeCreated: new Date(c.createdAt).toISOString(),
  };
}

/** Herald's own identity endpoints: compartments and API keys, shaped like OCI Identity's models. */
export function registerCompartmentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post(`${HERALD_PREFIX}/compartments`, async (req) => {
    const body = parseJson(req, createCompartmentBody, 'CreateCompartmentDetails');
    const { tenancyId } = callerOf(req);
    const c = await createCompartment(deps.store, tenancyId, body.compartmentId ?? tenancyId, body.name, body.description ?? '');
    return wireCompartment(c);
  });

  app.get(`${HERALD_PREFIX}/compartments`, async (req) => {
    const { tenancyId } = callerOf(req);
    const parent = query(req).compartmentId ?? tenancyId;
    return (await listCompartments(deps.store, tenancyId, parent)).map(wireCompartment);
  });

  app.get(`${HERALD_PREFIX}/whoami`, async (req) => callerOf(req));

  app.post<{ Params: { userId: string } }>(`${HERALD_PREFIX}/users/:userId/apiKeys`, async (req) => {
    const body = parseJson(req, addKeyBody, 'CreateApiKeyDetails');
    const key = await addApiKey(deps.store, callerOf(req).tenancyId, req.params.userId, body.key);
    return { keyId: `${key.tenancyId}/${key.userId}/${key.fingerprint}`, fingerprint: key.fingerprint, userId: key.userId, timeCreated: new Date(key.createdAt).toISOString() };
  });
}
