import { verify, type KeyObject } from 'node:crypto';
import { loopBusyOver } from '../../telemetry/loop-busy.js';
import { VerifyThread } from './verify-thread.js';

/** A check this long after the one before it finds the server between requests (see verifyRsa). */
const QUIET_MS = 1;
/** The event loop's busy share is read over windows at least this long. */
const LOOP_WINDOW_MS = 10;
/** Above this busy share, the loop's CPU is what the server runs short of: checks go to the verify thread. */
const LOOP_BUSY_ABOVE = 0.75;

let lastCheckAt = Number.NEGATIVE_INFINITY;
/** The checks' thread when the caller names none (the server gives its own, hosted on its delivery thread). */
const defaultThread = new VerifyThread();
/** Where the checks were made so far (for tests and diagnostics). */
const made = { loop: 0, thread: 0 };

/** How many RSA checks this process has made on the event loop and on the verify thread. */
export function rsaChecksMade(): Readonly<{ loop: number; thread: number }> {
  return { ...made };
}

/**
 * Whether the event loop was mostly busy over its last window. A loop whose turns are long (claims, completions,
 * deliveries) spaces requests' checks more than QUIET_MS apart while it has no CPU to spare, so the gap since the
 * previous check alone put checks on the loop just when it was the bottleneck (under overload, a fifth of them; a
 * check costs the loop 21 µs inline, 5.5 µs handed to libuv's pool, ~2 µs to the verify thread).
 */
const loopIsBusy = loopBusyOver(LOOP_WINDOW_MS, LOOP_BUSY_ABOVE);

/**
 * `adaptive`: the rule below. `inline`: always on the event loop, for routes whose requests do far more than the
 * check costs and come far less often than publishes (every route but publishing: an invoke runs a function, the
 * rest are the control plane). There a hop off the loop is pure latency: in the signed invoke bench ((g)) the
 * client's work on the same loop kept its busy share over three quarters, so half the checks went to the pool,
 * ~100 µs each against ~65 µs inline.
 */
export type RsaPlacement = 'adaptive' | 'inline';

/**
 * Where the RSA check runs. Under load, on a thread of its own (VerifyThread): it was about a fifth of a publish's
 * main-thread CPU there, and the thread puts it on the machine's other core, in batches. A request that comes
 * QUIET_MS or more after the previous check, while the event loop has CPU to spare, is checked on the event loop
 * instead: for a request alone on a quiet server, the hop to a sleeping thread and back cost ~150 µs of its
 * latency against ~20-100 µs for the check itself (a signed invoke). At rates where checks are closer together they
 * go to the thread, past the first of a burst, and so do all checks while the loop is busy over LOOP_BUSY_ABOVE of
 * its last window. (A count of requests in flight was tried as the signal: its per-request bookkeeping cost (a)'s
 * publishes/s about 3 %.)
 */
export function verifyRsa(
  data: Buffer,
  key: KeyObject,
  signature: Buffer,
  placement: RsaPlacement = 'adaptive',
  thread: VerifyThread = defaultThread,
): boolean | Promise<boolean> {
  const now = performance.now();
  const quiet = now - lastCheckAt >= QUIET_MS;
  lastCheckAt = now;
  if (placement === 'inline' || (quiet && !loopIsBusy(now))) {
    made.loop++;
    try {
      return verify('sha256', data, key, signature);
    } catch {
      // Any error (e.g. a non-RSA key registered) is still just "bad signature" to the caller.
      return false;
    }
  }
  made.thread++;
  return thread.check(data, key, signature);
}
