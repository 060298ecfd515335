import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FunctionPool } from '../../src/functions/pool.js';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import type { CallLogRecord } from '../../src/functions/types.js';
import { eventually } from '../helpers/eventually.js';
import { body, fixtureSpec, isAlive, makeTmpRoot, testSandbox } from './helpers.js';

const tmp = makeTmpRoot();
after(() => {
  const left = tmp.entries();
  tmp.remove();
  assert.deepEqual(left, [], 'every private process dir is removed');
});

describe('FunctionPool', () => {
  it('grows to N processes under N concurrent calls (one call per process)', async () => {
    const records: CallLogRecord[] = [];
    // Idle processes must not retire mid-test however slow the machine is: shrinking is the next test's.
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 4, idleTimeoutMs: 120_000 }, (r) => records.push(r));
    try {
      // Cold: one start per waiter. (A call may still land on a process freed by an
      // earlier call if that beats a slow start, exactly as in Fn, so pids are not asserted here.)
      const cold = await Promise.all(Array.from({ length: 4 }, () => pool.invoke(body('{}'))));
      assert.deepEqual(cold.map((r) => r.status), [200, 200, 200, 200]);
      assert.ok(cold.some((r) => r.coldStart));
      assert.deepEqual(pool.stats(), { version: '0.0.1', total: 4, starting: 0, idle: 4, busy: 0, queued: 0 });

      // Warm: 4 concurrent calls take the 4 idle processes, one call per process.
      const warm = Array.from({ length: 4 }, () => pool.invoke(body('{}')));
      const { busy: _w, ...warmStats } = pool.stats();
      assert.deepEqual(warmStats, { version: '0.0.1', total: 4, starting: 0, idle: 0, queued: 0 }, 'all four taken at once, none started');
      const warmDone = await Promise.all(warm);
      const ids = new Set(warmDone.map((r) => r.process?.id));
      assert.equal(ids.size, 4, 'each concurrent call ran on its own process');
      assert.ok(warmDone.every((r) => r.status === 200 && !r.coldStart));

      // Beyond capacity: 6 concurrent calls queue for the same 4 processes, none started.
      const again = Array.from({ length: 6 }, () => pool.invoke(body('{}')));
      const { busy: _a, ...againStats } = pool.stats();
      assert.deepEqual(againStats, { version: '0.0.1', total: 4, starting: 0, idle: 0, queued: 2 }, 'four taken, two wait, none started');
      const againDone = await Promise.all(again);
      assert.ok(againDone.every((r) => r.status === 200 && !r.coldStart));
      assert.ok(againDone.every((r) => ids.has(r.process?.id)), 'reused the hot processes');
      assert.equal(pool.stats().total, 4);
      assert.equal(records.length, 14);
    } finally {
      await pool.close();
    }
  });

  it('shrinks to nothing after idleTimeoutMs, killing the processes', async () => {
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 2, idleTimeoutMs: 300 });
    try {
      const done = await Promise.all([pool.invoke(body('{}')), pool.invoke(body('{}'))]);
      assert.deepEqual(done.map((r) => r.status), [200, 200]);
      const pids = done.map((r) => r.process!.pid!);
      await eventually(() => pool.stats().total === 0, 15_000, 'the idle pool to shrink to 0');
      await eventually(() => pids.every((p) => !isAlive(p)), 15_000, 'the retired processes to exit');
    } finally {
      await pool.close();
    }
  });

  it('fails fast with 503 when every process is busy and the queue is full', async () => {
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1, maxQueue: 1 });
    try {
      const calls = [pool.invoke(body('{}')), pool.invoke(body('{}')), pool.invoke(body('{}'))];
      // The third answers while the first two still wait for the only process to start: it did not wait.
      const busy = await calls[2]!;
      assert.equal(busy.status, 503);
      assert.equal(busy.error, 'too many concurrent calls');
      assert.equal(busy.errorKind, 'busy');
      assert.equal(busy.process, undefined, 'no process served it');
      assert.deepEqual(pool.stats(), { version: '0.0.1', total: 1, starting: 1, idle: 0, busy: 0, queued: 2 }, 'rejected before any process was free');
      const results = await Promise.all(calls);
      assert.deepEqual(results.map((r) => r.status), [200, 200, 503]);
    } finally {
      await pool.close();
    }
  });

  it('bounds the queue wait (503 after queueTimeoutMs)', async () => {
    // The running call hangs until aborted, so the queued one can only end by its own timeout.
    const pool = new FunctionPool(fixtureSpec('hang', { timeoutSeconds: 120 }), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1, queueTimeoutMs: 50 });
    const running = new AbortController();
    try {
      const a = pool.invoke(body('hang'), { signal: running.signal });
      a.catch(() => undefined); // asserted below; a failed assertion before that must not leave it unhandled
      await eventually(() => pool.stats().busy === 1, 15_000, 'the hanging call to run');
      const b = await pool.invoke(body('hi'));
      assert.equal(b.status, 503);
      assert.equal(b.errorKind, 'busy');
      assert.match(b.error!, /no free process within 50 ms/);
      // A lower bound only (a busy machine makes it later, never earlier): it did wait.
      assert.ok(b.durationMs >= 49, `gave up after ${b.durationMs} ms`);
      const s = pool.stats();
      assert.deepEqual([s.total, s.busy, s.queued], [1, 1, 0], 'the waiter left the queue; no process was started for it');
      running.abort(new Error('done'));
      await assert.rejects(a, /done/);
    } finally {
      running.abort(new Error('done'));
      await pool.close();
    }
  });

  it('abort: a queued call is dropped, a running call kills its process; both reject with the reason', async () => {
    // 'hang' with a long timeout: the running call is still running whenever the test aborts it.
    const pool = new FunctionPool(fixtureSpec('hang', { timeoutSeconds: 120 }), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1 });
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const p1 = pool.invoke(body('hang'), { signal: running.signal });
      const p2 = pool.invoke(body('hi'), { signal: queued.signal });
      // Asserted below; a failed assertion before that must not leave them unhandled.
      p1.catch(() => undefined);
      p2.catch(() => undefined);
      await eventually(() => {
        const s = pool.stats();
        return s.busy === 1 && s.queued === 1;
      }, 15_000, 'one call running and one queued');
      queued.abort(new Error('queued gone'));
      await assert.rejects(p2, /queued gone/);
      const s = pool.stats();
      assert.deepEqual([s.busy, s.queued], [1, 0], 'the queued call left; the running one runs on');
      running.abort(new Error('caller gone'));
      await assert.rejects(p1, /caller gone/);
      const next = await pool.invoke(body('hi'));
      assert.equal(next.status, 200);
      assert.equal(next.coldStart, true, 'the aborted call took its process with it');
    } finally {
      await pool.close();
    }
  });

  it('start failures as Fn answers them: 502 for an exit before ready, 504 for no socket within the start timeout, 500 for a missing code folder', async () => {
    const cases: Array<[string, RegExp, 502 | 504, number?]> = [
      ['node missing.js', /exited before it was ready \(exit code 1\).*Cannot find module/s, 502],
      // bwrap is what Herald spawns; it says the function's own command was not found.
      ['no-such-binary-herald', /exited before it was ready \(exit code 1\)\. stderr: bwrap: execvp no-such-binary-herald: No such file or directory/, 502],
      // 3 s: long enough for node to start and write on a busy machine, so the message holds its stderr.
      [`node -e "setInterval(() => {}, 1000); console.error('never listens')"`, /did not create its socket within 3000 ms\. stderr: never listens/, 504, 3000],
    ];
    for (const [entrypoint, re, status, startTimeoutMs] of cases) {
      const pool = new FunctionPool(fixtureSpec('echo', { entrypoint }), { sandbox: await testSandbox(), tmpRoot: tmp.root, ...(startTimeoutMs ? { startTimeoutMs } : {}) });
      try {
        const results = await Promise.all([pool.invoke(body('{}')), pool.invoke(body('{}'))]);
        for (const r of results) {
          assert.equal(r.status, status, r.error);
          assert.equal(r.errorKind, 'start');
          assert.match(r.error!, re);
        }
        assert.equal(pool.stats().total, 0);
      } finally {
        await pool.close();
      }
    }
    const nowhere = new FunctionPool(fixtureSpec('echo', { dir: '/nonexistent/herald-fn' }), { sandbox: await testSandbox(), tmpRoot: tmp.root });
    const r = await nowhere.invoke(body('{}'));
    assert.equal(r.status, 500);
    assert.match(r.error!, /code folder \/nonexistent\/herald-fn does not exist/);
    await nowhere.close();
  });

  it('close() kills running calls and answers queued ones', async () => {
    const pool = new FunctionPool(fixtureSpec('hang', { timeoutSeconds: 120 }), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1 });
    const running = pool.invoke(body('hang'));
    const queued = pool.invoke(body('hi'));
    await eventually(() => pool.stats().busy === 1, 15_000, 'the hanging call to run');
    await pool.close();
    const [r1, r2] = await Promise.all([running, queued]);
    assert.equal(r1.status, 503);
    assert.equal(r1.errorKind, 'stopped');
    assert.equal(r2.status, 503);
    assert.equal(pool.stats().total, 0);
  });
});

