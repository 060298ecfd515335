import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateGates } from '../../src/delivery/rate-gate.js';

/** A gate on a clock the test moves; timers still run on the real one, so the test waits on state for them. */
function gate(maxWaitMs = 10_000) {
  let now = 1_000_000;
  const started: number[] = [];
  const handedBack: number[] = [];
  let reopened = 0;
  const g = new RateGates<number>({ maxWaitMs, handBack: (items) => handedBack.push(...items), onReopen: () => reopened++, now: () => now });
  const offer = (sub: string, rate: number, n: number): void => g.offer(sub, rate, n, () => started.push(n));
  return { g, offer, started, handedBack, reopens: () => reopened, tick: (ms: number) => (now += ms) };
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('per-subscription rate gates', () => {
  it('starts a burst of N at once, queues what the wait allows, and hands back the rest', () => {
    const t = gate(2000);
    for (let i = 1; i <= 12; i++) t.offer('s', 3, i);
    // 3 tokens; 2 s of waiting room at 3/s is 6 more; the other 3 go back to the store.
    assert.deepEqual(t.started, [1, 2, 3]);
    assert.deepEqual(t.handedBack, [10, 11, 12]);
    assert.deepEqual(t.g.excluded(), ['s']);
    t.g.handBackAll();
    assert.deepEqual(t.handedBack, [10, 11, 12, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(t.g.excluded(), []);
  });

  it('refills at N per second, never above N, and keeps subscriptions apart', () => {
    const t = gate();
    for (let i = 1; i <= 2; i++) t.offer('a', 2, i);
    t.offer('b', 1, 100);
    assert.deepEqual(t.started, [1, 2, 100]);
    // Half a second later one token of 'a' is back; ten seconds later still only two (the burst).
    t.tick(500);
    t.offer('a', 2, 3);
    assert.deepEqual(t.started, [1, 2, 100, 3]);
    t.tick(10_000);
    for (let i = 4; i <= 6; i++) t.offer('a', 2, i);
    assert.deepEqual(t.started, [1, 2, 100, 3, 4, 5]);
    assert.deepEqual(t.g.excluded(), ['a']);
    t.g.handBackAll();
  });

  it('a lowered limit applies at once: the bucket holds no more than the new burst', () => {
    const t = gate();
    t.offer('s', 10, 1);
    t.offer('s', 2, 2);
    t.offer('s', 2, 3);
    // 9 tokens were left at rate 10; at rate 2 only 2 remain, and one of them went to delivery 2.
    assert.deepEqual(t.started, [1, 2, 3]);
    t.offer('s', 2, 4);
    assert.deepEqual(t.started, [1, 2, 3]);
    t.g.handBackAll();
    assert.deepEqual(t.handedBack, [4]);
  });

  it('starts queued deliveries in order as tokens come back, then reopens the subscription', async () => {
    // The gate's timers run on the real clock: let its clock follow it.
    const started: number[] = [];
    let reopened = 0;
    const g = new RateGates<number>({ maxWaitMs: 10_000, handBack: () => assert.fail('nothing should be handed back'), onReopen: () => reopened++ });
    for (let i = 1; i <= 5; i++) g.offer('s', 50, i, () => started.push(i));
    for (let i = 6; i <= 60; i++) g.offer('s', 50, i, () => started.push(i));
    assert.equal(started.length, 50);
    await until(() => started.length === 60 && reopened === 1, 'the queued ten');
    assert.deepEqual(started, Array.from({ length: 60 }, (_, i) => i + 1));
    assert.deepEqual(g.excluded(), []);
  });
});
