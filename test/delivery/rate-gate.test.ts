import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateBuckets, type RateTokenRequest } from '../../src/core/rate-bucket.js';
import { RateGates } from '../../src/delivery/rate-gate.js';

const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
/** Lets the gate's batched take (a setImmediate, then the store's promise) run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * A gate over in-memory buckets on a clock the test moves (the clock of the takes too); its re-asking
 * timers still run on the real one, so the test waits on state for them.
 */
function gate(maxWaitMs = 10_000, buckets = new MemoryRateBuckets()) {
  let now = 1_000_000;
  const started: number[] = [];
  const handedBack: number[] = [];
  let reopened = 0;
  const takes: RateTokenRequest[][] = [];
  const g = new RateGates<number>({
    maxWaitMs,
    take: async (requests, at) => {
      takes.push([...requests]);
      return buckets.take(requests, at);
    },
    handBack: (items) => handedBack.push(...items),
    onReopen: () => reopened++,
    now: () => now,
  });
  const offer = (sub: string, rate: number, n: number): void => g.offer(sub, rate, n, () => started.push(n));
  return { g, offer, started, handedBack, takes, reopens: () => reopened, tick: (ms: number) => (now += ms) };
}

describe('per-subscription rate gates', () => {
  it('starts a burst of N, queues what the wait allows, and hands back the rest', async () => {
    const t = gate(2000);
    for (let i = 1; i <= 12; i++) t.offer('s', 3, i);
    // Room for the burst of 3 and 2 s more at 3/s: 9 wait for tokens; the other 3 go back to the store at once.
    assert.deepEqual(t.handedBack, [10, 11, 12]);
    await settle();
    assert.deepEqual(t.started, [1, 2, 3]);
    // One take for the burst, asking for no more than the limit.
    assert.deepEqual(t.takes, [[{ subscriptionId: 's', perSecond: 3, want: 3 }]]);
    assert.deepEqual(t.g.excluded(), ['s']);
    t.g.handBackAll();
    assert.deepEqual(t.handedBack, [10, 11, 12, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(t.g.excluded(), []);
  });

  it('refills at N per second, never above N, and keeps subscriptions apart, asking for all of them in one take', async () => {
    const t = gate();
    for (let i = 1; i <= 2; i++) t.offer('a', 2, i);
    t.offer('b', 1, 100);
    await settle();
    assert.deepEqual(t.started, [1, 2, 100]);
    assert.equal(t.takes.length, 1, 'both subscriptions asked in one take');
    // Half a second later one token of 'a' is back; ten seconds later still only two (the burst).
    t.tick(500);
    t.offer('a', 2, 3);
    await settle();
    assert.deepEqual(t.started, [1, 2, 100, 3]);
    t.tick(10_000);
    for (let i = 4; i <= 6; i++) t.offer('a', 2, i);
    await settle();
    assert.deepEqual(t.started, [1, 2, 100, 3, 4, 5]);
    assert.deepEqual(t.g.excluded(), ['a']);
    t.g.handBackAll();
    assert.deepEqual(t.handedBack, [6]);
  });

  it('a lowered limit applies at once: the bucket holds no more than the new burst', async () => {
    const t = gate();
    t.offer('s', 10, 1);
    await settle();
    t.offer('s', 2, 2);
    t.offer('s', 2, 3);
    await settle();
    // 9 tokens were left at rate 10; at rate 2 only 2 remain, and deliveries 2 and 3 took them.
    assert.deepEqual(t.started, [1, 2, 3]);
    t.offer('s', 2, 4);
    await settle();
    assert.deepEqual(t.started, [1, 2, 3]);
    t.g.handBackAll();
    assert.deepEqual(t.handedBack, [4]);
  });

  it('starts queued deliveries in order as tokens come back, then reopens the subscription', async () => {
    // The gate's timers run on the real clock: let its clock (and the buckets') follow it.
    const buckets = new MemoryRateBuckets();
    const started: number[] = [];
    let reopened = 0;
    const g = new RateGates<number>({
      maxWaitMs: 10_000,
      take: async (requests, now) => buckets.take(requests, now),
      handBack: () => assert.fail('nothing should be handed back'),
      onReopen: () => reopened++,
    });
    for (let i = 1; i <= 60; i++) g.offer('s', 50, i, () => started.push(i));
    await until(() => started.length === 60 && reopened === 1, 'the queued ten');
    assert.deepEqual(started, Array.from({ length: 60 }, (_, i) => i + 1));
    assert.deepEqual(g.excluded(), []);
  });

  it('two nodes sharing the buckets start no more than N a second between them', async () => {
    // Both gates take from one set of buckets, as two nodes do from PostgreSQL's; each holds more than it may start.
    const buckets = new MemoryRateBuckets();
    const startedAt: number[] = [];
    const node = () =>
      new RateGates<number>({
        maxWaitMs: 10_000,
        take: async (requests, now) => buckets.take(requests, now),
        handBack: () => assert.fail('nothing should be handed back'),
        onReopen: () => {},
      });
    const [a, b] = [node(), node()];
    const t0 = Date.now();
    for (let i = 0; i < 15; i++) {
      a.offer('s', 10, i, () => startedAt.push(Date.now() - t0));
      b.offer('s', 10, i, () => startedAt.push(Date.now() - t0));
    }
    await until(() => startedAt.length === 30, 'all thirty started');
    // However slow the machine, by the time the k-th start happened at least (k - burst) / rate seconds had passed.
    startedAt.forEach((at, k) => assert.ok(at >= ((k + 1 - 10) * 1000) / 10 - 5, `start ${k + 1} came ${at} ms in: faster than 10 a second after a burst of 10`));
    a.handBackAll();
    b.handBackAll();
  });

  it('hands back a delivery that waited longer than the wait allows (other nodes took the tokens)', async () => {
    const handedBack: number[] = [];
    let reopened = 0;
    const g = new RateGates<number>({
      maxWaitMs: 50,
      take: async (requests) => requests.map(() => 0),
      handBack: (items) => handedBack.push(...items),
      onReopen: () => reopened++,
    });
    g.offer('s', 1, 7, () => assert.fail('no token was ever granted'));
    assert.deepEqual(g.excluded(), ['s']);
    await until(() => handedBack.length === 1 && reopened === 1, 'the stale delivery handed back');
    assert.deepEqual(handedBack, [7]);
    assert.deepEqual(g.excluded(), []);
  });

  it('asks again when a take fails, and starts the delivery once one succeeds', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const started: number[] = [];
    const g = new RateGates<number>({
      maxWaitMs: 10_000,
      take: async (requests) => {
        if (++calls === 1) throw new Error('store unreachable');
        return requests.map((r) => r.want);
      },
      handBack: () => assert.fail('nothing should be handed back'),
      onReopen: () => {},
      onError: (err) => errors.push(err),
    });
    g.offer('s', 5, 1, () => started.push(1));
    await until(() => started.length === 1, 'the start after the failed take');
    assert.equal(errors.length, 1);
    assert.ok(calls >= 2);
  });
});
