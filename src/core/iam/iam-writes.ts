/** The id, name and list checks every IAM resource shares; their etag-guarded writes are ../crud.ts's. */
import { InvalidParameterError, MissingParameterError, NotFoundError } from '../errors.js';
import { isOcid, type OcidType } from '../ids.js';
import type { IamState, SortOrder } from '../models.js';
import type { ListIamQuery } from './identity-store.js';

/**
 * An id from a path is checked for the OCID shape before any lookup: junk (a NUL byte, say, which
 * PostgreSQL text refuses) must look like any other id that is not there.
 */
export function checkIamId(id: string, type: OcidType, what: string): string {
  if (!isOcid(id, type)) throw new NotFoundError(what, id);
  return id;
}

const FINGERPRINT_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/;

export function checkFingerprint(fingerprint: string): string {
  if (!FINGERPRINT_RE.test(fingerprint)) throw new NotFoundError('ApiKey', fingerprint);
  return fingerprint;
}

/** Users, groups and memberships live in the tenancy: a list names it, and names no other compartment. */
export function requireTenancyScope(tenancyId: string, compartmentId: string | undefined): void {
  if (compartmentId === undefined || compartmentId === '') throw new MissingParameterError('compartmentId');
  if (compartmentId !== tenancyId) throw new NotFoundError('Compartment', compartmentId);
}

/** A create may leave compartmentId out; given, it must be the tenancy. */
export function checkTenancyLevel(tenancyId: string, compartmentId: string | undefined, what: string): void {
  if (compartmentId !== undefined && compartmentId !== tenancyId) {
    throw new InvalidParameterError(`${what} live in the tenancy: compartmentId must be the tenancy OCID.`);
  }
}

export interface IamListInput {
  name?: string;
  lifecycleState?: string;
  sortBy?: string;
  sortOrder?: string;
  offset: number;
  limit: number;
}

/** OCI's list conventions for IAM: TIMECREATED newest first by default, NAME ascending by default. */
/** null when the filter can match nothing (a state Herald's IAM rows never take). */
export function iamListQuery(tenancyId: string, input: IamListInput): ListIamQuery | null {
  const sortBy = (input.sortBy ?? 'TIMECREATED').toUpperCase();
  if (sortBy !== 'TIMECREATED' && sortBy !== 'NAME') throw new InvalidParameterError('sortBy must be TIMECREATED or NAME.');
  let sortOrder: SortOrder = sortBy === 'NAME' ? 'ASC' : 'DESC';
  if (input.sortOrder !== undefined) {
    const o = input.sortOrder.toUpperCase();
    if (o !== 'ASC' && o !== 'DESC') throw new InvalidParameterError('sortOrder must be ASC or DESC.');
    sortOrder = o;
  }
  let lifecycleState: IamState | undefined;
  if (input.lifecycleState !== undefined) {
    const s = input.lifecycleState.toUpperCase();
    if (s !== 'ACTIVE' && s !== 'DELETED' && s !== 'CREATING' && s !== 'INACTIVE' && s !== 'DELETING') {
      throw new InvalidParameterError('lifecycleState must be CREATING, ACTIVE, INACTIVE, DELETING or DELETED.');
    }
    // Herald's IAM rows are only ever ACTIVE or DELETED; the other states match nothing.
    lifecycleState = s === 'ACTIVE' || s === 'DELETED' ? s : undefined;
    if (lifecycleState === undefined) return null;
  }
  return { tenancyId, name: input.name, lifecycleState, sortBy, sortOrder, offset: input.offset, limit: input.limit };
}

/** IAM names: users may use letters, digits and `-._+@`; groups and policies the same without `+@`. */
export function checkIamName(name: string | undefined, what: string, pattern: RegExp, max = 100): string {
  if (name === undefined || name === '') throw new InvalidParameterError(`The ${what} name is required.`);
  if (name.length > max || !pattern.test(name)) throw new InvalidParameterError(`The ${what} name "${name}" is not valid.`);
  return name;
}

export function checkDescription(value: string | undefined, what: string, required: boolean): string {
  if (value === undefined) {
    if (required) throw new InvalidParameterError(`The ${what} description is required.`);
    return '';
  }
  if (typeof value !== 'string' || value.length > 400) throw new InvalidParameterError(`The ${what} description must be at most 400 characters.`);
  return value;
}
