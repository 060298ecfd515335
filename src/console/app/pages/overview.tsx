import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, HERALD, type Stats, type StatsRange } from '../api';
import { COUNT_SERIES, HistoryChart, LATENCY_SERIES, LatencyChart, Legend } from '../chart';
import { NotAllowed } from './iam-common';
import { TopicHealthTable } from './topic-health';

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

/** Both the live counts and the stored history are read again this often. */
const REFRESH_MS = 5000;

const RANGE_TEXT: Record<StatsRange, string> = { hour: 'the last hour', day: 'the last day' };

const problemOf = (e: unknown): string => (e instanceof ApiError && e.code === 'NotAuthorizedOrNotFound' ? 'not-allowed' : e instanceof Error ? e.message : String(e));

/**
 * Polls `read` now and every REFRESH_MS while `key` stays the same. The last answer stays on screen until the next
 * one arrives (no blank between polls), and an answer to an older key is dropped when it comes in late.
 */
function usePoll<T>(key: string, read: () => Promise<T>): { data: T | null; error: string } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const current = useRef(key);
  useEffect(() => {
    current.current = key;
    let stopped = false;
    const poll = (): void => {
      read().then((d) => {
        if (stopped || current.current !== key) return;
        setData(d);
        setError('');
      }, (e: unknown) => {
        if (!stopped) setError(problemOf(e));
      });
    };
    poll();
    const t = setInterval(poll, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [key]);
  return { data, error };
}

function RangeToggle({ range, onChange }: { range: StatsRange; onChange: (r: StatsRange) => void }) {
  return (
    <div class="toggle" role="group" aria-label="Range">
      {(['hour', 'day'] as const).map((r) => (
        <button key={r} type="button" class="secondary" aria-pressed={range === r} onClick={() => onChange(r)}>
          {r === 'hour' ? 'Last hour' : 'Last day'}
        </button>
      ))}
    </div>
  );
}

export function OverviewPage() {
  const [range, setRange] = useState<StatsRange>('hour');
  const live = usePoll('overview', () => get<Overview>(`${HERALD}/console/overview`));
  const history = usePoll(range, () => get<Stats>(`${HERALD}/console/stats?range=${range}`));
  const last = live.data;
  // While the other range loads, the chart keeps the previous one (marked busy) instead of going blank.
  const stats = history.data;
  const loading = stats !== null && stats.range !== range;
  const minutes = stats === null ? 0 : stats.bucketSeconds / 60;
  const notAllowed = live.error === 'not-allowed' || history.error === 'not-allowed';
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      {notAllowed && <NotAllowed text="You are not allowed to see this: the overview counts the whole tenancy and needs inspect ons-topics in the tenancy." />}
      {live.error !== '' && live.error !== 'not-allowed' && <p role="alert" class="error">{live.error}</p>}
      <div class="kpis">
        <div class="kpi">Topics<b>{last?.topics ?? 0}</b></div>
        <div class="kpi">Subscriptions<b>{last?.subscriptions ?? 0}</b></div>
        <div class="kpi">Published (last minute)<b>{last?.publishedLastMinute ?? 0}</b></div>
        <div class="kpi">Queue depth<b>{last?.pending ?? 0}</b></div>
        <div class="kpi">In flight<b>{last?.inFlight ?? 0}</b></div>
        <div class="kpi">Dead letters<b><a href="#/dead-letters">{last?.deadLetters ?? 0}</a></b></div>
      </div>
      <div class="card" role="region" aria-label="History" aria-busy={loading || stats === null}>
        <div class="row spread">
          <h2>{range === 'hour' ? 'Last hour' : 'Last day'}{stats !== null && !loading && <span class="hint"> · per {minutes} min, local time</span>}</h2>
          <RangeToggle range={range} onChange={setRange} />
        </div>
        {history.error !== '' && history.error !== 'not-allowed' && <p role="alert" class="error">History is not available: {history.error}</p>}
        {stats !== null && (
          <>
            <Legend series={COUNT_SERIES} label="Chart legend" />
            <HistoryChart points={stats.points} bucketSeconds={stats.bucketSeconds} emptyText={`No traffic in ${RANGE_TEXT[stats.range]}.`} />
            <h3>Delivery latency</h3>
            <Legend series={LATENCY_SERIES} label="Latency legend" />
            <LatencyChart points={stats.points} bucketSeconds={stats.bucketSeconds} />
            <h3>Topic health</h3>
            <TopicHealthTable topics={stats.topics} rangeText={RANGE_TEXT[stats.range]} now={Date.now()} />
          </>
        )}
      </div>
    </section>
  );
}
