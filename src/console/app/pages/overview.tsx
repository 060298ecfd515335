import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, HERALD } from '../api';
import { NotAllowed } from './iam-common';

/** The signed-in tenancy's own figures (GET /herald/v1/console/overview). */
interface Overview {
  timeGenerated: string;
  topics: number;
  subscriptions: number;
  pending: number;
  inFlight: number;
  deadLetters: number;
  publishedLastMinute: number;
}
type Series = 'publishedLastMinute' | 'pending' | 'deadLetters';
type Point = Pick<Overview, Series>;

const LINES: readonly [Series, string, string][] = [
  ['publishedLastMinute', '#0b5cad', 'published in the last minute'],
  ['pending', '#13602d', 'queue depth'],
  ['deadLetters', '#b02a1e', 'dead letters'],
];

/** A tiny inline SVG line chart of the samples taken since the page opened (no chart library, no network). */
function Chart({ points }: { points: Point[] }) {
  const w = 600;
  const h = 140;
  const max = Math.max(1, ...points.flatMap((p) => LINES.map(([key]) => p[key])));
  const line = (key: Series): string => points.map((p, i) => `${(i / Math.max(1, points.length - 1)) * w},${h - (p[key] / max) * (h - 10)}`).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} width="100%" height={h} role="img" aria-label="Published messages, queue depth and dead letters every 5 seconds">
      <rect width={w} height={h} fill="#fff" />
      {LINES.map(([key, color]) => (
        <polyline key={key} points={line(key)} fill="none" stroke={color} stroke-width="2" />
      ))}
    </svg>
  );
}

export function OverviewPage() {
  const [points, setPoints] = useState<Point[]>([]);
  const [last, setLast] = useState<Overview | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const poll = (): void => {
      get<Overview>(`${HERALD}/console/overview`).then((o) => {
        setLast(o);
        setPoints((prev) => [...prev.slice(-59), { publishedLastMinute: o.publishedLastMinute, pending: o.pending, deadLetters: o.deadLetters }]);
      }, (e: Error) => setError(e instanceof ApiError && e.code === 'NotAuthorizedOrNotFound' ? 'not-allowed' : e.message));
    };
    poll();
    const t = setInterval(poll, 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      {error === 'not-allowed' && <NotAllowed text="You are not allowed to see this: the overview counts the whole tenancy and needs inspect ons-topics in the tenancy." />}
      {error !== '' && error !== 'not-allowed' && <p role="alert" class="error">{error}</p>}
      <div class="kpis">
        <div class="kpi">Topics<b>{last?.topics ?? 0}</b></div>
        <div class="kpi">Subscriptions<b>{last?.subscriptions ?? 0}</b></div>
        <div class="kpi">Published (last minute)<b>{last?.publishedLastMinute ?? 0}</b></div>
        <div class="kpi">Queue depth<b>{last?.pending ?? 0}</b></div>
        <div class="kpi">In flight<b>{last?.inFlight ?? 0}</b></div>
        <div class="kpi">Dead letters<b><a href="#/dead-letters">{last?.deadLetters ?? 0}</a></b></div>
      </div>
      <div class="card">
        <h2>Since this page opened</h2>
        <p class="hint">
          {LINES.map(([key, color, label]) => (
            <span key={key} style={{ color }}>■ {label} </span>
          ))}
        </p>
        <Chart points={points} />
      </div>
    </section>
  );
}
