import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { send } from '../helpers/oci.js';

/** Signs in and returns the session cookie and CSRF token. */
async function signIn(url: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /^herald_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0]!, csrf: csrfToken };
}

describe('console session auth (API level)', () => {
  let h: TestHerald;
  let url: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    url = h.herald.url;
  });
  after(async () => {
    await h.stop();
  });

  it('creates the admin login once, storing only a scrypt hash', async () => {
    const password = h.herald.consolePassword;
    assert.ok(password !== undefined && password.length >= 20);
    const user = await h.herald.store.console.getConsoleUser('admin');
    assert.ok(user !== undefined);
    assert.match(user.passwordHash, /^scrypt\$/);
    assert.ok(!user.passwordHash.includes(password));
    assert.equal(user.tenancyId, h.tenancyId);
  });

  it('refuses the console API calls without a session or signature', async () => {
    for (const [method, path] of [
      ['GET', `/20181201/topics?compartmentId=${h.tenancyId}`],
      ['GET', '/herald/v1/mailbox'],
      ['GET', '/herald/v1/console/overview'],
      ['GET', '/herald/v1/console/session'],
    ] as const) {
      const res = await fetch(url + path, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(((await res.json()) as { code: string }).code, 'NotAuthenticated');
    }
    const bogus = await fetch(`${url}/20181201/topics?compartmentId=${h.tenancyId}`, { headers: { cookie: 'herald_console=not-a-session' } });
    assert.equal(bogus.status, 401);
    // A cookie that is not valid percent-encoding is no session either: a 401, not a URIError's 500.
    const malformed = await fetch(`${url}/20181201/topics?compartmentId=${h.tenancyId}`, { headers: { cookie: 'herald_console=%E0%A4%A' } });
    assert.equal(malformed.status, 401);
    assert.equal(((await malformed.json()) as { code: string }).code, 'NotAuthenticated');
    assert.ok(malformed.headers.get('opc-request-id'));
  });

  it('rejects a wrong password, then accepts the right one; reads work with the cookie', async () => {
    const bad = await fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'nope' }) });
    assert.equal(bad.status, 401);
    const { cookie, csrf } = await signIn(url, h.herald.consolePassword!);
    const me = await fetch(`${url}/herald/v1/console/session`, { headers: { cookie } });
    assert.equal(((await me.json()) as { csrfToken: string }).csrfToken, csrf);
    const list = await fetch(`${url}/20181201/topics?compartmentId=${h.tenancyId}`, { headers: { cookie } });
    assert.equal(list.status, 200);
    // Only the topic Herald makes at bootstrap.
    assert.deepEqual(((await list.json()) as { name: string }[]).map((t) => t.name), ['herald-operations']);
  });

  it('reads the session cookie among others, a malformed neighbour included', async () => {
    const { cookie } = await signIn(url, h.herald.consolePassword!);
    for (const header of [`theme=dark; ${cookie}; lang=en`, `a=%zz;${cookie}`, `${cookie};${cookie.replace('=', '=x')}`]) {
      const res = await fetch(`${url}/herald/v1/console/session`, { headers: { cookie: header } });
      assert.equal(res.status, 200, header);
    }
  });

  it('refuses a cross-site-style POST carrying the cookie but not the CSRF token, and a wrong token', async () => {
    const { cookie, csrf } = await signIn(url, h.herald.consolePassword!);
    const body = JSON.stringify({ name: 'csrf-test', compartmentId: h.tenancyId });
    const post = (headers: Record<string, string>) => fetch(`${url}/20181201/topics`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body });
    const none = await post({});
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { message: string }).message, /x-csrf-token/);
    assert.equal((await post({ 'x-csrf-token': 'x'.repeat(csrf.length) })).status, 401);
    const ok = await post({ 'x-csrf-token': csrf });
    assert.equal(ok.status, 200);
    // Logout needs the token too, then the session is gone.
    assert.equal((await fetch(`${url}/herald/v1/console/session`, { method: 'DELETE', headers: { cookie } })).status, 401);
    assert.equal((await fetch(`${url}/herald/v1/console/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } })).status, 204);
    assert.equal((await fetch(`${url}/herald/v1/mailbox`, { headers: { cookie } })).status, 401);
  });

  it('serves the built SPA at /console with a fallback to index.html', async () => {
    const index = await fetch(`${url}/console/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /<div id="app">/);
    const deep = await fetch(`${url}/console/topics/whatever`);
    assert.match(await deep.text(), /<div id="app">/);
    const traversal = await fetch(`${url}/console/..%2f..%2fpackage.json`);
    assert.doesNotMatch(await traversal.text(), /"name": "herald"/);
  });

  it('sends the console with security headers and caching fit for a hashed build; the API gets neither', async () => {
    const index = await send(new URL(`${url}/console/`), 'GET', {});
    assert.equal(index.headers['cache-control'], 'no-cache');
    const csp = String(index.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "img-src 'self' data:"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    // Over plain HTTP an upgrade to https would break every asset.
    assert.ok(!csp.includes('upgrade-insecure-requests'), csp);
    assert.equal(index.headers['x-frame-options'], 'DENY');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    assert.equal(index.headers['referrer-policy'], 'no-referrer');
    assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
    assert.doesNotMatch(String(index.headers['strict-transport-security']), /includeSubDomains/);

    // The module script the page loads: cached for good, and revalidated with its ETag.
    const script = /<script type="module"[^>]* src="([^"]+)"/.exec(index.text)?.[1];
    assert.ok(script?.startsWith('/console/assets/'), index.text);
    const asset = await send(new URL(url + script), 'GET', {});
    assert.equal(asset.status, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(asset.headers['content-type']), /javascript/);
    const again = await send(new URL(url + script), 'GET', { 'if-none-match': String(asset.headers.etag) });
    assert.equal(again.status, 304);

    const api = await send(new URL(`${url}/health`), 'GET', {});
    assert.equal(api.headers['content-security-policy'], undefined);
    assert.equal(api.headers['x-frame-options'], undefined);
  });

  // Last: it leaves sign-in throttled. The rule itself (how many, how long, the right password refused too) is
  // tested with an injected clock in console-store.test.ts; this checks how the API answers it.
  it('answers repeated wrong passwords with 429 TooManyRequests and a Retry-After', async () => {
    const attempt = (password: string): Promise<Response> =>
      fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    // Keep failing until one attempt lands inside a window (each failure past the free ones makes the next window longer).
    const throttled = await eventually(async () => {
      const res = await attempt('wrong');
      const body = (await res.json()) as { code: string };
      if (res.status === 401) return undefined;
      return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') };
    }, 30_000, 'a throttled sign-in');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.code, 'TooManyRequests');
    assert.match(throttled.retryAfter ?? '', /^[1-9]\d*$/);
  });
});
