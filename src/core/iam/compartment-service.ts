/**
 * Compartments and the tenancy, as OCI Identity has them. A compartment "lives
 * in" its parent, so rights over it are checked on the parent (the root, which
 * has none, on itself): `manage compartments in compartment Eng` manages Eng's
 * children, and the grant is inherited further down.
 */
import { requireCompartment } from '../compartments.js';
import { casUpdate, guardedDelete } from '../crud.js';
import { ConflictError, InvalidParameterError, MissingParameterError, NotFoundError } from '../errors.js';
import { withRetryToken } from '../idempotency.js';
import { isOcid, newEtag, newOcid } from '../ids.js';
import type { Compartment, DefinedTags, Page, Tags, Tenancy } from '../models.js';
import { checkDefinedTags, checkFreeformTags } from '../validation.js';
import type { IamDeps } from './iam-deps.js';
import { checkDescription, iamListQuery, type IamListInput } from './iam-writes.js';
import type { Principal } from './principal.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,100}$/;

export interface CreateCompartmentInput {
  compartmentId?: string;
  name?: string;
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateCompartmentInput {
  name?: string;
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface ListCompartmentsInput extends IamListInput {
  accessLevel?: string;
  compartmentIdInSubtree?: boolean;
}

function checkName(name: string | undefined): string {
  if (name === undefined || name === '') throw new MissingParameterError('name');
  if (!NAME_RE.test(name)) throw new InvalidParameterError(`The compartment name "${name}" must be 1 to 100 letters, digits, periods, hyphens or underscores.`);
  return name;
}

const homeOf = (c: Compartment): string => c.parentId ?? c.id;

export class CompartmentService {
  constructor(private readonly deps: IamDeps) {}

  async getTenancy(caller: Principal, tenancyId: string): Promise<Tenancy> {
    if (tenancyId !== caller.tenancyId) throw new NotFoundError('Tenancy', tenancyId);
    await this.deps.authz.require(caller, 'GetTenancy', tenancyId, { refusal: () => new NotFoundError('Tenancy', tenancyId) });
    const t = await this.deps.directory.getTenancy(tenancyId);
    if (t === undefined) throw new NotFoundError('Tenancy', tenancyId);
    return t;
  }

  async create(caller: Principal, input: CreateCompartmentInput, retryToken?: string): Promise<Compartment> {
    const { tenancyId } = caller;
    const parentId = input.compartmentId;
    if (parentId === undefined || parentId === '') throw new MissingParameterError('compartmentId');
    await requireCompartment(this.deps.directory, tenancyId, parentId);
    await this.deps.authz.require(caller, 'CreateCompartment', parentId, { refusal: () => new NotFoundError('Compartment', parentId) });
    const name = checkName(input.name);
    const description = checkDescription(input.description, 'compartment', true);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    const created = await withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: 'createCompartment', request: input }, async () => {
      const siblings = await this.deps.directory.listCompartments(tenancyId, parentId);
      if (siblings.some((c) => c.name === name && c.lifecycleState === 'ACTIVE')) {
        throw new ConflictError(`A compartment named "${name}" already exists in ${parentId}.`);
      }
      const c: Compartment = {
        id: newOcid('compartment'),
        tenancyId,
        parentId,
        name,
        description,
        lifecycleState: 'ACTIVE',
        etag: newEtag(),
        freeformTags,
        definedTags,
        createdAt: this.deps.now(),
      };
      await this.deps.directory.insertCompartment(c);
      return c;
    }, this.deps.now);
    // Policies naming the new compartment by path resolve to it from now on.
    this.deps.accessChanged(tenancyId);
    return created;
  }

  /** DELETED compartments are returned (the SDK's waiter reads them back). */
  async get(caller: Principal, id: string): Promise<Compartment> {
    if (!isOcid(id, 'compartment') && !isOcid(id, 'tenancy')) throw new NotFoundError('Compartment', id);
    const c = await this.deps.identity.getCompartmentAnyState(caller.tenancyId, id);
    if (c === undefined) throw new NotFoundError('Compartment', id);
    await this.deps.authz.require(caller, 'GetCompartment', c.lifecycleState === 'ACTIVE' ? homeOf(c) : caller.tenancyId, {
      refusal: () => new NotFoundError('Compartment', id),
    });
    return c;
  }

