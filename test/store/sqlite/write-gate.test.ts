import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteGate } from '../../../src/store/sqlite/write-gate.js';

/** Settles within this many macrotask turns, or reports that it did not. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('WriteGate', () => {
  it('lets writers through while open, holds them while closed, and releases them all in order when opened', async () => {
    const gate = new WriteGate();
    assert.equal(await settled(gate.pass()), true);
    gate.close();
    gate.close(); // closing twice is one hold
    assert.equal(gate.isClosed, true);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => gate.pass().then(() => order.push(n)));
    assert.equal(await settled(Promise.all(waiting).then(() => undefined)), false, 'held while closed');
    assert.deepEqual(order, []);
    gate.open();
    await Promise.all(waiting);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(gate.isClosed, false);
    assert.equal(await settled(gate.pass()), true, 'open again');
  });
});
