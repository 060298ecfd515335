import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../../context.js';
import { pageRequest, sendPage } from '../../paging.js';
import { IDENTITY_PREFIX } from '../../prefixes.js';
import { header, parseJson } from '../../request.js';
import { createPolicyDetails, toPolicy, updatePolicyDetails } from '../../wire/identity.js';
import { rawQuery } from './identity-request.js';

/** OCI Identity: policies. */
export function registerPolicyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { policies } = deps.iam;
  const base = `${IDENTITY_PREFIX}/policies`;

  app.post(base, async (req, reply) => {
    const details = parseJson(req, createPolicyDetails, 'CreatePolicyDetails');
    const p = await policies.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', p.etag).send(toPolicy(p));
  });

  app.get(base, async (req, reply) => {
    const q = rawQuery(req);
    const page = await policies.list(callerOf(req), q.compartmentId, { ...pageRequest(q, 'page-first'), name: q.name, lifecycleState: q.lifecycleState, sortBy: q.sortBy, sortOrder: q.sortOrder });
    return sendPage(reply, page, toPolicy);
  });

  app.get<{ Params: { policyId: string } }>(`${base}/:policyId`, async (req, reply) => {
    const p = await policies.get(callerOf(req), req.params.policyId);
    return reply.header('etag', p.etag).send(toPolicy(p));
  });

  app.put<{ Params: { policyId: string } }>(`${base}/:policyId`, async (req, reply) => {
    const details = parseJson(req, updatePolicyDetails, 'UpdatePolicyDetails');
    const p = await policies.update(callerOf(req), req.params.policyId, details, header(req, 'if-match'));
    return reply.header('etag', p.etag).send(toPolicy(p));
  });

  app.delete<{ Params: { policyId: string } }>(`${base}/:policyId`, async (req, reply) => {
    await policies.delete(callerOf(req), req.params.policyId, header(req, 'if-match'));
    return reply.status(204).send();
  });
}
