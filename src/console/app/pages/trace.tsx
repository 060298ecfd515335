import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, fmtTime, get, HERALD, type MessageTrace } from '../api';
import { deliveryStateText, redrivenAttempts } from '../delivery-status';
import { EmptyRow } from '../empty-row';
import { useNames } from '../names';
import { RedriveButton, redriveText, subscriptionText } from './dead-letters';

// HELD is not final, but nothing happens to it until an enable: the page stops polling too.
const FINAL = new Set(['DELIVERED', 'DEAD', 'CANCELLED', 'FILTERED', 'HELD']);

function MessagePicker() {
  const [id, setId] = useState('');
  return (
    <form class="card row" aria-label="Open message trace" onSubmit={(e) => {
      e.preventDefault();
      location.hash = `#/messages/${enc(id.trim())}`;
    }}>
      <label style={{ flex: 1 }}>
        Message id
        <input name="messageId" value={id} onInput={(e) => setId(e.currentTarget.value)} required />
      </label>
      <button type="submit">Show trace</button>
    </form>
  );
}

export function TracePage({ messageId }: { messageId: string | undefined }) {
  const [trace, setTrace] = useState<MessageTrace | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [tick, setTick] = useState(0);
  // The topic's name, and the subscriptions' endpoints for the re-drive notice.
  const names = useNames(trace === null ? [] : [{ topicId: trace.topicId }, ...trace.deliveries]);

  useEffect(() => {
    if (messageId === undefined) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const t = await get<MessageTrace>(`${HERALD}/messages/${enc(messageId)}`);
        if (stopped) return;
        setTrace(t);
        setError('');
        // Live while any delivery is still running: poll every second.
        const live = t.deliveries.length === 0 || t.deliveries.some((d) => !FINAL.has(d.state));
        if (live) timer = setTimeout(() => void poll(), 1000);
      } catch (e) {
        if (!stopped) setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [messageId, tick]);

  if (messageId === undefined) {
    return (
      <section aria-labelledby="trace-h">
        <h1 id="trace-h">Message trace</h1>
        <MessagePicker />
      </section>
    );
  }
  const live = trace !== null && trace.deliveries.some((d) => !FINAL.has(d.state));
  const topicName = trace === null ? '' : (names.topic(trace.topicId)?.name ?? trace.topicId);
  return (
    <section aria-labelledby="trace-h">
      <h1 id="trace-h">Message trace</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {notice && <p role="status">{notice}</p>}
      {trace && (
        <>
          <div class="card">
            <p><b>{trace.title ?? '(no title)'}</b> — <code>{trace.id}</code></p>
            <p class="hint">Published {fmtTime(trace.timePublished)} to topic <a href={`#/topics/${enc(trace.topicId)}`} data-testid="trace-topic">{topicName}</a>. {live ? 'Updating live…' : 'All deliveries are final.'}</p>
            <pre>{trace.body}</pre>
          </div>
          <table aria-label="Deliveries">
            <thead>
              <tr><th>Subscription</th><th>State</th><th>Attempts</th><th>Next retry</th><th><span class="hint">Actions</span></th></tr>
            </thead>
            <tbody>
              {trace.deliveries.length === 0 && <EmptyRow columns={5} text="No deliveries yet (fan-out runs in the background, or the topic has no active subscription)." />}
              {trace.deliveries.map((d) => {
                const redriven = redrivenAttempts(d);
                return (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td>{d.protocol}<br /><code>{d.endpoint ?? d.subscriptionId}</code></td>
                  <td><span class={`state state-${d.state}`} data-testid="delivery-state" data-state={d.state}>{deliveryStateText(d)}</span></td>
                  <td>
                    <ol class="attempts" aria-label={`Attempts of delivery ${d.id}`}>
                      {(d.attemptHistory ?? []).map((a) => (
                        <li data-redriven={redriven.has(a.attempt) ? 'true' : undefined}>
                          {redriven.has(a.attempt) && <><span class="badge">after re-drive</span> </>}
                          {fmtTime(a.timeStarted)} · {a.durationMs ?? '—'} ms · <span class={`state state-${a.outcome}`}>{a.outcome}</span>
                          {a.statusCode !== null && <> · HTTP {a.statusCode}</>}
                          {a.error && <> · <span class="error">{a.error.slice(0, 200)}</span></>}
                        </li>
                      ))}
                    </ol>
                  </td>
                  <td data-testid="next-retry">{d.state === 'PENDING' ? fmtTime(d.timeNextAttempt) : '—'}</td>
                  <td>
                    {d.state === 'DEAD' && (
                      <RedriveButton
                        deliveryId={d.id}
                        onDone={(r) => {
                          setNotice(redriveText(r.redriven, subscriptionText(names, d)));
                          setTick((n) => n + 1);
                        }}
                        onError={setError}
                      />
                    )}
                  </td>
                </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
