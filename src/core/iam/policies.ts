/** IAM policies: statements are parsed and their locations resolved when written, so a bad one is a 400 then, not a silent no-grant later. */
import { requireCompartment } from '../compartments.js';
import { casUpdate, guardedDelete } from '../crud.js';
import { InvalidParameterError, MissingParameterError, NotFoundError } from '../errors.js';
import { withRetryToken } from '../idempotency.js';
import { newEtag, newOcid } from '../ids.js';
import type { DefinedTags, Page, Tags } from '../models.js';
import { checkDefinedTags, checkFreeformTags } from '../validation.js';
import type { IamDeps } from './iam-deps.js';
import { checkDescription, checkIamId, checkIamName, iamListQuery, type IamListInput } from './iam-writes.js';
import type { Policy } from './models.js';
import { parseStatement, PolicySyntaxError } from './policy-parser.js';
import { compartmentTree, resolveLocation } from './policy-eval.js';
import type { Principal } from './principal.js';

const POLICY_NAME_RE = /^[A-Za-z0-9._ -]+$/;
/** OCI's limit of statements in one policy. */
export const MAX_STATEMENTS_PER_POLICY = 50;
const MAX_STATEMENT_LENGTH = 4000;
const VERSION_DATE_RE = /^(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

export interface CreatePolicyInput {
  compartmentId?: string;
  name?: string;
  description?: string;
  statements?: string[];
  versionDate?: string | null;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdatePolicyInput {
  description?: string;
  statements?: string[];
  versionDate?: string | null;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

/** The SDK sends a JS Date as a full timestamp; OCI means the day. */
function checkVersionDate(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  const m = VERSION_DATE_RE.exec(value);
  if (m === null || Number.isNaN(Date.parse(m[1] ?? ''))) throw new InvalidParameterError(`versionDate "${value}" must be a date (YYYY-MM-DD).`);
  return m[1] ?? null;
}

export class PolicyService {
  constructor(private readonly deps: IamDeps) {}

  async create(caller: Principal, input: CreatePolicyInput, retryToken?: string): Promise<Policy> {
    const { tenancyId } = caller;
    const compartmentId = input.compartmentId;
    if (compartmentId === undefined || compartmentId === '') throw new MissingParameterError('compartmentId');
    await requireCompartment(this.deps.directory, tenancyId, compartmentId);
    await this.deps.authz.require(caller, 'CreatePolicy', compartmentId);
    const name = checkIamName(input.name, 'policy', POLICY_NAME_RE);
    const description = checkDescription(input.description, 'policy', true);
    const statements = await this.checkStatements(tenancyId, compartmentId, input.statements);
    const versionDate = checkVersionDate(input.versionDate);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    const policy = await withRetryToken(this.deps.tokens, { tenancyId, token: retryToken, operation: 'createPolicy', request: input }, async () => {
      const p: Policy = {
        id: newOcid('policy'),
        tenancyId,
        compartmentId,
        name,
        description,
        statements,
        versionDate,
        lifecycleState: 'ACTIVE',
        etag: newEtag(),
        freeformTags,
        definedTags,
        createdAt: this.deps.now(),
      };
      await this.deps.identity.insertPolicy(p);
      return p;
    }, this.deps.now);
    this.deps.accessChanged(tenancyId);
    return policy;
  }

  async get(caller: Principal, id: string): Promise<Policy> {
    const p = await this.load(caller.tenancyId, id);
    await this.authorize(caller, 'GetPolicy', p);
    return p;
  }

  async list(caller: Principal, compartmentId: string | undefined, input: IamListInput): Promise<Page<Policy>> {
    if (compartmentId === undefined || compartmentId === '') throw new MissingParameterError('compartmentId');
    await requireCompartment(this.deps.directory, caller.tenancyId, compartmentId);
    await this.deps.authz.require(caller, 'ListPolicies', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
    const q = iamListQuery(caller.tenancyId, input);
    return q === null ? { items: [], nextOffset: null } : this.deps.identity.listPolicies({ ...q, compartmentId });
  }

  async update(caller: Principal, id: string, input: UpdatePolicyInput, ifMatch?: string): Promise<Policy> {
    const cur = await this.load(caller.tenancyId, id);
    await this.authorize(caller, 'UpdatePolicy', cur);
    const description = input.description === undefined ? undefined : checkDescription(input.description, 'policy', false);
    const statements = input.statements === undefined ? undefined : await this.checkStatements(caller.tenancyId, cur.compartmentId, input.statements);
    const versionDate = input.versionDate === undefined ? undefined : checkVersionDate(input.versionDate);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    const updated = await casUpdate({
      what: 'Policy',
      id,
      ifMatch,
      load: () => this.loadLive(caller.tenancyId, id),
      change: (p) => ({
        ...p,
        description: description ?? p.description,
        statements: statements ?? p.statements,
        versionDate: versionDate === undefined ? p.versionDate : versionDate,
        freeformTags: freeformTags ?? p.freeformTags,
        definedTags: definedTags ?? p.definedTags,
      }),
      replace: (next, etag) => this.deps.identity.replacePolicy(next, etag),
    });
    this.deps.accessChanged(caller.tenancyId);
    return updated;
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    const current = await this.loadLive(caller.tenancyId, id);
    await this.authorize(caller, 'DeletePolicy', current);
    await guardedDelete({
      what: 'Policy',
      id,
      ifMatch,
      current,
      remove: (etag) => this.deps.identity.deletePolicy(caller.tenancyId, id, etag, this.deps.now()),
    });
    this.deps.accessChanged(caller.tenancyId);
  }

  /** Each statement must parse and its location must resolve from where the policy is attached. */
  private async checkStatements(tenancyId: string, attachedTo: string, statements: string[] | undefined): Promise<string[]> {
    if (statements === undefined || statements.length === 0) throw new InvalidParameterError('A policy needs at least one statement.');
    if (statements.length > MAX_STATEMENTS_PER_POLICY) {
      throw new InvalidParameterError(`A policy may hold at most ${MAX_STATEMENTS_PER_POLICY} statements; this one has ${statements.length}.`);
    }
    const tree = compartmentTree(tenancyId, await this.deps.identity.listCompartmentTree(tenancyId));
    statements.forEach((text, i) => {
      if (typeof text !== 'string' || text.trim() === '') throw new InvalidParameterError(`Statement ${i + 1} is empty.`);
      if (text.length > MAX_STATEMENT_LENGTH) throw new InvalidParameterError(`Statement ${i + 1} is longer than ${MAX_STATEMENT_LENGTH} characters.`);
      let st;
      try {
        st = parseStatement(text);
      } catch (err) {
        if (err instanceof PolicySyntaxError) throw new InvalidParameterError(`Statement ${i + 1} ("${text}"), position ${err.position}: ${err.reason}`);
        throw err;
      }
      if (resolveLocation(st.location, attachedTo, tree) === undefined) {
        const where = attachedTo === tenancyId ? 'the tenancy' : `compartment ${attachedTo}`;
        throw new InvalidParameterError(`Statement ${i + 1} ("${text}"): its location does not name ${where} or a compartment under it.`);
      }
    });
    return statements;
  }

  private async authorize(caller: Principal, op: 'GetPolicy' | 'UpdatePolicy' | 'DeletePolicy', p: Policy): Promise<void> {
    await this.deps.authz.require(caller, op, p.compartmentId, {
      target: { 'target.policy.id': p.id, 'target.policy.name': p.name },
      refusal: () => new NotFoundError('Policy', p.id),
    });
  }

  private async load(tenancyId: string, id: string): Promise<Policy> {
    checkIamId(id, 'policy', 'Policy');
    const p = await this.deps.identity.getPolicy(tenancyId, id);
    if (p === undefined) throw new NotFoundError('Policy', id);
    return p;
  }

  private async loadLive(tenancyId: string, id: string): Promise<Policy> {
    const p = await this.load(tenancyId, id);
    if (p.lifecycleState !== 'ACTIVE') throw new NotFoundError('Policy', id);
    return p;
  }
}
