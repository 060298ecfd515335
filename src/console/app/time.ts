/** Times as the console shows them: always in the browser's local time zone. */

/** "14:05" in local time, for a chart's time axis. */
export const clockMinutes = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });

/** "14:05:09" in local time, for a retry that is due soon. */
export const clockSeconds = (ms: number): string =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/**
 * How long ago `ms` was, coarsely ("3 min ago"). A time a little ahead of `now` (the server's clock ahead of the
 * browser's) reads "just now" rather than a negative age.
 */
export function ago(ms: number, now: number): string {
  const s = Math.floor((now - ms) / 1000);
  if (s < 60) return 'just now';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}
