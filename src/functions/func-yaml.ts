import { parseDocument } from 'yaml';
import { InvalidParameterError } from '../core/errors.js';

/** The subset of Fn's func.yaml the runtime needs. Build-only keys (build_image, triggers, …) are ignored. */
export interface FuncYaml {
  name: string;
  version: string;
  runtime: string;
  entrypoint: string;
  /** MB, default 128. */
  memory: number;
  /** Seconds, default 30. */
  timeout: number;
  config: Record<string, string>;
}

// Fn's limits (models/fn.go): memory 1..8192 MB, timeout 1..300 s. OCI's stricter
// memory set {128, 256, …} is an API concern, not a runtime one.
const MEMORY_MIN = 1;
const MEMORY_MAX = 8192;
const TIMEOUT_MIN = 1;
const TIMEOUT_MAX = 300;
// Fn requires a name unchanged by url.PathEscape; this conservative set satisfies that.
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$/;
// Config keys become env var names: no '=', no NUL, not empty.
const ENV_KEY_RE = /^[^=\0]+$/;

/**
 * Entrypoint used when func.yaml has none. Node mirrors `fn init --runtime node`.
 * Python runs fdk-python's console script `fdk func.py handler` without needing the
 * script on PATH (fdk.scripts.fdk has no __main__ guard, so call main() directly).
 * Other runtimes (go, java, custom binaries) must name their command.
 */
export function defaultEntrypoint(runtime: string): string | undefined {
  if (/^node/i.test(runtime)) return 'node func.js';
  if (/^python/i.test(runtime)) {
    return `python3 -c "import sys; from fdk.scripts.fdk import main; sys.argv = ['fdk', 'func.py', 'handler']; main()"`;
  }
  return undefined;
}

/**
 * Parses and validates a func.yaml. Uses YAML's failsafe schema so every scalar
 * stays the exact source text: `version: 1.10` is "1.10" (not 1.1) and config
 * values like `DEBUG: true` or `PORT: 0800` reach the function verbatim as env vars.
 * Numbers are then parsed explicitly. Throws InvalidParameterError with the field name.
 */
export function parseFuncYaml(text: string): FuncYaml {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new InvalidParameterError(`func.yaml is not valid YAML: ${doc.errors[0]!.message}`);
  }
  const root: unknown = doc.toJS({ maxAliasCount: 50 });
  if (!isRecord(root)) throw new InvalidParameterError('func.yaml must be a mapping of keys to values.');

  const name = requiredString(root, 'name');
  if (!NAME_RE.test(name)) {
    throw new InvalidParameterError(`func.yaml name "${name}" must be 1-255 letters, digits, '_', '-' or '.'.`);
  }
  const version = optionalString(root, 'version') ?? '0.0.1';
  const runtime = requiredString(root, 'runtime');
  const entrypoint = optionalString(root, 'entrypoint') ?? defaultEntrypoint(runtime);
  if (entrypoint === undefined || entrypoint.trim() === '') {
    throw new InvalidParameterError(`func.yaml entrypoint is required for runtime "${runtime}".`);
  }
  const memory = optionalInt(root, 'memory', MEMORY_MIN, MEMORY_MAX) ?? 128;
  const timeout = optionalInt(root, 'timeout', TIMEOUT_MIN, TIMEOUT_MAX) ?? 30;
  return { name, version, runtime, entrypoint, memory, timeout, config: parseConfig(root['config']) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Failsafe YAML gives '' for `key:` and the literal text for `~`/`null`; all mean "absent" here. */
function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === '~' || v === 'null';
}

function optionalString(root: Record<string, unknown>, key: string): string | undefined {
  const v = root[key];
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') throw new InvalidParameterError(`func.yaml ${key} must be a string.`);
  return v.trim();
}

function requiredString(root: Record<string, unknown>, key: string): string {
  const v = optionalString(root, key);
  if (v === undefined || v === '') throw new InvalidParameterError(`func.yaml ${key} is required.`);
  return v;
}

function optionalInt(root: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = optionalString(root, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InvalidParameterError(`func.yaml ${key} must be a whole number, got "${v}".`);
  const n = Number(v);
  if (n < min || n > max) throw new InvalidParameterError(`func.yaml ${key} must be between ${min} and ${max}, got ${n}.`);
  return n;
}

function parseConfig(v: unknown): Record<string, string> {
  if (isAbsent(v)) return {};
  if (!isRecord(v)) throw new InvalidParameterError('func.yaml config must be a mapping of names to values.');
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (!ENV_KEY_RE.test(k)) throw new InvalidParameterError(`func.yaml config key "${k}" cannot be an environment variable name.`);
    if (typeof value !== 'string') throw new InvalidParameterError(`func.yaml config ${k} must be a plain value, not a list or mapping.`);
    if (value.includes('\0')) throw new InvalidParameterError(`func.yaml config ${k} must not contain NUL characters.`);
    out[k] = value;
  }
  return out;
}
