import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import { functionsCacheDir, setUpSandbox } from '../../src/functions/sandbox-setup.js';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli, runCli, spawnHerald } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { vendorPackage, sharedVendorDir } from '../helpers/vendor.js';
import { FIXTURES, fixtureSpec } from './helpers.js';

/**
 * A hostile function, deployed and invoked through a running Herald, tries each escape a
 * security review found open (Herald's key and database, the server's environment, writing
 * outside its folder, /etc/shadow, a detached child outliving the timeout) and more, and
 * reports what it got. Every attempt must fail inside the bubblewrap sandbox.
 */
const HOSTILE = `const fdk = require('@fnproject/fdk');
const fs = require('fs');
const cp = require('child_process');
const http = require('http');
const attempt = (fn) => { try { fn(); return 'ALLOWED'; } catch (e) { return e.code || e.message; } };
fdk.handle(async function (input) {
  if (input.detach) {
    // A grandchild in a session of its own, meant to outlive the timeout kill.
    cp.spawn('setsid', ['sleep', String(input.detach)], { detached: true, stdio: 'ignore' }).unref();
    return new Promise(() => undefined);
  }
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const field = (n) => (new RegExp('^' + n + ':\\\\s*(.*)$', 'm').exec(status) || [])[1];
  const pids = fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n));
  const environs = pids.map((p) => { try { return fs.readFileSync('/proc/' + p + '/environ', 'utf8'); } catch (e) { return ''; } }).join('\\n');
  const reachable = await new Promise((resolve) => {
    http.get(input.hostUrl, (res) => { res.resume(); resolve(res.statusCode); }).on('error', (e) => resolve(e.code));
  });
  return {
    readKey: attempt(() => fs.readFileSync(input.key)),
    readDb: attempt(() => fs.readFileSync(input.db)),
    listDataDir: attempt(() => fs.readdirSync(input.dataDir)),
    readShadow: attempt(() => fs.readFileSync('/etc/shadow')),
    writeCode: attempt(() => fs.writeFileSync('/function/pwned', 'x')),
    writeUsr: attempt(() => fs.writeFileSync('/usr/pwned', 'x')),
    writeDataDir: attempt(() => fs.writeFileSync(input.dataDir + '/pwned', 'x')),
    writeTmp: attempt(() => fs.writeFileSync('/tmp/scratch', 'x')),
    nestedUserns: attempt(() => cp.execFileSync('unshare', ['--user', '--map-root-user', 'true'], { stdio: 'pipe' })),
    uid: process.getuid(),
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
    noNewPrivs: field('NoNewPrivs'),
    processes: pids.length,
    canaryVisible: environs.includes(input.canary),
    env: Object.keys(process.env).sort(),
    root: fs.readdirSync('/').sort(),
    reachable,
  };
});
`;

