import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, enc, fmtTime, get, HERALD, OCI, q } from '../api';
import { EmptyRow } from '../empty-row';

interface App { id: string; displayName: string; lifecycleState: string }
interface Fn { id: string; displayName: string; lifecycleState: string; memoryInMBs: number; timeoutInSeconds: number; config?: Record<string, string>; etag?: string }
interface Call { callId: string; timeStarted: string; durationMs: number; status: number; logs: string }

function FunctionDetail({ fnId }: { fnId: string }) {
  const [fn, setFn] = useState<Fn | null>(null);
  const [config, setConfig] = useState('');
  const [payload, setPayload] = useState('{"name": "console"}');
  const [response, setResponse] = useState<string | null>(null);
  const [logs, setLogs] = useState<Call[]>([]);
  const [error, setError] = useState('');
  const load = async (): Promise<void> => {
    const f = await get<Fn>(`${OCI}/functions/${enc(fnId)}`);
    setFn(f);
    setConfig(JSON.stringify(f.config ?? {}, null, 2));
    setLogs(await get<Call[]>(`${HERALD}/functions/${enc(fnId)}/logs?limit=10`));
  };
  useEffect(() => void load().catch((e: Error) => setError(e.message)), [fnId]);
  const fail = (e: unknown): void => setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
  if (fn === null) return <p>{error || 'Loading…'}</p>;
  return (
    <div class="card" aria-label={`Function ${fn.displayName}`} role="region">
      <h3>{fn.displayName} <span class={`state state-${fn.lifecycleState}`}>{fn.lifecycleState}</span></h3>
      <p class="hint"><code>{fn.id}</code> · {fn.memoryInMBs} MB · {fn.timeoutInSeconds} s</p>
      {error && <p role="alert" class="error">{error}</p>}
      <form onSubmit={(e) => {
        e.preventDefault();
        setError('');
        let parsed: unknown;
        try {
          parsed = JSON.parse(config);
        } catch {
          setError('The config must be a JSON object of strings.');
          return;
        }
        call('PUT', `${OCI}/functions/${enc(fn.id)}`, { body: { config: parsed } }).then(load, fail);
      }}>
        <label>
          Config (JSON)
          <textarea name="config" rows={4} value={config} onInput={(e) => setConfig(e.currentTarget.value)} />
        </label>
        <button type="submit" class="secondary">Save config</button>
      </form>
      <form onSubmit={(e) => {
        e.preventDefault();
        setError('');
        setResponse(null);
        call<string>('POST', `${OCI}/functions/${enc(fn.id)}/actions/invoke`, { raw: payload, text: true, headers: { 'content-type': 'application/json' } })
          .then((r) => {
            setResponse(r);
            return load();
          }, fail);
      }}>
        <label>
          Payload
          <textarea name="payload" rows={3} value={payload} onInput={(e) => setPayload(e.currentTarget.value)} />
        </label>
        <button type="submit">Invoke</button>
      </form>
      {response !== null && (
        <>
          <h4>Response</h4>
          <pre aria-label="Invoke response">{response}</pre>
        </>
      )}
      <h4>Recent calls</h4>
      <table aria-label="Recent calls">
        <thead><tr><th>Started</th><th>Duration</th><th>Status</th><th>Logs</th></tr></thead>
        <tbody>
          {logs.length === 0 && <EmptyRow columns={4} text="No calls yet." />}
          {logs.map((c) => (
            <tr key={c.callId}><td>{fmtTime(c.timeStarted)}</td><td>{c.durationMs} ms</td><td>{c.status}</td><td><pre>{c.logs.slice(-2000)}</pre></td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function FunctionsPage({ compartmentId }: { compartmentId: string }) {
  const [apps, setApps] = useState<App[]>([]);
  const [fns, setFns] = useState<Record<string, Fn[]>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    (async () => {
      const list = await get<App[]>(`${OCI}/applications?${q({ compartmentId, limit: '100' })}`);
      setApps(list);
      const out: Record<string, Fn[]> = {};
      for (const a of list) out[a.id] = await get<Fn[]>(`${OCI}/functions?${q({ applicationId: a.id, limit: '100' })}`);
      setFns(out);
    })().catch((e: Error) => setError(e.message));
  }, [compartmentId]);
  return (
    <section aria-labelledby="fn-h">
      <h1 id="fn-h">Functions</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {apps.length === 0 && <p class="hint">No applications. Deploy one with <code>herald fn deploy</code>.</p>}
      {apps.map((a) => (
        <div class="card" key={a.id}>
          <h2>Application {a.displayName} <span class={`state state-${a.lifecycleState}`}>{a.lifecycleState}</span></h2>
          <ul>
            {fns[a.id]?.length === 0 && <li class="hint">No functions in this application.</li>}
            {(fns[a.id] ?? []).map((f) => (
              <li key={f.id}>
                <button type="button" class="secondary" aria-pressed={selected === f.id} onClick={() => setSelected(f.id)}>{f.displayName}</button>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {selected && <FunctionDetail fnId={selected} />}
    </section>
  );
}
