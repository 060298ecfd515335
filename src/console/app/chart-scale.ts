/** Axis arithmetic for the overview's charts: a value scale of round numbers and time ticks on local clock times. */

/** Round ticks from 0 covering `max` (at least 0..1), about `count` of them: 0, 5, 10, 15 rather than 0, 4.33, 8.67. */
export function valueTicks(max: number, count = 4): number[] {
  const top = Math.max(1, max);
  const raw = top / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const whole = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let v = 0; v < top + whole; v += whole) ticks.push(v);
  return ticks;
}

/**
 * The bucket starts that get a label: whole 10 minutes for the hour's minute buckets, whole 3 hours for the day's
 * quarter-hours, read on the browser's clock (so a zone with a :30 or :45 offset still labels round local times).
 */
export function timeTicks(starts: readonly number[], bucketSeconds: number): number[] {
  return starts.filter((t) => {
    const d = new Date(t);
    if (bucketSeconds < 900) return d.getMinutes() % 10 === 0;
    return d.getMinutes() === 0 && d.getHours() % 3 === 0;
  });
}

/** Milliseconds as a latency label: "850 ms", "1.2 s". */
export const fmtMs = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`);
