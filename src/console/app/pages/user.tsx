import { useEffect, useState } from 'preact/hooks';
import { call, enc, fmtTime, get, IDENTITY, iq, readError, type ApiKey, type IamGroup, type IamUser, type Membership } from '../api';
import { Confirm, NotAllowed, Problem, State, useProblems } from './iam-common';

/** The groups a user belongs to: add to one, remove from one. */
function UserGroups({ tenancyId, user }: { tenancyId: string; user: IamUser }) {
  const [members, setMembers] = useState<Membership[] | null>(null);
  const [groups, setGroups] = useState<IamGroup[]>([]);
  const [refused, setRefused] = useState('');
  const [groupId, setGroupId] = useState('');
  const { problem, act } = useProblems();
  const load = async (): Promise<void> => {
    // The group names are a nicety: without inspect groups the ids show instead.
    setGroups(await get<IamGroup[]>(`${IDENTITY}/groups?${iq({ compartmentId: tenancyId, limit: '1000', sortBy: 'NAME' })}`).catch(() => []));
    try {
      const ms = await get<Membership[]>(`${IDENTITY}/userGroupMemberships?${iq({ compartmentId: tenancyId, userId: user.id, limit: '1000' })}`);
      setMembers(ms.filter((m) => m.lifecycleState === 'ACTIVE'));
      setRefused('');
    } catch (e) {
      setMembers(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => void load(), [user.id]);
  const nameOf = (id: string): string => groups.find((g) => g.id === id)?.name ?? id;
  const joinable = groups.filter((g) => !(members ?? []).some((m) => m.groupId === g.id));
  return (
    <div class="card" role="region" aria-label="Groups of the user">
      <h2>Groups</h2>
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {members !== null && (
        <>
          <ul aria-label="Member of">
            {members.map((m) => (
              <li key={m.id} class="row">
                <a href={`#/groups/${enc(m.groupId)}`}>{nameOf(m.groupId)}</a>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove from group ${nameOf(m.groupId)}`}
                  onClick={() => void act(() => call('DELETE', `${IDENTITY}/userGroupMemberships/${enc(m.id)}`), load)}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          {members.length === 0 && <p class="hint">In no group: the user may do nothing until a policy names a group of theirs.</p>}
        </>
      )}
      <form
        class="row"
        aria-label="Add to group"
        onSubmit={(e) => {
          e.preventDefault();
          if (groupId === '') return;
          void act(() => call('POST', `${IDENTITY}/userGroupMemberships`, { body: { userId: user.id, groupId } }), async () => {
            setGroupId('');
            await load();
          });
        }}
      >
        <label>
          Group
          <select name="groupId" value={groupId} onChange={(e) => setGroupId(e.currentTarget.value)} required>
            <option value="">Choose a group…</option>
            {joinable.map((g) => (
              <option key={g.id} value={g.id}>{g.name}</option>
            ))}
          </select>
        </label>
        <button type="submit">Add to group</button>
      </form>
    </div>
  );
}

/** The user's API keys: the fingerprints, a PEM upload, and delete (which revokes the key at once). */
function UserApiKeys({ user }: { user: IamUser }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [refused, setRefused] = useState('');
  const [pem, setPem] = useState('');
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const { problem, act } = useProblems();
  const base = `${IDENTITY}/users/${enc(user.id)}/apiKeys`;
  const load = async (): Promise<void> => {
    try {
      setKeys(await get<ApiKey[]>(base));
      setRefused('');
    } catch (e) {
      setKeys(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => void load(), [user.id]);
  return (
    <div class="card" role="region" aria-label="API keys">
      <h2>API keys</h2>
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {keys !== null && (
        <table aria-label="API keys">
          <thead><tr><th>Fingerprint</th><th>Added</th><th><span class="hint">Actions</span></th></tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.fingerprint}>
                <td><code>{k.fingerprint}</code></td>
                <td>{fmtTime(k.timeCreated)}</td>
                <td><button type="button" class="danger" aria-label={`Delete key ${k.fingerprint}`} onClick={() => setRevoking(k)}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {keys?.length === 0 && <p class="hint">No API keys: the user cannot call the API with a signature.</p>}
      <form
        aria-label="Upload API key"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => call('POST', base, { body: { key: pem } }), async () => {
            setPem('');
            await load();
          });
        }}
      >
        <label>
          Public key (PEM)
          <textarea name="publicKey" rows={5} value={pem} onInput={(e) => setPem(e.currentTarget.value)} placeholder="-----BEGIN PUBLIC KEY-----" required />
        </label>
        <button type="submit">Upload key</button>
      </form>
      {revoking && (
        <Confirm
          id="revoke-h"
          title={`Delete key ${revoking.fingerprint}?`}
          confirm="Confirm delete"
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            const k = revoking;
            setRevoking(null);
            void act(() => call('DELETE', `${base}/${enc(k.fingerprint)}`), load);
          }}
        >
          <p>Requests signed with this key are refused from now on.</p>
        </Confirm>
      )}
    </div>
  );
}

/** CreateOrResetUIPassword: the new password is shown here once and never again. */
function ConsolePassword({ user }: { user: IamUser }) {
  const [password, setPassword] = useState<string | null>(null);
  const { problem, act } = useProblems();
  return (
    <div class="card" role="region" aria-label="Console password">
      <h2>Console password</h2>
      <p class="hint">
        Lets {user.name} sign in to this console as <code>{user.name}</code>. Setting it again replaces the old one.
      </p>
      <Problem text={problem} />
      <button
        type="button"
        onClick={() =>
          void act(async () => {
            setPassword(null);
            const r = await call<{ password: string }>('POST', `${IDENTITY}/users/${enc(user.id)}/uiPassword`);
            setPassword(r.password);
          })
        }
      >
        Set console password
      </button>
      {password !== null && (
        <div class="secret">
          <p>
            New password: <output aria-label="New console password"><code>{password}</code></output>
          </p>
          <p role="note"><strong>It is shown only once.</strong> Copy it now and give it to {user.name}; Herald keeps only a hash.</p>
        </div>
      )}
    </div>
  );
}

export function UserPage({ tenancyId, userId }: { tenancyId: string; userId: string }) {
  const [user, setUser] = useState<IamUser | null>(null);
  const [refused, setRefused] = useState('');
  useEffect(() => {
    get<IamUser>(`${IDENTITY}/users/${enc(userId)}`).then(setUser, (e: unknown) => setRefused(readError(e)));
  }, [userId]);
  return (
    <section aria-labelledby="user-h">
      <p><a href="#/users">← Users</a></p>
      <h1 id="user-h">User {user?.name ?? ''}</h1>
      {refused !== '' && <NotAllowed text={refused} />}
      {user === null && refused === '' && <p aria-busy="true">Loading…</p>}
      {user !== null && (
        <>
          <p class="hint">
            <code>{user.id}</code> · <State value={user.lifecycleState} /> · created {fmtTime(user.timeCreated)}
            {user.email && <> · {user.email}</>}
          </p>
          {user.description && <p>{user.description}</p>}
          <UserGroups tenancyId={tenancyId} user={user} />
          <UserApiKeys user={user} />
          <ConsolePassword user={user} />
        </>
      )}
    </section>
  );
}
