import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFuncYaml } from '../../src/functions/func-yaml.js';
import type { Sandbox } from '../../src/functions/sandbox.js';
import { functionsCacheDir, setUpSandbox, type SandboxSetup } from '../../src/functions/sandbox-setup.js';
import type { FunctionSpec, InvokeResult } from '../../src/functions/types.js';

/** The fixture folders as committed (Node ones without node_modules). */
export const FIXTURE_SOURCES = join(process.cwd(), 'test', 'fixtures', 'functions');

/**
 * Copies a package and its dependencies from the project's node_modules into dir/node_modules,
 * as `npm install` in the function folder would (the sandbox shows a function its own folder
 * only, so the FDK must be inside it).
 */
function vendorSync(pkg: string, dir: string, seen = new Set<string>()): void {
  if (seen.has(pkg)) return;
  seen.add(pkg);
  const src = join(process.cwd(), 'node_modules', pkg);
  cpSync(src, join(dir, 'node_modules', pkg), { recursive: true, dereference: true });
  const manifest = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) vendorSync(dep, dir, seen);
}

/**
 * A copy of the fixtures, each Node one with its node_modules, readable by the sandbox's
 * user (Herald runs functions as nobody when it is root). Made once per test process.
 */
function prepareFixtures(): string {
  const root = mkdtempSync(join(tmpdir(), 'hfn-fixtures-'));
  chmodSync(root, 0o755);
  for (const name of readdirSync(FIXTURE_SOURCES)) {
    const dir = join(root, name);
    cpSync(join(FIXTURE_SOURCES, name), dir, { recursive: true });
    if (readdirSync(dir).includes('package.json')) vendorSync('@fnproject/fdk', dir);
  }
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  return root;
}

export const FIXTURES = prepareFixtures();

let sandboxSetup: Promise<SandboxSetup> | undefined;
/**
 * The sandbox Herald runs functions in by default (bubblewrap, shared network, Debian's
 * python3), set up and probed as the server does at start.
 */
export async function testSandbox(): Promise<Sandbox> {
  sandboxSetup ??= (async () => setUpSandbox({ mode: 'bwrap', network: 'shared', python3: '/usr/bin/python3' }, await functionsCacheDir(join(tmpdir(), 'herald-function-tests'))))();
  const setup = await sandboxSetup;
  if (!setup.ok) throw new Error(`the function tests run in the bubblewrap sandbox, which does not work here: ${setup.problem}`);
  return setup.sandbox;
}

/** A FunctionSpec for a fixture folder, built the way the integrator will: from its func.yaml. */
export function fixtureSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  const dir = join(FIXTURES, name);
  const y = parseFuncYaml(readFileSync(join(dir, 'func.yaml'), 'utf8'));
  return {
    id: `fn-${name}`,
    appId: 'app-1',
    name: y.name,
    appName: 'fixtures',
    version: y.version,
    dir,
    entrypoint: y.entrypoint,
    runtime: y.runtime,
    memoryMb: y.memory,
    timeoutSeconds: y.timeout,
    config: y.config,
    ...overrides,
  };
}

export function json(r: InvokeResult): Record<string, unknown> {
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
}

export const body = (s: string): { body: Buffer } => ({ body: Buffer.from(s) });

/** A private parent for the per-process dirs, so tests can assert they are all removed. */
export function makeTmpRoot(): { root: string; entries: () => string[]; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'hfn-test-'));
  // Enterable by the sandbox's user, who must reach its socket dir inside.
  chmodSync(root, 0o711);
  return { root, entries: () => readdirSync(root), remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** True while the pid exists and is not a zombie (reparented zombies may linger unreaped). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The host folder a sandboxed process has as its /tmp/iofs (its private socket dir), read from the
 * command line Herald gave bwrap (`--bind <dir> /tmp/iofs`); undefined once the process is gone.
 */
export function socketDirOf(hostPid: number): string | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${hostPid}/cmdline`, 'latin1').split('\0');
  } catch {
    return undefined;
  }
  for (let i = 0; i + 2 < argv.length; i++) if (argv[i] === '--bind' && argv[i + 2] === '/tmp/iofs') return argv[i + 1];
  return undefined;
}

/** The pid and every descendant of it on the host, from /proc (a sandbox's processes are bwrap's descendants). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** The command name of a host pid ('' once it is gone). */
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
}
