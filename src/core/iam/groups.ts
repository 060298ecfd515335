/** IAM groups and user-group memberships; every call authorized by policy. */
import { casUpdate, guardedDelete } from '../crud.js';
import { InvalidParameterError, MissingParameterError, NotFoundError, RelatedResourceNotFoundError } from '../errors.js';
import { withRetryToken } from '../idempotency.js';
import { newEtag, newOcid } from '../ids.js';
import type { DefinedTags, Page, Tags } from '../models.js';
import { checkDefinedTags, checkFreeformTags } from '../validation.js';
import type { IamDeps } from './iam-deps.js';
import { checkDescription, checkIamId, checkIamName, checkTenancyLevel, iamListQuery, requireTenancyScope, type IamListInput } from './iam-writes.js';
import type { Group, Membership } from './models.js';
import type { Principal } from './principal.js';

const GROUP_NAME_RE = /^[A-Za-z0-9._-]+$/;

export interface CreateGroupInput {
  compartmentId?: string;
  name?: string;
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateGroupInput {
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

type GroupOp = 'GetGroup' | 'UpdateGroup' | 'DeleteGroup';

export class GroupService {
  constructor(private readonly deps: IamDeps) {}

  async create(caller: Principal, input: CreateGroupInput, retryToken?: string): Promise<Group> {
    const { tenancyId } = caller;
    checkTenancyLevel(tenancyId, input.compartmentId, 'Groups');
    await this.deps.authz.require(caller, 'CreateGroup', tenancyId);
    const name = checkIamName(input.name, 'group', GROUP_NAME_RE);
    const description = checkDescription(input.description, 'group', true);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    return withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: 'createGroup', request: input }, async () => {
      const group: Group = {
        id: newOcid('group'),
        tenancyId,
        name,
        description,
        lifecycleState: 'ACTIVE',
        etag: newEtag(),
        freeformTags,
        definedTags,
        createdAt: this.deps.now(),
      };
      await this.deps.identity.insertGroup(group);
      return group;
    }, this.deps.now);
  }

  async get(caller: Principal, id: string): Promise<Group> {
    await this.authorize(caller, 'GetGroup', id);
    return this.load(caller.tenancyId, id);
  }

  async list(caller: Principal, compartmentId: string | undefined, input: IamListInput): Promise<Page<Group>> {
    requireTenancyScope(caller.tenancyId, compartmentId);
    await this.deps.authz.require(caller, 'ListGroups', caller.tenancyId);
    const q = iamListQuery(caller.tenancyId, input);
    return q === null ? { items: [], nextOffset: null } : this.deps.identity.listGroups(q);
  }

  async update(caller: Principal, id: string, input: UpdateGroupInput, ifMatch?: string): Promise<Group> {
    await this.authorize(caller, 'UpdateGroup', id);
    const description = input.description === undefined ? undefined : checkDescription(input.description, 'group', false);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    return casUpdate({
      what: 'Group',
      id,
      ifMatch,
      load: () => this.loadLive(caller.tenancyId, id),
      change: (cur) => ({
        ...cur,
        description: description ?? cur.description,
        freeformTags: freeformTags ?? cur.freeformTags,
        definedTags: definedTags ?? cur.definedTags,
      }),
      replace: (next, etag) => this.deps.identity.replaceGroup(next, etag),
    });
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    await this.authorize(caller, 'DeleteGroup', id);
    const current = await this.loadLive(caller.tenancyId, id);
    await guardedDelete({
      what: 'Group',
      id,
      ifMatch,
      current,
      remove: (etag) => this.deps.identity.deleteGroup(caller.tenancyId, id, etag, this.deps.now()),
    });
    this.deps.accessChanged(caller.tenancyId);
  }

  // --- memberships ---

