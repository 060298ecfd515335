import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { PG_URL } from '../helpers/pg.js';
import { runCli } from '../helpers/process.js';

const SESSION = '/herald/v1/console/session';

async function signIn(url: string, username: string, password: string): Promise<{ status: number; cookie: string }> {
  const res = await fetch(url + SESSION, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  await res.arrayBuffer();
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}

const sessionStatus = async (url: string, cookie: string): Promise<number> => {
  const res = await fetch(url + SESSION, { headers: { cookie } });
  await res.arrayBuffer();
  return res.status;
};

/** The store flags that reach the test server's store from another process, as an operator would pass them. */
function storeFlags(h: TestHerald): string[] {
  if (h.kind === 'sqlite') return ['--data-dir', h.dataDir];
  // The test server lives in a schema of its own; a connection option puts the CLI in it too.
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${h.schema!}`);
  return ['--store', url.toString(), '--data-dir', h.dataDir];
}

for (const kind of KINDS) {
  describe(`herald console reset-password (${kind})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startTestHerald(kind);
    });
    after(async () => {
      await h.stop();
    });

    it('sets a new password, printed once, that signs in, while the old password and every open session are refused', async () => {
      const url = h.herald.url;
      const first = h.herald.consolePassword!;
      const before = await signIn(url, 'admin', first);
      assert.equal(before.status, 200);
      assert.equal(await sessionStatus(url, before.cookie), 200);

      // While the server runs, from another process holding only the store.
      const reset = await runCli(['console', 'reset-password', ...storeFlags(h)]);
      assert.equal(reset.code, 0, reset.stderr);
      const lines = reset.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `only the password on stdout: ${reset.stdout}`);
      const fresh = lines[0]!;
      assert.match(fresh, /^[A-Za-z0-9_-]{24}$/);

      assert.equal(await sessionStatus(url, before.cookie), 401, 'the session opened before the reset is over');
      assert.match(reset.stderr, /console login "admin".*1 open session\(s\) ended/);
      assert.equal((await signIn(url, 'admin', first)).status, 401, 'the old password is refused');
      const after = await signIn(url, 'admin', fresh);
      assert.equal(after.status, 200);
      assert.equal(await sessionStatus(url, after.cookie), 200);
    });

    it('refuses a login that does not exist, with a message that names it', async () => {
      const res = await runCli(['console', 'reset-password', '--user', 'nobody', ...storeFlags(h)]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /^herald: No console login "nobody" in this store\.$/m);
      assert.equal(res.stdout, '');
    });
  });
}

describe('herald console reset-password without a store', () => {
  it('refuses a data dir that holds no Herald database, and does not create one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-reset-'));
    try {
      const res = await runCli(['console', 'reset-password', '--data-dir', dir]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /No Herald database at .*herald\.db/);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
