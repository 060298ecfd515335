import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFuncYaml } from '../../src/functions/func-yaml.js';
import type { FunctionSpec, InvokeResult } from '../../src/functions/types.js';

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'functions');

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

export async function waitFor(cond: () => boolean, timeoutMs = 3000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}
