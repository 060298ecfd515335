import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DueWalk, stillExcluded } from '../../src/delivery/due-walk.js';

const ex = (endpoints: string[], subscriptions: string[] = []) => ({ endpoints, subscriptions });
const T = 1_000_000;

describe('DueWalk', () => {
  it('goes on from where the last step stopped while the claim leaves out at least as much', () => {
    const w = new DueWalk(10_000);
    assert.equal(w.from(T, ex(['a'])), null);
    w.stepped(T, ex(['a']), { at: T - 50, id: 7 });
    assert.deepEqual(w.from(T + 1, ex(['a'])), { at: T - 50, id: 7 });
    // Leaving out more is still sound: what the walk passed stays left out.
    assert.deepEqual(w.from(T + 2, ex(['a', 'b'], ['s'])), { at: T - 50, id: 7 });
  });

  it('starts over when the claim leaves out less than the walk did (an endpoint reopened)', () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a', 'b']));
    w.stepped(T, ex(['a', 'b']), { at: T - 50, id: 7 });
    assert.equal(w.from(T + 1, ex(['a'])), null);
  });

  it('goes on from a little before the end once a walk reached it, so what commits just after is still found', () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a']));
    w.stepped(T, ex(['a']), null);
    const from = w.from(T + 5, ex(['a']));
    assert.ok(from !== null && from.at < T, `went on from ${JSON.stringify(from)}`);
  });

  it('starts over after restartMs, and after restart(), even one called while a step ran', () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a']));
    w.stepped(T, ex(['a']), { at: T - 50, id: 7 });
    assert.notEqual(w.from(T + 9_999, ex(['a'])), null);
    w.stepped(T + 9_999, ex(['a']), { at: T - 40, id: 9 });
    assert.equal(w.from(T + 10_000, ex(['a'])), null);
    w.stepped(T + 10_000, ex(['a']), { at: T - 50, id: 7 });
    w.restart();
    assert.equal(w.from(T + 10_001, ex(['a'])), null);
    // A restart while a step ran: where that step stopped is behind what went back.
    w.stepped(T + 10_001, ex(['a']), { at: T - 50, id: 7 });
    assert.notEqual(w.from(T + 10_002, ex(['a'])), null);
    w.restart();
    w.stepped(T + 10_002, ex(['a']), { at: T - 40, id: 9 });
    assert.equal(w.from(T + 10_003, ex(['a'])), null);
  });

  it('stillExcluded: whether the second leaves out everything the first did', () => {
    assert.equal(stillExcluded(ex(['a'], ['s']), ex(['a', 'b'], ['s'])), true);
    assert.equal(stillExcluded(ex(['a'], ['s']), ex(['a'])), false);
    assert.equal(stillExcluded(ex([]), ex([])), true);
  });
});
