import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KeyedLimiter, Waker } from '../../src/delivery/concurrency.js';

describe('keyed slots (an endpoint\'s limit)', () => {
  it('lets perKey sends of one endpoint run at once and starts the waiting ones in order as places free', async () => {
    const q = new KeyedLimiter(2);
    assert.equal(q.acquire('a', 1), true);
    assert.equal(q.acquire('a', 1), true);
    // Another endpoint has places of its own.
    assert.equal(q.acquire('b', 1), true);
    const started: number[] = [];
    const third = q.acquire('a', 1);
    const fourth = q.acquire('a', 2);
    assert.notEqual(third, true);
    assert.notEqual(fourth, true);
    void (third as Promise<boolean>).then((ok) => ok && started.push(3));
    void (fourth as Promise<boolean>).then((ok) => ok && started.push(4));
    assert.equal(q.waiting, 2);
    await Promise.resolve();
    assert.deepEqual(started, [], 'a waiting send started before a place was freed');
    q.release('a');
    await third;
    assert.deepEqual(started, [3]);
    q.release('a');
    await fourth;
    assert.deepEqual(started, [3, 4]);
    assert.equal(q.waiting, 0);
  });

  it('lets the waiting sends of an aborted group go unsent, and keeps the others waiting in order', async () => {
    const q = new KeyedLimiter(1);
    assert.equal(q.acquire('a', 1), true);
    const aborted = q.acquire('a', 7) as Promise<boolean>;
    const kept = q.acquire('a', 8) as Promise<boolean>;
    const alsoAborted = q.acquire('b', 7);
    assert.equal(alsoAborted, true, 'a send with a free place is not waiting, whatever its group');
    q.abortGroup(7);
    assert.equal(await aborted, false);
    assert.equal(q.waiting, 1);
    q.release('a');
    assert.equal(await kept, true);
    // The aborted send held no place: one leave for the running send frees the endpoint.
    q.release('a');
    assert.equal(q.acquire('a', 9), true);
  });
});

describe('Waker', () => {
  it('tells a sleep whose time ran out from one a wake-up cut short, before or during it', async () => {
    const waker = new Waker();
    assert.equal(await waker.sleep(5), true);
    waker.wake();
    assert.equal(await waker.sleep(60_000), false, 'woken before it slept');
    const sleeping = waker.sleep(60_000);
    waker.wake();
    assert.equal(await sleeping, false, 'woken while it slept');
    // A wake-up is used once: the next sleep runs its time out again.
    assert.equal(await waker.sleep(5), true);
  });
});
