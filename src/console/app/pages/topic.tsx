import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, enc, fmtTime, get, HERALD, OCI, q, type RecentMessage, type Subscription, type HealthSummary, type Topic } from '../api';
import { EmptyRow } from '../empty-row';
import { HealthBadge } from '../health-badge';

/** How many of the topic's newest messages its page lists. */
const RECENT_LIMIT = 20;

const PROTOCOLS = ['CUSTOM_HTTPS', 'HTTPS', 'EMAIL', 'SLACK', 'PAGERDUTY', 'SMS', 'ORACLE_FUNCTIONS'] as const;
const EMAIL_RE = /^[^\s@<>(),;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const E164_RE = /^\+[1-9]\d{6,14}$/;
const FN_OCID_RE = /^ocid1\.fnfunc\.oc1\.[a-z0-9-]*\.[a-z0-9]{8,128}$/;

/** Mirrors src/core/endpoints.ts so mistakes show while typing; the server still decides. */
export function endpointProblem(protocol: string, endpoint: string): string | undefined {
  if (endpoint === '') return 'Required.';
  if (endpoint.length > 512) return 'At most 512 characters.';
  switch (protocol) {
    case 'EMAIL':
      return EMAIL_RE.test(endpoint) ? undefined : 'Enter an email address such as ops@example.com.';
    case 'SMS':
      return E164_RE.test(endpoint) ? undefined : 'Enter an E.164 phone number such as +14255550100.';
    case 'ORACLE_FUNCTIONS':
      return FN_OCID_RE.test(endpoint) ? undefined : 'Enter a function OCID (ocid1.fnfunc.oc1...).';
    default: {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        return 'Enter an absolute http(s) URL.';
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The URL must use https or http.';
      if (url.hash !== '') return 'The URL must not contain a fragment.';
      if (protocol === 'SLACK' && url.search !== '') return 'A Slack webhook URL has no query parameters.';
      return undefined;
    }
  }
}

export function TopicPage({ compartmentId, topicId }: { compartmentId: string; topicId: string }) {
  const [topic, setTopic] = useState<Topic | null>(null);
  const [subs, setSubs] = useState<Subscription[]>([]);
  /** Endpoint health of the ACTIVE subscriptions, by id (missing: not read, or not readable). */
  const [health, setHealth] = useState<Record<string, HealthSummary>>({});
  const [recent, setRecent] = useState<RecentMessage[] | null>(null);
  const [protocol, setProtocol] = useState<string>('CUSTOM_HTTPS');
  const [endpoint, setEndpoint] = useState('');
  const [touched, setTouched] = useState(false);
  const [title, setTitle] = useState('Test message');
  const [body, setBody] = useState('{"hello": "world"}');
  const [published, setPublished] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  const load = async (): Promise<void> => {
    setTopic(await get<Topic>(`${OCI}/topics/${enc(topicId)}`));
    const [all, messages, read] = await Promise.all([
      get<Subscription[]>(`${OCI}/subscriptions?${q({ compartmentId, topicId, limit: '100' })}`),
      get<RecentMessage[]>(`${HERALD}/topics/${enc(topicId)}/messages?${q({ limit: String(RECENT_LIMIT) })}`),
      // One request for every badge, not one per subscription every refresh.
      get<HealthSummary[]>(`${HERALD}/topics/${enc(topicId)}/subscriptionHealth?${q({ limit: '100' })}`).catch(() => []),
    ]);
    const live = all.filter((s) => s.lifecycleState !== 'DELETED');
    setSubs(live);
    setHealth(Object.fromEntries(read.map((h) => [h.subscriptionId, h])));
    setRecent(messages);
  };
  useEffect(() => {
    load().catch((e: Error) => setError(e.message));
    // Subscriptions confirm asynchronously, messages arrive: keep both fresh.
    const t = setInterval(() => void load().catch(() => undefined), 2000);
    return () => clearInterval(t);
  }, [topicId]);

  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setError('');
    setNotice('');
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  const problem = endpointProblem(protocol, endpoint);

  return (
    <section aria-labelledby="topic-h">
      <p><a href="#/topics">← Topics</a></p>
      <h1 id="topic-h">Topic {topic?.name ?? ''}</h1>
      {topic && <p class="hint"><code>{topic.topicId}</code> {topic.description}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {notice && <p role="status">{notice}</p>}

      <h2>Subscriptions</h2>
      <table aria-label="Subscriptions">
        <thead>
          <tr><th>Protocol</th><th>Endpoint</th><th>State</th><th>Health</th><th>Retry window</th><th><span class="hint">Actions</span></th></tr>
        </thead>
        <tbody>
          {topic !== null && subs.length === 0 && <EmptyRow columns={6} text="No subscriptions yet: add one below." />}
          {subs.map((s) => (
            <tr key={s.id} data-subscription-id={s.id}>
              <td>{s.protocol}</td>
              <td><a href={`#/subscriptions/${enc(s.id)}`} title="Health, filter policy, rate limit and replay"><code>{s.endpoint}</code></a></td>
              <td><span class={`state state-${s.lifecycleState}`}>{s.lifecycleState}</span></td>
              <td><HealthBadge state={s.lifecycleState === 'ACTIVE' ? health[s.id]?.state : undefined} /></td>
              <td>{Math.round((s.deliveryPolicy?.backoffRetryPolicy.maxRetryDuration ?? 0) / 60000)} min</td>
              <td class="row">
                {s.lifecycleState === 'PENDING' && (
                  <button type="button" class="secondary" onClick={() => void act(async () => {
                    await call('POST', `${OCI}/subscriptions/${enc(s.id)}/resendConfirmation`);
                    setNotice('Confirmation sent again.');
                  })}>
                    Resend confirmation
                  </button>
                )}
                <button type="button" class="danger" aria-label={`Delete subscription ${s.endpoint}`} onClick={() => {
                  if (confirm(`Delete the subscription to ${s.endpoint}?`)) void act(() => call('DELETE', `${OCI}/subscriptions/${enc(s.id)}`));
                }}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <form class="card row" aria-label="Create subscription" onSubmit={(e) => {
        e.preventDefault();
        setTouched(true);
        if (problem !== undefined) return;
        void act(async () => {
          await call('POST', `${OCI}/subscriptions`, { body: { topicId, compartmentId, protocol, endpoint } });
          setEndpoint('');
          setTouched(false);
        });
      }}>
        <label>
          Protocol
          <select name="protocol" value={protocol} onChange={(e) => setProtocol(e.currentTarget.value)}>
            {PROTOCOLS.map((p) => <option value={p}>{p}</option>)}
          </select>
        </label>
        <label style={{ flex: 1 }}>
          Endpoint
          <input
            name="endpoint"
            value={endpoint}
            aria-invalid={touched && problem !== undefined}
            aria-describedby="endpoint-help"
            onInput={(e) => {
              setEndpoint(e.currentTarget.value);
              setTouched(true);
            }}
          />
          <span id="endpoint-help" class={touched && problem ? 'error' : 'hint'} aria-live="polite">
            {touched && problem ? problem : 'Validated as you type.'}
          </span>
        </label>
        <button type="submit" disabled={touched && problem !== undefined}>Add subscription</button>
      </form>

      <h2>Publish a test message</h2>
      <form class="card" aria-label="Publish message" onSubmit={(e) => {
        e.preventDefault();
        void act(async () => {
          const r = await call<{ messageId: string }>('POST', `${OCI}/topics/${enc(topicId)}/messages`, { body: { title, body } });
          setPublished(r.messageId);
        });
      }}>
        <label>
          Title
          <input name="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <label>
          Body
          <textarea name="body" rows={5} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </label>
        <button type="submit">Publish</button>
        {published && (
          <p role="status">
            Published <a href={`#/messages/${enc(published)}`}>message {published}</a> — open its trace.
          </p>
        )}
      </form>

      <h2>Recent messages</h2>
      <table aria-label="Recent messages">
        <thead>
          <tr><th>Title</th><th>Published</th></tr>
        </thead>
        <tbody>
          {recent?.length === 0 && <EmptyRow columns={2} text="No messages yet." />}
          {(recent ?? []).map((m) => (
            <tr key={m.id} data-message-id={m.id}>
              <td><a href={`#/messages/${enc(m.id)}`} title={m.body}>{m.title ?? '(untitled)'}</a></td>
              <td>{fmtTime(m.timePublished)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
