import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedVendorDir } from './vendor.js';

/**
 * The Python FDK for tests on machines that cannot reach the Python package index: a wheel built
 * from the vendored fdk-python (/work/shared/vendor/README.md), found by pip through PIP_FIND_LINKS
 * exactly as a real index would serve it to `pip install -r requirements.txt`.
 */

export const VENDORED_FDK_PYTHON = join(sharedVendorDir(), 'fdk-python');
/** The interpreter the runtime runs functions with, so packages are built for it. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

let building: Promise<string> | undefined;

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

async function buildWheel(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'herald-fdk-wheel-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  // pip builds in the source tree (build/, fdk.egg-info/): build from a copy, never in /work/shared.
  const src = join(root, 'fdk-python');
  await cp(VENDORED_FDK_PYTHON, src, { recursive: true });
  const wheels = join(root, 'wheels');
  // pbr takes the version from git or PKG-INFO, neither of which the vendored copy has.
  const env = { ...process.env, PBR_VERSION: '0.1.117' };
  await run(SYSTEM_PYTHON, ['-m', 'pip', 'wheel', '--no-deps', '--no-index', '--no-build-isolation', src, '-w', wheels], env);
  const built = (await readdir(wheels)).filter((f) => f.endsWith('.whl'));
  if (!built.some((f) => f.startsWith('fdk-0.1.117-'))) throw new Error(`no fdk wheel in ${wheels}: ${built.join(', ')}`);
  return wheels;
}

/** A directory holding fdk-0.1.117-py3-none-any.whl, built once per test process. */
export function fdkWheelDir(): Promise<string> {
  building ??= buildWheel();
  return building;
}

/**
 * pip settings for an offline install from wheelDir, as an operator would set them. No deps: fdk's
 * declared requirements include test tools a real index would provide; at run time it needs only
 * httptools, which Debian's python3-httptools gives /usr/bin/python3.
 */
export function pipOfflineEnv(wheelDir: string): Record<string, string> {
  return { PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheelDir, PIP_NO_DEPS: '1' };
}
