/**
 * OCI-signed requests made ahead of time. The signature covers x-date, the method,
 * the path, the host and the body hash, so one signed request can be replayed for
 * the same body until the 5-minute skew runs out: the load generator spends no
 * CPU on RSA while it measures.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { signRequest } from '../../src/api/auth/signature.js';
import { readOciConfig } from '../../src/server/oci-config-file.js';

export interface Credentials {
  keyId: string;
  privateKeyPem: string;
  tenancy: string;
}

export interface PreparedRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** The admin key Herald bootstrapped into its data dir. */
export async function loadCredentials(dataDir: string): Promise<Credentials> {
  const cfg = await readOciConfig(join(dataDir, 'oci', 'config'));
  return { keyId: `${cfg.tenancy}/${cfg.user}/${cfg.fingerprint}`, privateKeyPem: cfg.privateKeyPem, tenancy: cfg.tenancy };
}

/** A throwaway key, so the bare ceiling server sees requests of exactly Herald's shape and size. */
export function throwawayCredentials(): Credentials {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyId: 'ocid1.tenancy.oc1..bench/ocid1.user.oc1..bench/00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    tenancy: 'ocid1.tenancy.oc1..bench',
  };
}

/** The public half of the credentials' key, as PEM, for a yardstick server that checks their signatures. */
export function publicKeyPem(creds: Credentials): string {
  return createPublicKey(createPrivateKey(creds.privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

export function presign(origin: string, creds: Credentials, method: PreparedRequest['method'], path: string, body?: string): PreparedRequest {
  const url = new URL(path, origin);
  const buf = body === undefined ? undefined : Buffer.from(body, 'utf8');
  const headers = signRequest({ method, url, headers: { 'content-type': 'application/json' }, body: buf, keyId: creds.keyId, privateKeyPem: creds.privateKeyPem });
  return { method, path: `${url.pathname}${url.search}`, headers, body: buf };
}

/**
 * A PublishMessage request body (MessageDetails JSON) of exactly `size` bytes. The
 * message body is itself JSON that starts with the fields the receiver parses:
 * `{"tag":…,"off":…,"pad":"xxxx"}`.
 */
export function publishBody(tag: string, offsetNs: bigint | number, size = 1024): string {
  const make = (pad: number): string => JSON.stringify({ title: 'bench', body: JSON.stringify({ tag, off: String(offsetNs), pad: 'x'.repeat(pad) }) });
  const base = make(0).length;
  if (base > size) throw new Error(`publish body overhead ${base} exceeds ${size} bytes`);
  const out = make(size - base);
  if (Buffer.byteLength(out) !== size) throw new Error('publish body size mismatch');
  return out;
}

/** A few distinct pre-signed publishes to replay round-robin. */
export function presignPublishes(origin: string, creds: Credentials, topicId: string, count: number, tag = 'closed'): PreparedRequest[] {
  return Array.from({ length: count }, (_, i) => presign(origin, creds, 'POST', `/20181201/topics/${topicId}/messages`, publishBody(tag, i)));
}
