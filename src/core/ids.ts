import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Herald is one region; OCIDs carry a fixed, recognisable region key. */
export const REGION = 'us-ashburn-1';
const REGION_KEY = 'iad';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export type OcidType =
  | 'tenancy'
  | 'user'
  | 'group'
  | 'groupmembership'
  | 'policy'
  | 'compartment'
  | 'onstopic'
  | 'onssubscription'
  | 'fnapp'
  | 'fnfunc';

/** Regional resources carry the region key; identity resources (tenancy, user, group, policy, compartment) are realm-wide, as in OCI. */
export function newOcid(type: OcidType): string {
  const unique = 'aaaaaaaa' + base32(randomBytes(30));
  const regional = type === 'onstopic' || type === 'onssubscription' || type === 'fnapp' || type === 'fnfunc';
  return `ocid1.${type}.oc1.${regional ? REGION_KEY : ''}.${unique}`;
}

const OCID_RE = /^ocid1\.([a-z0-9]+)\.oc1\.([a-z0-9-]*)\.([a-z0-9]{8,128})$/;

export function isOcid(value: string, type?: OcidType): boolean {
  const m = OCID_RE.exec(value);
  return m !== null && (type === undefined || m[1] === type);
}

/** Etags look like OCI's: 8 hex characters, fresh on every mutation. */
export function newEtag(): string {
  return randomBytes(4).toString('hex');
}

export function newMessageId(): string {
  return randomUUID();
}

/** Short topic id (used by SMS "CONFIRM <id>" replies): 10 alphanumerics. */
export function newShortId(): string {
  return base32(randomBytes(7)).slice(0, 10).toUpperCase();
}

export function sha256b64url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/**
 * A copy of an id that holds only its own characters. An id cut out of a longer string (a request's
 * Authorization header, its URL) is a slice in V8 and keeps that whole string alive: a published message
 * kept in the engine's cache held its request's ~0.8 KB of header and path besides its own strings (found
 * in a heap snapshot of the soak). A round trip through bytes makes a new string (ids are well-formed text).
 */
export function ownId(id: string): string {
  return Buffer.from(id, 'utf8').toString('utf8');
}
