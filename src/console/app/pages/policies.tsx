import { useEffect, useState } from 'preact/hooks';
import { call, enc, fmtTime, get, IDENTITY, iq, readError, type Compartment, type Policy } from '../api';
import { Confirm, NotAllowed, Problem, State, useProblems } from './iam-common';

/** One statement a line; blank lines are dropped. */
export const statementsOf = (text: string): string[] =>
  text
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The compartment last picked (per tenancy), so coming back from a policy shows the same list. */
const lastCompartment = new Map<string, string>();

/** The tree as `root`, `Eng`, `Eng:Dev`...: the path a root-attached statement would write. */
function pathNames(tenancyId: string, all: Compartment[]): { id: string; label: string }[] {
  const byId = new Map(all.map((c) => [c.id, c]));
  const path = (c: Compartment): string => {
    const parts = [c.name];
    let parent = byId.get(c.compartmentId);
    for (let depth = 0; parent !== undefined && parent.id !== tenancyId && depth < 10; depth++) {
      parts.unshift(parent.name);
      parent = byId.get(parent.compartmentId);
    }
    return parts.join(':');
  };
  const rest = all.filter((c) => c.id !== tenancyId && c.lifecycleState === 'ACTIVE').map((c) => ({ id: c.id, label: path(c) }));
  rest.sort((a, b) => a.label.localeCompare(b.label));
  return [{ id: tenancyId, label: 'root (tenancy)' }, ...rest];
}

