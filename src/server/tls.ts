import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { TlsFiles } from '../config/config.js';

export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the certificate chain and key and proves they go together: createSecureContext throws on a
 * malformed PEM and on a key that does not match the certificate, which is what a half-renewed pair
 * (new cert written, old key still there) looks like. Encrypted keys are not supported (no passphrase).
 */
export async function readTlsPair(files: TlsFiles): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  createSecureContext({ cert, key });
  return { cert, key };
}

/**
 * A private key others on the machine can read is a leaked key. Herald warns rather than refuses:
 * refusing would stop a service at boot over something the operator may have chosen (a group shared with
 * a certificate manager such as `ssl-cert`), while the warning still names the file and its mode.
 */
export async function keyFileWarning(keyFile: string): Promise<string | undefined> {
  const mode = (await stat(keyFile)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `The TLS key ${keyFile} is readable by ${mode & 0o007 ? 'every user' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it.`;
}

/** The part of node's https/tls server that swaps certificates on open listeners. */
export interface SecureContextTarget {
  setSecureContext(options: { cert: Buffer; key: Buffer }): void;
}

/**
 * Re-reads the pair into a running server (SIGHUP after a renewal). New connections get the new
 * certificate, open ones keep theirs. A pair that does not load is logged and the server keeps the one it has,
 * so a renewal gone wrong never takes HTTPS down.
 */
export async function reloadTls(server: SecureContextTarget, files: TlsFiles, logger: Logger): Promise<boolean> {
  let pair: TlsPair;
  try {
    pair = await readTlsPair(files);
  } catch (err) {
    logger.error({ err, certFile: files.certFile, keyFile: files.keyFile }, `TLS certificate reload failed, still serving the previous certificate: ${(err as Error).message}`);
    return false;
  }
  server.setSecureContext({ cert: pair.cert, key: pair.key });
  const warning = await keyFileWarning(files.keyFile).catch(() => undefined);
  if (warning !== undefined) logger.warn({ keyFile: files.keyFile }, warning);
  logger.info({ certFile: files.certFile, keyFile: files.keyFile }, 'TLS certificate reloaded');
  return true;
}
