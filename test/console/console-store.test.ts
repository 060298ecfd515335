import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConsoleAuth, hashPassword, SESSION_TTL_SECONDS, verifyPassword } from '../../src/console/auth.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

const TENANCY = 'ocid1.tenancy.oc1..t';
const USER = 'ocid1.user.oc1..u';

for (const kind of STORE_KINDS) {
  describe(`console store (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('inserts a console user once, changes its password, and keeps sessions until they expire or are deleted', async () => {
      const s = t.store;
      const user = { username: 'admin', passwordHash: await hashPassword('pw-1'), tenancyId: TENANCY, userId: USER, createdAt: 1000 };
      assert.equal(await s.console.countConsoleUsers(), 0);
      assert.equal(await s.console.insertConsoleUserIfAbsent(user), true);
      assert.equal(await s.console.insertConsoleUserIfAbsent({ ...user, passwordHash: 'other' }), false);
      assert.deepEqual(await s.console.getConsoleUser('admin'), user);
      assert.equal(await s.console.countConsoleUsers(), 1);
      assert.equal(await verifyPassword('pw-1', user.passwordHash), true);
      assert.equal(await verifyPassword('pw-2', user.passwordHash), false);
      assert.equal(await s.console.setConsolePassword('admin', await hashPassword('pw-2')), true);
      assert.equal(await verifyPassword('pw-2', (await s.console.getConsoleUser('admin'))!.passwordHash), true);

      const session = { idHash: 'h1', username: 'admin', csrfToken: 'c1', createdAt: 2000, expiresAt: 5000 };
      await s.console.insertConsoleSession(session);
      assert.deepEqual(await s.console.getConsoleSession('h1', 4999), session);
      assert.equal(await s.console.getConsoleSession('h1', 5000), undefined);
      // A later sign-in prunes expired sessions.
      await s.console.insertConsoleSession({ ...session, idHash: 'h2', createdAt: 6000, expiresAt: 9000 });
      assert.equal(await s.console.getConsoleSession('h1', 0), undefined);
      await s.console.deleteConsoleSession('h2');
      assert.equal(await s.console.getConsoleSession('h2', 6000), undefined);
    });

    it("ends every session of one login, and only that login's, when asked to", async () => {
      const s = t.store;
      for (const username of ['ops', 'dev']) {
        const user = { username, passwordHash: await hashPassword('pw'), tenancyId: TENANCY, userId: USER, createdAt: 1000 };
        assert.equal(await s.console.insertConsoleUserIfAbsent(user), true);
      }
      const session = (idHash: string, username: string) => ({ idHash, username, csrfToken: `c-${idHash}`, createdAt: 2000, expiresAt: 9000 });
      await s.console.insertConsoleSession(session('ops-1', 'ops'));
      await s.console.insertConsoleSession(session('ops-2', 'ops'));
      await s.console.insertConsoleSession(session('dev-1', 'dev'));

      assert.equal(await s.console.deleteConsoleSessionsOf('ops'), 2);
      assert.equal(await s.console.getConsoleSession('ops-1', 3000), undefined);
      assert.equal(await s.console.getConsoleSession('ops-2', 3000), undefined);
      assert.deepEqual(await s.console.getConsoleSession('dev-1', 3000), session('dev-1', 'dev'));
      // Nothing left to end: not an error, and it says so.
      assert.equal(await s.console.deleteConsoleSessionsOf('ops'), 0);
      assert.equal(await s.console.deleteConsoleSessionsOf('nobody'), 0);
      // The login itself stays.
      assert.equal((await s.console.getConsoleUser('ops'))?.username, 'ops');
    });
  });

  /** ConsoleAuth on a real store, with a clock the test moves by hand (no sleeping, no wall-clock). */
  describe(`console auth with an injected clock (${kind})`, () => {
    const PASSWORD = 'right-password';
    const TTL_MS = SESSION_TTL_SECONDS * 1000;
    let t: TestStore;
    let clock: number;
    let auth: ConsoleAuth;
    before(async () => {
      t = await makeTestStore(kind);
      const user = { username: 'admin', passwordHash: await hashPassword(PASSWORD), tenancyId: TENANCY, userId: USER, createdAt: 0 };
      assert.equal(await t.store.console.insertConsoleUserIfAbsent(user), true);
    });
    after(async () => {
      await t.cleanup();
    });
    beforeEach(() => {
      // Far from the real time, so a build that reads Date.now() instead of the clock fails.
      clock = Date.UTC(2001, 0, 1);
      auth = new ConsoleAuth(t.store.console, () => clock);
    });

    it('keeps a session valid until just before it expires and refuses it from then on', async () => {
      const result = await auth.login('admin', PASSWORD);
      assert.ok(result.ok);
      // The sign-in read the injected clock.
      assert.equal(result.session.createdAt, clock);
      assert.equal(result.session.expiresAt, clock + TTL_MS);
      const id = result.sessionId;

      clock = result.session.expiresAt - 1;
      const found = await auth.session(id);
      assert.equal(found?.session.csrfToken, result.session.csrfToken);
      assert.equal(found?.user.tenancyId, TENANCY);
      const caller = await auth.callerFor(id, 'PUT', result.session.csrfToken);
      assert.deepEqual(caller, { tenancyId: TENANCY, userId: USER, fingerprint: 'console-session' });

      clock = result.session.expiresAt;
      assert.equal(await auth.session(id), undefined);
      assert.equal(await auth.callerFor(id, 'GET', undefined), 'no-session');
      assert.equal(await auth.callerFor(id, 'PUT', result.session.csrfToken), 'no-session');
      // Time does not run backwards for the store: a later check still refuses it.
      clock = result.session.expiresAt + TTL_MS;
      assert.equal(await auth.session(id), undefined);
    });

    it('refuses an unknown or empty session id and a logged-out one', async () => {
      assert.equal(await auth.session(undefined), undefined);
      assert.equal(await auth.session(''), undefined);
      assert.equal(await auth.session('not-a-session'), undefined);
      const result = await auth.login('admin', PASSWORD);
      assert.ok(result.ok);
      assert.ok((await auth.session(result.sessionId)) !== undefined);
      await auth.logout(result.sessionId);
      assert.equal(await auth.session(result.sessionId), undefined);
    });

    it('allows two wrong passwords, then refuses every sign-in for the throttle window, then allows it once the clock passes the window', async () => {
      const start = clock;
      // The first two failures are free: the next attempt is checked, not throttled.
      assert.deepEqual(await auth.login('admin', 'wrong-1'), { ok: false, reason: 'invalid' });
      assert.deepEqual(await auth.login('admin', 'wrong-2'), { ok: false, reason: 'invalid' });
      // The third failure opens a 1 s window.
      assert.deepEqual(await auth.login('admin', 'wrong-3'), { ok: false, reason: 'invalid' });

      const throttled = await auth.login('admin', PASSWORD);
      assert.deepEqual(throttled, { ok: false, reason: 'throttled', retryAfterMs: 1000 });
      // Still refused (even with the right password) until the last millisecond of the window.
      clock = start + 999;
      assert.deepEqual(await auth.login('admin', PASSWORD), { ok: false, reason: 'throttled', retryAfterMs: 1 });

      // Past the window a wrong password is checked again, and doubles the next window.
      clock = start + 1000;
      assert.deepEqual(await auth.login('admin', 'wrong-4'), { ok: false, reason: 'invalid' });
      assert.deepEqual(await auth.login('admin', PASSWORD), { ok: false, reason: 'throttled', retryAfterMs: 2000 });
      clock = start + 1000 + 1999;
      assert.equal((await auth.login('admin', PASSWORD)).ok, false);

      // Once the clock passes the window the right password signs in, and that resets the count.
      clock = start + 1000 + 2000;
      const ok = await auth.login('admin', PASSWORD);
      assert.ok(ok.ok);
      assert.equal(ok.session.createdAt, clock);
      assert.deepEqual(await auth.login('admin', 'wrong-5'), { ok: false, reason: 'invalid' });
      assert.deepEqual(await auth.login('admin', 'wrong-6'), { ok: false, reason: 'invalid' });
      assert.equal((await auth.login('admin', PASSWORD)).ok, true);
    });

    it('counts failures per client: wrong passwords from one address do not lock out another', async () => {
      for (const pw of ['x1', 'x2', 'x3']) assert.deepEqual(await auth.login('admin', pw, { client: '203.0.113.9' }), { ok: false, reason: 'invalid' });
      assert.deepEqual(await auth.login('admin', PASSWORD, { client: '203.0.113.9' }), { ok: false, reason: 'throttled', retryAfterMs: 1000 });
      const elsewhere = await auth.login('admin', PASSWORD, { client: '127.0.0.1' });
      assert.ok(elsewhere.ok, 'the admin at another address signs in');
    });

    it('takes an explicit `now` on sign-in over the clock', async () => {
      const at = clock + 5_000;
      for (const pw of ['w1', 'w2', 'w3']) assert.deepEqual(await auth.login('admin', pw, { now: at }), { ok: false, reason: 'invalid' });
      assert.deepEqual(await auth.login('admin', PASSWORD, { now: at + 400 }), { ok: false, reason: 'throttled', retryAfterMs: 600 });
      const ok = await auth.login('admin', PASSWORD, { now: at + 1000 });
      assert.ok(ok.ok);
      assert.equal(ok.session.expiresAt, at + 1000 + TTL_MS);
    });
  });
}
