/**
 * The one way tests wait on state: polls `check` until it returns a truthy value and returns that value, or throws
 * after `timeoutMs` naming `what` (and the last error `check` threw). Waiting on state, not on time, keeps a test
 * correct on a busy machine; the timeout only bounds how long a broken build takes to fail.
 */
export async function eventually<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The promise's value, or an error naming `what` if it has none within `timeoutMs`: a test that awaits an answer
 * which never comes fails instead of hanging. The bound only says how long a broken build takes to fail.
 */
export async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
