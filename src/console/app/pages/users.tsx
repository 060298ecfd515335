import { useEffect, useState } from 'preact/hooks';
import { call, enc, fmtTime, get, IDENTITY, iq, readError, type IamUser } from '../api';
import { Confirm, NotAllowed, Problem, State, useProblems } from './iam-common';

/** IAM users of the tenancy: list, create, delete; each name leads to the user's groups, keys and password. */
export function UsersPage({ tenancyId }: { tenancyId: string }) {
  const [users, setUsers] = useState<IamUser[] | null>(null);
  const [refused, setRefused] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [email, setEmail] = useState('');
  const [deleting, setDeleting] = useState<IamUser | null>(null);
  const { problem, act } = useProblems();

  const load = async (): Promise<void> => {
    try {
      setUsers(await get<IamUser[]>(`${IDENTITY}/users?${iq({ compartmentId: tenancyId, limit: '1000', sortBy: 'NAME' })}`));
      setRefused('');
    } catch (e) {
      setUsers(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => void load(), [tenancyId]);

  const create = (e: Event): void => {
    e.preventDefault();
    void act(async () => {
      await call('POST', `${IDENTITY}/users`, { body: { compartmentId: tenancyId, name, description, email: email || undefined } });
      setName('');
      setDescription('');
      setEmail('');
    }, load);
  };

  return (
    <section aria-labelledby="users-h">
      <h1 id="users-h">Users</h1>
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {users !== null && (
        <>
          <form class="card row" onSubmit={create} aria-label="Create user">
            <label>
              User name
              <input name="userName" value={name} onInput={(e) => setName(e.currentTarget.value)} pattern="[A-Za-z0-9._+@\-]{1,100}" required />
            </label>
            <label>
              Description
              <input name="userDescription" value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={400} />
            </label>
            <label>
              Email
              <input name="userEmail" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
            <button type="submit">Create user</button>
          </form>
          <table aria-label="Users">
            <thead>
              <tr><th>Name</th><th>Email</th><th>State</th><th>Created</th><th><span class="hint">Actions</span></th></tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td><a href={`#/users/${enc(u.id)}`}>{u.name}</a>{u.description && <div class="hint">{u.description}</div>}</td>
                  <td>{u.email ?? ''}</td>
                  <td><State value={u.lifecycleState} /></td>
                  <td>{fmtTime(u.timeCreated)}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => setDeleting(u)} aria-label={`Delete user ${u.name}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {users.length === 0 && <p class="hint">No users.</p>}
        </>
      )}
      {deleting && (
        <Confirm
          id="del-user-h"
          title={`Delete user ${deleting.name}?`}
          confirm="Confirm delete"
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const u = deleting;
            setDeleting(null);
            void act(() => call('DELETE', `${IDENTITY}/users/${enc(u.id)}`), load);
          }}
        >
          <p>Remove the user from every group first. Their API keys and console password stop working at once.</p>
        </Confirm>
      )}
    </section>
  );
}
