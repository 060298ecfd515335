import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PublishPacer, type PacerOptions } from '../../src/core/publish-pacer.js';

const OPTS: PacerOptions = { targetLagMs: 500, maxWaitMs: 2000, tickMs: 100, busyAbove: 0.9, calmBelow: 0.6 };

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

/** One tick with deliveries 1 s late on a saturated thread (100 delivered in it): pacing starts. */
function saturate(r: ReturnType<typeof rig>): void {
  r.s.lag = 1000;
  r.s.busy = 1;
  r.tick(100);
  assert.equal(r.pacer.state.paced, true);
}

/** Starts pacing: deliveries 1 s late on a saturated thread, 10 deliveries a publish, 1,000 deliveries/s. */
function paced() {
  const r = rig();
  r.pacer.published(5, 50);
  r.tick(100);
  saturate(r);
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

  it('while paced, reads the backlog by its oldest waiting delivery even on a thread below saturation: publishes that claim their own deliveries do not make it look caught up', async () => {
    const { s, pacer, tick } = paced();
    s.busy = 0.7;
    s.lag = 10; // a paced publish's own deliveries go out at once
    s.oldest = 2000;
    const asked = s.oldestAsked;
    tick(5); // 4.5 credits
    assert.ok(s.oldestAsked > asked, 'the store is asked while paced');
    let through = false;
    void pacer.admit()!.then(() => (through = true));
    pacer.delivered(5); // later than the target: 5 more earn 4.5, 9 of the 10 a publish costs
    await flush();
    assert.equal(through, false);
    assert.equal(pacer.state.paced, true);
  });

  it('never paces with a target of 0', () => {
    const { s, pacer, tick } = rig({ ...OPTS, targetLagMs: 0 });
    s.lag = 10_000;
    s.busy = 1;
    tick(100);
    assert.equal(pacer.state.paced, false);
  });

  it('while deliveries are later than the target, lets a publish through for each 10/9 of a publish worth of deliveries made, in arrival order', async () => {
    const { pacer } = paced();
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) => {
      const p = pacer.admit();
      assert.ok(p instanceof Promise, `publish ${i} waits for its turn`);
      return p.then(() => order.push(i));
    });
    assert.equal(pacer.state.waiting, 3);
    pacer.delivered(11); // 11 deliveries earn 9.9 of the 10 a publish costs: the backlog shrinks
    await flush();
    assert.deepEqual(order, []);
    pacer.delivered(1); // 10.8
    await flush();
    assert.deepEqual(order, [0]);
    pacer.delivered(21); // 0.8 + 18.9: one more, not two
    await flush();
    assert.deepEqual(order, [0, 1]);
    pacer.delivered(1); // 20.6 - 10 - 10
    await Promise.all(waits);
    assert.deepEqual(order, [0, 1, 2]);
    assert.equal(pacer.state.delayed, 3);
  });

  it('while deliveries are between half the target and the target late, lets a publish through per publish worth of deliveries: the backlog holds', async () => {
    const { s, pacer, tick } = paced();
    s.lag = 400;
    tick(1);
    let through = 0;
    const waits = [0, 1].map(() => pacer.admit()!.then(() => through++));
    pacer.delivered(10);
    await flush();
    assert.equal(through, 1);
    pacer.delivered(10);
    await Promise.all(waits);
    assert.equal(through, 2);
  });

  it('once deliveries are under half the target, drains the line of waiting publishes a quarter faster than deliveries, pacing until nobody waits', async () => {
    const { s, pacer, tick } = paced();
    let through = 0;
    const waits = Array.from({ length: 6 }, () => pacer.admit()!.then(() => through++));
    s.lag = 200;
    tick(40); // 40 deliveries under the late rate: 3 through
    await flush();
    assert.equal(through, 3);
    assert.equal(pacer.state.paced, true, 'under half the target, but publishes still wait');
    pacer.delivered(24); // 6 left over + 24 × 1.25 = 36: 3 more, the line is empty
    await Promise.all(waits);
    assert.equal(through, 6);
    tick(10);
    assert.equal(pacer.state.paced, false, 'under half the target and nobody waits');
    assert.equal(pacer.admit(), undefined);
  });

  it('stops pacing, letting everyone waiting through, after a tick without a delivery, however late deliveries are: they wait on their endpoints', async () => {
    const { s, pacer, tick } = paced();
    const p = pacer.admit();
    s.lag = 300;
    tick(1);
    assert.equal(pacer.state.paced, true, 'under the target but not yet under half of it');
    s.lag = 5000;
    tick(0);
    assert.equal(pacer.state.paced, false);
    await p;
    assert.equal(pacer.admit(), undefined);
  });

  it('does not start pacing in a tick without a delivery: a saturated thread with every send held by its endpoint is not starving delivery', () => {
    const { s, pacer, tick } = rig();
    pacer.published(5, 50);
    s.lag = 1000;
    s.oldest = 1000;
    s.busy = 1;
    tick(0);
    assert.equal(pacer.state.paced, false);
    tick(10);
    assert.equal(pacer.state.paced, true);
  });

  it('never refuses: however long the line, each publish waits for its turn (at most maxWaitMs)', () => {
    const { pacer } = paced();
    for (let i = 0; i < 1000; i++) assert.ok(pacer.admit() instanceof Promise);
    assert.equal(pacer.state.waiting, 1000);
    assert.equal(pacer.state.delayed, 1000);
  });

  it('lets a waiting publish through after maxWaitMs even if deliveries have not earned its turn meanwhile', async () => {
    const { pacer, tick } = paced();
    pacer.published(1, 1000); // publishes now cost ~208 deliveries each
    const p = pacer.admit();
    assert.ok(p instanceof Promise);
    let done = false;
    void p.then(() => (done = true));
    for (let i = 0; i < 19; i++) tick(1);
    await flush();
    assert.equal(done, false, 'still waiting before maxWaitMs');
    assert.equal(pacer.state.paced, true);
    tick(1);
    await flush();
    assert.equal(done, true);
  });

  it('stops pacing after half a second of a thread with room, late deliveries or not', () => {
    const { s, pacer, tick } = paced();
    s.busy = 0.5;
    for (let i = 0; i < 4; i++) tick(100);
    assert.equal(pacer.state.paced, true, 'a lull of 400 ms is not the end');
    tick(100);
    assert.equal(pacer.state.paced, false);
  });

  it('keeps pacing while the thread runs between calmBelow and busyAbove: only a thread with room ends it', () => {
    const { s, pacer, tick } = paced();
    for (let i = 0; i < 20; i++) {
      s.busy = i % 2 === 0 ? 0.65 : 0.85;
      tick(100);
    }
    assert.equal(pacer.state.paced, true, 'two seconds at 65-85 % busy');
    s.busy = 0.55;
    for (let i = 0; i < 5; i++) tick(100);
    assert.equal(pacer.state.paced, false);
  });

  it('lets publishes of topics without subscriptions through while paced: they cost no delivery', () => {
    const r = rig();
    r.pacer.published(10, 0);
    saturate(r);
    for (let i = 0; i < 100; i++) assert.equal(r.pacer.admit(), undefined);
  });

  it("counts a big topic's deliveries, made by its fan-out after the publish, in what a publish costs", () => {
    const r = rig();
    // Ten publishes to a topic of 100 subscriptions: the publish adds one fan-out each to the backlog, no delivery.
    r.pacer.published(10, 10);
    r.tick(100);
    r.pacer.fannedOut(1000);
    saturate(r);
    const p = r.pacer.admit();
    assert.ok(p instanceof Promise, 'a publish waits for its turn');
    // Counted at the publish alone, a publish would cost one delivery and these 50 would let 45 through.
    r.pacer.delivered(50);
    assert.equal(r.pacer.state.waiting, 1, 'fifty deliveries do not pay for a publish that makes a hundred');
    r.pacer.delivered(100);
    assert.equal(r.pacer.state.waiting, 0);
  });

  it("does not cost a publish at a fan-out divided by next to nothing: a quiet spell's decayed publishes weigh one at least", () => {
    const r = rig();
    r.pacer.published(1, 0);
    // Five seconds without a publish: what the one publish weighs has decayed to next to nothing.
    for (let i = 0; i < 50; i++) r.tick(1);
    // Then the fan-out of a message another node published makes 100 deliveries here.
    r.pacer.fannedOut(100);
    saturate(r);
    const p = r.pacer.admit();
    assert.ok(p instanceof Promise);
    // 100 / 1.4e-5 would be millions of deliveries a publish; at 100, the next 200 deliveries let it through.
    r.pacer.delivered(200);
    assert.equal(r.pacer.state.waiting, 0, 'a publish costs about that fan-out, not millions of deliveries');
  });

  it('banks at most a tick of deliveries, so a pause is not followed by a burst', () => {
    const { pacer } = paced();
    pacer.delivered(10_000); // a tick at 1,000/s is 100 deliveries: 100 credited at most
    let through = 0;
    while (pacer.admit() === undefined) through++;
    assert.ok(through <= 10, `${through} publishes let through at once`);
  });
});
