import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { MemoryWatchdog, readGroupRssKb } from '../../src/functions/rss.js';
import { eventually } from '../helpers/eventually.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A real process group (a sleeping child leading its own group), read through the real /proc reader.
describe('MemoryWatchdog', () => {
  let child: ChildProcess;
  let pgid: number;
  before(() => {
    child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
    pgid = child.pid!;
  });
  after(() => {
    child.kill('SIGKILL');
  });

  /** The real reader, counting its calls. */
  function countingReader(): { read: (pgid: number) => Promise<number>; polls: () => number } {
    let n = 0;
    return {
      read: (g) => {
        n++;
        return readGroupRssKb(g);
      },
      polls: () => n,
    };
  }

  it('back-to-back calls share the busy cadence instead of reading /proc once per call', async () => {
    const reader = countingReader();
    const dog = new MemoryWatchdog(pgid, 10_000_000, 50, 60_000, () => assert.fail('no breach expected'), reader.read);
    dog.start();
    const started = performance.now();
    const calls = 200;
    for (let i = 0; i < calls; i++) {
      // A call spans a few turns of the loop, timers included, as a socket exchange does.
      dog.setBusy(true);
      await sleep(1);
      dog.setBusy(false);
      await turn();
    }
    // Let a poll that is due by now run, so the bound below counts every poll the calls caused.
    await sleep(60);
    const elapsed = performance.now() - started;
    dog.stop();
    // One poll per 50 ms of busy time at most (+1 for the first, +1 for one in flight at the end), however many calls
    // ran meanwhile: a bound on time, so a slow machine (longer calls) only loosens it.
    assert.ok(reader.polls() >= 1, 'the calls were never polled');
    assert.ok(reader.polls() <= Math.ceil(elapsed / 50) + 2, `${reader.polls()} polls in ${elapsed.toFixed(0)} ms of ${calls} calls`);
  });

  it('short calls spaced under the idle period are still polled at the busy cadence (a call ending does not postpone the poll)', async () => {
    const reader = countingReader();
    const dog = new MemoryWatchdog(pgid, 10_000_000, 40, 600_000, () => assert.fail('no breach expected'), reader.read);
    dog.start();
    try {
      await eventually(
        async () => {
          dog.setBusy(true);
          await turn();
          dog.setBusy(false);
          await sleep(10);
          return reader.polls() >= 3;
        },
        20_000,
        'three polls of short calls 10 ms apart',
      );
    } finally {
      dog.stop();
    }
  });

  it('a group over its limit is reported once, with the RSS read, soon after a call starts', async () => {
    const breaches: number[] = [];
    const dog = new MemoryWatchdog(pgid, 1, 30, 600_000, (kb) => breaches.push(kb));
    dog.start();
    dog.setBusy(true);
    await eventually(() => breaches.length === 1, 20_000, 'the breach');
    assert.ok(breaches[0]! > 1, `RSS ${breaches[0]} kB`);
    dog.setBusy(false);
    dog.setBusy(true);
    await sleep(100);
    assert.equal(breaches.length, 1, 'reported again after it stopped');
  });
});
