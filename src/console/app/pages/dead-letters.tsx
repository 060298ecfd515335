import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, type Delivery, enc, fmtTime, get, HERALD } from '../api';

export function RedriveButton({ deliveryId, onDone }: { deliveryId: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button type="button" disabled={busy} onClick={() => {
      setBusy(true);
      call('POST', `${HERALD}/deadLetters/actions/redrive`, { body: { deliveryIds: [deliveryId] } }).then(onDone, (e: Error) => alert(e.message)).finally(() => setBusy(false));
    }}>
      Re-drive
    </button>
  );
}

export function DeadLettersPage() {
  const [items, setItems] = useState<Delivery[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const load = (): void => {
    get<Delivery[]>(`${HERALD}/deadLetters?limit=100`).then(setItems, (e: Error) => setError(e instanceof ApiError ? e.message : String(e)));
  };
  useEffect(load, []);
  return (
    <section aria-labelledby="dl-h">
      <h1 id="dl-h">Dead letters</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {notice && <p role="status">{notice}</p>}
      <table aria-label="Dead letters">
        <thead>
          <tr><th>Message</th><th>Protocol</th><th>Attempts</th><th>Last error</th><th>Updated</th><th><span class="hint">Actions</span></th></tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td><a href={`#/messages/${enc(d.messageId)}`}>{d.messageId}</a></td>
              <td>{d.protocol}</td>
              <td>{d.attempts}</td>
              <td>{d.lastError ?? (d.lastStatus === null ? '' : `HTTP ${d.lastStatus}`)}</td>
              <td>{fmtTime((d as unknown as { timeUpdated?: string }).timeUpdated)}</td>
              <td><RedriveButton deliveryId={d.id} onDone={() => { setNotice(`Delivery ${d.id} re-driven.`); load(); }} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p class="hint">No dead letters.</p>}
    </section>
  );
}
