import { verify, type KeyObject } from 'node:crypto';

/** A check this long after the one before it finds the server between requests (see verifyRsa). */
const QUIET_MS = 1;
let lastCheckAt = Number.NEGATIVE_INFINITY;

/**
 * Where the RSA check runs. Under load, on libuv's thread pool (crypto.verify with a callback): it was about a
 * fifth of a publish's main-thread CPU, and the pool puts it on the machine's other cores. A request that comes
 * QUIET_MS or more after the previous check is checked on the event loop instead: for a request alone on a quiet
 * server, the hop to a sleeping pool thread and back cost ~150 µs of its latency against ~20-60 µs for the check
 * itself (a signed invoke). At rates where checks are closer together they go to the pool, past the first of a
 * burst. (A count of requests in flight was tried as the signal: its per-request bookkeeping cost (a)'s
 * publishes/s about 3 %.)
 */
export function verifyRsa(data: Buffer, key: KeyObject, signature: Buffer): boolean | Promise<boolean> {
  const now = performance.now();
  const quiet = now - lastCheckAt >= QUIET_MS;
  lastCheckAt = now;
  if (quiet) {
    try {
      return verify('sha256', data, key, signature);
    } catch {
      // Any error (e.g. a non-RSA key registered) is still just "bad signature" to the caller.
      return false;
    }
  }
  return new Promise((resolve) => {
    try {
      verify('sha256', data, key, signature, (err, ok) => resolve(err === null && ok));
    } catch {
      resolve(false);
    }
  });
}
