/**
 * Reads and writes OCI SDK config files (~/.oci/config style), so the admin
 * credentials Herald bootstraps can be used as-is by the OCI SDKs and CLI.
 *
 * Format notes (oci-common `ConfigFileReader`, Python `configparser`):
 * `[PROFILE]` headers, `key=value` lines split on the first `=`, `#` comments,
 * keys missing from a named profile fall back to `[DEFAULT]`, and `key_file`
 * may start with `~/`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidParameterError } from '../core/errors.js';

export interface OciConfigProfile {
  user: string;
  fingerprint: string;
  tenancy: string;
  region: string;
  privateKeyPem: string;
}

export interface LoadedOciConfig {
  user: string;
  fingerprint: string;
  tenancy: string;
  region: string;
  /** Absolute path of the private key, `~` expanded. */
  keyFile: string;
  privateKeyPem: string;
}

export const OCI_CONFIG_FILE_NAME = 'config';
export const OCI_KEY_FILE_NAME = 'oci_api_key.pem';

/**
 * Writes via a temp file + rename so readers never see half a file, and so the
 * mode is right even when the target already existed with looser permissions
 * (writeFile's `mode` only applies when it creates the file).
 */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode, flag: 'wx' });
    await chmod(tmp, mode); // the umask may have stripped bits we asked for
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function iniValue(name: string, value: string): string {
  // A newline would let one value inject extra keys or profiles.
  if (/[\r\n]/.test(value) || value.trim() !== value || value === '') {
    throw new InvalidParameterError(`OCI config value "${name}" must be a non-empty single line without surrounding spaces.`);
  }
  return value;
}

/**
 * Writes `<dir>/oci_api_key.pem` (0600) and `<dir>/config` with one [DEFAULT]
 * profile pointing at it. Both files are replaced if present; other profiles in
 * an existing config are not preserved, so point this at a Herald-owned dir.
 */
export async function writeOciConfig(
  dir: string,
  profile: OciConfigProfile,
): Promise<{ configPath: string; keyPath: string }> {
  const absDir = resolve(dir);
  const created = await mkdir(absDir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(absDir, 0o700);

  const keyPath = join(absDir, OCI_KEY_FILE_NAME);
  const configPath = join(absDir, OCI_CONFIG_FILE_NAME);
  const lines = [
    '[DEFAULT]',
    `user=${iniValue('user', profile.user)}`,
    `fingerprint=${iniValue('fingerprint', profile.fingerprint)}`,
    `tenancy=${iniValue('tenancy', profile.tenancy)}`,
    `region=${iniValue('region', profile.region)}`,
    `key_file=${iniValue('key_file', keyPath)}`,
  ];
  const pem = profile.privateKeyPem.endsWith('\n') ? profile.privateKeyPem : `${profile.privateKeyPem}\n`;
  // Key first: a config must never point at a key file that is not there yet.
  await writeAtomic(keyPath, pem, 0o600);
  await writeAtomic(configPath, `${lines.join('\n')}\n`, 0o600);
  return { configPath, keyPath };
}

/** Same grammar as oci-common's ConfigAccumulator, returning every profile. */
function parseIni(text: string, path: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.startsWith('[') && line.endsWith(']')) {
      const name = line.slice(1, -1).trim();
      if (name === '') throw new Error(`${path}:${i + 1}: empty profile name.`);
      current = profiles.get(name) ?? new Map<string, string>();
      profiles.set(name, current);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${path}:${i + 1}: expected key=value.`);
    if (current === undefined) throw new Error(`${path}:${i + 1}: key outside of any [profile].`);
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  });
  return profiles;
}

/** Mirrors oci-common: only a leading `~/` is expanded; anything else is used as written. */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** Loads a profile (falling back to [DEFAULT] per key, as the SDKs do) and its private key. */
export async function readOciConfig(path: string, profile = 'DEFAULT'): Promise<LoadedOciConfig> {
  const configPath = expandHome(path);
  const profiles = parseIni(await readFile(configPath, 'utf8'), configPath);
  const selected = profiles.get(profile);
  if (selected === undefined) throw new Error(`${configPath}: no profile named [${profile}].`);
  const defaults = profiles.get('DEFAULT');
  const get = (key: string): string | undefined => selected.get(key) ?? defaults?.get(key);

  const required = ['user', 'fingerprint', 'tenancy', 'region', 'key_file'] as const;
  const missing = required.filter((k) => !get(k));
  if (missing.length > 0) throw new Error(`${configPath}: profile [${profile}] is missing ${missing.join(', ')}.`);

  // Relative key paths resolve against the working directory, like the SDKs'.
  const keyFile = resolve(expandHome(get('key_file') as string));
  let privateKeyPem: string;
  try {
    privateKeyPem = await readFile(keyFile, 'utf8');
  } catch (err) {
    throw new Error(`${configPath}: cannot read key_file ${keyFile} (profile [${profile}]).`, { cause: err });
  }
  return {
    user: get('user') as string,
    fingerprint: get('fingerprint') as string,
    tenancy: get('tenancy') as string,
    region: get('region') as string,
    keyFile,
    privateKeyPem,
  };
}
