import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BatchBuilder, abortReason, unpack, wireAbort } from '../../../src/delivery/send-thread/wire.js';
import { timedOut } from '../../../src/delivery/deadline.js';
import { confirmationCtx, message, messageCtx, subscription } from '../fixtures.js';

describe('delivery thread batches', () => {
  it('clone each subscription, topic and message once however many sends name them, and unpack to the same sends', () => {
    const b = new BatchBuilder();
    const msg = message('{"a":1}');
    const subs = Array.from({ length: 10 }, (_, i) => subscription('CUSTOM_HTTPS', `https://r${i}.example.com/h`, { id: `sub-${i}` }));
    const contexts = subs.map((s, i) => messageCtx(s, msg, { deliveryId: 100 + i, attemptNo: 1 + (i % 3), traceParent: i === 0 ? '00-abc-def-01' : null }));
    // The loader hands out one topic object per topic: share it as the engine does.
    for (const c of contexts) c.topic = contexts[0]!.topic;
    const confirm = confirmationCtx(subs[0]!);
    // The first five were made under one signal (one deadline slot), the rest under another.
    contexts.forEach((c, i) => b.add(i + 1, i < 5 ? 1 : 2, c));
    b.add(99, 3, confirm);
    assert.equal(b.isEmpty, false);

    const batch = structuredClone(b.take());
    assert.equal(batch.messages.length, 1);
    assert.equal(batch.topics.length, 2);
    assert.equal(batch.subscriptions.length, 11);
    assert.equal(b.isEmpty, true, 'take() did not start a new batch');

    const signals = new Map<number, AbortSignal>();
    const out = unpack(batch, (group) => {
      let s = signals.get(group);
      if (s === undefined) signals.set(group, (s = new AbortController().signal));
      return s;
    });
    assert.deepEqual(out.map((o) => o.id), [...contexts.map((_, i) => i + 1), 99]);
    assert.deepEqual(out.map((o) => o.group), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3]);
    const strip = ({ signal: _signal, ...rest }: { signal: AbortSignal } & Record<string, unknown>): Record<string, unknown> => rest;
    out.forEach((o, i) => {
      const original = i < contexts.length ? contexts[i]! : confirm;
      assert.deepEqual(strip(o.ctx as never), strip(original as never));
      assert.equal(o.ctx.signal, signals.get(o.group));
    });
  });

  it('carry an abort reason so that a timed-out attempt still reads as timed out on the thread', () => {
    const b = new BatchBuilder();
    b.abort(7, new DOMException('The attempt ran out of its 30000 ms.', 'TimeoutError'));
    b.abort(8, new Error('Herald is shutting down.'));
    const { aborts } = structuredClone(b.take());
    assert.deepEqual(aborts, [
      { group: 7, reason: { name: 'TimeoutError', message: 'The attempt ran out of its 30000 ms.' } },
      { group: 8, reason: { name: 'Error', message: 'Herald is shutting down.' } },
    ]);
    const ac = new AbortController();
    ac.abort(abortReason(aborts[0]!.reason));
    assert.equal(timedOut(ac.signal), true);
    const shut = new AbortController();
    shut.abort(abortReason(aborts[1]!.reason));
    assert.equal(timedOut(shut.signal), false);
    assert.deepEqual(wireAbort('plain'), { name: 'AbortError', message: 'plain' });
  });
});
