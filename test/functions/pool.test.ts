import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FunctionPool } from '../../src/functions/pool.js';
import { FunctionRuntime } from '../../src/functions/runtime.js';
import type { CallLogRecord } from '../../src/functions/types.js';
import { body, fixtureSpec, isAlive, makeTmpRoot, testSandbox, waitFor } from './helpers.js';

const tmp = makeTmpRoot();
after(() => {
  assert.deepEqual(tmp.entries(), [], 'every private process dir is removed');
  tmp.remove();
});

describe('FunctionPool', () => {
  it('grows to N processes under N concurrent calls (one call per process) and shrinks when idle', async () => {
    const records: CallLogRecord[] = [];
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 4, idleTimeoutMs: 300 }, (r) => records.push(r));
    try {
      // Cold: one start per waiter. (A call may still land on a process freed by an
      // earlier call if that beats a slow start, exactly as in Fn, so pids are not asserted here.)
      const cold = await Promise.all(Array.from({ length: 4 }, () => pool.invoke(body('{}'))));
      assert.deepEqual(cold.map((r) => r.status), [200, 200, 200, 200]);
      assert.ok(cold.some((r) => r.coldStart));
      assert.deepEqual(pool.stats(), { version: '0.0.1', total: 4, starting: 0, idle: 4, busy: 0, queued: 0 });

      // Warm: 4 concurrent calls take the 4 idle processes, one call per process.
      const warm = await Promise.all(Array.from({ length: 4 }, () => pool.invoke(body('{}'))));
      const ids = new Set(warm.map((r) => r.process?.id));
      const pids = warm.map((r) => r.process!.pid!);
      assert.equal(ids.size, 4, 'each concurrent call ran on its own process');
      assert.ok(warm.every((r) => r.status === 200 && !r.coldStart));

      // Beyond capacity: 6 concurrent calls queue for the same 4 processes, none started.
      const again = await Promise.all(Array.from({ length: 6 }, () => pool.invoke(body('{}'))));
      assert.ok(again.every((r) => r.status === 200 && !r.coldStart));
      assert.ok(again.every((r) => ids.has(r.process?.id)), 'reused the hot processes');
      assert.equal(pool.stats().total, 4);
      assert.equal(records.length, 14);

      assert.ok(await waitFor(() => pool.stats().total === 0, 3000), `shrinks after idleTimeoutMs: ${JSON.stringify(pool.stats())}`);
      assert.ok(await waitFor(() => pids.every((p) => !isAlive(p))));
    } finally {
      await pool.close();
    }
  });

  it('fails fast with 503 when every process is busy and the queue is full', async () => {
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1, maxQueue: 1 });
    try {
      const results = await Promise.all([pool.invoke(body('{}')), pool.invoke(body('{}')), pool.invoke(body('{}'))]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 503]);
      const busy = results.find((r) => r.status === 503)!;
      assert.equal(busy.error, 'too many concurrent calls');
      assert.equal(busy.errorKind, 'busy');
      assert.ok(busy.durationMs < 50, 'rejected without waiting');
    } finally {
      await pool.close();
    }
  });

  it('bounds the queue wait (503 after queueTimeoutMs)', async () => {
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1, queueTimeoutMs: 50 });
    try {
      // The call that starts a process may wait for that start; the one beyond capacity may not.
      const [a, b] = await Promise.all([pool.invoke(body('{}')), pool.invoke(body('{}'))]);
      assert.equal(a.status, 200);
      assert.equal(b.status, 503);
      assert.match(b.error!, /no free process within 50 ms/);
      assert.ok(b.durationMs >= 49 && b.durationMs < 1000, String(b.durationMs));
    } finally {
      await pool.close();
    }
  });

  it('abort: a queued call is dropped, a running call kills its process; both reject with the reason', async () => {
    const pool = new FunctionPool(fixtureSpec('slow'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1 });
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const p1 = pool.invoke(body('{}'), { signal: running.signal });
      const p2 = pool.invoke(body('{}'), { signal: queued.signal });
      await new Promise((r) => setTimeout(r, 20));
      queued.abort(new Error('queued gone'));
      await assert.rejects(p2, /queued gone/);
      await waitFor(() => pool.stats().busy === 1);
      running.abort(new Error('caller gone'));
      await assert.rejects(p1, /caller gone/);
      const next = await pool.invoke(body('{}'));
      assert.equal(next.status, 200);
      assert.equal(next.coldStart, true, 'the aborted call took its process with it');
    } finally {
      await pool.close();
    }
  });

  it('start failures: a missing module, a missing binary, and no socket within the start timeout', async () => {
    const cases: Array<[string, RegExp, number?]> = [
      ['node missing.js', /exited before it was ready \(exit code 1\).*Cannot find module/s],
      // bwrap is what Herald spawns; it says the function's own command was not found.
      ['no-such-binary-herald', /exited before it was ready \(exit code 1\)\. stderr: bwrap: execvp no-such-binary-herald: No such file or directory/],
      [`node -e "setInterval(() => {}, 1000); console.error('never listens')"`, /did not create its socket within 1000 ms\. stderr: never listens/, 1000],
    ];
    for (const [entrypoint, re, startTimeoutMs] of cases) {
      const pool = new FunctionPool(fixtureSpec('echo', { entrypoint }), { sandbox: await testSandbox(), tmpRoot: tmp.root, ...(startTimeoutMs ? { startTimeoutMs } : {}) });
      try {
        const results = await Promise.all([pool.invoke(body('{}')), pool.invoke(body('{}'))]);
        for (const r of results) {
          assert.equal(r.status, 500);
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
    const pool = new FunctionPool(fixtureSpec('hang'), { sandbox: await testSandbox(), tmpRoot: tmp.root, maxProcesses: 1 });
    const running = pool.invoke(body('hang'));
    const queued = pool.invoke(body('hi'));
    await waitFor(() => pool.stats().busy === 1);
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
      assert.ok(await waitFor(() => !isAlive(a.process!.pid!)), 'old version process stopped');
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
