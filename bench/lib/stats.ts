/** Medians, percentiles and the `median (min–max)` figures every table shows. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const s = sortedCopy(values);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s.length ? s[s.length - 1]! : Number.NaN };
}

export function summarise(values: number[]): Summary {
  // Infinity stays: a delivery that never arrived is slower than any that did.
  const ok = values.filter((v) => !Number.isNaN(v));
  if (ok.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: values };
  const s = [...ok].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: values };
}

/** 12345.6 → "12,346"; small numbers keep a decimal or two. */
export function fmtNum(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtSummary(s: Summary | undefined, unit = ''): string {
  if (s === undefined || Number.isNaN(s.median)) return 'n/a';
  const range = s.runs.length > 1 ? ` (${fmtNum(s.min)}–${fmtNum(s.max)})` : '';
  return `${fmtNum(s.median)}${unit}${range}`;
}

export function ratio(a: Summary | undefined, b: Summary | undefined): number {
  if (a === undefined || b === undefined || Number.isNaN(a.median) || !Number.isFinite(b.median) || b.median === 0) return Number.NaN;
  return a.median / b.median;
}

/** A target as a Summary, so that a figure's ratio column shows figure ÷ target (≤ 1.00× meets it). */
export function targetSummary(v: number): Summary {
  return { median: v, min: v, max: v, runs: [v] };
}

export function fmtRatio(r: number): string {
  if (r === Number.POSITIVE_INFINITY) return '∞';
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CLOCK_MONOTONIC in ms; the same clock in every process on this machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
