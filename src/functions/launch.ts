import { basename } from 'node:path';
import { InvalidParameterError } from '../core/errors.js';
import { defaultEntrypoint } from './func-yaml.js';
import type { FunctionSpec } from './types.js';

/**
 * Splits a command line into argv without a shell: whitespace separates words,
 * '…' is literal, "…" allows \" and \\ escapes, a backslash outside quotes escapes
 * the next character. No globbing, variables or redirection: a func.yaml must not
 * be able to run shell code in Herald's name.
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new InvalidParameterError(`entrypoint has an unclosed ${quote} quote: ${line}`);
  if (inWord) out.push(cur);
  return out;
}

export function isNodeRuntime(runtime: string): boolean {
  return /^node/i.test(runtime);
}

function isPythonRuntime(runtime: string): boolean {
  return /^python/i.test(runtime);
}

/**
 * argv for the spec. A bare `node` becomes this Node's execPath (same version as
 * Herald, no PATH surprises), and any node binary gets `--max-old-space-size=<memoryMb>`
 * so V8 heap exhaustion aborts the process instead of growing without bound
 * (Buffers are outside the V8 heap: the RSS watchdog covers those).
 */
export function buildArgv(spec: FunctionSpec, execPath: string = process.execPath): string[] {
  const line = spec.entrypoint.trim() !== '' ? spec.entrypoint : defaultEntrypoint(spec.runtime);
  if (line === undefined) throw new InvalidParameterError(`Function ${spec.id} has no entrypoint for runtime "${spec.runtime}".`);
  const argv = splitCommand(line);
  if (argv.length === 0) throw new InvalidParameterError(`Function ${spec.id} has an empty entrypoint.`);
  if (argv[0] === 'node') argv[0] = execPath;
  const isNodeBinary = argv[0] === execPath || /^node(js)?\d*$/.test(basename(argv[0]!));
  if (isNodeBinary && !argv.some((a) => a.startsWith('--max-old-space-size'))) {
    argv.splice(1, 0, `--max-old-space-size=${spec.memoryMb}`);
  }
  return argv;
}

/**
 * The child's whole environment. Fn's order (call.go buildConfig): config first,
 * then the reserved FN_* variables, which therefore win. Nothing of Herald's own
 * environment is inherited except PATH: fdk-node's ctx.config returns all of
 * process.env, so anything else would leak Herald's secrets into user code.
 */
export function buildEnv(spec: FunctionSpec, privateDir: string, path: string): Record<string, string> {
  const env: Record<string, string> = { PATH: path, HOME: privateDir };
  // Python block-buffers stdout on a pipe; unbuffered output lets logs land in the right call.
  if (isPythonRuntime(spec.runtime)) env['PYTHONUNBUFFERED'] = '1';
  for (const [k, v] of Object.entries(spec.config)) {
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) {
      throw new InvalidParameterError(`Function ${spec.id} config key "${k}" cannot be passed as an environment variable.`);
    }
    env[k] = v;
  }
  Object.assign(env, {
    FN_LISTENER: `unix:${privateDir}/lsnr.sock`,
    // Deprecated server-side, but fdk-node exits 2 and fdk-python exits without it.
    FN_FORMAT: 'http-stream',
    FN_APP_ID: spec.appId,
    FN_FN_ID: spec.id,
    // Open-source fnserver leaves the names unset, yet both FDKs read them; the docs say FN_NAME.
    FN_APP_NAME: spec.appName,
    FN_FN_NAME: spec.name,
    FN_NAME: spec.name,
    FN_MEMORY: String(spec.memoryMb),
    FN_TYPE: 'sync',
  });
  return env;
}

/** Throws InvalidParameterError for specs that can never start; checked before a pool is made. */
export function validateSpec(spec: FunctionSpec): void {
  if (!spec.id) throw new InvalidParameterError('Function spec needs an id.');
  if (!spec.dir) throw new InvalidParameterError(`Function ${spec.id} has no code folder.`);
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 1) {
    throw new InvalidParameterError(`Function ${spec.id} memoryMb must be a positive whole number.`);
  }
  if (!(spec.timeoutSeconds > 0)) throw new InvalidParameterError(`Function ${spec.id} timeoutSeconds must be positive.`);
  buildArgv(spec);
  buildEnv(spec, '/', '');
}
