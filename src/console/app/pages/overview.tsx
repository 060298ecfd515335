import { useEffect, useState } from 'preact/hooks';
import { get, HERALD } from '../api';

interface Overview { timeGenerated: string; samples: Record<string, number> }
interface Point { t: number; published: number; delivered: number; failed: number }

const sum = (s: Record<string, number>, prefix: string, filter = ''): number =>
  Object.entries(s).reduce((n, [k, v]) => (k.startsWith(prefix) && k.includes(filter) && Number.isFinite(v) ? n + v : n), 0);

/** A tiny inline SVG line chart of per-interval deltas (no chart library, no network). */
function Chart({ points }: { points: Point[] }) {
  const w = 600;
  const h = 140;
  const deltas = points.slice(1).map((p, i) => ({
    published: p.published - (points[i]?.published ?? 0),
    delivered: p.delivered - (points[i]?.delivered ?? 0),
    failed: p.failed - (points[i]?.failed ?? 0),
  }));
  const max = Math.max(1, ...deltas.flatMap((d) => [d.published, d.delivered, d.failed]));
  const line = (key: 'published' | 'delivered' | 'failed'): string =>
    deltas.map((d, i) => `${(i / Math.max(1, deltas.length - 1)) * w},${h - (d[key] / max) * (h - 10)}`).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} width="100%" height={h} role="img" aria-label="Throughput and failures per 5 seconds">
      <rect width={w} height={h} fill="#fff" />
      <polyline points={line('published')} fill="none" stroke="#0b5cad" stroke-width="2" />
      <polyline points={line('delivered')} fill="none" stroke="#13602d" stroke-width="2" />
      <polyline points={line('failed')} fill="none" stroke="#b02a1e" stroke-width="2" />
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
        const s = o.samples;
        const p = { t: Date.parse(o.timeGenerated), published: sum(s, 'herald_messages_published_total'), delivered: sum(s, 'herald_deliveries_finished_total', 'DELIVERED'), failed: sum(s, 'herald_delivery_attempts_total', 'failure') };
        setPoints((prev) => [...prev.slice(-59), p]);
      }, (e: Error) => setError(e.message));
    };
    poll();
    const t = setInterval(poll, 5000);
    return () => clearInterval(t);
  }, []);
  const s = last?.samples ?? {};
  const pick = (prefix: string, filter = ''): number => sum(s, prefix, filter);
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="kpis">
        <div class="kpi">Messages published<b>{pick('herald_messages_published_total')}</b></div>
        <div class="kpi">Queue depth<b>{pick('herald_queue_depth')}</b></div>
        <div class="kpi">In flight<b>{pick('herald_deliveries_in_flight')}</b></div>
        <div class="kpi">Delivered<b>{pick('herald_deliveries_delivered')}</b></div>
        <div class="kpi">Dead letters<b><a href="#/dead-letters">{pick('herald_dead_letters')}</a></b></div>
      </div>
      <div class="card">
        <h2>Since this page opened</h2>
        <p class="hint"><span style={{ color: '#0b5cad' }}>■ published</span> <span style={{ color: '#13602d' }}>■ delivered</span> <span style={{ color: '#b02a1e' }}>■ failed attempts</span></p>
        <Chart points={points} />
      </div>
    </section>
  );
}