  async addUser(caller: Principal, userId: string | undefined, groupId: string | undefined, retryToken?: string): Promise<Membership> {
    if (userId === undefined || userId === '') throw new MissingParameterError('userId');
    if (groupId === undefined || groupId === '') throw new MissingParameterError('groupId');
    const { tenancyId } = caller;
    await this.deps.authz.require(caller, 'AddUserToGroup', tenancyId, { target: await this.targetOf(caller, userId, groupId) });
    return withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: 'addUserToGroup', request: { userId, groupId } }, async () => {
      const m: Membership = { id: newOcid('groupmembership'), tenancyId, userId, groupId, lifecycleState: 'ACTIVE', createdAt: this.deps.now() };
      const outcome = await this.deps.identity.insertMembership(m);
      if (outcome.result === 'missing') {
        const user = await this.deps.identity.getUser(tenancyId, userId);
        throw user?.lifecycleState === 'ACTIVE' ? new RelatedResourceNotFoundError('Group', groupId) : new RelatedResourceNotFoundError('User', userId);
      }
      this.deps.accessChanged(tenancyId);
      // Adding a member twice is not an error in OCI's console; answer with the live membership.
      return outcome.result === 'exists' ? outcome.existing : m;
    }, this.deps.now);
  }

  async getMembership(caller: Principal, id: string): Promise<Membership> {
    checkIamId(id, 'groupmembership', 'UserGroupMembership');
    const m = await this.deps.identity.getMembership(caller.tenancyId, id);
    if (m === undefined) throw new NotFoundError('UserGroupMembership', id);
    await this.deps.authz.require(caller, 'GetUserGroupMembership', caller.tenancyId, {
      target: await this.targetOf(caller, m.userId, m.groupId),
      refusal: () => new NotFoundError('UserGroupMembership', id),
    });
    return m;
  }

  async listMemberships(
    caller: Principal,
    input: { compartmentId?: string; userId?: string; groupId?: string; offset: number; limit: number },
  ): Promise<Page<Membership>> {
    requireTenancyScope(caller.tenancyId, input.compartmentId);
    if (input.userId === undefined && input.groupId === undefined) throw new InvalidParameterError('Give userId, groupId or both.');
    // Anyone may list their own groups (the console shows a person theirs); others need inspect users + groups.
    if (input.userId !== caller.userId || input.groupId !== undefined) {
      await this.deps.authz.require(caller, 'ListUserGroupMemberships', caller.tenancyId);
    }
    return this.deps.identity.listMemberships({ tenancyId: caller.tenancyId, userId: input.userId, groupId: input.groupId, offset: input.offset, limit: input.limit });
  }

  async removeUser(caller: Principal, membershipId: string): Promise<void> {
    checkIamId(membershipId, 'groupmembership', 'UserGroupMembership');
    const m = await this.deps.identity.getMembership(caller.tenancyId, membershipId);
    if (m === undefined || m.lifecycleState !== 'ACTIVE') throw new NotFoundError('UserGroupMembership', membershipId);
    await this.deps.authz.require(caller, 'RemoveUserFromGroup', caller.tenancyId, {
      target: await this.targetOf(caller, m.userId, m.groupId),
      refusal: () => new NotFoundError('UserGroupMembership', membershipId),
    });
    const result = await this.deps.identity.deleteMembership(caller.tenancyId, membershipId);
    if (!result.ok) throw new NotFoundError('UserGroupMembership', membershipId);
    this.deps.accessChanged(caller.tenancyId);
  }

  private async targetOf(caller: Principal, userId: string, groupId: string): Promise<Record<string, string>> {
    const [user, group] = await Promise.all([
      this.deps.identity.getUser(caller.tenancyId, userId),
      this.deps.identity.getGroup(caller.tenancyId, groupId),
    ]);
    const target: Record<string, string> = { 'target.user.id': userId, 'target.group.id': groupId };
    if (user !== undefined) target['target.user.name'] = user.name;
    if (group !== undefined) target['target.group.name'] = group.name;
    return target;
  }

  private async authorize(caller: Principal, op: GroupOp, id: string): Promise<void> {
    checkIamId(id, 'group', 'Group');
    const group = await this.deps.identity.getGroup(caller.tenancyId, id);
    const target: Record<string, string> = { 'target.group.id': id };
    if (group !== undefined) target['target.group.name'] = group.name;
    await this.deps.authz.require(caller, op, caller.tenancyId, { target, refusal: () => new NotFoundError('Group', id) });
  }

  private async load(tenancyId: string, id: string): Promise<Group> {
    checkIamId(id, 'group', 'Group');
    const group = await this.deps.identity.getGroup(tenancyId, id);
    if (group === undefined) throw new NotFoundError('Group', id);
    return group;
  }

  private async loadLive(tenancyId: string, id: string): Promise<Group> {
    const group = await this.load(tenancyId, id);
    if (group.lifecycleState !== 'ACTIVE') throw new NotFoundError('Group', id);
    return group;
  }
}
