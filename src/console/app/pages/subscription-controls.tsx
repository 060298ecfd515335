import { useEffect, useState } from 'preact/hooks';
import { call, enc, get, HERALD, type RateLimitAnswer, readError, type ReplayResult } from '../api';
import { serverText } from './filter-policy';

/** Most deliveries per second a rate limit may allow (the server's MAX_RATE_LIMIT). */
const MAX_RATE = 10_000;

/** A problem (role alert) or a notice (role status) under a card's form. */
function Outcome({ problem, notice }: { problem: string; notice: string }) {
  if (problem !== '') return <p role="alert" class="error">{problem}</p>;
  if (notice !== '') return <p role="status">{notice}</p>;
  return null;
}

/** Runs a change with one busy flag and one outcome line. */
function useAction(): { busy: boolean; problem: string; notice: string; run: (fn: () => Promise<string>) => void; fail: (text: string) => void } {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const [notice, setNotice] = useState('');
  const run = (fn: () => Promise<string>): void => {
    setBusy(true);
    setProblem('');
    setNotice('');
    fn().then(setNotice, (e: unknown) => setProblem(serverText(e))).finally(() => setBusy(false));
  };
  const fail = (text: string): void => {
    setNotice('');
    setProblem(text);
  };
  return { busy, problem, notice, run, fail };
}

export const rateText = (perSecond: number | null): string => (perSecond === null ? 'unlimited' : `${perSecond} ${perSecond === 1 ? 'delivery' : 'deliveries'} per second`);

/** The subscription's rate limit: the current one, set and remove. */
export function RateLimitCard({ subscriptionId }: { subscriptionId: string }) {
  const url = `${HERALD}/subscriptions/${enc(subscriptionId)}/rateLimit`;
  /** undefined while loading; null: unlimited. */
  const [current, setCurrent] = useState<number | null | undefined>(undefined);
  const [value, setValue] = useState('');
  const { busy, problem, notice, run, fail } = useAction();
  useEffect(() => {
    get<RateLimitAnswer>(url).then(
      (a) => {
        setCurrent(a.perSecond);
        setValue(a.perSecond === null ? '' : String(a.perSecond));
      },
      (e: unknown) => fail(readError(e)),
    );
  }, [subscriptionId]);

  return (
    <section class="card control" aria-labelledby="rate-h">
      <h2 id="rate-h">Rate limit</h2>
      <p>
        Current limit: <b data-testid="rate-limit">{current === undefined ? '…' : rateText(current)}</b>
      </p>
      <p class="hint">Deliveries to this subscription (first sends, retries, replays, released held ones) are held to this many per second, per node.</p>
      <form class="row" aria-label="Set rate limit" onSubmit={(e) => {
        e.preventDefault();
        run(async () => {
          const a = await call<RateLimitAnswer>('PUT', url, { body: { perSecond: Number(value) } });
          setCurrent(a.perSecond);
          return `Rate limit saved: ${rateText(a.perSecond)}.`;
        });
      }}>
        <label>
          Deliveries per second
          <input name="perSecond" type="number" inputMode="numeric" min={1} max={MAX_RATE} step={1} required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit" aria-label="Save rate limit" disabled={busy || current === undefined}>Save</button>
        <button type="button" class="danger" aria-label="Remove rate limit" disabled={busy || current === undefined || current === null} onClick={() => {
          run(async () => {
            await call('DELETE', url);
            setCurrent(null);
            setValue('');
            return 'Rate limit removed: deliveries are unlimited.';
          });
        }}>
          Remove
        </button>
      </form>
      <Outcome problem={problem} notice={notice} />
    </section>
  );
}

/** A time as a datetime-local input shows it: local time, to the second. */
export function localInputValue(ms: number): string {
  const d = new Date(ms);
  return new Date(ms - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
}

/** A datetime-local value (local time) as RFC 3339, or undefined when it is not a time. */
function toIso(value: string): string | undefined {
  const t = new Date(value).getTime();
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

export const replayText = (n: number): string => `Replayed ${n} ${n === 1 ? 'message' : 'messages'}.`;

/** Replay of retained messages in a time window. */
export function ReplayCard({ subscriptionId }: { subscriptionId: string }) {
  const [since, setSince] = useState(() => localInputValue(Date.now() - 60 * 60_000));
  const [until, setUntil] = useState('');
  const { busy, problem, notice, run, fail } = useAction();

  const replay = (e: Event): void => {
    e.preventDefault();
    const from = toIso(since);
    const to = until === '' ? undefined : toIso(until);
    if (from === undefined) return fail('Enter the time to replay from.');
    if (until !== '' && to === undefined) return fail('Enter a valid time to replay until, or leave it empty for now.');
    run(async () => {
      const r = await call<ReplayResult>('POST', `${HERALD}/subscriptions/${enc(subscriptionId)}/actions/replay`, { body: to === undefined ? { since: from } : { since: from, until: to } });
      return replayText(r.replayed);
    });
  };

  return (
    <section class="card control" aria-labelledby="replay-h">
      <h2 id="replay-h">Replay</h2>
      <p class="hint">
        Delivers again, with the same message ids, every retained message published to the topic in the window (while this subscription was active)
        that its current filter policy passes. A message with a delivery still under way is skipped. Times are in your local time zone.
      </p>
      <form class="row" aria-label="Replay messages" onSubmit={replay}>
        <label>
          Since
          <input name="since" type="datetime-local" step={1} required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </label>
        <label>
          Until (optional)
          <input name="until" type="datetime-local" step={1} value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>Replay</button>
      </form>
      <Outcome problem={problem} notice={notice} />
    </section>
  );
}
