import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { prepareFunctionDir, type BuildOptions, type PreparedFunctionDir } from '../../src/functions/build.js';
import { digestOf, extractBundle, packFunctionDir } from '../../src/functions/bundles.js';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { runCli } from '../helpers/process.js';
import { fdkWheelDir, pipOfflineEnv, SYSTEM_PYTHON } from '../helpers/python-fdk.js';
import { sharedVendorDir } from '../helpers/vendor.js';

// Real pip and npm, as `herald fn deploy` runs them: npm against the npm registry (reachable here),
// pip offline against a wheel of the vendored fdk-python (the Python package index is not).
const FN_INIT = join(sharedVendorDir(), 'fn-init');
const ROOT = await mkdtemp(join(tmpdir(), 'herald-build-test-'));
const staged: PreparedFunctionDir[] = [];

/** A fresh copy of an `fn init` folder, as a user's own function folder. */
async function copyOf(name: string): Promise<string> {
  const dir = await mkdtemp(join(ROOT, `${name}-`));
  await cp(join(FN_INIT, name), dir, { recursive: true });
  return dir;
}

/** Prepares (stages and builds) with the tools' output captured; removes the staging copy after the test. */
async function prepare(src: string, opts: BuildOptions = {}): Promise<PreparedFunctionDir & { log: string }> {
  const output = new PassThrough();
  let log = '';
  output.on('data', (d: Buffer) => (log += d.toString()));
  const started = Date.now();
  try {
    const p = await prepareFunctionDir(src, { ...opts, output });
    process.stdout.write(`# build of ${src} took ${Date.now() - started} ms\n`);
    staged.push(p);
    return { ...p, log };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${log}`);
  }
}

/** Runs the built Python function as the FDK runs under Fn (PYTHONPATH=/function:/python) and calls it once. */
async function callPythonFunction(dir: string, body: string): Promise<string> {
  const sock = await mkdtemp(join(ROOT, 'sock-'));
  const env = { PATH: '/usr/bin:/bin', HOME: sock, PYTHONPATH: `${dir}:${join(dir, '.herald/python')}`, FN_FORMAT: 'http-stream', FN_LISTENER: `unix:${sock}/lsnr.sock` };
  const child = spawn(SYSTEM_PYTHON, [join(dir, '.herald/python/bin/fdk'), join(dir, 'func.py'), 'handler'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  try {
    await eventually(() => {
      if (child.exitCode !== null) throw new Error(`the FDK exited:\n${logs}`);
      return existsSync(join(sock, 'lsnr.sock'));
    }, 30_000, 'the FDK to listen').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs}`);
    });
    return await new Promise<string>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'fn-call-id': 'c1', 'fn-deadline': new Date(Date.now() + 10_000).toISOString() };
      const req = request({ socketPath: join(sock, 'lsnr.sock'), path: '/call', method: 'POST', headers }, (res) => {
        let out = '';
        res.on('data', (d: Buffer) => (out += d.toString()));
        res.on('end', () => resolve(out));
      });
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

