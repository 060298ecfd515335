import { requireCompartment } from './compartments.js';
import { activeOnly, casUpdate, guardedDelete, moveToCompartment } from './crud.js';
import { ConflictError, InvalidParameterError, NotFoundError } from './errors.js';
import { FN_STATES, type Application, type FnConfig, type FnLifecycleState } from './function-models.js';
import { withRetryToken } from './idempotency.js';
import { isOcid, newEtag, newOcid } from './ids.js';
import type { DefinedTags, Page, SortOrder, Tags } from './models.js';
import { checkDefinedTags, checkFreeformTags, requireString } from './validation.js';
import type { FnSortBy } from './ports/functions.js';
import type { Ports } from './ports/index.js';
import type { Authorizer } from './iam/authorizer.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';

export interface CreateApplicationInput {
  compartmentId?: string;
  displayName?: string;
  subnetIds?: string[];
  config?: FnConfig;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateApplicationInput {
  config?: FnConfig;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

/** List parameters exactly as the SDK sends them (strings from the query). */
export interface FnListInput {
  id?: string;
  displayName?: string;
  lifecycleState?: string;
  sortBy?: string;
  sortOrder?: string;
  offset: number;
  limit: number;
}

/** OCI's rule for application and function names. */
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,254}$/;
/** Config keys become environment variables of the function process. */
const CONFIG_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONFIG_MAX_BYTES = 4096;

export function checkFnName(value: string | undefined, what: string): string {
  const name = requireString(value, 'displayName');
  if (!NAME_RE.test(name)) {
    throw new InvalidParameterError(`${what} displayName must start with a letter and hold 1 to 255 letters, digits, hyphens and underscores.`);
  }
  return name;
}

/** OCI limits a config to 4 KB of UTF-8 over all keys and values. */
export function checkConfig(config: FnConfig | undefined): FnConfig {
  if (config === undefined) return {};
  let bytes = 0;
  for (const [k, v] of Object.entries(config)) {
    if (!CONFIG_KEY_RE.test(k)) throw new InvalidParameterError(`config key "${k}" must be letters, digits and underscores, not starting with a digit.`);
    if (typeof v !== 'string') throw new InvalidParameterError(`config value of "${k}" must be a string.`);
    bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (bytes > CONFIG_MAX_BYTES) throw new InvalidParameterError(`config may hold at most ${CONFIG_MAX_BYTES} bytes of keys and values.`);
  return config;
}

export function checkFnId(id: string, type: 'fnapp' | 'fnfunc'): string {
  if (!isOcid(id, type)) throw new InvalidParameterError(`${type === 'fnapp' ? 'applicationId' : 'functionId'} ${id} is invalid.`);
  return id;
}

const SORT_BY: Record<string, FnSortBy> = { timecreated: 'timeCreated', displayname: 'displayName', id: 'id' };

/** The SDK's list options: sortBy timeCreated|displayName|id (default displayName), sortOrder ASC|DESC (default ASC). */
export function parseFnList(input: FnListInput): {
  id?: string;
  displayName?: string;
  lifecycleState?: FnLifecycleState;
  sortBy: FnSortBy;
  sortOrder: SortOrder;
} {
  let lifecycleState: FnLifecycleState | undefined;
  if (input.lifecycleState !== undefined) {
    const s = input.lifecycleState.toUpperCase() as FnLifecycleState;
    if (!FN_STATES.includes(s)) throw new InvalidParameterError(`lifecycleState must be one of ${FN_STATES.join(', ')}.`);
    lifecycleState = s;
  }
  const sortBy = SORT_BY[(input.sortBy ?? 'displayName').toLowerCase()];
  if (sortBy === undefined) throw new InvalidParameterError('sortBy must be timeCreated, displayName or id.');
  const order = (input.sortOrder ?? 'ASC').toUpperCase();
  if (order !== 'ASC' && order !== 'DESC') throw new InvalidParameterError('sortOrder must be ASC or DESC.');
  return { id: input.id, displayName: input.displayName, lifecycleState, sortBy, sortOrder: order };
}

/** Applications: names unique per compartment, etag-guarded writes, no delete while functions live in it. */
export class ApplicationService {
  constructor(
    private readonly store: Pick<Ports, 'directory' | 'functions' | 'retryTokens'>,
    private readonly authz: Authorizer,
    private readonly now: () => number = Date.now,
  ) {}

  async create(caller: Principal, input: CreateApplicationInput, retryToken?: string): Promise<Application> {
    const { tenancyId } = caller;
    const displayName = checkFnName(input.displayName, 'Application');
    const compartmentId = requireString(input.compartmentId, 'compartmentId');
    // The SDK requires subnetIds; Herald has no VCN, so they are kept and shown, never used.
    const subnetIds = input.subnetIds ?? [];
    if (subnetIds.length > 16 || subnetIds.some((s) => typeof s !== 'string' || s.length > 255)) {
      throw new InvalidParameterError('subnetIds may hold at most 16 subnet OCIDs.');
    }
    const config = checkConfig(input.config);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    await requireCompartment(this.store.directory, tenancyId, compartmentId);
    await this.authz.require(caller, 'CreateApplication', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
    return withRetryToken(this.store.retryTokens, { tenancyId, token: retryToken, operation: 'createApplication', request: input }, async () => {
      const t = this.now();
      const app: Application = {
        id: newOcid('fnapp'),
        tenancyId,
        compartmentId,
        displayName,
        lifecycleState: 'ACTIVE',
        config,
        subnetIds,
        freeformTags,
        definedTags,
        etag: newEtag(),
        createdAt: t,
        updatedAt: t,
      };
      await this.store.functions.insertApplication(app);
      return app;
    }, this.now);
  }

  async get(caller: Principal, id: string): Promise<Application> {
    return this.authorized(caller, 'GetApplication', id);
  }

  /** The application, once the caller may perform `op` on it; a refusal looks like a missing one. */
  async authorized(caller: Principal, op: OperationName, id: string): Promise<Application> {
    const app = await this.load(caller.tenancyId, id);
    await this.authz.require(caller, op, app.compartmentId, { refusal: () => new NotFoundError('Application', id) });
    return app;
  }

  async list(caller: Principal, compartmentId: string | undefined, input: FnListInput): Promise<Page<Application>> {
    const { tenancyId } = caller;
    const compartment = requireString(compartmentId, 'compartmentId');
    await requireCompartment(this.store.directory, tenancyId, compartment);
    await this.authz.require(caller, 'ListApplications', compartment, { refusal: () => new NotFoundError('Compartment', compartment) });
    return this.store.functions.listApplications({ tenancyId, compartmentId: compartment, ...parseFnList(input), offset: input.offset, limit: input.limit });
  }

  async update(caller: Principal, id: string, input: UpdateApplicationInput, ifMatch?: string): Promise<Application> {
    await this.authorized(caller, 'UpdateApplication', id);
    const { tenancyId } = caller;
    const config = input.config === undefined ? undefined : checkConfig(input.config);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    return this.mutate(tenancyId, id, ifMatch, (cur) => ({
      ...cur,
      // OCI replaces the whole map: keys left out are removed.
      config: config ?? cur.config,
      freeformTags: freeformTags ?? cur.freeformTags,
      definedTags: definedTags ?? cur.definedTags,
    }));
  }

  /** Moving needs the right in both the source and the destination compartment, as in OCI. */
  async changeCompartment(caller: Principal, id: string, compartmentId: string | undefined, ifMatch?: string, retryToken?: string): Promise<void> {
    await moveToCompartment({ store: this.store, authz: this.authz, now: this.now }, {
      caller,
      compartmentId,
      retryToken,
      op: 'ChangeApplicationCompartment',
      retryOperation: `changeApplicationCompartment:${id}`,
      authorizeSource: () => this.authorized(caller, 'ChangeApplicationCompartment', id),
      move: (target) => this.mutate(caller.tenancyId, id, ifMatch, (cur) => ({ ...cur, compartmentId: target })),
    });
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    const { tenancyId } = caller;
    const current = await this.authorized(caller, 'DeleteApplication', id);
    await guardedDelete({
      what: 'Application',
      id,
      ifMatch,
      current,
      remove: async (etag) => {
        const result = await this.store.functions.deleteApplication(tenancyId, id, etag, this.now());
        // Conflict, not IncorrectState: the SDK retries IncorrectState for minutes, and this needs the user to act.
        if (!result.ok && result.reason === 'has-functions') throw new ConflictError(`Application ${id} still has functions; delete them first.`);
        return result;
      },
    });
  }

  private async load(tenancyId: string, id: string): Promise<Application> {
    checkFnId(id, 'fnapp');
    const app = await this.store.functions.getApplication(tenancyId, id);
    if (app === undefined) throw new NotFoundError('Application', id);
    return app;
  }

  /** Only an ACTIVE application is written; the etag loop itself is casUpdate's. */
  private async mutate(tenancyId: string, id: string, ifMatch: string | undefined, change: (cur: Application) => Application): Promise<Application> {
    return casUpdate({
      what: 'Application',
      id,
      ifMatch,
      load: () => this.load(tenancyId, id),
      check: activeOnly('Application', id),
      change: (cur) => ({ ...change(cur), updatedAt: this.now() }),
      replace: (next, etag) => this.store.functions.replaceApplication(next, etag),
    });
  }
}
