import type { ComponentChildren } from 'preact';
import type { StatsPoint } from './api';
import { fmtMs, timeTicks, valueTicks } from './chart-scale';
import { clockMinutes } from './time';

/** One drawn series: the field of a point, its colour and its name in the legend. */
export interface SeriesSpec<K extends string> {
  key: K;
  color: string;
  label: string;
}

export type CountKey = 'published' | 'delivered' | 'failedAttempts' | 'deadLetters';
export const COUNT_SERIES: readonly SeriesSpec<CountKey>[] = [
  { key: 'published', color: '#0b5cad', label: 'published' },
  { key: 'delivered', color: '#13602d', label: 'delivered' },
  { key: 'failedAttempts', color: '#d98e04', label: 'failed attempts' },
  { key: 'deadLetters', color: '#b02a1e', label: 'dead letters' },
];

type LatencyKey = 'p50Ms' | 'p99Ms';
export const LATENCY_SERIES: readonly SeriesSpec<LatencyKey>[] = [
  { key: 'p50Ms', color: '#0b5cad', label: 'p50' },
  { key: 'p99Ms', color: '#7b2cbf', label: 'p99' },
];

const W = 720;
const LEFT = 52;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;

export function Legend<K extends string>({ series, label }: { series: readonly SeriesSpec<K>[]; label: string }) {
  return (
    <ul class="legend" aria-label={label}>
      {series.map((s) => (
        <li key={s.key}><span class="swatch" style={{ background: s.color }} />{s.label}</li>
      ))}
    </ul>
  );
}

/** The frame every chart shares: value gridlines and labels on the left, local clock times along the bottom. */
function Axes({ points, bucketSeconds, height, ticks, fmt, children }: {
  points: readonly StatsPoint[];
  bucketSeconds: number;
  height: number;
  ticks: number[];
  fmt: (v: number) => string;
  children: ComponentChildren;
}) {
  const plotW = W - LEFT - RIGHT;
  const plotH = height - TOP - BOTTOM;
  const top = ticks[ticks.length - 1] ?? 1;
  const y = (v: number): number => TOP + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, points.length);
  const starts = points.map((p) => p.t);
  return (
    <>
      <g class="value-axis" data-axis="value">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={LEFT} x2={W - RIGHT} y1={y(v)} y2={y(v)} stroke="#e1e5eb" />
            <text x={LEFT - 6} y={y(v) + 4} text-anchor="end" font-size="11" fill="#5b6576">{fmt(v)}</text>
          </g>
        ))}
      </g>
      <g class="time-axis" data-axis="time">
        <line x1={LEFT} x2={W - RIGHT} y1={TOP + plotH} y2={TOP + plotH} stroke="#9aa5b5" />
        {timeTicks(starts, bucketSeconds).map((t) => {
          const x = LEFT + starts.indexOf(t) * slot;
          return (
            <g key={t}>
              <line x1={x} x2={x} y1={TOP + plotH} y2={TOP + plotH + 4} stroke="#9aa5b5" />
              <text x={x} y={height - 6} text-anchor="middle" font-size="11" fill="#5b6576">{clockMinutes(t)}</text>
            </g>
          );
        })}
      </g>
      {children}
    </>
  );
}

const bucketTitle = (p: StatsPoint): string =>
  `${clockMinutes(p.t)}: published ${p.published}, delivered ${p.delivered}, failed attempts ${p.failedAttempts}, dead letters ${p.deadLetters}`;

/**
 * Published, delivered, failed attempts and dead letters per bucket as grouped bars. Each bucket is a <g> carrying
 * its figures as data attributes and a <title>, so they can be read (and tested) without looking at pixels.
 * With no traffic at all the axes stay and the chart says so.
 */
