/**
 * One 'abort' listener per signal, however many requests wait on it. The attempts of one deadline slot share a signal
 * (AttemptDeadlines), so hundreds of requests may run under one: a listener added and removed per request made every
 * removal a walk of the signal's listener list (a tenth of a delivery thread's time in the drain of 50,000 deliveries).
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `fn` when `signal` aborts (the caller checks `signal.aborted` first), unless offAbort removes it before. */
export function onAbort(signal: AbortSignal, fn: () => void): void {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    const all = new Set<() => void>();
    fns = all;
    waiting.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const f of all) f();
      },
      { once: true },
    );
  }
  fns.add(fn);
}

/** `fn` no longer waits on `signal`. */
export function offAbort(signal: AbortSignal, fn: () => void): void {
  waiting.get(signal)?.delete(fn);
}