export function PoliciesPage({ tenancyId }: { tenancyId: string }) {
  const [compartments, setCompartments] = useState<{ id: string; label: string }[]>([{ id: tenancyId, label: 'root (tenancy)' }]);
  const [compartmentId, setCompartmentId] = useState(lastCompartment.get(tenancyId) ?? tenancyId);
  const [policies, setPolicies] = useState<Policy[] | null>(null);
  const [refused, setRefused] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [statements, setStatements] = useState('');
  const [deleting, setDeleting] = useState<Policy | null>(null);
  const { problem, act } = useProblems();

  useEffect(() => {
    get<Compartment[]>(`${IDENTITY}/compartments?${iq({ compartmentId: tenancyId, compartmentIdInSubtree: 'true', limit: '1000' })}`).then(
      (all) => setCompartments(pathNames(tenancyId, all)),
      // Without inspect compartments only the root is offered.
      () => undefined,
    );
  }, [tenancyId]);

  const load = async (): Promise<void> => {
    try {
      setPolicies(await get<Policy[]>(`${IDENTITY}/policies?${iq({ compartmentId, limit: '1000', sortBy: 'NAME' })}`));
      setRefused('');
    } catch (e) {
      setPolicies(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => {
    lastCompartment.set(tenancyId, compartmentId);
    void load();
  }, [compartmentId]);

  const create = (e: Event): void => {
    e.preventDefault();
    void act(async () => {
      await call('POST', `${IDENTITY}/policies`, { body: { compartmentId, name, description, statements: statementsOf(statements) } });
      setName('');
      setDescription('');
      setStatements('');
    }, load);
  };

  return (
    <section aria-labelledby="policies-h">
      <h1 id="policies-h">Policies</h1>
      <label class="inline">
        Compartment
        <select name="compartment" value={compartmentId} onChange={(e) => setCompartmentId(e.currentTarget.value)}>
          {compartments.map((c) => (
            <option key={c.id} value={c.id}>{c.label}</option>
          ))}
        </select>
      </label>
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {policies !== null && (
        <>
          <table aria-label="Policies">
            <thead>
              <tr><th>Name</th><th>Description</th><th>Statements</th><th>State</th><th>Created</th><th><span class="hint">Actions</span></th></tr>
            </thead>
            <tbody>
              {policies.map((p) => (
                <tr key={p.id}>
                  <td><a href={`#/policies/${enc(p.id)}`}>{p.name}</a></td>
                  <td>{p.description}</td>
                  <td>{p.statements.length}</td>
                  <td><State value={p.lifecycleState} /></td>
                  <td>{fmtTime(p.timeCreated)}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => setDeleting(p)} aria-label={`Delete policy ${p.name}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {policies.length === 0 && <p class="hint">No policies attached to this compartment.</p>}
          <form class="card" onSubmit={create} aria-label="Create policy">
            <h2>New policy in this compartment</h2>
            <div class="row">
              <label>
                Policy name
                <input name="policyName" value={name} onInput={(e) => setName(e.currentTarget.value)} pattern="[A-Za-z0-9._ \-]{1,100}" required />
              </label>
              <label>
                Description
                <input name="policyDescription" value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={400} />
              </label>
            </div>
            <label>
              Statements (one per line)
              <textarea
                name="statements"
                rows={4}
                value={statements}
                onInput={(e) => setStatements(e.currentTarget.value)}
                placeholder="Allow group Readers to inspect ons-topics in tenancy"
                required
              />
            </label>
            <button type="submit">Create policy</button>
          </form>
        </>
      )}
      {deleting && (
        <Confirm
          id="del-policy-h"
          title={`Delete policy ${deleting.name}?`}
          confirm="Confirm delete"
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const p = deleting;
            setDeleting(null);
            void act(() => call('DELETE', `${IDENTITY}/policies/${enc(p.id)}`), load);
          }}
        >
          <p>What its statements allow is refused from now on.</p>
        </Confirm>
      )}
    </section>
  );
}

/** One policy: its statements, an editor for them, and delete. */
export function PolicyPage({ tenancyId, policyId }: { tenancyId: string; policyId: string }) {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [refused, setRefused] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const { problem, act } = useProblems();
  const url = `${IDENTITY}/policies/${enc(policyId)}`;
  useEffect(() => {
    get<Policy>(url).then(setPolicy, (e: unknown) => setRefused(readError(e)));
  }, [policyId]);

  return (
    <section aria-labelledby="policy-h">
      <p><a href="#/policies">← Policies</a></p>
      <h1 id="policy-h">Policy {policy?.name ?? ''}</h1>
      {refused !== '' && <NotAllowed text={refused} />}
      <Problem text={problem} />
      {policy !== null && (
        <>
          <p class="hint">
            <code>{policy.id}</code> · <State value={policy.lifecycleState} /> · attached to{' '}
            {policy.compartmentId === tenancyId ? 'the root compartment (tenancy)' : <code>{policy.compartmentId}</code>} · created {fmtTime(policy.timeCreated)}
          </p>
          {policy.description && <p>{policy.description}</p>}
          {editing === null ? (
            <div class="card" role="region" aria-label="Statements">
              <h2>Statements</h2>
              <ol aria-label="Statements">
                {policy.statements.map((s, i) => (
                  <li key={i}><code>{s}</code></li>
                ))}
              </ol>
              <div class="row">
                <button type="button" class="secondary" onClick={() => setEditing(policy.statements.join('\n'))}>Edit statements</button>
                <button type="button" class="danger" onClick={() => setDeleting(true)}>Delete policy</button>
              </div>
            </div>
          ) : (
            <form
              class="card"
              aria-label="Edit statements"
              onSubmit={(e) => {
                e.preventDefault();
                const body = { statements: statementsOf(editing) };
                void act(async () => {
                  setPolicy(await call<Policy>('PUT', url, { body }));
                  setEditing(null);
                });
              }}
            >
              <label>
                Statements (one per line)
                <textarea name="statements" rows={Math.max(4, policy.statements.length + 1)} value={editing} onInput={(e) => setEditing(e.currentTarget.value)} required />
              </label>
              <div class="row">
                <button type="submit">Save statements</button>
                <button type="button" class="secondary" onClick={() => setEditing(null)}>Cancel</button>
              </div>
            </form>
          )}
        </>
      )}
      {deleting && policy !== null && (
        <Confirm
          id="del-policy-h"
          title={`Delete policy ${policy.name}?`}
          confirm="Confirm delete"
          onCancel={() => setDeleting(false)}
          onConfirm={() => {
            setDeleting(false);
            void act(() => call('DELETE', url)).then((ok) => {
              if (ok) location.hash = '#/policies';
            });
          }}
        >
          <p>What its statements allow is refused from now on.</p>
        </Confirm>
      )}
    </section>
  );
}
