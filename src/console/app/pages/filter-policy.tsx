import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, enc, errorText, type FilterPolicyAnswer, type FilterTestResult, get, HERALD, readError } from '../api';

/** A refused change's text: a 400's message as the server wrote it ("Invalid filter policy: ..."), else code and message. */
export const serverText = (e: unknown): string => (e instanceof ApiError && e.status === 400 ? e.message : errorText(e));

type Parsed = { ok: true; policy: unknown } | { ok: false; problem: string };

/** The editor's text as a policy; an empty editor is "no policy". */
function parsePolicy(text: string): Parsed | null {
  if (text.trim() === '') return null;
  try {
    return { ok: true, policy: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, problem: `Not valid JSON: ${(e as Error).message}` };
  }
}

const pretty = (policy: unknown): string => (policy === null || policy === undefined ? '' : JSON.stringify(policy, null, 2));

/** The "does this sample pass" box: tests the editor's current (unsaved) policy; nothing is stored. */
function SampleTest({ policyText }: { policyText: string }) {
  const [sample, setSample] = useState('{"kind": "order"}');
  const [result, setResult] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  // A result belongs to the policy and sample it was computed for.
  useEffect(() => {
    setResult('');
    setProblem('');
  }, [policyText, sample]);

  const test = async (e: Event): Promise<void> => {
    e.preventDefault();
    setResult('');
    setProblem('');
    const parsed = parsePolicy(policyText);
    if (parsed === null) {
      setResult('No policy in the editor: every message would be delivered.');
      return;
    }
    if (!parsed.ok) {
      setProblem(parsed.problem);
      return;
    }
    setBusy(true);
    try {
      const r = await call<FilterTestResult>('POST', `${HERALD}/filterPolicy/actions/test`, { body: { filterPolicy: parsed.policy, message: sample } });
      setResult(r.matches ? 'Matches: it would be delivered' : 'Does not match: it would be filtered');
    } catch (err) {
      setProblem(serverText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form aria-labelledby="filter-test-h" onSubmit={(e) => void test(e)}>
      <h3 id="filter-test-h">Test against a sample message</h3>
      <label>
        Sample message body
        <textarea name="sampleMessage" rows={4} value={sample} onInput={(e) => setSample(e.currentTarget.value)} />
      </label>
      <div class="row">
        <button type="submit" class="secondary" disabled={busy}>Test</button>
        {result && <p role="status" data-testid="filter-test-result" data-matches={result.startsWith('Matches') ? 'true' : 'false'}>{result}</p>}
        {problem && <p role="alert" class="error">{problem}</p>}
      </div>
    </form>
  );
}

/** The subscription's filter policy: an editor for it (save, remove) and a tester. */
export function FilterPolicyCard({ subscriptionId }: { subscriptionId: string }) {
  const url = `${HERALD}/subscriptions/${enc(subscriptionId)}/filterPolicy`;
  /** undefined while loading; null: no policy. */
  const [saved, setSaved] = useState<unknown>(undefined);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const show = (policy: unknown): void => {
    setSaved(policy ?? null);
    setText(pretty(policy));
  };
  useEffect(() => {
    get<FilterPolicyAnswer>(url).then((a) => show(a.filterPolicy), (e: unknown) => setProblem(readError(e)));
  }, [subscriptionId]);

  const run = async (fn: () => Promise<void>): Promise<void> => {
    setProblem('');
    setNotice('');
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      setProblem(serverText(e));
    } finally {
      setBusy(false);
    }
  };
  const save = (e: Event): void => {
    e.preventDefault();
    const parsed = parsePolicy(text);
    if (parsed === null) {
      setNotice('');
      setProblem('The editor is empty: enter a policy to save, or use Remove to deliver every message.');
      return;
    }
    if (!parsed.ok) {
      setNotice('');
      setProblem(parsed.problem);
      return;
    }
    void run(async () => {
      const a = await call<FilterPolicyAnswer>('PUT', url, { body: { filterPolicy: parsed.policy } });
      show(a.filterPolicy);
      setNotice('Filter policy saved: it applies to deliveries from now on.');
    });
  };
  const remove = (): void => {
    void run(async () => {
      await call('DELETE', url);
      show(null);
      setNotice('Filter policy removed: every message is delivered.');
    });
  };

  return (
    <section class="card control" aria-labelledby="filter-h">
      <h2 id="filter-h">Filter policy</h2>
      <p class="hint">
        An SNS filter policy, evaluated on the message body parsed as JSON: only the messages it matches are delivered to this subscription.{' '}
        {saved === undefined ? '' : saved === null ? 'None is set: every message is delivered.' : 'A policy is set.'}
      </p>
      <form aria-label="Edit filter policy" onSubmit={save}>
        <label>
          Filter policy (JSON)
          <textarea
            name="filterPolicy"
            class="code"
            rows={8}
            value={text}
            placeholder={'{\n  "kind": ["order"],\n  "total": [{"numeric": [">=", 100]}]\n}'}
            aria-invalid={problem !== ''}
            aria-describedby="filter-problem"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <p id="filter-problem" role="alert" class="error" hidden={problem === ''}>{problem}</p>
        {notice && <p role="status">{notice}</p>}
        <div class="row">
          <button type="submit" aria-label="Save filter policy" disabled={busy || saved === undefined}>Save</button>
          <button type="button" class="danger" aria-label="Remove filter policy" disabled={busy || saved === undefined || saved === null} onClick={remove}>
            Remove
          </button>
        </div>
      </form>
      <SampleTest policyText={text} />
    </section>
  );
}
