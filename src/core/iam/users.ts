/** IAM users and their API keys, as OCI Identity has them; every call authorized by policy. */
import { casUpdate, guardedDelete } from '../crud.js';
import { InvalidParameterError, LimitExceededError, ConflictError, NotFoundError } from '../errors.js';
import { parseRsaPublicKey } from '../identity.js';
import { withRetryToken } from '../idempotency.js';
import { newEtag, newOcid } from '../ids.js';
import type { ApiKey, DefinedTags, Page, Tags, User } from '../models.js';
import { checkDefinedTags, checkFreeformTags } from '../validation.js';
import type { IamDeps } from './iam-deps.js';
import {
  checkDescription,
  checkFingerprint,
  checkIamId,
  checkIamName,
  checkTenancyLevel,
  iamListQuery,
  requireTenancyScope,
  type IamListInput,
} from './iam-writes.js';
import type { Principal } from './principal.js';

/** OCI allows three API keys per user. */
export const MAX_API_KEYS_PER_USER = 3;
const USER_NAME_RE = /^[A-Za-z0-9._+@-]+$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export interface CreateUserInput {
  compartmentId?: string;
  name?: string;
  description?: string;
  email?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateUserInput {
  description?: string;
  email?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

function checkEmail(email: string | undefined): string | null {
  if (email === undefined || email === '') return null;
  if (email.length > 320 || !EMAIL_RE.test(email)) throw new InvalidParameterError(`The email address "${email}" is not valid.`);
  return email;
}

export class UserService {
  constructor(private readonly deps: IamDeps) {}

  async create(caller: Principal, input: CreateUserInput, retryToken?: string): Promise<User> {
    const { tenancyId } = caller;
    checkTenancyLevel(tenancyId, input.compartmentId, 'Users');
    await this.deps.authz.require(caller, 'CreateUser', tenancyId);
    const name = checkIamName(input.name, 'user', USER_NAME_RE);
    const description = checkDescription(input.description, 'user', true);
    const email = checkEmail(input.email);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    return withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: 'createUser', request: input }, async () => {
      const user: User = {
        id: newOcid('user'),
        tenancyId,
        name,
        description,
        email,
        lifecycleState: 'ACTIVE',
        etag: newEtag(),
        freeformTags,
        definedTags,
        createdAt: this.deps.now(),
      };
      await this.deps.identity.insertUser(user);
      return user;
    }, this.deps.now);
  }

  /** A user may always read themself; anyone else needs inspect users. */
  async get(caller: Principal, id: string): Promise<User> {
    if (id !== caller.userId) await this.authorize(caller, 'GetUser', id);
    return this.load(caller.tenancyId, id);
  }

  async list(caller: Principal, compartmentId: string | undefined, input: IamListInput): Promise<Page<User>> {
    requireTenancyScope(caller.tenancyId, compartmentId);
    await this.deps.authz.require(caller, 'ListUsers', caller.tenancyId);
    const q = iamListQuery(caller.tenancyId, input);
    return q === null ? { items: [], nextOffset: null } : this.deps.identity.listUsers(q);
  }

  async update(caller: Principal, id: string, input: UpdateUserInput, ifMatch?: string): Promise<User> {
    await this.authorize(caller, 'UpdateUser', id);
    const description = input.description === undefined ? undefined : checkDescription(input.description, 'user', false);
    const email = input.email === undefined ? undefined : checkEmail(input.email);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    return casUpdate({
      what: 'User',
      id,
      ifMatch,
      load: () => this.loadLive(caller.tenancyId, id),
      change: (cur) => ({
        ...cur,
        description: description ?? cur.description,
        email: email === undefined ? cur.email : email,
        freeformTags: freeformTags ?? cur.freeformTags,
        definedTags: definedTags ?? cur.definedTags,
      }),
      replace: (next, etag) => this.deps.identity.replaceUser(next, etag),
    });
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    await this.authorize(caller, 'DeleteUser', id);
    if (id === caller.userId) throw new ConflictError('A user cannot delete themself.');
    const current = await this.loadLive(caller.tenancyId, id);
    await guardedDelete({
      what: 'User',
      id,
      ifMatch,
      current,
      remove: (etag) => this.deps.identity.deleteUser(caller.tenancyId, id, etag, this.deps.now()),
    });
    this.deps.accessChanged(caller.tenancyId);
  }

  // --- API keys: a user manages their own without any policy, as in OCI ---

  async uploadApiKey(caller: Principal, userId: string, pem: string | undefined, retryToken?: string): Promise<ApiKey> {
    if (userId !== caller.userId) await this.authorize(caller, 'UploadApiKey', userId);
    if (typeof pem !== 'string' || pem === '') throw new InvalidParameterError('The key (a PEM public key) is required.');
    const parsed = parseRsaPublicKey(pem);
    const { tenancyId } = caller;
    return withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: `uploadApiKey:${userId}`, request: { key: pem } }, async () => {
      await this.loadLive(tenancyId, userId);
      const key: ApiKey = { tenancyId, userId, fingerprint: parsed.fingerprint, publicKeyPem: parsed.spkiPem, createdAt: this.deps.now() };
      const result = await this.deps.identity.insertApiKeyLimited(key, MAX_API_KEYS_PER_USER);
      if (result === 'duplicate') throw new ConflictError(`An API key with fingerprint ${key.fingerprint} is already registered for this user.`);
      if (result === 'limit') {
        throw new LimitExceededError(`A user may have at most ${MAX_API_KEYS_PER_USER} API keys; delete one before uploading another.`);
      }
      return key;
    }, this.deps.now);
  }

  async listApiKeys(caller: Principal, userId: string): Promise<ApiKey[]> {
    if (userId !== caller.userId) await this.authorize(caller, 'ListApiKeys', userId);
    await this.loadLive(caller.tenancyId, userId);
    return this.deps.directory.listApiKeys(caller.tenancyId, userId);
  }

  /** Revokes the key: it signs nothing from the moment this returns on this node, within seconds on others. */
  async deleteApiKey(caller: Principal, userId: string, fingerprint: string): Promise<void> {
    if (userId !== caller.userId) await this.authorize(caller, 'DeleteApiKey', userId);
    await this.loadLive(caller.tenancyId, userId);
    checkFingerprint(fingerprint);
    if (!(await this.deps.identity.deleteApiKey(caller.tenancyId, userId, fingerprint))) throw new NotFoundError('ApiKey', fingerprint);
    this.deps.accessChanged(caller.tenancyId);
  }

  /**
   * OCI's CreateOrResetUIPassword: a new console password, shown once. A user may reset their own;
   * anyone else needs manage users. The console signs the user in under their IAM name.
   */
  async resetUiPassword(caller: Principal, userId: string): Promise<{ user: User; password: string; at: number }> {
    if (userId !== caller.userId) await this.authorize(caller, 'CreateOrResetUIPassword', userId);
    const user = await this.loadLive(caller.tenancyId, userId);
    const result = await this.deps.consolePasswords.reset(user);
    if (!result.ok) throw new ConflictError(`The console sign-in name "${user.name}" belongs to a user of another tenancy; rename is not possible, so create a user with another name.`);
    return { user, password: result.password, at: this.deps.now() };
  }

  private async authorize(
    caller: Principal,
    op: 'GetUser' | 'UpdateUser' | 'DeleteUser' | 'UploadApiKey' | 'ListApiKeys' | 'DeleteApiKey' | 'CreateOrResetUIPassword',
    id: string,
  ): Promise<void> {
    checkIamId(id, 'user', 'User');
    const user = await this.deps.identity.getUser(caller.tenancyId, id);
    const target: Record<string, string> = { 'target.user.id': id };
    if (user !== undefined) target['target.user.name'] = user.name;
    await this.deps.authz.require(caller, op, caller.tenancyId, { target, refusal: () => new NotFoundError('User', id) });
  }

  private async load(tenancyId: string, id: string): Promise<User> {
    checkIamId(id, 'user', 'User');
    const user = await this.deps.identity.getUser(tenancyId, id);
    if (user === undefined) throw new NotFoundError('User', id);
    return user;
  }

  private async loadLive(tenancyId: string, id: string): Promise<User> {
    const user = await this.load(tenancyId, id);
    if (user.lifecycleState !== 'ACTIVE') throw new NotFoundError('User', id);
    return user;
  }
}
