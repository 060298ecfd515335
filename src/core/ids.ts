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

/**
 * Makes UUIDv7 strings (RFC 9562 §5.7): the millisecond time in the first 48 bits, then a 12-bit counter (§6.2,
 * method 1) seeded at random in the lower half of its range each new millisecond, then the variant and 62 random
 * bits, taken from a version 4 UUID (Node's `randomUUID` draws them from its own pooled buffer). Each id sorts after
 * the one before it, even within a millisecond or if the clock steps back (the last time is kept; a counter that
 * runs out moves it on by a millisecond).
 */
export function uuidV7Generator(clock: () => number, randomV4: () => string = randomUUID): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    // xxxxxxxx-xxxx-4RRR-Vxxx-xxxxxxxxxxxx: RRR are 12 random bits, V onwards the variant and 62 random bits.
    const random = randomV4();
    const now = clock();
    if (now > lastMs) {
      lastMs = now;
      counter = parseInt(random.slice(15, 18), 16) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs += 1;
      counter = parseInt(random.slice(15, 18), 16) & 0x7ff;
    }
    const time = lastMs.toString(16).padStart(12, '0');
    return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${random.slice(19)}`;
  };
}

/**
 * A message's id: a UUID, as OCI's, of version 7, so ids sort in publish order. Messages are keyed by id, and
 * deliveries indexed by (message id, subscription): with random (version 4) ids every message landed on its own
 * leaf page of both indexes, and each group commit rewrote that many pages: SQLite's WAL took twice the bytes per
 * published message ((b)'s publish phase, docs/performance.md). PostgreSQL orders the ids the same way (COLLATE "C"),
 * but its WAL logs rows, not pages, and was the same size with either kind.
 */
export const newMessageId: () => string = uuidV7Generator(Date.now);

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
