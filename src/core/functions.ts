import { createHash } from 'node:crypto';
import { checkConfig, checkFnId, checkFnName, parseFnList, type FnListInput } from './applications.js';
import { activeOnly, casUpdate, guardedDelete } from './crud.js';
import { IncorrectStateError, InvalidParameterError, NotFoundError } from './errors.js';
import type { Application, FnConfig, FnFunction, FunctionCallRecord } from './function-models.js';
import { withRetryToken } from './idempotency.js';
import { newEtag, newOcid } from './ids.js';
import type { DefinedTags, Page, Tags } from './models.js';
import { checkDefinedTags, checkFreeformTags, requireString } from './validation.js';
import type { Ports } from './ports/index.js';
import type { Authorizer } from './iam/authorizer.js';
import { NotAuthorizedOrNotFoundError } from './errors.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';

/**
 * Runs a function. Implemented by the process runtime (src/functions/); the
 * invoke route only maps its answer to HTTP. `status` is what the caller gets:
 * 200 (or the function's own 2xx), 502 for a function error or crash, 504 for a
 * timeout, 429/503 when no capacity. `error` explains a failure when the body
 * does not. With `detached` the route has already answered 202.
 */
export interface FunctionInvoker {
  invoke(
    target: { fn: FnFunction; app: Application },
    request: { body: Buffer; contentType?: string; headers: Record<string, string> },
    opts?: { signal?: AbortSignal; detached?: boolean },
  ): Promise<{ status: number; body: Buffer; headers: Record<string, string>; error?: string }>;
}

export interface CreateFunctionInput {
  displayName?: string;
  applicationId?: string;
  image?: string;
  imageDigest?: string;
  memoryInMBs?: number;
  timeoutInSeconds?: number;
  config?: FnConfig;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
  /** Pre-built functions (sourceDetails) are not supported: present only to be refused clearly. */
  sourceDetails?: unknown;
}

