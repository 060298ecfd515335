/**
 * The etag-guarded writes every resource service shares (topics, subscriptions,
 * applications, functions and the IAM resources): update, delete and the move to
 * another compartment. One implementation, so the error each step answers with
 * (and the HTTP status it maps to) is the same for every resource.
 */
import type { CasResult, GuardedDelete } from './cas.js';
import { requireCompartment } from './compartments.js';
import { ConflictError, IncorrectStateError, NoEtagMatchError, NotFoundError } from './errors.js';
import { withRetryToken } from './idempotency.js';
import { newEtag } from './ids.js';
import { requireString } from './validation.js';
import type { Ports } from './ports/index.js';
import type { Authorizer } from './iam/authorizer.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';

/** Lost races retried (after the first try) before a write without if-match gives up with NoEtagMatch. */
export const CAS_RETRIES = 5;

export interface CasUpdate<T> {
  /** The resource's name in a NotFound message ("Topic", "User"…). */
  what: string;
  id: string;
  /** The caller's if-match header, if any. */
  ifMatch: string | undefined;
  /** Reads the row afresh on every try; throws the resource's own NotFound (also for rows it treats as gone). */
  load: () => Promise<T>;
  /** Refuses a row that exists but may not be written now. Runs after the if-match check, so a stale etag is reported first. */
  check?: (cur: T) => void;
  /** The next row; the new etag is added here. */
  change: (cur: T) => T;
  replace: (next: T, expectedEtag: string) => Promise<CasResult<T>>;
}

/**
 * Read-modify-write under the etag. Without if-match a lost race is retried
 * (last writer wins, as OCI does); with if-match it is the caller's conflict.
 * A row gone under us is final: deletion is terminal, so a re-read could only say NotFound too.
 */
export async function casUpdate<T extends { etag: string }>(opts: CasUpdate<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const cur = await opts.load();
    if (opts.ifMatch !== undefined && opts.ifMatch !== cur.etag) throw new NoEtagMatchError(opts.id);
    opts.check?.(cur);
    const result = await opts.replace({ ...opts.change(cur), etag: newEtag() }, cur.etag);
    if (result.ok) return result.value;
    if (result.reason === 'not-found') throw new NotFoundError(opts.what, opts.id);
    if (opts.ifMatch !== undefined || attempt >= CAS_RETRIES) throw new NoEtagMatchError(opts.id);
  }
}

/** A `check` for casUpdate: only an ACTIVE row is written (topics, applications, functions). */
export function activeOnly(what: string, id: string): (cur: { lifecycleState: string }) => void {
  return (cur) => {
    if (cur.lifecycleState !== 'ACTIVE') throw new IncorrectStateError(`${what} ${id} is ${cur.lifecycleState}.`);
  };
}

/**
 * Deletes `current` (already read and authorized by the caller) under its etag. Not retried:
 * a delete that lost a race is answered NoEtagMatch. A dependant still in place is OCI's
 * 409 Conflict (never the retryable IncorrectState); a store with its own refusal throws it from `remove`.
 */
export async function guardedDelete<T extends { etag: string }>(opts: {
  what: string;
  id: string;
  ifMatch: string | undefined;
  current: T;
  remove: (expectedEtag: string) => Promise<GuardedDelete<T> | CasResult<T>>;
}): Promise<T> {
  if (opts.ifMatch !== undefined && opts.ifMatch !== opts.current.etag) throw new NoEtagMatchError(opts.id);
  const result = await opts.remove(opts.current.etag);
  if (result.ok) return result.value;
  if (result.reason === 'not-found') throw new NotFoundError(opts.what, opts.id);
  if (result.reason === 'not-empty') throw new ConflictError(`${opts.what} ${opts.id} cannot be deleted: ${result.detail}.`);
  throw new NoEtagMatchError(opts.id);
}

export interface CompartmentMove {
  caller: Principal;
  /** The destination as the request gave it (the requireString check happens here). */
  compartmentId: string | undefined;
  retryToken: string | undefined;
  /** Authorized in the source and in the destination compartment, e.g. ChangeTopicCompartment. */
  op: OperationName;
  /** The opc-retry-token operation, e.g. `changeTopicCompartment:<id>`; stored tokens hash it, so it must not change. */
  retryOperation: string;
  /** Reads the resource and authorizes `op` on its compartment, a refusal looking like a missing resource. */
  authorizeSource: () => Promise<unknown>;
  /** The etag-guarded write (casUpdate, with the caller's if-match) that sets the destination. */
  move: (target: string) => Promise<unknown>;
}

/**
 * ChangeXCompartment, as OCI does it: the right is needed in both the source and
 * the destination (a destination refused looks missing), and the move itself runs once per opc-retry-token.
 */
export async function moveToCompartment(
  deps: { store: Pick<Ports, 'directory' | 'retryTokens'>; authz: Authorizer; now: () => number },
  m: CompartmentMove,
): Promise<void> {
  const { tenancyId } = m.caller;
  const target = requireString(m.compartmentId, 'compartmentId');
  await m.authorizeSource();
  await requireCompartment(deps.store.directory, tenancyId, target);
  await deps.authz.require(m.caller, m.op, target, { refusal: () => new NotFoundError('Compartment', target) });
  const call = { tenancyId, token: m.retryToken, operation: m.retryOperation, request: { compartmentId: target } };
  await withRetryToken(deps.store.retryTokens, call, async () => {
    await m.move(target);
    // The replay answer is stored as JSON: the move itself answers with no body.
    return null;
  }, deps.now);
}