export function HistoryChart({ points, bucketSeconds, emptyText }: { points: readonly StatsPoint[]; bucketSeconds: number; emptyText: string }) {
  const height = 220;
  const plotW = W - LEFT - RIGHT;
  const plotH = height - TOP - BOTTOM;
  const max = Math.max(0, ...points.flatMap((p) => COUNT_SERIES.map((s) => p[s.key])));
  const ticks = valueTicks(max);
  const top = ticks[ticks.length - 1] ?? 1;
  const slot = plotW / Math.max(1, points.length);
  const barW = Math.max(0.5, (slot * 0.8) / COUNT_SERIES.length);
  const empty = max === 0;
  return (
    <svg viewBox={`0 0 ${W} ${height}`} width="100%" role="img" aria-label={`Deliveries per ${bucketSeconds / 60} minutes`} data-empty={empty ? 'true' : 'false'} class="chart">
      <Axes points={points} bucketSeconds={bucketSeconds} height={height} ticks={ticks} fmt={String}>
        {points.map((p, i) => (
          <g key={p.t} class="bucket" data-bucket={p.t} data-published={p.published} data-delivered={p.delivered} data-failed-attempts={p.failedAttempts} data-dead-letters={p.deadLetters}>
            <title>{bucketTitle(p)}</title>
            {/* The whole slot takes the pointer, so a zero bucket still shows its title. */}
            <rect x={LEFT + i * slot} y={TOP} width={slot} height={plotH} fill="transparent" />
            {COUNT_SERIES.map((s, j) => {
              const h = (p[s.key] / top) * plotH;
              return h > 0 ? <rect key={s.key} x={LEFT + i * slot + slot * 0.1 + j * barW} y={TOP + plotH - h} width={barW} height={h} fill={s.color} /> : null;
            })}
          </g>
        ))}
      </Axes>
      {empty && (
        <text x={LEFT + plotW / 2} y={TOP + plotH / 2} text-anchor="middle" font-size="14" fill="#5b6576" data-testid="chart-empty">{emptyText}</text>
      )}
    </svg>
  );
}

/** Delivery latency percentiles per bucket as two lines; a bucket without deliveries breaks the line. */
export function LatencyChart({ points, bucketSeconds }: { points: readonly StatsPoint[]; bucketSeconds: number }) {
  const height = 130;
  const plotW = W - LEFT - RIGHT;
  const plotH = height - TOP - BOTTOM;
  const max = Math.max(0, ...points.flatMap((p) => LATENCY_SERIES.map((s) => p[s.key] ?? 0)));
  const ticks = valueTicks(max, 3);
  const top = ticks[ticks.length - 1] ?? 1;
  const slot = plotW / Math.max(1, points.length);
  const x = (i: number): number => LEFT + i * slot + slot / 2;
  const y = (v: number): number => TOP + plotH - (v / top) * plotH;
  // Runs of consecutive buckets with a value: each is one polyline (a lone point is drawn as a dot).
  const runs = (key: LatencyKey): [number, number][][] => {
    const out: [number, number][][] = [];
    let run: [number, number][] = [];
    points.forEach((p, i) => {
      const v = p[key];
      if (v === null) {
        if (run.length > 0) out.push(run);
        run = [];
      } else run.push([x(i), y(v)]);
    });
    if (run.length > 0) out.push(run);
    return out;
  };
  const empty = max === 0 && points.every((p) => p.p50Ms === null);
  return (
    <svg viewBox={`0 0 ${W} ${height}`} width="100%" role="img" aria-label="Delivery latency p50 and p99" data-empty={empty ? 'true' : 'false'} class="chart">
      <Axes points={points} bucketSeconds={bucketSeconds} height={height} ticks={ticks} fmt={fmtMs}>
        {LATENCY_SERIES.map((s) =>
          runs(s.key).map((run, k) =>
            run.length === 1 ? (
              <circle key={`${s.key}-${k}`} cx={run[0]![0]} cy={run[0]![1]} r="2.5" fill={s.color} />
            ) : (
              <polyline key={`${s.key}-${k}`} points={run.map(([a, b]) => `${a},${b}`).join(' ')} fill="none" stroke={s.color} stroke-width="2" />
            ),
          ),
        )}
        {points.map((p, i) =>
          p.p50Ms === null ? null : (
            <g key={p.t} class="latency" data-bucket={p.t} data-p50={p.p50Ms} data-p99={p.p99Ms ?? ''}>
              <title>{`${clockMinutes(p.t)}: p50 ${fmtMs(p.p50Ms)}, p99 ${p.p99Ms === null ? '—' : fmtMs(p.p99Ms)}`}</title>
              <rect x={LEFT + i * slot} y={TOP} width={slot} height={plotH} fill="transparent" />
            </g>
          ),
        )}
      </Axes>
      {empty && <text x={LEFT + plotW / 2} y={TOP + plotH / 2} text-anchor="middle" font-size="13" fill="#5b6576">No deliveries, so no latency.</text>}
    </svg>
  );
}
