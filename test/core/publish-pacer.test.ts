import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PublishPacer, type PacerOptions } from '../../src/core/publish-pacer.js';

const OPTS: PacerOptions = { targetLagMs: 500, maxWaitMs: 2000, tickMs: 100, busyAbove: 0.9 };

/** A pacer on a hand-moved clock, with signals the test sets. */
function rig(opts: PacerOptions = OPTS) {
  const s = { lag: 0, oldest: 0, busy: 0, now: 0, oldestAsked: 0 };
  const oldestDueMs = (): number => {
    s.oldestAsked++;
    return s.oldest;
  };
  const pacer = new PublishPacer({ deliveryLagMs: () => s.lag, oldestDueMs, busy: () => s.busy }, opts, { now: () => s.now });
  /** One tick after `delivered` deliveries were made in its 100 ms. */
  const tick = (delivered = 0): void => {
    pacer.delivered(delivered);
    s.now += opts.tickMs;
    pacer.tick();
  };
  return { s, pacer, tick };
}

/** Settles pending promise callbacks. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Starts pacing: deliveries 1 s late on a saturated thread, 10 deliveries a publish, 1,000 deliveries/s. */
function paced() {
  const r = rig();
  r.pacer.published(5, 50);
  r.tick(100);
  r.s.lag = 1000;
  r.s.busy = 1;
  r.tick(100);
  assert.equal(r.pacer.state.paced, true);
  return r;
}

describe('PublishPacer', () => {
  it('lets every publish through at once while deliveries keep up, however busy the thread', () => {
    const { s, pacer, tick } = rig();
    s.busy = 1;
    s.lag = 400;
    for (let i = 0; i < 10; i++) tick(1000);
    for (let i = 0; i < 1000; i++) assert.equal(pacer.admit(), undefined);
    assert.equal(pacer.state.paced, false);
  });

  it('does not pace when deliveries are late but the thread has room: they wait on their endpoints, not on publishing', () => {
    const { s, pacer, tick } = rig();
    s.lag = 10_000;
    s.busy = 0.5;
    for (let i = 0; i < 10; i++) tick(10);
    assert.equal(pacer.state.paced, false);
    assert.equal(pacer.admit(), undefined);
  });

  it('paces when the oldest waiting delivery is late though those sent lately were not, asking the store only while saturated', () => {
    const { s, pacer, tick } = rig();
    s.oldest = 5000;
    s.busy = 0.5;
    for (let i = 0; i < 5; i++) tick(100);
    assert.equal(s.oldestAsked, 0, 'a thread with room does not read the store');
    assert.equal(pacer.state.paced, false);
    s.busy = 1;
    tick(100);
    assert.equal(pacer.state.paced, true);
    s.oldest = 100;
    tick(100);
    assert.equal(pacer.state.paced, false, 'caught up');
  });

  it('never paces with a target of 0', () => {
    const { s, pacer, tick } = rig({ ...OPTS, targetLagMs: 0 });
    s.lag = 10_000;
    s.busy = 1;
    tick(100);
    assert.equal(pacer.state.paced, false);
  });

  it('while paced, lets a publish through for each publish worth of deliveries made, in arrival order', async () => {
    const { pacer } = paced();
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) => {
      const p = pacer.admit();
      assert.ok(p instanceof Promise, `publish ${i} waits for its turn`);
      return p.then(() => order.push(i));
    });
    assert.equal(pacer.state.waiting, 3);
    pacer.delivered(9); // 9 of the 10 a publish costs
    await flush();
    assert.deepEqual(order, []);
    pacer.delivered(2); // 11
    await flush();
    assert.deepEqual(order, [0]);
    pacer.delivered(19); // 1 + 19: two more
    await Promise.all(waits);
    assert.deepEqual(order, [0, 1, 2]);
    assert.equal(pacer.state.delayed, 3);
  });

  it('never refuses: however long the line, each publish waits for its turn (at most maxWaitMs)', () => {
    const { pacer } = paced();
    for (let i = 0; i < 1000; i++) assert.ok(pacer.admit() instanceof Promise);
    assert.equal(pacer.state.waiting, 1000);
    assert.equal(pacer.state.delayed, 1000);
  });

  it('lets a waiting publish through after maxWaitMs even if no delivery is made meanwhile', async () => {
    const { s, pacer, tick } = paced();
    const p = pacer.admit();
    assert.ok(p instanceof Promise);
    let done = false;
    void p.then(() => (done = true));
    for (let i = 0; i < 19; i++) tick(0);
    await flush();
    assert.equal(done, false, 'still waiting before maxWaitMs');
    s.lag = 1000;
    tick(0);
    await flush();
    assert.equal(done, true);
  });

  it('stops pacing once deliveries are under half the target, letting everyone waiting through', async () => {
    const { s, pacer, tick } = paced();
    const p = pacer.admit();
    s.lag = 300;
    tick(0);
    assert.equal(pacer.state.paced, true, 'under the target but not yet under half of it');
    s.lag = 200;
    tick(0);
    assert.equal(pacer.state.paced, false);
    await p;
    assert.equal(pacer.admit(), undefined);
  });

  it('stops pacing after half a second of a thread with room, late deliveries or not', () => {
    const { s, pacer, tick } = paced();
    s.busy = 0.5;
    for (let i = 0; i < 4; i++) tick(100);
    assert.equal(pacer.state.paced, true, 'a lull of 400 ms is not the end');
    tick(100);
    assert.equal(pacer.state.paced, false);
  });

  it('lets publishes of topics without subscriptions through while paced: they cost no delivery', () => {
    const r = rig();
    r.pacer.published(10, 0);
    r.s.lag = 1000;
    r.s.busy = 1;
    r.tick(100);
    assert.equal(r.pacer.state.paced, true);
    for (let i = 0; i < 100; i++) assert.equal(r.pacer.admit(), undefined);
  });

  it('banks at most a tick of deliveries, so a pause is not followed by a burst', () => {
    const { pacer } = paced();
    pacer.delivered(10_000); // a tick at 1,000/s is 100 deliveries: 100 credited at most
    let through = 0;
    while (pacer.admit() === undefined) through++;
    assert.ok(through <= 10, `${through} publishes let through at once`);
  });
});