/** Host pids whose command line is exactly `argv` (the sandbox's processes are on the host too). */
function hostPidsRunning(argv: string[]): number[] {
  const want = argv.join('\0');
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'latin1').replace(/\0$/, '') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('function sandbox (bubblewrap), from outside: a hostile function deployed to a running Herald', () => {
  let h: TestHerald;
  let work: string;
  let host: Receiver;
  let fnId: string;
  const CANARY = `herald-canary-${process.pid}`;
  before(async () => {
    // Herald runs in this process: its environment is this one, canary included.
    process.env['HERALD_SANDBOX_CANARY'] = CANARY;
    h = await startTestHerald('sqlite');
    host = await new Receiver(() => ({ status: 204 })).start();
    work = await mkdtemp(join(tmpdir(), 'herald-hostile-'));
    const dir = join(work, 'hostile');
    await mkdir(dir);
    await writeFile(join(dir, 'func.yaml'), 'schema_version: 20180708\nname: hostile\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\nmemory: 128\ntimeout: 2\n');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'hostile', version: '0.0.1', dependencies: { '@fnproject/fdk': '*' } }));
    await writeFile(join(dir, 'func.js'), HOSTILE);
    await vendorPackage('@fnproject/fdk', dir);
    assert.equal((await cli(h, ['app', 'create', '--name', 'evil'])).code, 0);
    const deployed = await cli(h, ['fn', 'deploy', dir, '--app', 'evil', '--output', 'json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
  });
  after(async () => {
    delete process.env['HERALD_SANDBOX_CANARY'];
    await host.stop();
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  const invoke = (payload: unknown) => heraldClient(h).raw('POST', `/20181201/functions/${fnId}/actions/invoke`, JSON.stringify(payload));

  it('cannot read Herald\'s key, database or data dir, nor /etc/shadow, nor write outside /tmp, nor see the server\'s environment or processes', async () => {
    const res = await invoke({
      key: join(h.dataDir, 'oci', 'oci_api_key.pem'),
      db: join(h.dataDir, 'herald.db'),
      dataDir: h.dataDir,
      canary: CANARY,
      hostUrl: host.url,
    });
    assert.equal(res.status, 200, res.text);
    const r = JSON.parse(res.text) as Record<string, unknown>;
    assert.deepEqual(
      { readKey: r.readKey, readDb: r.readDb, listDataDir: r.listDataDir, readShadow: r.readShadow },
      { readKey: 'ENOENT', readDb: 'ENOENT', listDataDir: 'ENOENT', readShadow: 'ENOENT' },
      'none of the host\'s files exist in the sandbox',
    );
    assert.deepEqual({ writeCode: r.writeCode, writeUsr: r.writeUsr, writeDataDir: r.writeDataDir }, { writeCode: 'EROFS', writeUsr: 'EROFS', writeDataDir: 'ENOENT' });
    assert.equal(r.writeTmp, 'ALLOWED', 'its private /tmp is writable');
    assert.notEqual(r.nestedUserns, 'ALLOWED', 'no nested user namespace');
    assert.equal(r.uid, 1000);
    assert.equal(r.capEff, '0000000000000000');
    assert.equal(r.capBnd, '0000000000000000');
    assert.equal(r.noNewPrivs, '1');
    assert.equal(r.canaryVisible, false, 'no process it can see carries Herald\'s environment');
    assert.ok((r.processes as number) <= 3, `it sees only its own pid namespace (${String(r.processes)} processes)`);
    assert.deepEqual(r.root, ['bin', 'dev', 'etc', 'function', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr']);
    assert.ok(!(r.env as string[]).includes('HERALD_SANDBOX_CANARY'));
    assert.equal(r.reachable, 204, 'the network is shared by default: it reaches a service on the host');
  });

  it('kills the whole sandbox at the timeout: a detached, setsid child does not survive it', async () => {
    const seconds = 31_000 + (process.pid % 1000);
    const pending = invoke({ detach: seconds });
    const sleeper = ['sleep', String(seconds)];
    const deadline = Date.now() + 10_000;
    while (hostPidsRunning(sleeper).length === 0) {
      assert.ok(Date.now() < deadline, 'the detached child started');
      await new Promise((r) => setTimeout(r, 25));
    }
    const res = await pending;
    assert.equal(res.status, 504, res.text);
    const gone = Date.now() + 10_000;
    while (hostPidsRunning(sleeper).length > 0) {
      assert.ok(Date.now() < gone, `the detached child outlived the timeout: ${hostPidsRunning(sleeper).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  });
});

describe('herald fn logs when a function cannot start', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  it('records the start failure with the reason and what the process wrote', async () => {
    // fn init's Python folder deployed without its build: /python/bin/fdk does not exist.
    assert.equal((await cli(h, ['app', 'create', '--name', 'broken'])).code, 0);
    const deployed = await cli(h, ['fn', 'deploy', join(sharedVendorDir(), 'fn-init', 'hello-python'), '--app', 'broken', '--no-build', '--output', 'json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
    const res = await heraldClient(h).raw('POST', `/20181201/functions/${fnId}/actions/invoke`, '{"name":"x"}');
    assert.equal(res.status, 502, res.text);
    const logs = await cli(h, ['fn', 'logs', fnId, '--output', 'json']);
    assert.equal(logs.code, 0, logs.stderr);
    const [call] = JSON.parse(logs.stdout) as { status: string; logs: string }[];
    assert.equal(call?.status, 'start', 'the call is recorded as a failed start');
    assert.match(
      call.logs,
      /^\[herald\] the function did not start: Function hello-python exited before it was ready \(exit code 2\)\. stderr: \/usr\/bin\/python3: can't open file '\/python\/bin\/fdk': \[Errno 2\] No such file or directory\n$/,
    );
  });
});

const PROBE_NETWORK = `const fdk = require('@fnproject/fdk');
const fs = require('fs');
const http = require('http');
fdk.handle(async function (input) {
  const reachable = await new Promise((resolve) => {
    http.get(input.hostUrl, { timeout: 3000 }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', (e) => resolve(e.code));
  });
  const routes = fs.readFileSync('/proc/net/route', 'utf8').trim().split('\\n').slice(1).map((l) => l.split('\\t'));
  return { reachable, interfaces: [...new Set(routes.map((r) => r[0]))], defaultRoute: routes.some((r) => r[1] === '00000000') };
});
`;

describe('function sandbox with --functions-network isolated', () => {
  let work: string;
  let host: Receiver;
  let rt: FunctionRuntime;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herald-isolated-'));
    await chmod(work, 0o755);
    await cp(join(FIXTURES, 'echo'), join(work, 'net'), { recursive: true });
    await writeFile(join(work, 'net', 'func.js'), PROBE_NETWORK);
    const setup = await setUpSandbox({ mode: 'bwrap', network: 'isolated', python3: '/usr/bin/python3' }, await functionsCacheDir(join(work, 'data')));
    assert.ok(setup.ok, setup.ok ? '' : setup.problem);
    rt = new FunctionRuntime({ sandbox: setup.sandbox });
    host = await new Receiver(() => ({ status: 204 })).start();
  });
  after(async () => {
    await rt.close();
    await host.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('has a network of its own with a route out, and cannot reach the host\'s loopback services', async () => {
    const spec = { ...fixtureSpec('echo'), id: 'fn-net', name: 'net', dir: join(work, 'net') };
    const r = await rt.invoke(spec, { body: Buffer.from(JSON.stringify({ hostUrl: host.url })), contentType: 'application/json' });
    assert.equal(r.status, 200, r.error ?? r.logs);
    const out = JSON.parse(r.body.toString()) as { reachable: unknown; interfaces: string[]; defaultRoute: boolean };
    assert.equal(out.reachable, 'ECONNREFUSED', '127.0.0.1 inside is its own loopback, not the host\'s');
    assert.equal(out.defaultRoute, true, 'pasta gave it an interface and a default route out');
    assert.ok(out.interfaces.some((i) => i !== 'lo'), `interfaces: ${out.interfaces.join(', ')}`);
    assert.equal(host.requests.length, 0);
  });
});

// Starts a child that holds on (a stand-in for anything a function leaves running), and answers at once.
const LINGER = `const fdk = require('@fnproject/fdk');
const cp = require('child_process');
fdk.handle(function (input) {
  cp.spawn('setsid', ['sleep', String(input.seconds)], { detached: true, stdio: 'ignore' }).unref();
  return { started: true };
});
`;

for (const network of ['shared', 'isolated'] as const) {
  describe(`function sandbox dies with Herald (network ${network})`, () => {
    let dataDir: string;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'herald-dies-'));
    });
    after(async () => {
      await rm(dataDir, { recursive: true, force: true });
    });

    it('leaves no process behind when herald serve is killed with SIGKILL', async () => {
      const server = await spawnHerald({ HERALD_PORT: '0', HERALD_HOST: '127.0.0.1', HERALD_DATA_DIR: dataDir, HERALD_FUNCTIONS_NETWORK: network });
      try {
        const target = ['--endpoint', server.url, '--config-file', join(dataDir, 'oci', 'config')];
        const dir = join(dataDir, 'linger');
        await mkdir(dir);
        await writeFile(join(dir, 'func.yaml'), 'schema_version: 20180708\nname: linger\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\n');
        await writeFile(join(dir, 'func.js'), LINGER);
        await vendorPackage('@fnproject/fdk', dir);
        assert.equal((await runCli(['app', 'create', '--name', 'a', ...target])).code, 0);
        const deployed = await runCli(['fn', 'deploy', dir, '--app', 'a', '--output', 'json', ...target]);
        assert.equal(deployed.code, 0, deployed.stderr);
        const fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
        const seconds = 32_000 + (process.pid % 1000) + (network === 'isolated' ? 1000 : 0);
        const invoked = await runCli(['fn', 'invoke', fnId, '--body', JSON.stringify({ seconds }), ...target]);
        assert.equal(invoked.code, 0, invoked.stderr);
        const sleeper = ['sleep', String(seconds)];
        // The function answers as soon as it has spawned the child, which execs `sleep` a moment later (later
        // still on a busy machine): wait for it to be there before killing Herald.
        await eventually(async () => hostPidsRunning(sleeper).length > 0, 15_000, 'the function left its child running in the warm sandbox');
        server.child.kill('SIGKILL');
        await server.exited;
        const deadline = Date.now() + 10_000;
        while (hostPidsRunning(sleeper).length > 0) {
          assert.ok(Date.now() < deadline, `the sandbox outlived Herald: ${hostPidsRunning(sleeper).join(', ')}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      } finally {
        server.child.kill('SIGKILL');
      }
    });
  });
}

describe('function sandbox set-up', () => {
  it('refuses to run functions when bwrap cannot run, saying why and how to opt out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-nobwrap-'));
    try {
      const setup = await setUpSandbox({ mode: 'bwrap', network: 'shared', python3: '/usr/bin/python3', bwrap: '/nonexistent/bwrap' }, dir);
      assert.equal(setup.ok, false);
      assert.match(setup.ok ? '' : setup.problem, /\/nonexistent\/bwrap is not installed \(Debian: apt-get install bubblewrap\)/);
      assert.throws(
        () => setup.sandbox.plan({ id: 'f', appId: 'a', name: 'hello', appName: 'app', version: '1', dir, entrypoint: 'node func.js', runtime: 'node', memoryMb: 128, timeoutSeconds: 5, config: {} }, dir, () => ({ argv: [], env: {} })),
        /functions cannot run on this server: .*--functions-sandbox none/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
