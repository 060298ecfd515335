import { strict as assert } from 'node:assert';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { offAbort, onAbort } from '../../src/delivery/abort-fanout.js';

describe('abort fan-out', () => {
  it('listens once on a signal for every waiter, and calls each waiter still there when it aborts', () => {
    const ac = new AbortController();
    const called: number[] = [];
    const fns = Array.from({ length: 100 }, (_, i) => () => called.push(i));
    for (const fn of fns) onAbort(ac.signal, fn);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    for (const fn of fns.slice(0, 40)) offAbort(ac.signal, fn);
    ac.abort();
    assert.deepEqual(called, Array.from({ length: 60 }, (_, i) => i + 40));
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });

  it('keeps signals apart', () => {
    const a = new AbortController();
    const b = new AbortController();
    let fromA = 0;
    let fromB = 0;
    onAbort(a.signal, () => fromA++);
    onAbort(b.signal, () => fromB++);
    a.abort();
    assert.deepEqual([fromA, fromB], [1, 0]);
  });
});
