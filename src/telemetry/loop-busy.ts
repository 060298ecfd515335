import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** The share of time since the previous call (or since this was made) that this thread's event loop was busy, 0 to 1. */
export function loopBusyShare(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return share;
  };
}

/**
 * Whether this thread's event loop was busy more than `above` of its last window, a window being at least `windowMs`
 * long (`now` in performance.now() ms): read once a window, however often it is asked. The first answer is no: it
 * starts the first window, so the busy start-up before a first request never counts against it.
 */
export function loopBusyOver(windowMs: number, above: number): (now: number) => boolean {
  let sample: EventLoopUtilization | undefined;
  let sampleAt = Number.NEGATIVE_INFINITY;
  let busy = false;
  return (now) => {
    if (now - sampleAt >= windowMs) {
      const next = performance.eventLoopUtilization();
      busy = sample !== undefined && performance.eventLoopUtilization(next, sample).utilization > above;
      sample = next;
      sampleAt = now;
    }
    return busy;
  };
}
