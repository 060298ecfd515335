import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

/**
 * How a key's value is written in the file. `path` is resolved against the file's folder, so a file
 * and the certificates beside it can move together; `command` only when it has a slash, so a bare
 * name (`bwrap`) is still looked up on PATH.
 */
export type FileValueKind = 'string' | 'number' | 'boolean' | 'path' | 'command';

/**
 * Reads `herald serve --config FILE`: a YAML mapping with the flags' camelCase names as keys. Values come
 * back as the strings a flag would carry, so the file goes through the same checks as flags and env.
 * An unknown key or a value of the wrong type is refused here, naming the key, rather than ignored: a
 * misspelt `tlsCert` must not start a server in plain HTTP. A key with an empty value (`smtpUrl:`) is unset.
 */
export function readConfigFile(file: string, kinds: Readonly<Record<string, FileValueKind>>): Record<string, string> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${path}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(`Config file ${path} is not valid YAML: ${doc.errors[0]!.message}`);
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`Config file ${path} must be a mapping of settings (key: value).`);
  const entries = Object.entries(data as Record<string, unknown>);
  const unknown = entries.map(([k]) => k).filter((k) => !Object.hasOwn(kinds, k));
  if (unknown.length > 0) {
    throw new ConfigError(`Config file ${path} has unknown ${unknown.length === 1 ? 'key' : 'keys'}: ${unknown.join(', ')} (known: ${Object.keys(kinds).join(', ')})`);
  }
  const out: Record<string, string> = {};
  const folder = dirname(path);
  for (const [key, value] of entries) {
    if (value === null) continue;
    const kind = kinds[key]!;
    const expected = kind === 'number' || kind === 'boolean' ? kind : 'string';
    if (typeof value !== expected) {
      throw new ConfigError(`Config file ${path}: ${key} must be a ${expected}, got ${Array.isArray(value) ? 'a list' : typeof value}: ${JSON.stringify(value)}`);
    }
    const text = String(value);
    if (kind === 'path' || (kind === 'command' && text.includes('/'))) out[key] = isAbsolute(text) ? text : resolve(folder, text);
    else out[key] = text;
  }
  return out;
}
