import { strict as assert } from 'node:assert';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { VerifyThread } from '../../../src/api/auth/verify-thread.js';

function keyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** Signed data for check `i` by `signer`; `alter` makes the data differ from what was signed. */
function signed(i: number, signer: KeyObject, alter = false): { data: Buffer; signature: Buffer } {
  const data = Buffer.from(`(request-target): post /20181201/topics/t${i}/messages\ndate: Thu, 03 Dec 2026 02:00:00 GMT`);
  const signature = sign('sha256', data, signer);
  return { data: alter ? Buffer.concat([data, Buffer.from('x')]) : data, signature };
}

/** The promise's value, or a failure if it has none within 10 s (a check left unanswered would hang the test). */
async function answered<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('a check was not answered within 10 s')), 10_000)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

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
