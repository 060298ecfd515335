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

  it("goes on from the end's millisecond once a walk reached it, not a second of the due order back", () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a']));
    w.stepped(T, ex(['a']), null);
    // What commits later in T's millisecond may be due in it: the walk goes on from before it, and no further back.
    assert.deepEqual(w.from(T + 5, ex(['a'])), { at: T - 1, id: Number.MAX_SAFE_INTEGER });
    // With several nodes writing (endTailMs), from that much before it.
    const shared = new DueWalk(10_000, 1_000);
    shared.from(T, ex(['a']));
    shared.stepped(T, ex(['a']), null);
    assert.deepEqual(shared.from(T + 5, ex(['a'])), { at: T - 1_001, id: Number.MAX_SAFE_INTEGER });
  });

  it('rewind() sends the walk back to work committed due before where it is, never forward', () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a']));
    w.stepped(T, ex(['a']), { at: T - 50, id: 7 });
    w.rewind(T - 20);
    assert.deepEqual(w.from(T + 1, ex(['a'])), { at: T - 50, id: 7 }, 'a rewind past the walk changes nothing');
    w.stepped(T + 1, ex(['a']), { at: T - 40, id: 9 });
    w.rewind(T - 40);
    // Everything due at T - 40 again, those with ids up to 9 included.
    assert.deepEqual(w.from(T + 2, ex(['a'])), { at: T - 41, id: Number.MAX_SAFE_INTEGER });
    w.stepped(T + 2, ex(['a']), null);
    w.rewind(T - 1_000);
    assert.deepEqual(w.from(T + 3, ex(['a'])), { at: T - 1_001, id: Number.MAX_SAFE_INTEGER });
  });

  it('a rewind while a step ran holds where that step stopped back', () => {
    const w = new DueWalk(10_000);
    w.from(T, ex(['a']));
    w.stepped(T, ex(['a']), { at: T - 50, id: 7 });
    assert.deepEqual(w.from(T + 1, ex(['a'])), { at: T - 50, id: 7 });
    // The step walks past T - 30 while a retry due then commits.
    w.rewind(T - 30);
    w.stepped(T + 1, ex(['a']), { at: T - 10, id: 3 });
    assert.deepEqual(w.from(T + 2, ex(['a'])), { at: T - 31, id: Number.MAX_SAFE_INTEGER });
    // The next step starts afresh: an earlier step's rewind does not hold later ones back.
    w.stepped(T + 2, ex(['a']), { at: T - 5, id: 4 });
    assert.deepEqual(w.from(T + 3, ex(['a'])), { at: T - 5, id: 4 });
  });

  it('a rewind with no walk under way is nothing to go back to: the next step starts from the beginning', () => {
    const w = new DueWalk(10_000);
    w.rewind(T - 30);
    assert.equal(w.from(T, ex(['a'])), null);
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
