import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AttemptDeadlines, timedOut } from '../../src/delivery/deadline.js';

/** Resolves when the signal aborts, with how long that took. */
function abortedAfter(signal: AbortSignal, since: number): Promise<number> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(Date.now() - since), { once: true }));
}

describe('attempt deadlines', () => {
  it('aborts an attempt that runs out of its time, as a timeout, no sooner than its time', async () => {
    const deadlines = new AttemptDeadlines(20);
    const started = Date.now();
    let seen: AbortSignal | undefined;
    const took = await deadlines.run(60, async (signal) => {
      seen = signal;
      return abortedAfter(signal, started);
    });
    assert.ok(took >= 60, `aborted after ${took} ms, before the attempt's 60 ms`);
    assert.equal(timedOut(seen), true);
    assert.match(String((seen!.reason as Error).message), /ran out of its 60 ms/);
    assert.equal(deadlines.openSlots, 0);
  });

  it('gives attempts whose deadlines fall in one slot the same signal, and later ones another', async () => {
    let t = 1_000;
    const deadlines = new AttemptDeadlines(20, () => t);
    const signals: AbortSignal[] = [];
    const release: Array<() => void> = [];
    const hold = (): Promise<void> =>
      deadlines.run(5_000, (signal) => {
        signals.push(signal);
        return new Promise<void>((resolve) => release.push(resolve));
      });
    const runs = [hold(), hold()];
    t += 25; // past the first slot's end
    runs.push(hold());
    assert.equal(signals[0], signals[1]);
    assert.notEqual(signals[1], signals[2]);
    assert.equal(deadlines.openSlots, 2);
    release.forEach((r) => r());
    await Promise.all(runs);
    // Their timers go with the last attempt of each slot: nothing keeps running for 5 s.
    assert.equal(deadlines.openSlots, 0);
    assert.equal(signals.some((s) => s.aborted), false);
  });

  it('never shares a signal between attempts of different lengths', async () => {
    const deadlines = new AttemptDeadlines(1_000, () => 0);
    const signals: AbortSignal[] = [];
    await Promise.all([100, 200].map((ms) => deadlines.run(ms, async (signal) => void signals.push(signal))));
    assert.notEqual(signals[0], signals[1]);
  });

  it('aborts every running attempt on shutdown, and every later one at once', async () => {
    const deadlines = new AttemptDeadlines(20);
    const aborted: unknown[] = [];
    const running = [60_000, 60_000, 30_000].map((ms) =>
      deadlines.run(ms, (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => (aborted.push(signal.reason), resolve()), { once: true }))),
    );
    const reason = new Error('stopping');
    deadlines.abortAll(reason);
    await Promise.all(running);
    assert.deepEqual(aborted, [reason, reason, reason]);
    const later = await deadlines.run(60_000, async (signal) => signal.aborted && signal.reason);
    assert.equal(later, reason);
    assert.equal(deadlines.openSlots, 0);
  });

  it('lets many attempts listen on one shared signal without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const deadlines = new AttemptDeadlines(1_000, () => 0);
      await Promise.all(
        Array.from({ length: 50 }, () =>
          deadlines.run(5_000, async (signal) => {
            signal.addEventListener('abort', () => undefined);
          }),
        ),
      );
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
