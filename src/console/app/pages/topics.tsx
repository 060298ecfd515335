import { useEffect, useState } from 'preact/hooks';
import { call, enc, errorText, get, HERALD, OCI, q, readError, type Topic, type TopicStats } from '../api';

export function TopicsPage({ compartmentId }: { compartmentId: string }) {
  const [topics, setTopics] = useState<Topic[]>([]);
  const [stats, setStats] = useState<TopicStats>({});
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<{ id: string; description: string } | null>(null);
  const [deleting, setDeleting] = useState<Topic | null>(null);

  const load = async (): Promise<void> => {
    const ts = await get<Topic[]>(`${OCI}/topics?${q({ compartmentId, limit: '100' })}`);
    const ids = new URLSearchParams(ts.map((t): [string, string] => ['topicId', t.topicId])).toString();
    setStats(ts.length === 0 ? {} : await get<TopicStats>(`${HERALD}/topicStats?${ids}`));
    setTopics(ts);
  };
  useEffect(() => {
    load().catch((e: unknown) => setError(readError(e)));
  }, [compartmentId]);

  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setError('');
    try {
      await fn();
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const create = (e: Event): void => {
    e.preventDefault();
    void act(async () => {
      await call('POST', `${OCI}/topics`, { body: { name, compartmentId, description: description || undefined } });
      setName('');
      setDescription('');
    });
  };

  return (
    <section aria-labelledby="topics-h">
      <h1 id="topics-h">Topics</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <form class="card row" onSubmit={create} aria-label="Create topic">
        <label>
          Topic name
          <input name="topicName" value={name} onInput={(e) => setName(e.currentTarget.value)} pattern="[A-Za-z0-9_\-]{1,256}" required />
        </label>
        <label>
          Description
          <input name="topicDescription" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <button type="submit">Create topic</button>
      </form>
      <table aria-label="Topics">
        <thead>
          <tr><th>Name</th><th>Description</th><th>State</th><th>Subscriptions</th><th>Messages (24 h)</th><th>Created</th><th><span class="hint">Actions</span></th></tr>
        </thead>
        <tbody>
          {topics.map((t) => (
            <tr key={t.topicId}>
              <td><a href={`#/topics/${enc(t.topicId)}`}>{t.name}</a></td>
              <td>
                {editing?.id === t.topicId ? (
                  <form
                    class="row"
                    onSubmit={(e) => {
                      e.preventDefault();
                      const d = editing.description;
                      void act(async () => {
                        await call('PUT', `${OCI}/topics/${enc(t.topicId)}`, { body: { description: d } });
                        setEditing(null);
                      });
                    }}
                  >
                    <label>
                      New description
                      <input value={editing.description} onInput={(e) => setEditing({ id: t.topicId, description: e.currentTarget.value })} />
                    </label>
                    <button type="submit">Save</button>
                    <button type="button" class="secondary" onClick={() => setEditing(null)}>Cancel</button>
                  </form>
                ) : (
                  t.description ?? ''
                )}
              </td>
              <td><span class={`state state-${t.lifecycleState}`}>{t.lifecycleState}</span></td>
              <td data-testid="subscription-count">{stats[t.topicId]?.subscriptions ?? 0}</td>
              <td data-testid="recent-message-count">{stats[t.topicId]?.recentMessages ?? 0}</td>
              <td>{new Date(t.timeCreated).toLocaleString()}</td>
              <td class="row">
                <button type="button" class="secondary" onClick={() => setEditing({ id: t.topicId, description: t.description ?? '' })} aria-label={`Edit description of ${t.name}`}>
                  Edit
                </button>
                <button type="button" class="danger" onClick={() => setDeleting(t)} aria-label={`Delete ${t.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {topics.length === 0 && <p class="hint">No topics yet.</p>}
      {deleting && (
        <div role="alertdialog" aria-modal="true" aria-labelledby="del-h" class="card">
          <h2 id="del-h">Delete topic {deleting.name}?</h2>
          <p>Its subscriptions stop receiving messages. This cannot be undone.</p>
          <div class="row">
            <button
              type="button"
              class="danger"
              autoFocus
              onClick={() => {
                const t = deleting;
                setDeleting(null);
                void act(() => call('DELETE', `${OCI}/topics/${enc(t.topicId)}`));
              }}
            >
              Confirm delete
            </button>
            <button type="button" class="secondary" onClick={() => setDeleting(null)}>Cancel</button>
          </div>
        </div>
      )}
    </section>
  );
}
