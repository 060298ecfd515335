import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newMessageId, uuidV7Generator } from '../../src/core/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The millisecond time a UUIDv7 carries in its first 48 bits. */
const timeOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('message ids', () => {
  it('are version 7 UUIDs (RFC 9562) carrying the time they were made', () => {
    const before = Date.now();
    const id = newMessageId();
    const after = Date.now();
    assert.match(id, V7);
    assert.ok(timeOf(id) >= before && timeOf(id) <= after, `${timeOf(id)} not in [${before}, ${after}]`);
  });

  it('sort in the order they were made, within a millisecond and across them, and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newMessageId());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} !< ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('keep sorting after the one before when the clock stands still past the counter, or steps back', () => {
    let now = 1_700_000_000_000;
    const next = uuidV7Generator(() => now);
    const ids: string[] = [];
    // 5,000 in one millisecond runs the 12-bit counter out (it starts in its lower half): the time moves on instead.
    for (let i = 0; i < 5_000; i++) ids.push(next());
    now -= 10_000;
    for (let i = 0; i < 10; i++) ids.push(next());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${i}: ${ids[i - 1]} !< ${ids[i]}`);
    for (const id of ids) assert.match(id, V7);
    assert.equal(timeOf(ids[0]!), 1_700_000_000_000);
    assert.ok(timeOf(ids.at(-1)!) > 1_700_000_000_000, 'the counter ran out, so the time moved on');
    assert.ok(timeOf(ids.at(-1)!) <= 1_700_000_000_003, 'by a millisecond per run of the counter only');
  });

  it('take their random bits from the random source, so two generators at one time differ', () => {
    const clock = (): number => 1_700_000_000_000;
    const a = uuidV7Generator(clock)();
    const b = uuidV7Generator(clock)();
    assert.equal(timeOf(a), timeOf(b));
    assert.notEqual(a.slice(19), b.slice(19));
  });
});