export interface UpdateFunctionInput {
  image?: string;
  imageDigest?: string;
  memoryInMBs?: number;
  timeoutInSeconds?: number;
  config?: FnConfig;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export const MEMORY_SIZES = [128, 256, 512, 1024, 2048, 3072] as const;
export const DEFAULT_MEMORY_MB = 128;
export const DEFAULT_TIMEOUT_S = 30;
export const MAX_TIMEOUT_S = 300;
/** The image form Herald itself hands out for an uploaded bundle. */
export const BUNDLE_IMAGE_PREFIX = 'herald/bundle@';
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function bundleImage(digest: string): string {
  return BUNDLE_IMAGE_PREFIX + digest;
}

export function bundleDigest(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function checkMemory(v: number | undefined): number {
  if (v === undefined) return DEFAULT_MEMORY_MB;
  if (!(MEMORY_SIZES as readonly number[]).includes(v)) throw new InvalidParameterError(`memoryInMBs must be one of ${MEMORY_SIZES.join(', ')}.`);
  return v;
}

function checkTimeout(v: number | undefined): number {
  if (v === undefined) return DEFAULT_TIMEOUT_S;
  if (!Number.isInteger(v) || v < 1 || v > MAX_TIMEOUT_S) throw new InvalidParameterError(`timeoutInSeconds must be an integer from 1 to ${MAX_TIMEOUT_S}.`);
  return v;
}

/**
 * Functions: a function runs an uploaded bundle, named either by the image
 * `herald/bundle@sha256:<hex>` (what the upload returns) or by any image string
 * together with `imageDigest: sha256:<hex>`. Either way the digest must name a
 * stored bundle that the caller's own tenancy uploaded (so every node can run
 * it, and knowing another tenancy's digest is not enough to run its code).
 */
export class FunctionService {
  constructor(
    private readonly store: Pick<Ports, 'functions' | 'retryTokens'>,
    private readonly authz: Authorizer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns [image, imageDigest] for a create or an image change. */
  private async resolveImage(tenancyId: string, image: string | undefined, imageDigest: string | undefined): Promise<[string, string]> {
    if (image === undefined || image === '') {
      throw new InvalidParameterError(`image is required: upload the function folder to /herald/v1/functionBundles and use the image it returns.`);
    }
    if (image.length > 512) throw new InvalidParameterError('image must be at most 512 characters.');
    const fromImage = image.startsWith(BUNDLE_IMAGE_PREFIX) ? image.slice(BUNDLE_IMAGE_PREFIX.length) : undefined;
    if (fromImage !== undefined && imageDigest !== undefined && imageDigest !== fromImage) {
      throw new InvalidParameterError('imageDigest does not match the digest in image.');
    }
    const digest = imageDigest ?? fromImage;
    if (digest === undefined) throw new InvalidParameterError(`imageDigest (sha256:<hex>) is required unless image is ${BUNDLE_IMAGE_PREFIX}sha256:<hex>.`);
    if (!DIGEST_RE.test(digest)) throw new InvalidParameterError('imageDigest must be sha256:<64 lower-case hex digits>.');
    // Another tenancy's bundle gets the same answer as a missing one: nothing says it exists.
    if (!(await this.store.functions.ownsBundle(tenancyId, digest))) throw new InvalidParameterError(`No uploaded function bundle has digest ${digest}.`);
    return [image, digest];
  }

  /** Functions live in their application's compartment; creating one needs FN_FUNCTION_CREATE there. */
  async create(caller: Principal, input: CreateFunctionInput, retryToken?: string): Promise<FnFunction> {
    const { tenancyId } = caller;
    if (input.sourceDetails !== undefined) throw new InvalidParameterError('Pre-built functions (sourceDetails) are not supported.');
    const displayName = checkFnName(input.displayName, 'Function');
    const applicationId = checkFnId(requireString(input.applicationId, 'applicationId'), 'fnapp');
    const memoryInMBs = checkMemory(input.memoryInMBs);
    const timeoutInSeconds = checkTimeout(input.timeoutInSeconds);
    const config = checkConfig(input.config);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    const home = await this.store.functions.getApplication(tenancyId, applicationId);
    if (home === undefined) throw new NotFoundError('Application', applicationId);
    await this.authz.require(caller, 'CreateFunction', home.compartmentId, { refusal: () => new NotFoundError('Application', applicationId) });
    return withRetryToken(this.store.retryTokens, { tenancyId, token: retryToken, operation: 'createFunction', request: input }, async () => {
      const app = await this.requireActiveApplication(tenancyId, applicationId);
      const [image, imageDigest] = await this.resolveImage(tenancyId, input.image, input.imageDigest);
      const t = this.now();
      const fn: FnFunction = {
        id: newOcid('fnfunc'),
        tenancyId,
        compartmentId: app.compartmentId,
        applicationId,
        displayName,
        image,
        imageDigest,
        memoryInMBs,
        timeoutInSeconds,
        config,
        lifecycleState: 'ACTIVE',
        freeformTags,
        definedTags,
        etag: newEtag(),
        createdAt: t,
        updatedAt: t,
      };
      // The store re-checks the application atomically: it may be deleted in between.
      if (!(await this.store.functions.insertFunction(fn))) throw new NotFoundError('Application', applicationId);
      return fn;
    }, this.now);
  }

  async get(caller: Principal, id: string): Promise<FnFunction> {
    return this.authorized(caller, 'GetFunction', id);
  }

  /** The function, once the caller may perform `op` on it; a refusal looks like a missing one. */
  async authorized(caller: Principal, op: OperationName, id: string): Promise<FnFunction> {
    const fn = await this.load(caller.tenancyId, id);
    await this.authz.require(caller, op, fn.compartmentId, { refusal: () => new NotFoundError('Function', id) });
    return fn;
  }

  async list(caller: Principal, applicationId: string | undefined, input: FnListInput): Promise<Page<FnFunction>> {
    const { tenancyId } = caller;
    const appId = checkFnId(requireString(applicationId, 'applicationId'), 'fnapp');
    const app = await this.store.functions.getApplication(tenancyId, appId);
    if (app === undefined) throw new NotFoundError('Application', appId);
    await this.authz.require(caller, 'ListFunctions', app.compartmentId, { refusal: () => new NotFoundError('Application', appId) });
    return this.store.functions.listFunctions({ tenancyId, applicationId: appId, ...parseFnList(input), offset: input.offset, limit: input.limit });
  }

  async update(caller: Principal, id: string, input: UpdateFunctionInput, ifMatch?: string): Promise<FnFunction> {
    const { tenancyId } = caller;
    await this.authorized(caller, 'UpdateFunction', id);
    const memoryInMBs = input.memoryInMBs === undefined ? undefined : checkMemory(input.memoryInMBs);
    const timeoutInSeconds = input.timeoutInSeconds === undefined ? undefined : checkTimeout(input.timeoutInSeconds);
    const config = input.config === undefined ? undefined : checkConfig(input.config);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    let image: [string, string] | undefined;
    if (input.image !== undefined) {
      image = await this.resolveImage(tenancyId, input.image, input.imageDigest);
    } else if (input.imageDigest !== undefined) {
      // A new digest alone keeps the image name; Herald's own image form is rewritten so the two agree.
      const cur = await this.load(tenancyId, id);
      image = await this.resolveImage(tenancyId, cur.image.startsWith(BUNDLE_IMAGE_PREFIX) ? bundleImage(input.imageDigest) : cur.image, input.imageDigest);
    }
    return this.mutate(tenancyId, id, ifMatch, (cur) => ({
      ...cur,
      image: image?.[0] ?? cur.image,
      imageDigest: image?.[1] ?? cur.imageDigest,
      memoryInMBs: memoryInMBs ?? cur.memoryInMBs,
      timeoutInSeconds: timeoutInSeconds ?? cur.timeoutInSeconds,
      config: config ?? cur.config,
      freeformTags: freeformTags ?? cur.freeformTags,
      definedTags: definedTags ?? cur.definedTags,
    }));
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    const { tenancyId } = caller;
    const current = await this.authorized(caller, 'DeleteFunction', id);
    await guardedDelete({
      what: 'Function',
      id,
      ifMatch,
      current,
      remove: (etag) => this.store.functions.deleteFunction(tenancyId, id, etag, this.now()),
    });
  }

  /** What the invoke route hands the runtime: the function and its application, both ACTIVE. */
  async invokeTarget(caller: Principal, id: string): Promise<{ fn: FnFunction; app: Application }> {
    const fn = await this.authorized(caller, 'InvokeFunction', id);
    if (fn.lifecycleState !== 'ACTIVE') throw new IncorrectStateError(`Function ${id} is ${fn.lifecycleState}.`);
    const app = await this.requireActiveApplication(caller.tenancyId, fn.applicationId);
    return { fn, app };
  }

  /**
   * Stores an upload (already checked to be a function bundle) under its digest, owned by the
   * uploading tenancy. Idempotent; the same bytes from another tenancy are stored once, with two owners.
   */
  async putBundle(caller: Principal, bytes: Buffer): Promise<{ digest: string; size: number; image: string }> {
    const { tenancyId } = caller;
    // A bundle names no compartment; it is for creating functions, so a caller who may create them somewhere may upload.
    if (!(await this.authz.allowsSomewhere(caller, 'UploadFunctionBundle'))) throw new NotAuthorizedOrNotFoundError();
    const digest = bundleDigest(bytes);
    await this.store.functions.putBundle(tenancyId, { digest, bytes, size: bytes.length, createdAt: this.now() });
    return { digest, size: bytes.length, image: bundleImage(digest) };
  }

  /** For the runtime: one finished call. */
  async recordCall(call: FunctionCallRecord): Promise<void> {
    await this.store.functions.insertFunctionCall(call);
  }

  /** The function's newest calls, newest first (tenancy-checked). */
  async listCalls(caller: Principal, id: string, limit: number): Promise<FunctionCallRecord[]> {
    await this.authorized(caller, 'ListFunctionCalls', id);
    return this.store.functions.listFunctionCalls(id, limit);
  }

  private async load(tenancyId: string, id: string): Promise<FnFunction> {
    checkFnId(id, 'fnfunc');
    const fn = await this.store.functions.getFunction(tenancyId, id);
    if (fn === undefined) throw new NotFoundError('Function', id);
    return fn;
  }

  private async requireActiveApplication(tenancyId: string, applicationId: string): Promise<Application> {
    const app = await this.store.functions.getApplication(tenancyId, applicationId);
    if (app === undefined) throw new NotFoundError('Application', applicationId);
    if (app.lifecycleState !== 'ACTIVE') throw new IncorrectStateError(`Application ${applicationId} is ${app.lifecycleState}.`);
    return app;
  }

  /** Only an ACTIVE function is written; the etag loop itself is casUpdate's. */
  private async mutate(tenancyId: string, id: string, ifMatch: string | undefined, change: (cur: FnFunction) => FnFunction): Promise<FnFunction> {
    return casUpdate({
      what: 'Function',
      id,
      ifMatch,
      load: () => this.load(tenancyId, id),
      check: activeOnly('Function', id),
      change: (cur) => ({ ...change(cur), updatedAt: this.now() }),
      replace: (next, etag) => this.store.functions.replaceFunction(next, etag),
    });
  }
}
