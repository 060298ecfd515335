/**
 * Identity bootstrap and API key parsing. Pure domain logic: no file I/O, no HTTP, no SQL.
 * Users, groups, policies and compartments are the services under ./iam/.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { InvalidParameterError } from './errors.js';
import { newEtag, newOcid } from './ids.js';
import type { ApiKey, Tenancy, User } from './models.js';
import { seedAdministrators, type SeedStore } from './iam/bootstrap.js';
import type { Ports } from './ports/index.js';

/** OCI rejects API keys below 2048 bits; so do we. */
const MIN_RSA_BITS = 2048;
/** A 16384-bit spki PEM is ~2.8 KB; anything far beyond is not a key and not worth parsing. */
const MAX_PEM_LENGTH = 16 * 1024;
const PUBLIC_PEM_RE = /^-----BEGIN (RSA )?PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1PUBLIC KEY-----$/;
/** Setting holding the tenancy id every node agrees to bootstrap (see bootstrapTenancy). */
const BOOTSTRAP_TENANCY_KEY = 'identity.bootstrapTenancyId';
const COMPARTMENT_NAME_MAX = 100;

export interface ParsedPublicKey {
  /** Normalised SubjectPublicKeyInfo PEM, whatever form came in. */
  spkiPem: string;
  fingerprint: string;
}

function md5Fingerprint(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('md5').update(der).digest('hex').replace(/(..)(?!$)/g, '$1:');
}

/**
 * Accepts an RSA public key (spki "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY" PEM)
 * of at least 2048 bits. The PEM label is checked before parsing because
 * createPublicKey would happily derive a public key from a private key or a
 * certificate, and we never want a private key pasted into an API key field.
 */
export function parseRsaPublicKey(publicKeyPem: string): ParsedPublicKey {
  const text = typeof publicKeyPem === 'string' ? publicKeyPem.trim() : '';
  if (text.length === 0 || text.length > MAX_PEM_LENGTH || !PUBLIC_PEM_RE.test(text)) {
    throw new InvalidParameterError('The API key must be a PEM-encoded RSA public key ("PUBLIC KEY" or "RSA PUBLIC KEY").');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new InvalidParameterError('The API key PEM could not be parsed.');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new InvalidParameterError(`The API key must be an RSA key, not ${key.asymmetricKeyType ?? 'unknown'}.`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new InvalidParameterError(`The API key must be at least ${MIN_RSA_BITS} bits; this one has ${bits}.`);
  }
  return { spkiPem: key.export({ type: 'spki', format: 'pem' }).toString(), fingerprint: md5Fingerprint(key) };
}

/** MD5 of the DER SubjectPublicKeyInfo as colon-separated lowercase hex, as OCI shows it. */
export function fingerprintOf(publicKeyPem: string): string {
  return parseRsaPublicKey(publicKeyPem).fingerprint;
}

export function generateApiKeyPair(): { privateKeyPem: string; publicKeyPem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: MIN_RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, fingerprint: fingerprintOf(publicKey) };
}

/**
 * Creates the first tenancy, its admin user and an API key, once per
 * installation; returns undefined when a tenancy already exists.
 *
 * Nodes starting together on an empty store must not each create a tenancy.
 * They agree on one tenancy id through putSettingIfAbsent and all try to
 * create that id: the primary key lets exactly one commit, the others see the
 * tenancy and back off. Because the id, not the node, is elected, a node that
 * crashed mid-bootstrap leaves nothing stuck: the next start adopts the same id.
 */
/** The ports bootstrap needs. */
export type BootstrapStore = SeedStore & Pick<Ports, 'directory'>;

export async function bootstrapTenancy(
  store: BootstrapStore,
  opts: { tenancyName?: string } = {},
): Promise<{ tenancy: Tenancy; user: User; privateKeyPem: string; fingerprint: string } | undefined> {
  if ((await store.directory.countTenancies()) > 0) return undefined;
  const name = opts.tenancyName ?? 'herald';
  if (name.trim() === '' || name.length > COMPARTMENT_NAME_MAX) {
    throw new InvalidParameterError(`The tenancy name must be 1 to ${COMPARTMENT_NAME_MAX} characters.`);
  }

  const tenancyId = await store.settings.putSettingIfAbsent(BOOTSTRAP_TENANCY_KEY, newOcid('tenancy'));
  const now = Date.now();
  const tenancy: Tenancy = { id: tenancyId, name, createdAt: now };
  const user: User = {
    id: newOcid('user'),
    tenancyId,
    name: 'admin',
    description: 'The tenancy administrator Herald created at first start',
    email: null,
    lifecycleState: 'ACTIVE',
    etag: newEtag(),
    freeformTags: {},
    definedTags: {},
    createdAt: now,
  };
  const pair = generateApiKeyPair();
  const key: ApiKey = {
    tenancyId,
    userId: user.id,
    fingerprint: pair.fingerprint,
    publicKeyPem: pair.publicKeyPem,
    createdAt: now,
  };
  try {
    await store.directory.createTenancy(tenancy, user, key);
  } catch (err) {
    // Lost the race: another node committed the elected tenancy first.
    if ((await store.directory.getTenancy(tenancyId)) !== undefined) return undefined;
    throw err;
  }
  await seedAdministrators(store, tenancyId, now);
  return { tenancy, user, privateKeyPem: pair.privateKeyPem, fingerprint: pair.fingerprint };
}
