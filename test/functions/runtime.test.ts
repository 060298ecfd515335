import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import { eventually } from '../helpers/eventually.js';
import { body, commOf, fixtureSpec, isAlive, json, makeTmpRoot, processTree, socketDirOf, testSandbox } from './helpers.js';

/** A variable standing for a secret in Herald's environment (its key, a database URL). */
const CANARY = 'HERALD_TEST_CANARY';
const CANARY_VALUE = `do-not-leak-${process.pid}`;

/**
 * Runs `call`, which must start a process, while the canary is in Herald's environment: the
 * moment a leak would happen. (Tests in one file run in sequence, so nothing else sees it.)
 */
async function withCanary<T>(call: () => Promise<T>): Promise<T> {
  process.env[CANARY] = CANARY_VALUE;
  try {
    return await call();
  } finally {
    delete process.env[CANARY];
  }
}

// Real processes running the real @fnproject/fdk (and a stdlib-only Python function).
describe('FunctionRuntime with real FDK processes', () => {
  const tmp = makeTmpRoot();
  let rt: FunctionRuntime;
  before(async () => {
    rt = new FunctionRuntime({ sandbox: await testSandbox(), tmpRoot: tmp.root });
  });
  after(async () => {
    delete process.env[CANARY];
    await rt.close();
    const left = tmp.entries();
    tmp.remove();
    assert.deepEqual(left, [], 'every private process dir is removed on close');
  });

  it('echo: input, config, headers, deadline and logs; the second call is warm', async () => {
    const spec = fixtureSpec('echo');
    const t0 = Date.now();
    const r = await rt.invoke(spec, { body: Buffer.from('{"n":1}'), contentType: 'application/json', headers: { 'X-Foo': 'bar' }, callId: 'call-echo-1' });
    assert.equal(r.status, 200, r.error);
    assert.equal(r.coldStart, true);
    assert.equal(r.callId, 'call-echo-1');
    assert.equal(r.headers['x-echo'], 'yes');
    assert.equal(r.headers['content-type'], 'application/json');
    const out = json(r) as { input: unknown; greeting: string; callId: string; deadline: string; fnId: string; appName: string; fnName: string; memory: number; headers: Record<string, string[]> };
    assert.deepEqual(out.input, { n: 1 });
    assert.equal(out.greeting, 'hello from func.yaml');
    assert.equal(out.callId, 'call-echo-1');
    assert.deepEqual([out.fnId, out.appName, out.fnName, out.memory], ['fn-echo', 'fixtures', 'echo', 128]);
    assert.deepEqual(out.headers['X-Foo'], ['bar']);
    const deadline = Date.parse(out.deadline);
    assert.ok(deadline >= t0 + 10_000 - 50 && deadline <= Date.now() + 10_000 + 50, `deadline ${out.deadline} ≈ now + timeout`);
    assert.match(r.logs, /echo: module loaded\n/, 'a cold call carries the init output');
    assert.match(r.logs, /echo: handling call call-echo-1\n/);
    assert.match(r.logs, /echo: to stderr\n/);

    const r2 = await rt.invoke(spec, body('"again"'));
    assert.equal(r2.status, 200);
    assert.equal(r2.coldStart, false);
    assert.equal(r2.process?.id, r.process?.id, 'the hot process is reused');
    assert.doesNotMatch(r2.logs, /module loaded/);
    assert.match(r2.logs, new RegExp(`handling call ${r2.callId}`));

    const logs = rt.recentLogs(spec.id, 10);
    assert.deepEqual(logs.map((l) => l.callId), [r2.callId, 'call-echo-1'], 'newest first');
    assert.equal(logs[0]!.status, 200);
  });

  it('echo through the HTTP gateway view: Fn-Http-* in, Fn-Http-Status and Fn-Http-H-* out', async () => {
    const r = await rt.invoke(fixtureSpec('echo'), { body: Buffer.from('x'), method: 'PUT', url: 'http://localhost/t/fixtures/echo?q=1', headers: { 'X-Foo': 'bar' } });
    assert.equal(r.status, 200, r.error);
    assert.equal(r.httpStatus, 201);
    assert.deepEqual(r.headers, { 'content-type': 'application/json', 'x-gateway': 'gw' });
    const gw = json(r)['gateway'] as { method: string; url: string; headers: Record<string, string[]> };
    assert.deepEqual(gw, { method: 'PUT', url: 'http://localhost/t/fixtures/echo?q=1', headers: { 'X-Foo': ['bar'] } });
  });

  it('throws: the handler error is a 502 with the detail, and the same process serves the next call', async () => {
    const spec = fixtureSpec('throws');
    const ok1 = await rt.invoke(spec, body('hi'));
    const bad = await rt.invoke(spec, body('throw'));
    assert.equal(bad.status, 502);
    assert.equal(bad.errorKind, 'function');
    assert.match(bad.error!, /Error: boom/);
    assert.equal(json(bad)['message'], 'Exception in function, consult logs for details');
    assert.match(bad.logs, /Error in function/);
    const ok2 = await rt.invoke(spec, body('hi'));
    assert.equal(ok2.status, 200);
    assert.equal(ok2.process?.id, ok1.process?.id);
  });

  it('hang: killed at the timeout with its grandchild, 504, and the next call gets a fresh process', async () => {
    // 3 s rather than the fixture's 1 s: the grandchild must be seen while the call hangs, even on a busy machine.
    const spec = fixtureSpec('hang', { timeoutSeconds: 3 });
    const first = await rt.invoke(spec, body('hi'));
    const host = first.process!.pid!;
    const dir = socketDirOf(host)!;
    const t0 = performance.now();
    const pending = rt.invoke(spec, body('hang'));
    // Every host process of the sandbox, the grandchild `sleep` among them, seen while the call hangs.
    const tree = await eventually(() => {
      const t = processTree(host);
      return t.some((pid) => commOf(pid) === 'sleep') && t;
    }, 15_000, 'the grandchild to start');
    const r = await pending;
    assert.equal(r.status, 504);
    assert.equal(r.errorKind, 'timeout');
    assert.equal(r.error, 'timed out');
    // A lower bound only (a busy machine makes it later, never earlier): not killed before its timeout.
    const took = performance.now() - t0;
    assert.ok(took >= 3000 - 10, `timed out after ${took} ms, before the 3 s timeout`);
    assert.match(r.logs, /grandchild \d+/);
    await eventually(() => tree.every((pid) => !isAlive(pid)), 15_000, 'the whole sandbox to be killed');
    await eventually(() => !existsSync(dir), 15_000, `the killed process's dir ${dir} to be removed`);
    const next = await rt.invoke(spec, body('hi'));
    assert.equal(next.status, 200);
    assert.equal(next.coldStart, true);
    assert.notEqual(next.process?.id, first.process?.id);
  });

  it('hog (Buffers): the RSS watchdog kills it and reports memory limit exceeded; next call succeeds', async () => {
    const spec = fixtureSpec('hog');
    const r = await rt.invoke(spec, body('buffers'));
    assert.equal(r.status, 502);
    assert.equal(r.errorKind, 'oom');
    assert.match(r.error!, /memory limit exceeded: RSS \d+ MB > limit 109 MB \(memory 64 MB\)/);
    const next = await rt.invoke(spec, body('hi'));
    assert.equal(next.status, 200);
  });

  it('hog (V8 heap): --max-old-space-size aborts it; reported as memory limit exceeded', async () => {
    // A generous RSS allowance keeps the watchdog out of the way, so V8's own heap cap acts.
    const lenient = new FunctionRuntime({ sandbox: await testSandbox(), tmpRoot: tmp.root, rssAllowanceMb: 1024 });
    try {
      const spec = fixtureSpec('hog');
      const r = await lenient.invoke(spec, body('heap'));
      assert.equal(r.status, 502);
      assert.equal(r.errorKind, 'oom');
      assert.match(r.error!, /memory limit exceeded: the node heap ran out \(memory 64 MB\)/);
      assert.match(r.logs, /heap out of memory|Reached heap limit/);
      assert.equal((await lenient.invoke(spec, body('hi'))).status, 200);
    } finally {
      await lenient.close();
    }
  });

  it('returns-null: the FDK crash fails the call, the process is replaced', async () => {
    const spec = fixtureSpec('returns-null');
    const first = await rt.invoke(spec, body('hi'));
    const dir = socketDirOf(first.process!.pid!)!;
    assert.ok(existsSync(join(dir, 'lsnr.sock')), `the live process's socket is in ${dir}`);
    const r = await rt.invoke(spec, body('null'));
    assert.equal(r.status, 502);
    assert.equal(r.errorKind, 'crash');
    assert.match(r.error!, /crashed during the call \(exit code 1\)/);
    assert.match(r.error!, /Cannot read properties of undefined \(reading 'then'\)/);
    await eventually(() => !existsSync(dir), 15_000, `the crashed process's dir ${dir} to be removed`);
    const next = await rt.invoke(spec, body('hi'));
    assert.equal(next.status, 200);
    assert.notEqual(next.process?.id, first.process?.id);
  });

  it("env: nothing of Herald's environment leaks; it sees Fn's paths; config and FN_ vars are set", async () => {
    const spec = fixtureSpec('env', { config: { FROM_YAML: '1', FROM_APP: 'a', FN_APP_ID: 'spoof' } });
    const r = await withCanary(() => rt.invoke(spec, body('{}')));
    assert.equal(r.status, 200, r.error);
    assert.equal(r.coldStart, true, "the process started while the canary was in Herald's environment");
    const { env, cwd, execArgv } = json(r) as { env: Record<string, string>; cwd: string; execArgv: string[] };
    assert.equal(env[CANARY], undefined);
    assert.deepEqual(Object.entries(env).filter(([, v]) => v.includes(CANARY_VALUE)), [], 'no variable carries the canary under another name');
    // PWD is bwrap's (the working directory it chdir'd to); everything else is Herald's choosing.
    const allowed = ['PATH', 'HOME', 'PWD', 'FROM_YAML', 'FROM_APP', 'FN_LISTENER', 'FN_FORMAT', 'FN_APP_ID', 'FN_FN_ID', 'FN_APP_NAME', 'FN_FN_NAME', 'FN_NAME', 'FN_MEMORY', 'FN_TYPE'];
    assert.deepEqual(Object.keys(env).sort(), allowed.sort());
    assert.deepEqual(
      { FROM_YAML: env['FROM_YAML'], FROM_APP: env['FROM_APP'], FN_FN_ID: env['FN_FN_ID'], FN_APP_NAME: env['FN_APP_NAME'], FN_FN_NAME: env['FN_FN_NAME'], FN_NAME: env['FN_NAME'], FN_MEMORY: env['FN_MEMORY'], FN_TYPE: env['FN_TYPE'] },
      { FROM_YAML: '1', FROM_APP: 'a', FN_FN_ID: 'fn-env', FN_APP_NAME: 'fixtures', FN_FN_NAME: 'env', FN_NAME: 'env', FN_MEMORY: '128', FN_TYPE: 'sync' },
    );
    assert.equal(env['FN_APP_ID'], 'app-1', 'the reserved FN_ variables win over config');
    assert.equal(env['FN_FORMAT'], 'http-stream');
    assert.equal(env['FN_LISTENER'], 'unix:/tmp/iofs/lsnr.sock');
    assert.equal(env['HOME'], '/tmp');
    assert.equal(env['PATH'], '/usr/local/bin:/usr/bin:/bin');
    assert.equal(cwd, '/function');
    assert.equal(env['PWD'], '/function');
    assert.deepEqual(execArgv, ['--max-old-space-size=128']);
  });

  it('python (stdlib only): speaks the contract, keeps the process on a 502, logs are captured', async () => {
    const spec = fixtureSpec('python-echo');
    const r = await withCanary(() => rt.invoke(spec, { body: Buffer.from('hi py'), contentType: 'text/plain' }));
    assert.equal(r.status, 200, r.error);
    assert.equal(r.coldStart, true, "the process started while the canary was in Herald's environment");
    assert.equal(r.headers['x-python'], 'yes');
    const out = json(r) as { input: string; pid: number; greeting: string; fnName: string; callId: string; envKeys: string[] };
    assert.equal(out.input, 'hi py');
    assert.equal(out.greeting, 'hello from python');
    assert.equal(out.fnName, 'python-echo');
    assert.equal(out.callId, r.callId);
    assert.ok(!out.envKeys.includes(CANARY), "the canary in Herald's environment reached the function");
    // Exactly Herald's choice (LC_CTYPE is Python's own, PEP 538 locale coercion under the empty locale).
    assert.deepEqual(
      out.envKeys.filter((k) => k !== 'LC_CTYPE'),
      ['FN_APP_ID', 'FN_APP_NAME', 'FN_FN_ID', 'FN_FN_NAME', 'FN_FORMAT', 'FN_LISTENER', 'FN_MEMORY', 'FN_NAME', 'FN_TYPE', 'GREETING', 'HOME', 'PATH', 'PWD', 'PYTHONPATH', 'PYTHONUNBUFFERED'],
    );
    assert.match(r.logs, new RegExp(`python handling call ${r.callId}`));
    const bad = await rt.invoke(spec, body('fail'));
    assert.equal(bad.status, 502);
    assert.equal(bad.body.toString(), 'py boom');
    const again = await rt.invoke(spec, body('x'));
    assert.equal(again.process?.id, r.process?.id);
  });

  it('the private dir of a process that dies is removed (and only that one)', async () => {
    const spec = fixtureSpec('echo', { id: 'fn-doomed' });
    const first = await rt.invoke(spec, body('"hi"'));
    assert.equal(first.status, 200, first.error);
    const host = first.process!.pid!;
    const dir = socketDirOf(host)!;
    assert.ok(dir?.startsWith(`${tmp.root}/`), `its dir ${dir} is under the runtime's tmpRoot`);
    assert.ok(existsSync(join(dir, 'lsnr.sock')), 'its socket is there while it lives');
    const others = tmp.entries().filter((d) => join(tmp.root, d) !== dir);
    assert.ok(others.length > 0, "other tests' processes are still alive (so removing every dir would be wrong)");

    // It dies on its own account (nothing in Herald asked it to): the whole sandbox, by SIGKILL.
    const tree = processTree(host);
    process.kill(host, 'SIGKILL');
    await eventually(() => tree.every((pid) => !isAlive(pid)), 15_000, 'the sandbox to die');
    await eventually(() => !existsSync(dir), 15_000, `the dead process's dir ${dir} to be removed`);
    assert.deepEqual(others.filter((d) => !existsSync(join(tmp.root, d))), [], "the live processes' dirs are kept");

    // The pool noticed: the next call starts a fresh process, in a dir of its own.
    const next = await rt.invoke(spec, body('"again"'));
    assert.equal(next.status, 200, next.error);
    assert.equal(next.coldStart, true);
    const nextDir = socketDirOf(next.process!.pid!)!;
    assert.notEqual(nextDir, dir);
    assert.ok(existsSync(join(nextDir, 'lsnr.sock')));
  });
});
