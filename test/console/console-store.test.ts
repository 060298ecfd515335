import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword, verifyPassword } from '../../src/console/auth.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

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
      const user = { username: 'admin', passwordHash: await hashPassword('pw-1'), tenancyId: 'ocid1.tenancy.oc1..t', userId: 'ocid1.user.oc1..u', createdAt: 1000 };
      assert.equal(await s.countConsoleUsers(), 0);
      assert.equal(await s.insertConsoleUserIfAbsent(user), true);
      assert.equal(await s.insertConsoleUserIfAbsent({ ...user, passwordHash: 'other' }), false);
      assert.deepEqual(await s.getConsoleUser('admin'), user);
      assert.equal(await s.countConsoleUsers(), 1);
      assert.equal(await verifyPassword('pw-1', user.passwordHash), true);
      assert.equal(await verifyPassword('pw-2', user.passwordHash), false);
      assert.equal(await s.setConsolePassword('admin', await hashPassword('pw-2')), true);
      assert.equal(await verifyPassword('pw-2', (await s.getConsoleUser('admin'))!.passwordHash), true);

      const session = { idHash: 'h1', username: 'admin', csrfToken: 'c1', createdAt: 2000, expiresAt: 5000 };
      await s.insertConsoleSession(session);
      assert.deepEqual(await s.getConsoleSession('h1', 4999), session);
      assert.equal(await s.getConsoleSession('h1', 5000), undefined);
      // A later sign-in prunes expired sessions.
      await s.insertConsoleSession({ ...session, idHash: 'h2', createdAt: 6000, expiresAt: 9000 });
      assert.equal(await s.getConsoleSession('h1', 0), undefined);
      await s.deleteConsoleSession('h2');
      assert.equal(await s.getConsoleSession('h2', 6000), undefined);
    });
  });
}
