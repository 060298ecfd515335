import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../../context.js';
import { pageRequest, sendPage } from '../../paging.js';
import { IDENTITY_PREFIX } from '../../prefixes.js';
import { header, parseJson } from '../../request.js';
import { addUserToGroupDetails, createGroupDetails, toGroup, toMembership, updateGroupDetails } from '../../wire/identity.js';
import { rawQuery } from './identity-request.js';

/** OCI Identity: groups and user-group memberships. */
export function registerGroupRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { groups } = deps.iam;
  const base = `${IDENTITY_PREFIX}/groups`;
  const memberships = `${IDENTITY_PREFIX}/userGroupMemberships`;

  app.post(base, async (req, reply) => {
    const details = parseJson(req, createGroupDetails, 'CreateGroupDetails');
    const group = await groups.create(callerOf(req), details, header(req, 'opc-retry-token'));
    return reply.header('etag', group.etag).send(toGroup(group));
  });

  app.get(base, async (req, reply) => {
    const q = rawQuery(req);
    const page = await groups.list(callerOf(req), q.compartmentId, { ...pageRequest(q, 'page-first'), name: q.name, lifecycleState: q.lifecycleState, sortBy: q.sortBy, sortOrder: q.sortOrder });
    return sendPage(reply, page, toGroup);
  });

  app.get<{ Params: { groupId: string } }>(`${base}/:groupId`, async (req, reply) => {
    const group = await groups.get(callerOf(req), req.params.groupId);
    return reply.header('etag', group.etag).send(toGroup(group));
  });

  app.put<{ Params: { groupId: string } }>(`${base}/:groupId`, async (req, reply) => {
    const details = parseJson(req, updateGroupDetails, 'UpdateGroupDetails');
    const group = await groups.update(callerOf(req), req.params.groupId, details, header(req, 'if-match'));
    return reply.header('etag', group.etag).send(toGroup(group));
  });

  app.delete<{ Params: { groupId: string } }>(`${base}/:groupId`, async (req, reply) => {
    await groups.delete(callerOf(req), req.params.groupId, header(req, 'if-match'));
    return reply.status(204).send();
  });

  app.post(memberships, async (req, reply) => {
    const details = parseJson(req, addUserToGroupDetails, 'AddUserToGroupDetails');
    const m = await groups.addUser(callerOf(req), details.userId, details.groupId, header(req, 'opc-retry-token'));
    return reply.header('etag', m.id).send(toMembership(m));
  });

  app.get(memberships, async (req, reply) => {
    const q = rawQuery(req);
    const page = await groups.listMemberships(callerOf(req), { ...pageRequest(q, 'page-first'), compartmentId: q.compartmentId, userId: q.userId, groupId: q.groupId });
    return sendPage(reply, page, toMembership);
  });

  app.get<{ Params: { membershipId: string } }>(`${memberships}/:membershipId`, async (req, reply) => {
    const m = await groups.getMembership(callerOf(req), req.params.membershipId);
    return reply.header('etag', m.id).send(toMembership(m));
  });

  app.delete<{ Params: { membershipId: string } }>(`${memberships}/:membershipId`, async (req, reply) => {
    await groups.removeUser(callerOf(req), req.params.membershipId);
    return reply.status(204).send();
  });
}
