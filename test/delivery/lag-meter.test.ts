import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LagMeter } from '../../src/delivery/lag-meter.js';

describe('LagMeter', () => {
  it('reads the median lag of the attempts since the last reading, so a few very late ones do not move it', () => {
    const m = new LagMeter();
    for (let i = 0; i < 90; i++) m.sample(10);
    for (let i = 0; i < 10; i++) m.sample(30_000); // a slow endpoint's, queued behind its cap
    assert.equal(m.take(), 10);
  });

  it('starts each reading afresh, and repeats the last one when no attempt started', () => {
    const m = new LagMeter();
    m.sample(700);
    assert.equal(m.take(), 700);
    assert.equal(m.take(), 700);
    m.sample(5);
    assert.equal(m.take(), 5);
  });

  it('keeps a bounded sample of a busy period that still reads its median', () => {
    const m = new LagMeter();
    for (let i = 0; i < 100_000; i++) m.sample(i % 2 === 0 ? 100 : 300);
    const lag = m.take();
    assert.ok(lag === 100 || lag === 300, `median ${lag}`);
    assert.equal(new LagMeter().take(), 0);
  });
});
