import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyPassword } from '../../src/console/auth.js';
import { ConsoleCredentials } from '../../src/console/credentials.js';
import type { User } from '../../src/core/models.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';

const TENANCY = 'ocid1.tenancy.oc1..t';

const user = (name: string, id: string): User => ({
  id,
  tenancyId: TENANCY,
  name,
  description: '',
  email: null,
  lifecycleState: 'ACTIVE',
  etag: 'e1',
  freeformTags: {},
  definedTags: {},
  createdAt: 1000,
});

for (const kind of STORE_KINDS) {
  describe(`console passwords for IAM users (${kind})`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it("a reset (CreateOrResetUIPassword) sets a new password and ends that user's open sessions, no one else's", async () => {
      const creds = new ConsoleCredentials(t.store.console);
      const alice = user('alice', 'ocid1.user.oc1..alice');
      const bob = user('bob', 'ocid1.user.oc1..bob');
      const first = await creds.reset(alice);
      assert.ok(first.ok);
      assert.ok((await creds.reset(bob)).ok);
      const expiresAt = Date.now() + 3_600_000;
      const session = (idHash: string, username: string) => ({ idHash, username, csrfToken: `c-${idHash}`, createdAt: 2000, expiresAt });
      await t.store.console.insertConsoleSession(session('alice-old', 'alice'));
      await t.store.console.insertConsoleSession(session('bob-1', 'bob'));

      const second = await creds.reset(alice);
      assert.ok(second.ok);
      assert.notEqual(second.password, first.password);
      const stored = await t.store.console.getConsoleUser('alice');
      assert.equal(await verifyPassword(second.password, stored!.passwordHash), true);
      assert.equal(await verifyPassword(first.password, stored!.passwordHash), false);
      assert.equal(await t.store.console.getConsoleSession('alice-old', Date.now()), undefined);
      assert.deepEqual(await t.store.console.getConsoleSession('bob-1', Date.now()), session('bob-1', 'bob'));
    });
  });
}
