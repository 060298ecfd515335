import { basename } from 'node:path';
import { InvalidParameterError } from '../core/errors.js';
import { defaultEntrypoint } from './func-yaml.js';
import { FN_PYTHON, type FunctionView } from './sandbox.js';
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
 * argv for the spec, as the function sees it (see FunctionView). A bare `node` becomes
 * Herald's own Node (same version, no PATH surprises), and any node binary gets
 * `--max-old-space-size=<memoryMb>` so V8 heap exhaustion aborts the process instead of
 * growing without bound (Buffers are outside the V8 heap: the RSS watchdog covers those).
 * A bare `python3`/`python` is the configured interpreter, and a script among the Python
 * packages (`/python/bin/fdk` of an `fn init` entrypoint) runs through it: pip wrote the
 * building interpreter's absolute path into its shebang, which need not exist here.
 */
export function buildArgv(spec: FunctionSpec, view: Pick<FunctionView, 'python' | 'python3' | 'node'> = DEFAULT_VIEW): string[] {
  const line = spec.entrypoint.trim() !== '' ? spec.entrypoint : defaultEntrypoint(spec.runtime);
  if (line === undefined) throw new InvalidParameterError(`Function ${spec.id} has no entrypoint for runtime "${spec.runtime}".`);
  const argv = splitCommand(line);
  if (argv.length === 0) throw new InvalidParameterError(`Function ${spec.id} has an empty entrypoint.`);
  if (argv[0] === 'node') argv[0] = view.node;
  else if (argv[0] === 'python3' || argv[0] === 'python') argv[0] = view.python3;
  else if (argv[0]!.startsWith(`${FN_PYTHON}/`) || (view.python !== undefined && argv[0]!.startsWith(`${view.python}/`))) argv.unshift(view.python3);
  const isNodeBinary = argv[0] === view.node || /^node(js)?\d*$/.test(basename(argv[0]!));
  if (isNodeBinary && !argv.some((a) => a.startsWith('--max-old-space-size'))) {
    argv.splice(1, 0, `--max-old-space-size=${spec.memoryMb}`);
  }
  return argv;
}

/**
 * The child's whole environment. Fn's order (call.go buildConfig): config first,
 * then the reserved FN_* variables, which therefore win. Nothing of Herald's own
 * environment is inherited: fdk-node's ctx.config returns all of process.env, so
 * anything else would leak Herald's secrets into user code.
 */
export function buildEnv(spec: FunctionSpec, view: Pick<FunctionView, 'code' | 'python' | 'listenerDir' | 'home' | 'path'>): Record<string, string> {
  const env: Record<string, string> = { PATH: view.path, HOME: view.home };
  if (isPythonRuntime(spec.runtime)) {
    // Python block-buffers stdout on a pipe; unbuffered output lets logs land in the right call.
    env['PYTHONUNBUFFERED'] = '1';
    // As Fn's Python run image: the code first, then the packages built at deploy.
    env['PYTHONPATH'] = view.python === undefined ? view.code : `${view.code}:${view.python}`;
  }
  for (const [k, v] of Object.entries(spec.config)) {
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) {
      throw new InvalidParameterError(`Function ${spec.id} config key "${k}" cannot be passed as an environment variable.`);
    }
    env[k] = v;
  }
  Object.assign(env, {
    FN_LISTENER: `unix:${view.listenerDir}/lsnr.sock`,
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

/** The view of an unsandboxed process with Herald's interpreters, for checks that need no paths. */
const DEFAULT_VIEW = { python: undefined, python3: 'python3', node: process.execPath };

/** Throws InvalidParameterError for specs that can never start; checked before a pool is made. */
export function validateSpec(spec: FunctionSpec): void {
  if (!spec.id) throw new InvalidParameterError('Function spec needs an id.');
  if (!spec.dir) throw new InvalidParameterError(`Function ${spec.id} has no code folder.`);
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 1) {
    throw new InvalidParameterError(`Function ${spec.id} memoryMb must be a positive whole number.`);
  }
  if (!(spec.timeoutSeconds > 0)) throw new InvalidParameterError(`Function ${spec.id} timeoutSeconds must be positive.`);
  buildArgv(spec);
  buildEnv(spec, { code: '/', python: undefined, listenerDir: '/', home: '/', path: '' });
}
