import { useEffect, useState } from 'preact/hooks';
import { call, type Delivery, enc, errorText, fmtTime, get, HERALD, type RedriveResult } from '../api';
import { EmptyRow } from '../empty-row';
import { type Names, useNames } from '../names';

/** "subscription CUSTOM_HTTPS http://… (topic orders)": what a re-drive or a row is about, in words. */
export function subscriptionText(names: Names, d: Pick<Delivery, 'subscriptionId' | 'topicId' | 'protocol'> & { endpoint?: string | null }): string {
  const s = names.subscription(d.subscriptionId);
  const endpoint = d.endpoint ?? s?.endpoint ?? d.subscriptionId;
  const topic = names.topic(d.topicId)?.name ?? d.topicId;
  return `subscription ${d.protocol} ${endpoint} (topic ${topic})`;
}

/** The answer of a re-drive in words: how many dead deliveries it put back, and of which subscription. */
export const redriveText = (n: number, what: string): string =>
  n === 0 ? `Nothing to re-drive for ${what}: it is no longer dead.` : `Re-drove ${n} dead ${n === 1 ? 'delivery' : 'deliveries'} of ${what}.`;

export function RedriveButton({ deliveryId, onDone, onError }: { deliveryId: string; onDone: (r: RedriveResult) => void; onError: (text: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" disabled={busy} onClick={() => {
      setBusy(true);
      call<RedriveResult>('POST', `${HERALD}/deadLetters/actions/redrive`, { body: { deliveryIds: [deliveryId] } })
        .then(onDone, (e: unknown) => onError(errorText(e)))
        .finally(() => setBusy(false));
    }}>
      Re-drive
    </button>
  );
}

/**
 * What a dead letter was carrying: its message (to the trace), or, for a subscription's confirmation request (no
 * message), the topic page where that subscription can be confirmed again.
 */
function Carried({ d }: { d: Delivery }) {
  if (d.messageId === null) return <a href={`#/topics/${enc(d.topicId)}`} data-testid="confirmation-request">confirmation request</a>;
  return <a href={`#/messages/${enc(d.messageId)}`}><code>{d.messageId}</code></a>;
}

export function DeadLettersPage() {
  const [items, setItems] = useState<Delivery[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const names = useNames(items ?? []);
  const load = (): void => {
    get<Delivery[]>(`${HERALD}/deadLetters?limit=100`).then(setItems, (e: unknown) => setError(errorText(e)));
  };
  useEffect(load, []);
  return (
    <section aria-labelledby="dl-h">
      <h1 id="dl-h">Dead letters</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {notice && <p role="status">{notice}</p>}
      <table aria-label="Dead letters">
        <thead>
          <tr><th>Message</th><th>Topic</th><th>Subscription</th><th>Attempts</th><th>Last error</th><th>Updated</th><th><span class="hint">Actions</span></th></tr>
        </thead>
        <tbody>
          {items?.length === 0 && <EmptyRow columns={7} text="No dead letters." />}
          {(items ?? []).map((d) => {
            const sub = names.subscription(d.subscriptionId);
            const topic = names.topic(d.topicId);
            return (
              <tr key={d.id} data-delivery-id={d.id}>
                <td><Carried d={d} /></td>
                <td><a href={`#/topics/${enc(d.topicId)}`}>{topic?.name ?? d.topicId}</a></td>
                <td>
                  {d.protocol}<br />
                  <code>{sub?.endpoint ?? d.subscriptionId}</code>
                  {sub === null && <span class="hint"> (deleted)</span>}
                </td>
                <td>{d.attempts}</td>
                <td>{d.lastError ?? (d.lastStatus === null ? '' : `HTTP ${d.lastStatus}`)}</td>
                <td>{fmtTime(d.timeUpdated)}</td>
                <td>
                  <RedriveButton
                    deliveryId={d.id}
                    onDone={(r) => {
                      setError('');
                      setNotice(redriveText(r.redriven, subscriptionText(names, d)));
                      load();
                    }}
                    onError={setError}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
