/**
 * Reading Herald's /metrics (Prometheus text format) by name. The soak scrapes
 * metrics that a given build may not have yet (they arrive with the WAL and
 * retention work): a metric that is absent reads as null, never as 0, so "not
 * exported" and "zero" stay apart in the results.
 */
import { request } from 'undici';

/** The text of `<url>/metrics`, or undefined when Herald did not answer it. */
export async function scrapeMetrics(url: string): Promise<string | undefined> {
  try {
    const res = await request(`${url}/metrics`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : undefined;
  } catch {
    return undefined;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every series of `name` (any labels) combined: summed (counters, sizes, counts
 * split by label) or their maximum (a "max" gauge or an age). Null when the text
 * has no series of that name or none with a finite value.
 */
export function metricValue(text: string | undefined, name: string, combine: 'sum' | 'max' = 'sum'): number | null {
  if (text === undefined) return null;
  // Exactly `name`, then labels or a space: herald_store_wal_pauses_total must not match herald_store_wal_pauses_total_x.
  const re = new RegExp(`^${escape(name)}(?:\\{[^}]*\\})? (\\S+)`, 'gm');
  let out: number | null = null;
  for (const m of text.matchAll(re)) {
    const v = Number(m[1]);
    if (!Number.isFinite(v)) continue;
    out = out === null ? v : combine === 'sum' ? out + v : Math.max(out, v);
  }
  return out;
}

/** The optional metrics the soak records in every sample, and how series of each combine. */
export const SOAK_METRICS = {
  herald_store_wal_pause_max_seconds: 'max',
  herald_store_wal_pauses_total: 'sum',
  herald_store_wal_pause_seconds_total: 'sum',
  herald_retention_held_messages: 'sum',
  herald_retention_oldest_held_age_seconds: 'max',
  herald_retention_pruned_messages_total: 'sum',
  herald_store_database_bytes: 'sum',
  herald_store_wal_bytes: 'sum',
} as const satisfies Record<string, 'sum' | 'max'>;

export type SoakMetricName = keyof typeof SOAK_METRICS;

export function soakMetrics(text: string | undefined): Record<SoakMetricName, number | null> {
  const out = {} as Record<SoakMetricName, number | null>;
  for (const [name, how] of Object.entries(SOAK_METRICS) as [SoakMetricName, 'sum' | 'max'][]) out[name] = metricValue(text, name, how);
  return out;
}