describe('the function build of herald fn deploy', { timeout: 120_000 }, () => {
  let wheels: string;
  before(async () => {
    const started = Date.now();
    wheels = await fdkWheelDir();
    process.stdout.write(`# fdk wheel built in ${Date.now() - started} ms\n`);
  });
  after(async () => {
    for (const p of staged) await p.dispose();
    await rm(ROOT, { recursive: true, force: true });
  });

  it('installs a node function with npm install --omit=dev, in a staging copy, without dev deps or a lock file', async () => {
    const src = await copyOf('hello-node');
    const manifest = JSON.parse(await readFile(join(src, 'package.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(src, 'package.json'), JSON.stringify({ ...manifest, devDependencies: { 'is-number': '7.0.0' } }, null, 2));
    const p = await prepare(src);
    assert.notEqual(p.dir, src);
    assert.match(p.log, /^Building: npm install --omit=dev --no-package-lock\n/);
    assert.ok(existsSync(join(p.dir, 'node_modules/@fnproject/fdk/package.json')), p.log);
    assert.ok(!existsSync(join(p.dir, 'node_modules/is-number')), 'dev dependencies are left out');
    assert.ok(!existsSync(join(p.dir, 'package-lock.json')));
    assert.deepEqual((await readdir(src)).sort(), ['func.js', 'func.yaml', 'package.json'], 'the user folder is untouched');
  });

  it('uses npm ci when the folder has a lock file, and keeps an existing node_modules as the user built it', async () => {
    const src = await copyOf('hello-node');
    // A lock file as a plain `npm install` writes it (no node_modules: --package-lock-only).
    await runTool('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], src);
    assert.ok(!existsSync(join(src, 'node_modules')));
    const ci = await prepare(src);
    assert.match(ci.log, /^Building: npm ci --omit=dev\n/);
    assert.ok(existsSync(join(ci.dir, 'node_modules/@fnproject/fdk/package.json')), ci.log);

    await mkdir(join(src, 'node_modules'));
    const kept = await prepare(src);
    assert.equal(kept.dir, src, 'nothing to build: the folder is packed as is');
    assert.deepEqual(kept.steps, []);
  });

  it('installs requirements.txt into .herald/python with the chosen python and the operator pip settings; the result runs', async () => {
    const src = await copyOf('hello-python');
    await mkdir(join(src, '.git'));
    await writeFile(join(src, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const p = await prepare(src, { python: SYSTEM_PYTHON, env: { ...process.env, ...pipOfflineEnv(wheels) } });
    const staged = join(p.dir, '.herald/python');
    assert.match(p.log, new RegExp(`^Building: ${SYSTEM_PYTHON} -m pip install --target ${staged} --no-cache-dir -r requirements.txt\\n`));
    assert.match(p.log, /Successfully installed fdk-0\.1\.117/);
    assert.ok(existsSync(join(staged, 'fdk/__init__.py')), p.log);
    assert.ok(existsSync(join(staged, 'bin/fdk')), p.log);
    assert.ok(!existsSync(join(p.dir, '.git')), '.git is not staged');
    assert.ok(!existsSync(join(src, '.herald')), 'the user folder is untouched');

    // The FDK from the build serves the function with Debian's httptools, as the runtime will run it.
    assert.deepEqual(JSON.parse(await callPythonFunction(p.dir, '{"name":"Herald"}')), { message: 'Hello Herald' });
  });

  it('installs offline from a .pip_cache folder, as Fn does', async () => {
    const src = await copyOf('hello-python');
    await cp(wheels, join(src, '.pip_cache'), { recursive: true });
    // Only PIP_NO_DEPS from the operator: the index and links come from .pip_cache.
    const p = await prepare(src, { python: SYSTEM_PYTHON, env: { ...process.env, PIP_NO_DEPS: '1' } });
    assert.match(p.log, new RegExp(`--no-index --find-links ${join(p.dir, '.pip_cache')} -r requirements.txt\\n`));
    assert.ok(existsSync(join(p.dir, '.herald/python/bin/fdk')), p.log);
  });

  describe('herald fn deploy', () => {
    let h: TestHerald;
    before(async () => {
      h = await startTestHerald('sqlite');
      assert.equal((await runCli(['app', 'create', '--name', 'builds', ...server()])).code, 0);
    });
    after(() => h.stop());
    const server = () => ['--endpoint', h.herald.url, '--config-file', h.configFile];
    // The operator's environment: the CLI passes it to pip, which reads PIP_* from it.
    const operatorEnv = () => ({ HOME: process.env.HOME ?? '/tmp', HERALD_FUNCTIONS_PYTHON: SYSTEM_PYTHON, ...pipOfflineEnv(wheels) });

    async function bundleFiles(digest: string): Promise<string> {
      const b = await h.herald.store.functions.getBundle(digest);
      assert.ok(b, `bundle ${digest} is stored`);
      const out = await mkdtemp(join(ROOT, 'bundle-'));
      await extractBundle(b.bytes, out);
      return out;
    }

    it('builds requirements.txt before packing and uploads the built folder', async () => {
      const src = await copyOf('hello-python');
      const started = Date.now();
      const r = await runCli(['fn', 'deploy', src, '--app', 'builds', '--output', 'json', ...server()], operatorEnv());
      process.stdout.write(`# herald fn deploy (with build) took ${Date.now() - started} ms\n`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Building: \/usr\/bin\/python3 -m pip install --target \S+\/\.herald\/python --no-cache-dir -r requirements\.txt\n/);
      assert.match(r.stderr, /Successfully installed fdk-0\.1\.117[\s\S]*\nPacking .* \(built\) \.\.\.\nUploading/);
      const fn = JSON.parse(r.stdout) as { displayName: string; imageDigest: string };
      assert.equal(fn.displayName, 'hello-python');
      const bundle = await bundleFiles(fn.imageDigest);
      for (const f of ['func.py', 'func.yaml', 'requirements.txt', '.herald/python/bin/fdk', '.herald/python/fdk/__init__.py']) assert.ok(existsSync(join(bundle, f)), f);
      assert.ok(!existsSync(join(src, '.herald')), 'the user folder is untouched');
    });

    it('--no-build packs the folder as is', async () => {
      const src = await copyOf('hello-python');
      const r = await runCli(['fn', 'deploy', src, '--app', 'builds', '--no-build', '--output', 'json', ...server()], operatorEnv());
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Building/);
      assert.equal((JSON.parse(r.stdout) as { imageDigest: string }).imageDigest, digestOf(await packFunctionDir(src)));
    });

    it('a failing build exits 1 after pip says why, and deploys nothing', async () => {
      const src = await copyOf('hello-python');
      await writeFile(join(src, 'func.yaml'), (await readFile(join(src, 'func.yaml'), 'utf8')).replace('name: hello-python', 'name: broken'));
      await writeFile(join(src, 'requirements.txt'), 'herald-no-such-package==1.0\n');
      const r = await runCli(['fn', 'deploy', src, '--app', 'builds', '--python', SYSTEM_PYTHON, ...server()], { HOME: process.env.HOME ?? '/tmp', PIP_NO_INDEX: '1' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /No matching distribution found for herald-no-such-package==1\.0/);
      assert.match(r.stderr, /\nherald: the function's build failed: \/usr\/bin\/python3 -m pip install --target \S+ --no-cache-dir -r requirements\.txt exited 1\n$/);
      assert.doesNotMatch(r.stderr, /Packing|Uploading/);
      const listed = JSON.parse((await runCli(['fn', 'list', '--app', 'builds', '--output', 'json', ...server()])).stdout) as { displayName: string }[];
      assert.deepEqual(listed.filter((f) => f.displayName === 'broken'), []);
    });

    it('a missing python says which and how to choose another', async () => {
      const src = await copyOf('hello-python');
      const r = await runCli(['fn', 'deploy', src, '--app', 'builds', ...server()], { HERALD_FUNCTIONS_PYTHON: '/nonexistent/python3' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /herald: the function's build failed: \/nonexistent\/python3 was not found: choose the Python that runs pip with --python <path> \(or HERALD_FUNCTIONS_PYTHON\)\n$/);
    });
  });
});

function runTool(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
