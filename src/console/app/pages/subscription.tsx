import { useEffect, useRef, useState } from 'preact/hooks';
import { call, enc, errorText, fmtTime, get, HERALD, OCI, readError, type Subscription, type SubscriptionHealth, type Topic } from '../api';
import { HealthBadge } from '../health-badge';
import { topicById } from '../names';
import { FilterPolicyCard } from './filter-policy';
import { RateLimitCard, ReplayCard } from './subscription-controls';

/** How often the page reads the subscription's health again (it changes as deliveries fail or succeed). */
const HEALTH_POLL_MS = 2000;

function lastErrorText(h: SubscriptionHealth): string {
  const f = h.lastFailure;
  if (f === null) return h.lastError ?? '—';
  // The status code, unless the error already starts with it ("HTTP 500 Internal Server Error").
  const status = f.statusCode === null || f.error.startsWith(`HTTP ${f.statusCode}`) ? '' : `HTTP ${f.statusCode}: `;
  return `${status}${f.error}${f.time === null ? '' : ` (${fmtTime(f.time)})`}`;
}

function HealthCard({ health, busy, onEnable }: { health: SubscriptionHealth; busy: boolean; onEnable: () => void }) {
  return (
    <section class="card control" aria-labelledby="health-h">
      <div class="row spread">
        <h2 id="health-h">Health</h2>
        {health.state === 'DISABLED' && (
          <button type="button" disabled={busy} onClick={onEnable} aria-describedby="enable-help">Enable</button>
        )}
      </div>
      <dl class="facts">
        <dt>State</dt>
        <dd><HealthBadge state={health.state} /></dd>
        <dt>Since</dt>
        <dd data-testid="health-since">{fmtTime(health.since)}</dd>
        <dt>Failing since</dt>
        <dd data-testid="health-failing-since">{fmtTime(health.timeFailingSince)}</dd>
        <dt>Consecutive failures</dt>
        <dd data-testid="health-failures">{health.consecutiveFailures}</dd>
        <dt>Last error</dt>
        <dd data-testid="health-last-error">{lastErrorText(health)}</dd>
        <dt>Held deliveries</dt>
        <dd data-testid="health-held">{health.heldDeliveries}</dd>
      </dl>
      <p class="hint" id="enable-help">
        {health.state === 'DISABLED'
          ? `Disabled ${fmtTime(health.timeDisabled)}: its deliveries are held, not attempted and not lost. Enable clears the failure record and sends the held deliveries, oldest first.`
          : `Disabled automatically when no delivery succeeds for ${health.disableAfter} after a failure.`}
      </p>
    </section>
  );
}

/** One subscription: its endpoint health (and enable), filter policy, rate limit and replay. */
export function SubscriptionPage({ subscriptionId }: { subscriptionId: string }) {
  const [sub, setSub] = useState<Subscription | null>(null);
  const [topic, setTopic] = useState<Topic | null>(null);
  const [health, setHealth] = useState<SubscriptionHealth | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const healthUrl = `${HERALD}/subscriptions/${enc(subscriptionId)}/health`;
  /** Bumped by an enable, so a health read started before it cannot show the old state after it. */
  const generation = useRef(0);

  useEffect(() => {
    setSub(null);
    setTopic(null);
    setHealth(null);
    setError('');
    setNotice('');
    let stopped = false;
    get<Subscription>(`${OCI}/subscriptions/${enc(subscriptionId)}`).then(
      (s) => {
        if (stopped) return;
        setSub(s);
        topicById(s.topicId).then((t) => !stopped && setTopic(t), () => undefined);
      },
      (e: unknown) => !stopped && setError(readError(e)),
    );
    const readHealth = (): void => {
      const started = generation.current;
      get<SubscriptionHealth>(healthUrl).then((h) => !stopped && started === generation.current && setHealth(h), () => undefined);
    };
    readHealth();
    const t = setInterval(readHealth, HEALTH_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [subscriptionId]);

  const enable = (): void => {
    const held = health?.heldDeliveries ?? 0;
    generation.current++;
    setBusy(true);
    setError('');
    setNotice('');
    call<SubscriptionHealth>('POST', `${HERALD}/subscriptions/${enc(subscriptionId)}/actions/enable`)
      .then(
        (h) => {
          generation.current++;
          setHealth(h);
          setNotice(held === 0 ? 'Subscription enabled.' : `Subscription enabled: ${held} held ${held === 1 ? 'delivery goes' : 'deliveries go'} out now.`);
        },
        (e: unknown) => setError(errorText(e)),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section aria-labelledby="sub-h">
      <p>
        {sub === null ? <a href="#/topics">← Topics</a> : <a href={`#/topics/${enc(sub.topicId)}`}>← Topic {topic?.name ?? sub.topicId}</a>}
      </p>
      <h1 id="sub-h">Subscription {sub === null ? '' : `${sub.protocol} ${sub.endpoint}`}</h1>
      {sub !== null && (
        <p class="hint">
          <code>{sub.id}</code> · <span class={`state state-${sub.lifecycleState}`}>{sub.lifecycleState}</span>
        </p>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      {notice && <p role="status">{notice}</p>}
      {health !== null && <HealthCard health={health} busy={busy} onEnable={enable} />}
      {sub !== null && (
        <>
          <FilterPolicyCard subscriptionId={subscriptionId} />
          <RateLimitCard subscriptionId={subscriptionId} />
          <ReplayCard subscriptionId={subscriptionId} />
        </>
      )}
    </section>
  );
}
