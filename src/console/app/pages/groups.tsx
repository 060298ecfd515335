import { useEffect, useState } from 'preact/hooks';
import { call, enc, fmtTime, get, IDENTITY, iq, readError, type IamGroup, type IamUser, type Membership } from '../api';
import { Confirm, NotAllowed, Problem, State, useProblems } from './iam-common';

/** IAM groups of the tenancy: list, create, delete; each name leads to its members. */
export function GroupsPage({ tenancyId }: { tenancyId: string }) {
  const [groups, setGroups] = useState<IamGroup[] | null>(null);
  const [refused, setRefused] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [deleting, setDeleting] = useState<IamGroup | null>(null);
  const { problem, act } = useProblems();

  const load = async (): Promise<void> => {
    try {
      setGroups(await get<IamGroup[]>(`${IDENTITY}/groups?${iq({ compartmentId: tenancyId, limit: '1000', sortBy: 'NAME' })}`));
      setRefused('');
    } catch (e) {
      setGroups(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => void load(), [tenancyId]);

  const create = (e: Event): void => {
    e.preventDefault();
    void act(async () => {
      await call('POST', `${IDENTITY}/groups`, { body: { compartmentId: tenancyId, name, description } });
      setName('');
      setDescription('');
    }, load);
  };

  return (
    <section aria-labelledby="groups-h">
      <h1 id="groups-h">Groups</h1>
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {groups !== null && (
        <>
          <form class="card row" onSubmit={create} aria-label="Create group">
            <label>
              Group name
              <input name="groupName" value={name} onInput={(e) => setName(e.currentTarget.value)} pattern="[A-Za-z0-9._\-]{1,100}" required />
            </label>
            <label>
              Description
              <input name="groupDescription" value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={400} />
            </label>
            <button type="submit">Create group</button>
          </form>
          <table aria-label="Groups">
            <thead>
              <tr><th>Name</th><th>Description</th><th>State</th><th>Created</th><th><span class="hint">Actions</span></th></tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.id}>
                  <td><a href={`#/groups/${enc(g.id)}`}>{g.name}</a></td>
                  <td>{g.description}</td>
                  <td><State value={g.lifecycleState} /></td>
                  <td>{fmtTime(g.timeCreated)}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => setDeleting(g)} aria-label={`Delete group ${g.name}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {groups.length === 0 && <p class="hint">No groups.</p>}
        </>
      )}
      {deleting && (
        <Confirm
          id="del-group-h"
          title={`Delete group ${deleting.name}?`}
          confirm="Confirm delete"
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const g = deleting;
            setDeleting(null);
            void act(() => call('DELETE', `${IDENTITY}/groups/${enc(g.id)}`), load);
          }}
        >
          <p>Only an empty group can be deleted. Policy statements naming it then grant nothing.</p>
        </Confirm>
      )}
    </section>
  );
}

/** One group and its members: add a user, remove one. */
export function GroupPage({ tenancyId, groupId }: { tenancyId: string; groupId: string }) {
  const [group, setGroup] = useState<IamGroup | null>(null);
  const [members, setMembers] = useState<Membership[] | null>(null);
  const [users, setUsers] = useState<IamUser[]>([]);
  const [refused, setRefused] = useState('');
  const [userId, setUserId] = useState('');
  const { problem, act } = useProblems();

  const load = async (): Promise<void> => {
    try {
      setGroup(await get<IamGroup>(`${IDENTITY}/groups/${enc(groupId)}`));
      // The user names are a nicety: without inspect users the ids show instead.
      setUsers(await get<IamUser[]>(`${IDENTITY}/users?${iq({ compartmentId: tenancyId, limit: '1000', sortBy: 'NAME' })}`).catch(() => []));
      const ms = await get<Membership[]>(`${IDENTITY}/userGroupMemberships?${iq({ compartmentId: tenancyId, groupId, limit: '1000' })}`);
      setMembers(ms.filter((m) => m.lifecycleState === 'ACTIVE'));
      setRefused('');
    } catch (e) {
      setMembers(null);
      setRefused(readError(e));
    }
  };
  useEffect(() => void load(), [groupId]);

  const nameOf = (id: string): string => users.find((u) => u.id === id)?.name ?? id;
  const addable = users.filter((u) => !(members ?? []).some((m) => m.userId === u.id));
  return (
    <section aria-labelledby="group-h">
      <p><a href="#/groups">← Groups</a></p>
      <h1 id="group-h">Group {group?.name ?? ''}</h1>
      {group && <p class="hint"><code>{group.id}</code> · <State value={group.lifecycleState} /> · {group.description}</p>}
      <Problem text={problem} />
      {refused !== '' && <NotAllowed text={refused} />}
      {members !== null && (
        <div class="card" role="region" aria-label="Members">
          <h2>Members</h2>
          <table aria-label="Members">
            <thead><tr><th>User</th><th>Member since</th><th><span class="hint">Actions</span></th></tr></thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.id}>
                  <td><a href={`#/users/${enc(m.userId)}`}>{nameOf(m.userId)}</a></td>
                  <td>{fmtTime(m.timeCreated)}</td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`Remove ${nameOf(m.userId)} from the group`}
                      onClick={() => void act(() => call('DELETE', `${IDENTITY}/userGroupMemberships/${enc(m.id)}`), load)}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {members.length === 0 && <p class="hint">No members.</p>}
          <form
            class="row"
            aria-label="Add user to group"
            onSubmit={(e) => {
              e.preventDefault();
              if (userId === '') return;
              void act(() => call('POST', `${IDENTITY}/userGroupMemberships`, { body: { userId, groupId } }), async () => {
                setUserId('');
                await load();
              });
            }}
          >
            <label>
              User
              <select name="userId" value={userId} onChange={(e) => setUserId(e.currentTarget.value)} required>
                <option value="">Choose a user…</option>
                {addable.map((u) => (
                  <option key={u.id} value={u.id}>{u.name}</option>
                ))}
              </select>
            </label>
            <button type="submit">Add user</button>
          </form>
        </div>
      )}
    </section>
  );
}
