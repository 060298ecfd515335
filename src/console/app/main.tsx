import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, HERALD, setCsrf, whenSignedOut } from './api';
import { DeadLettersPage } from './pages/dead-letters';
import { FunctionsPage } from './pages/functions';
import { GroupPage, GroupsPage } from './pages/groups';
import { MailboxPage } from './pages/mailbox';
import { OverviewPage } from './pages/overview';
import { PoliciesPage, PolicyPage } from './pages/policies';
import { SubscriptionPage } from './pages/subscription';
import { TopicPage } from './pages/topic';
import { TopicsPage } from './pages/topics';
import { TracePage } from './pages/trace';
import { UserPage } from './pages/user';
import { UsersPage } from './pages/users';
import './styles.css';

interface Session {
  user: string;
  tenancyId: string;
  csrfToken: string;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await call('POST', `${HERALD}/console/session`, { body: { username, password } });
      onSignedIn(await call<Session>('GET', `${HERALD}/console/session`));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Herald console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Username
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      <p class="hint">
        The password for <code>admin</code> is printed once in Herald's log at first start. IAM users sign in with their user name and the
        console password an administrator set for them on the Users page.
      </p>
    </main>
  );
}

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/topics', 'Topics'],
  ['/messages', 'Message trace'],
  ['/dead-letters', 'Dead letters'],
  ['/functions', 'Functions'],
  ['/mailbox', 'Dev mailbox'],
  ['/users', 'Users'],
  ['/groups', 'Groups'],
  ['/policies', 'Policies'],
];

function Page({ path, session }: { path: string; session: Session }) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const c = session.tenancyId;
  switch (parts[0]) {
    case 'topics':
      return parts[1] ? <TopicPage compartmentId={c} topicId={parts[1]} /> : <TopicsPage compartmentId={c} />;
    case 'subscriptions':
      return parts[1] ? <SubscriptionPage key={parts[1]} subscriptionId={parts[1]} /> : <TopicsPage compartmentId={c} />;
    case 'messages':
      return <TracePage messageId={parts[1]} />;
    case 'dead-letters':
      return <DeadLettersPage />;
    case 'functions':
      return <FunctionsPage compartmentId={c} />;
    case 'mailbox':
      return <MailboxPage />;
    case 'users':
      return parts[1] ? <UserPage tenancyId={c} userId={parts[1]} /> : <UsersPage tenancyId={c} />;
    case 'groups':
      return parts[1] ? <GroupPage tenancyId={c} groupId={parts[1]} /> : <GroupsPage tenancyId={c} />;
    case 'policies':
      return parts[1] ? <PolicyPage tenancyId={c} policyId={parts[1]} /> : <PoliciesPage tenancyId={c} />;
    default:
      return <OverviewPage />;
  }
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const path = useHash();
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    call<Session>('GET', `${HERALD}/console/session`).then(
      (s) => {
        setCsrf(s.csrfToken);
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p aria-busy="true">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        onSignedIn={(s) => {
          setCsrf(s.csrfToken);
          setSession(s);
        }}
      />
    );
  }
  const logout = async (): Promise<void> => {
    await call('DELETE', `${HERALD}/console/session`).catch(() => undefined);
    setSession(null);
  };
  // A subscription belongs to a topic: its page keeps Topics current in the menu.
  const first = path.split('/')[1] ?? '';
  const section = '/' + (first === 'subscriptions' ? 'topics' : first);
  return (
    <div class="shell">
      <header>
        <strong>Herald</strong>
        <nav aria-label="Main">
          {NAV.map(([href, label]) => (
            <a href={`#${href}`} aria-current={section === href ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="user">
          {session.user} <button type="button" onClick={logout}>Sign out</button>
        </span>
      </header>
      <main>
        <Page path={path} session={session} />
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
