import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { VerifyThread } from '../../../src/api/auth/verify-thread.js';
import { within } from '../../helpers/eventually.js';

function keyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** Signed data for check `i` by `signer`; `alter` makes the data differ from what was signed. */
function signed(i: number, signer: KeyObject, alter = false): { data: Buffer; signature: Buffer } {
  const data = Buffer.from(`(request-target): post /20181201/topics/t${i}/messages\ndate: Thu, 03 Dec 2026 02:00:00 GMT`);
  const signature = sign('sha256', data, signer);
  return { data: alter ? Buffer.concat([data, Buffer.from('x')]) : data, signature };
}

/** The promise's value, or a failure if it has none within 10 s (an unanswered check would hang the test). */
const answered = <T>(p: Promise<T>): Promise<T> => within(p, 10_000, 'a check');

describe('RSA checks on the verify thread', () => {
  it('gives every check of a turn its own verdict: good, altered, or signed by another key', async () => {
    const a = keyPair();
    const b = keyPair();
    const thread = new VerifyThread();
    try {
      // Good; altered after signing; checked against a key that did not sign it.
      const checks = Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? { ...signed(i, a.privateKey), key: a.publicKey, want: true }
          : i % 3 === 1
            ? { ...signed(i, b.privateKey, true), key: b.publicKey, want: false }
            : { ...signed(i, b.privateKey), key: a.publicKey, want: false },
      );
      const verdicts = await Promise.all(checks.map((c) => thread.check(c.data, c.key, c.signature)));
      assert.deepEqual(verdicts, checks.map((c) => c.want));
    } finally {
      await thread.terminate();
    }
  });

  it('keeps verdicts right when key numbers are given out again, within a turn and across turns', async () => {
    const pairs = Array.from({ length: 5 }, () => keyPair());
    const thread = new VerifyThread({ maxKeys: 2 });
    try {
      for (let turn = 0; turn < 3; turn++) {
        // Each turn names all five keys, so the thread's two key numbers are given out again mid-turn.
        const checks = pairs.flatMap((p, k) => [0, 1].map((j) => ({ ...signed(turn * 100 + k * 10 + j, p.privateKey, j === 1), key: p.publicKey, want: j === 0 })));
        const verdicts = await Promise.all(checks.map((c) => thread.check(c.data, c.key, c.signature)));
        assert.deepEqual(verdicts, checks.map((c) => c.want), `turn ${turn}`);
        // A wrong key under a number another key had: a check against pairs[0]'s key of pairs[4]'s signature.
        const crossed = signed(999, pairs[4]!.privateKey);
        assert.equal(await thread.check(crossed.data, pairs[0]!.publicKey, crossed.signature), false);
      }
    } finally {
      await thread.terminate();
    }
  });

  it('answers what the thread had not when the thread ends, and starts a new thread for later checks', async () => {
    const a = keyPair();
    const thread = new VerifyThread();
    const good = signed(1, a.privateKey);
    const bad = signed(2, a.privateKey, true);
    const both = (): Array<Promise<boolean>> => [thread.check(good.data, a.publicKey, good.signature), thread.check(bad.data, a.publicKey, bad.signature)];
    // Ended before this turn's checks were posted: they are made on libuv's pool.
    const waiting = both();
    const ending = thread.terminate();
    // Asked in the same turn, after the thread ended: a new thread takes them, and must be sent the key again.
    const after = both();
    await ending;
    assert.deepEqual(await answered(Promise.all(waiting)), [true, false]);
    assert.deepEqual(await answered(Promise.all(after)), [true, false]);
    // And once more after the old thread has exited.
    assert.deepEqual(await answered(Promise.all(both())), [true, false]);
    await thread.terminate();
  });

  it('lets the process exit once every check is answered, even when an ended thread answers late', async () => {
    // In a process of its own, since what is checked is that nothing holds it open. The first thread answers while
    // the event loop is held, then is ended before that answer is read; the next check starts a new thread. The
    // old thread's late answer must not count against the new thread's batch (it did: the new thread stayed
    // referenced and the process never exited).
    const module = fileURLToPath(new URL('../../../src/api/auth/verify-thread.ts', import.meta.url));
    const script = `
      import { generateKeyPairSync, sign } from 'node:crypto';
      import { VerifyThread } from ${JSON.stringify(module)};
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const data = Buffer.from('x');
      const signature = sign('sha256', data, privateKey);
      const thread = new VerifyThread();
      const first = thread.check(data, publicKey, signature);
      await new Promise((r) => setImmediate(r));
      const until = Date.now() + 300;
      while (Date.now() < until) {}
      void thread.terminate();
      const second = thread.check(data, publicKey, signature);
      console.log(JSON.stringify(await Promise.all([first, second])));
    `;
    // A file, not `-e`: a module evaluated from `-e` lets the process exit once its last await settles.
    const dir = mkdtempSync(join(tmpdir(), 'herald-verify-thread-'));
    const file = join(dir, 'late-answer.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Generous for a busy machine: the process takes under a second here; held open, it never ends.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(signal, null, `the process was still running after 30 s (something held it open):\n${out}`);
    assert.equal(code, 0, out);
    assert.equal(out.trim(), '[true,true]');
  });

  it('gives a key that cannot verify (not RSA) a bad verdict, not an error', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const thread = new VerifyThread();
    try {
      const data = Buffer.from('x');
      assert.equal(await thread.check(data, ec.publicKey, Buffer.from('not a signature')), false);
    } finally {
      await thread.terminate();
    }
  });
});
