import { useEffect, useState } from 'preact/hooks';
import { fmtTime, get, HERALD } from '../api';

interface Mail {
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  timeCreated: string;
}

const URL_RE = /(https?:\/\/[^\s<>"]+)/g;

/** The mail text with its links (confirm, unsubscribe) clickable. */
function Linked({ text }: { text: string }) {
  return <pre>{text.split(URL_RE).map((part, i) => (i % 2 === 1 ? <a href={part} target="_blank" rel="noreferrer">{part}</a> : part))}</pre>;
}

export function MailboxPage() {
  const [mails, setMails] = useState<Mail[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState('');
  const load = (): void => void get<Mail[]>(`${HERALD}/mailbox?limit=50`).then(setMails, (e: Error) => setError(e.message));
  useEffect(load, []);
  return (
    <section aria-labelledby="mb-h">
      <h1 id="mb-h">Dev mailbox</h1>
      <p class="hint">Emails Herald would have sent (no SMTP server is configured). <button type="button" class="secondary" onClick={load}>Refresh</button></p>
      {error && <p role="alert" class="error">{error}</p>}
      <ul aria-label="Emails" style={{ listStyle: 'none', padding: 0 }}>
        {mails.map((m) => (
          <li key={m.id} class="card">
            <button type="button" class="secondary" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? null : m.id)}>
              {m.subject}
            </button>{' '}
            <span class="hint">to {m.to} · {fmtTime(m.timeCreated)}</span>
            {open === m.id && <Linked text={m.text} />}
          </li>
        ))}
      </ul>
      {mails.length === 0 && <p class="hint">The mailbox is empty.</p>}
    </section>
  );
}
