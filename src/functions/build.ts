import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * The build step of `herald fn deploy`: what Fn's build image does before `fn deploy` pushes, done
 * by the CLI on the operator's machine with the operator's own pip and npm (so pip.conf, PIP_*,
 * .npmrc and npm_config_* apply exactly as they would to a manual install). The result is a folder
 * laid out as the runtime expects a bundle: Python packages under `.herald/python/` (mounted at
 * `/python` in the sandbox, as in Fn's run image) and Node packages in `node_modules/` (Fn's
 * `/function/node_modules`).
 */

/** Where a built bundle keeps its Python packages, relative to the function folder. */
export const PYTHON_DEPS_DIR = '.herald/python';

export interface BuildStep {
  /** The program to run (an interpreter path or a tool on PATH). */
  file: string;
  args: string[];
  /** Why the step can fail with ENOENT and how to fix it, for the error message. */
  missing: string;
}

export interface BuildOptions {
  /** Python interpreter that runs pip; default HERALD_FUNCTIONS_PYTHON, else /usr/bin/python3, else `python3`. */
  python?: string;
  /** Environment of the build tools; default this process's, so the operator's pip/npm config applies. */
  env?: NodeJS.ProcessEnv;
  /** Where progress and the tools' own output go; default stderr (stdout is for the command's result). */
  output?: NodeJS.WritableStream;
}

/** A build that could not run or did not succeed; its message completes "the function's build failed: ...". */
export class FunctionBuildError extends Error {
  override readonly name = 'FunctionBuildError';
}

/**
 * The Python that runs pip: the one functions run with, so compiled packages match it.
 * HERALD_FUNCTIONS_PYTHON (the server's setting, when the CLI runs beside it), else the
 * server's default /usr/bin/python3 when this machine has it, else `python3` on PATH.
 */
export function defaultPython(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.HERALD_FUNCTIONS_PYTHON;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return statSync('/usr/bin/python3', { throwIfNoEntry: false }) !== undefined ? '/usr/bin/python3' : 'python3';
}

const isDir = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;

/** The steps Fn's build image would run for this folder, in order (none when it needs no build). */
export function planBuild(dir: string, python: string): BuildStep[] {
  const steps: BuildStep[] = [];
  if (existsSync(join(dir, 'requirements.txt'))) {
    // Fn: pip3 install --target /python/ --no-cache --no-cache-dir -r requirements.txt (langs/python.go).
    const args = ['-m', 'pip', 'install', '--target', join(dir, PYTHON_DEPS_DIR), '--no-cache-dir'];
    // A vendored wheel cache means "install offline from these", as Fn does.
    if (isDir(join(dir, '.pip_cache'))) args.push('--no-index', '--find-links', join(dir, '.pip_cache'));
    args.push('-r', 'requirements.txt');
    steps.push({ file: python, args, missing: `${python} was not found: choose the Python that runs pip with --python <path> (or HERALD_FUNCTIONS_PYTHON)` });
  }
  // An existing node_modules is the user's own build (Fn's node image skips npm too).
  if (existsSync(join(dir, 'package.json')) && !existsSync(join(dir, 'node_modules'))) {
    // `npm ci` needs a lock file, which `fn init` does not write; without one, install without creating it.
    const locked = existsSync(join(dir, 'package-lock.json')) || existsSync(join(dir, 'npm-shrinkwrap.json'));
    const args = locked ? ['ci', '--omit=dev'] : ['install', '--omit=dev', '--no-package-lock'];
    steps.push({ file: 'npm', args, missing: 'npm was not found on PATH: install npm, or run npm install in the folder yourself and deploy it with --no-build' });
  }
  return steps;
}

/** The step as a shell-like line, for progress and error messages. */
export function describeStep(step: BuildStep): string {
  return [step.file, ...step.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function runStep(step: BuildStep, cwd: string, env: NodeJS.ProcessEnv, output: NodeJS.WritableStream): Promise<void> {
  const line = describeStep(step);
  return new Promise((resolve, reject) => {
    const child = spawn(step.file, step.args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Streamed as it comes: pip and npm can take a while, and their own messages say what went wrong.
    child.stdout.on('data', (d: Buffer) => output.write(d));
    child.stderr.on('data', (d: Buffer) => output.write(d));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new FunctionBuildError(step.missing) : new FunctionBuildError(`${line}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new FunctionBuildError(`${line} ${signal !== null ? `was killed by ${signal}` : `exited ${code}`}`));
    });
  });
}

/** Runs the build steps in dir itself (a staging copy: pip and npm write into it). Returns the steps run. */
export async function buildFunctionDir(dir: string, opts: BuildOptions = {}): Promise<BuildStep[]> {
  const env = opts.env ?? process.env;
  const output = opts.output ?? process.stderr;
  const steps = planBuild(dir, opts.python ?? defaultPython(env));
  // pip --target keeps what is already there; start from requirements.txt alone, as Fn's fresh /python does.
  if (steps.length > 0) await rm(join(dir, PYTHON_DEPS_DIR), { recursive: true, force: true });
  for (const step of steps) {
    output.write(`Building: ${describeStep(step)}\n`);
    const started = Date.now();
    await runStep(step, dir, env, output);
    output.write(`Built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  return steps;
}

/** Copies a function folder to a fresh temp dir, without `.git` (never part of a bundle). Returns the copy. */
export async function stageFunctionDir(src: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-fn-build-'));
  try {
    // verbatimSymlinks: node_modules/.bin links stay relative, so the bundle's links stay inside it.
    await cp(src, dir, { recursive: true, verbatimSymlinks: true, filter: (p) => basename(p) !== '.git' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

export interface PreparedFunctionDir {
  /** The folder to pack: the source itself when nothing was built, else a built staging copy. */
  dir: string;
  steps: BuildStep[];
  /** Removes the staging copy, if any. */
  dispose(): Promise<void>;
}

/**
 * The folder `herald fn deploy` packs. With build off, or when the folder needs no build, the
 * source as is; otherwise a staging copy built in place, so the user's folder is never written to.
 */
export async function prepareFunctionDir(src: string, opts: BuildOptions & { build?: boolean } = {}): Promise<PreparedFunctionDir> {
  const asIs: PreparedFunctionDir = { dir: src, steps: [], dispose: async () => {} };
  if (opts.build === false || planBuild(src, opts.python ?? defaultPython(opts.env)).length === 0) return asIs;
  const dir = await stageFunctionDir(src);
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    return { dir, steps: await buildFunctionDir(dir, opts), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