  /**
   * Direct children of `compartmentId` (never the compartment itself), or with
   * compartmentIdInSubtree on the tenancy the whole tree below the root. ACCESSIBLE keeps
   * the compartments where the caller may inspect compartments (directly or inherited).
   */
  async list(caller: Principal, compartmentId: string | undefined, input: ListCompartmentsInput): Promise<Page<Compartment>> {
    const { tenancyId } = caller;
    if (compartmentId === undefined || compartmentId === '') throw new MissingParameterError('compartmentId');
    await requireCompartment(this.deps.directory, tenancyId, compartmentId);
    const accessLevel = (input.accessLevel ?? 'ANY').toUpperCase();
    if (accessLevel !== 'ANY' && accessLevel !== 'ACCESSIBLE') throw new InvalidParameterError('accessLevel must be ANY or ACCESSIBLE.');
    if (input.compartmentIdInSubtree === true && compartmentId !== tenancyId) {
      throw new InvalidParameterError('compartmentIdInSubtree is only valid when compartmentId is the tenancy.');
    }
    const q = iamListQuery(tenancyId, input);
    if (q === null) return { items: [], nextOffset: null };
    let found: Compartment[];
    if (input.compartmentIdInSubtree === true) {
      found = (await this.deps.identity.listCompartmentTree(tenancyId)).filter((c) => c.parentId !== null);
    } else {
      await this.deps.authz.require(caller, 'ListCompartments', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
      found = (await this.deps.directory.listCompartments(tenancyId, compartmentId)).filter((c) => c.lifecycleState === 'ACTIVE');
    }
    if (input.compartmentIdInSubtree === true || accessLevel === 'ACCESSIBLE') {
      const allowed = await this.deps.authz.filterAllowed(caller, 'ListCompartments', found.map(homeOf));
      found = found.filter((c) => allowed.has(homeOf(c)));
    }
    if (q.lifecycleState === 'DELETED') found = [];
    if (q.name !== undefined) found = found.filter((c) => c.name === q.name);
    const dir = q.sortOrder === 'ASC' ? 1 : -1;
    found.sort((a, b) =>
      q.sortBy === 'NAME'
        ? dir * (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1)
        : dir * (a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)),
    );
    const items = found.slice(q.offset, q.offset + q.limit);
    return { items, nextOffset: q.offset + q.limit < found.length ? q.offset + q.limit : null };
  }

  async update(caller: Principal, id: string, input: UpdateCompartmentInput, ifMatch?: string): Promise<Compartment> {
    const cur = await this.get(caller, id);
    if (cur.parentId === null) throw new InvalidParameterError('The root compartment (the tenancy) cannot be updated.');
    await this.deps.authz.require(caller, 'UpdateCompartment', homeOf(cur), { refusal: () => new NotFoundError('Compartment', id) });
    const name = input.name === undefined ? undefined : checkName(input.name);
    const description = input.description === undefined ? undefined : checkDescription(input.description, 'compartment', false);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    const updated = await casUpdate({
      what: 'Compartment',
      id,
      ifMatch,
      load: () => this.loadLive(caller.tenancyId, id),
      change: (c) => ({
        ...c,
        name: name ?? c.name,
        description: description ?? c.description,
        freeformTags: freeformTags ?? c.freeformTags,
        definedTags: definedTags ?? c.definedTags,
      }),
      replace: (next, etag) => this.deps.identity.replaceCompartment(next, etag),
    });
    if (name !== undefined) this.deps.accessChanged(caller.tenancyId);
    return updated;
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    const current = await this.loadLive(caller.tenancyId, id);
    if (current.parentId === null) throw new InvalidParameterError('The root compartment (the tenancy) cannot be deleted.');
    await this.deps.authz.require(caller, 'DeleteCompartment', homeOf(current), { refusal: () => new NotFoundError('Compartment', id) });
    await guardedDelete({
      what: 'Compartment',
      id,
      ifMatch,
      current,
      remove: (etag) => this.deps.identity.deleteCompartment(caller.tenancyId, id, etag, this.deps.now()),
    });
    this.deps.accessChanged(caller.tenancyId);
  }

  private async loadLive(tenancyId: string, id: string): Promise<Compartment> {
    if (!isOcid(id, 'compartment') && !isOcid(id, 'tenancy')) throw new NotFoundError('Compartment', id);
    const c = await this.deps.directory.getCompartment(tenancyId, id);
    if (c === undefined || c.lifecycleState !== 'ACTIVE') throw new NotFoundError('Compartment', id);
    return c;
  }
}
