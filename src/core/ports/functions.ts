import type { Application, FnFunction, FnLifecycleState, FunctionBundle, FunctionCallRecord } from '../function-models.js';
import type { Page, SortOrder } from '../models.js';
import type { CasResult } from '../cas.js';

export type FnSortBy = 'timeCreated' | 'displayName' | 'id';

export interface ListApplicationsQuery {
  tenancyId: string;
  compartmentId: string;
  id?: string;
  /** Exact match, as OCI does. */
  displayName?: string;
  lifecycleState?: FnLifecycleState;
  sortBy: FnSortBy;
  sortOrder: SortOrder;
  offset: number;
  limit: number;
}

export interface ListFunctionsQuery {
  tenancyId: string;
  applicationId: string;
  id?: string;
  displayName?: string;
  lifecycleState?: FnLifecycleState;
  sortBy: FnSortBy;
  sortOrder: SortOrder;
  offset: number;
  limit: number;
}

/** A delete refused because the application still has live functions. */
export type DeleteApplicationResult = CasResult<Application> | { ok: false; reason: 'has-functions' };

/** Calls kept per function; older records are pruned when a new one is inserted. */
export const FUNCTION_CALLS_KEPT = 200;

/**
 * The functions side of the persistence port, proven equal on both backends by
 * test/store/function.contract.test.ts. Same rules as topics: reads are tenancy
 * scoped, DELETED rows are hidden, writes are compare-and-swap on the etag.
 */
export interface FunctionStore {
  /** Throws ConflictError when a live application of the compartment has the same displayName. */
  insertApplication(a: Application): Promise<void>;
  getApplication(tenancyId: string, id: string): Promise<Application | undefined>;
  listApplications(q: ListApplicationsQuery): Promise<Page<Application>>;
  /**
   * Replaces the application when its etag matches, and moves its live functions
   * to its compartment in the same transaction. ConflictError on a name clash.
   */
  replaceApplication(next: Application, expectedEtag: string): Promise<CasResult<Application>>;
  /** Marks it DELETED when the etag matches and it has no live function, atomically with function inserts. */
  deleteApplication(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<DeleteApplicationResult>;

  /**
   * Inserts the function when its application (same tenancy) is live and ACTIVE;
   * returns false otherwise. ConflictError when a live function of the application has the same displayName.
   */
  insertFunction(f: FnFunction): Promise<boolean>;
  getFunction(tenancyId: string, id: string): Promise<FnFunction | undefined>;
  /** Unscoped (live only), for the runtime and function subscriptions. */
  getFunctionById(id: string): Promise<FnFunction | undefined>;
  listFunctions(q: ListFunctionsQuery): Promise<Page<FnFunction>>;
  /** ConflictError on a name clash. */
  replaceFunction(next: FnFunction, expectedEtag: string): Promise<CasResult<FnFunction>>;
  deleteFunction(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<FnFunction>>;

  /**
   * Stores the bytes once per digest and records that the tenancy uploaded them, in one transaction.
   * Idempotent: a second put of the same digest keeps the first bytes, and a second owner is just recorded.
   */
  putBundle(tenancyId: string, b: FunctionBundle): Promise<void>;
  /** Unscoped, for the runtime, which runs whatever digest a live function names. */
  getBundle(digest: string): Promise<FunctionBundle | undefined>;
  /**
   * Whether this tenancy uploaded the bundle, without reading its bytes: the only check a function
   * create or image change may use (another tenancy's digest must look like a missing one).
   */
  ownsBundle(tenancyId: string, digest: string): Promise<boolean>;

  /**
   * Records a call (a repeated callId is ignored) and prunes the function's records beyond FUNCTION_CALLS_KEPT (calls
   * that started in the same millisecond as the oldest one kept stay with it). The record may be written in a batch
   * with others a little later (the promise resolves once it is); listFunctionCalls already sees it, and the store's
   * close writes what is pending.
   */
  insertFunctionCall(c: FunctionCallRecord): Promise<void>;
  /** Newest first. */
  listFunctionCalls(functionId: string, limit: number): Promise<FunctionCallRecord[]>;
}