describe('FunctionRuntime registry', () => {
  it('a new version gets fresh processes and the old version is drained', async () => {
    const rt = new FunctionRuntime({ sandbox: await testSandbox(), tmpRoot: tmp.root });
    try {
      const v1 = fixtureSpec('throws', { version: 'sha256:aaa' });
      const v2 = { ...v1, version: 'sha256:bbb' };
      const a = await rt.invoke(v1, body('hi'));
      const b = await rt.invoke(v2, body('hi'));
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal(b.coldStart, true);
      assert.notEqual(a.process?.id, b.process?.id);
      await eventually(() => !isAlive(a.process!.pid!), 15_000, 'the old version process to stop');
      assert.deepEqual(Object.keys(rt.stats()), [v1.id]);
      assert.equal(rt.stats()[v1.id]!.version, 'sha256:bbb');
      assert.deepEqual(rt.recentLogs(v1.id, 5).map((l) => l.callId), [b.callId, a.callId], 'logs are per function, across versions');
      assert.equal(rt.recentLogs(v1.id, 1).length, 1);

      // Same version, changed config: the config is baked into the env, so fresh processes.
      const v2b = { ...v2, config: { CHANGED: '1' } };
      const c = await rt.invoke(v2b, body('hi'));
      assert.equal(c.coldStart, true);
      assert.notEqual(c.process?.id, b.process?.id);
      const d = await rt.invoke({ ...v2b, config: { CHANGED: '1' } }, body('hi'));
      assert.equal(d.coldStart, false, 'an equal spec (new object) reuses the pool');

      await rt.closeFunction(v1.id);
      assert.deepEqual(rt.stats(), {});
      assert.deepEqual(rt.recentLogs(v1.id, 5), []);
      assert.ok(!isAlive(d.process!.pid!));
    } finally {
      await rt.close();
    }
    const late = await rt.invoke(fixtureSpec('throws'), body('hi'));
    assert.equal(late.status, 503);
  });

  it('rejects a spec that can never run with InvalidParameterError', async () => {
    const rt = new FunctionRuntime({ sandbox: await testSandbox(), tmpRoot: tmp.root });
    try {
      await assert.rejects(rt.invoke(fixtureSpec('echo', { runtime: 'go', entrypoint: '' }), body('')), { name: 'InvalidParameterError' });
      await assert.rejects(rt.invoke(fixtureSpec('echo', { config: { 'A=B': '1' } }), body('')), { name: 'InvalidParameterError' });
    } finally {
      await rt.close();
    }
  });
});
