import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../../context.js';
import { pageRequest, sendPage } from '../../paging.js';
import { IDENTITY_PREFIX } from '../../prefixes.js';
import { header, parseJson } from '../../request.js';
import { createApiKeyDetails, createUserDetails, toApiKey, toUser, updateUserDetails } from '../../wire/identity.js';
import { rawQuery } from './identity-request.js';

type ById = { Params: { userId: string } };

/** OCI Identity: users and their API keys. */
export function registerUserRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { users } = deps.iam;
  const base = `${IDENTITY_PREFIX}/users`;

  app.post(base, async (req, reply) => {
    const details = parseJson(req, createUserDetails, 'CreateUserDetails');
    const user = await users.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', user.etag).send(toUser(user));
  });

  app.get(base, async (req, reply) => {
    const q = rawQuery(req);
    const page = await users.list(callerOf(req), q.compartmentId, { ...pageRequest(q, 'page-first'), name: q.name, lifecycleState: q.lifecycleState, sortBy: q.sortBy, sortOrder: q.sortOrder });
    return sendPage(reply, page, toUser);
  });

  app.get<ById>(`${base}/:userId`, async (req, reply) => {
    const user = await users.get(callerOf(req), req.params.userId);
    return reply.header('etag', user.etag).send(toUser(user));
  });

  app.put<ById>(`${base}/:userId`, async (req, reply) => {
    const details = parseJson(req, updateUserDetails, 'UpdateUserDetails');
    const user = await users.update(callerOf(req), req.params.userId, details, header(req, 'if-match'));
    return reply.header('etag', user.etag).send(toUser(user));
  });

  app.delete<ById>(`${base}/:userId`, async (req, reply) => {
    await users.delete(callerOf(req), req.params.userId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post<ById>(`${base}/:userId/uiPassword`, async (req, reply) => {
    const { user, password, at } = await users.resetUiPassword(callerOf(req), req.params.userId);
    return reply.send({ password, userId: user.id, timeCreated: new Date(at).toISOString(), lifecycleState: 'ACTIVE' });
  });

  app.post<ById>(`${base}/:userId/apiKeys`, async (req, reply) => {
    const details = parseJson(req, createApiKeyDetails, 'CreateApiKeyDetails');
    const key = await users.uploadApiKey(callerOf(req), req.params.userId, details.key, header(req, 'opc-retry-token'));
    return reply.header('etag', key.fingerprint).send(toApiKey(key));
  });

  // No opc-next-page here ever: listApiKeys has no page parameter, so the SDK's iterator would loop forever.
  app.get<ById>(`${base}/:userId/apiKeys`, async (req, reply) => {
    const keys = await users.listApiKeys(callerOf(req), req.params.userId);
    return reply.send(keys.map(toApiKey));
  });

  app.delete<{ Params: { userId: string; fingerprint: string } }>(`${base}/:userId/apiKeys/:fingerprint`, async (req, reply) => {
    await users.deleteApiKey(callerOf(req), req.params.userId, req.params.fingerprint);
    return reply.status(204).send();
  });
}
