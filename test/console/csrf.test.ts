import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, KINDS, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { eventually } from '../helpers/eventually.js';
import { confirming, Receiver } from '../helpers/receiver.js';

/**
 * The console authenticates with a session cookie, which a browser attaches to any site's request; what a
 * cross-site page cannot send is the session's CSRF token in the x-csrf-token header. So every state-changing
 * call the console makes must be refused without that header (and with anyone else's token), and do nothing.
 */

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(url: string, password: string): Promise<Session> {
  const res = await fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  assert.match(cookie, /^herald_console=./);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrf: csrfToken };
}

interface Answer {
  status: number;
  json: { code?: string; message?: string } & Record<string, unknown>;
}

for (const kind of KINDS) {
  describe(`console CSRF on state-changing calls (${kind})`, () => {
    let h: TestHerald;
    let signed: SignedCaller;
    let me: Session;
    let other: Session;
    let healthy = false;
    const rx = new Receiver(confirming(() => (healthy ? { status: 200 } : { status: 400, body: 'refused' })));

    /** A plain HTTP call as the console's page makes it: the cookie, and the CSRF header only when given. */
    async function consoleCall(method: string, path: string, opts: { csrf?: string; body?: unknown; session?: Session } = {}): Promise<Answer> {
      const headers: Record<string, string> = { cookie: (opts.session ?? me).cookie };
      if (opts.csrf !== undefined) headers['x-csrf-token'] = opts.csrf;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(h.herald.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Answer['json']) };
    }

    /** Every way of sending the call without this session's token: each is refused with a clean 401. */
    async function refusedWithoutToken(method: string, path: string, body?: unknown): Promise<void> {
      const attempts: [string, string | undefined][] = [
        ['no header', undefined],
        ['an empty header', ''],
        ['a wrong token of the right length', 'x'.repeat(me.csrf.length)],
        ['the token with a character changed', me.csrf.slice(0, -1) + (me.csrf.endsWith('A') ? 'B' : 'A')],
        ["another session's token", other.csrf],
      ];
      for (const [what, csrf] of attempts) {
        const res = await consoleCall(method, path, { csrf, body });
        assert.equal(res.status, 401, `${method} ${path} with ${what}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.code, 'NotAuthenticated', `${method} ${path} with ${what}`);
        assert.match(res.json.message ?? '', /x-csrf-token/, `${method} ${path} with ${what}`);
      }
    }

    const topicPath = (id: string): string => `/20181201/topics/${encodeURIComponent(id)}`;
    const subPath = (id: string): string => `/20181201/subscriptions/${encodeURIComponent(id)}`;

    async function newTopic(name: string): Promise<string> {
      return (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name, compartmentId: h.tenancyId, description: 'before' })).topicId;
    }

    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true });
      signed = heraldClient(h);
      await rx.start();
      me = await signIn(h.herald.url, h.herald.consolePassword!);
      other = await signIn(h.herald.url, h.herald.consolePassword!);
      assert.notEqual(me.csrf, other.csrf);
    });
    after(async () => {
      await rx.stop();
      await h?.stop();
    });

    it('PUT (update a topic) is refused without the token and changes nothing; with it, it updates', async () => {
      const id = await newTopic('csrf-put');
      await refusedWithoutToken('PUT', topicPath(id), { description: 'forged' });
      const unchanged = await consoleCall('GET', topicPath(id));
      assert.equal(unchanged.status, 200);
      assert.equal(unchanged.json.description, 'before');

      const ok = await consoleCall('PUT', topicPath(id), { csrf: me.csrf, body: { description: 'from the console' } });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal((await consoleCall('GET', topicPath(id))).json.description, 'from the console');
      // The other session's own token works for it: tokens are per session, not one per server.
      const theirs = await consoleCall('PUT', topicPath(id), { csrf: other.csrf, session: other, body: { description: 'theirs' } });
      assert.equal(theirs.status, 200, JSON.stringify(theirs.json));
    });

    it('DELETE (a subscription, a topic) is refused without the token and deletes nothing; with it, it deletes', async () => {
      const id = await newTopic('csrf-delete');
      const sub = await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId: id, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/delete-me` });

      await refusedWithoutToken('DELETE', subPath(sub.id));
      await refusedWithoutToken('DELETE', topicPath(id));
      const sub0 = await consoleCall('GET', subPath(sub.id));
      assert.equal(sub0.status, 200);
      assert.notEqual(sub0.json.lifecycleState, 'DELETED');
      assert.equal((await consoleCall('GET', topicPath(id))).status, 200);

      assert.equal((await consoleCall('DELETE', subPath(sub.id), { csrf: me.csrf })).status, 204);
      const gone = await consoleCall('GET', subPath(sub.id));
      assert.ok(gone.status === 404 || gone.json.lifecycleState === 'DELETED', `the subscription is gone: ${gone.status} ${JSON.stringify(gone.json)}`);
      assert.equal((await consoleCall('DELETE', topicPath(id), { csrf: me.csrf })).status, 204);
      assert.equal((await consoleCall('GET', topicPath(id))).status, 404);
    });

    it('the re-drive POST is refused without the token and re-drives nothing; with it, it re-drives', async () => {
      const topicId = await newTopic('csrf-redrive');
      const sub = await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/redrive` });
      await eventually(async () => (await signed.call<{ lifecycleState: string }>('GET', subPath(sub.id))).lifecycleState === 'ACTIVE', 15_000, 'the subscription to confirm');
      // The receiver answers 400 for now: the delivery goes straight to the dead letters.
      await signed.call('POST', `/20181201/topics/${encodeURIComponent(topicId)}/messages`, { body: 'to re-drive' });
      const deadLetters = `/herald/v1/deadLetters?subscriptionId=${encodeURIComponent(sub.id)}`;
      const dead = await eventually(async () => {
        const res = await consoleCall('GET', deadLetters);
        return Array.isArray(res.json) && res.json.length === 1 ? (res.json[0] as { id: string; state: string }) : undefined;
      }, 15_000, 'a dead letter');
      assert.equal(dead.state, 'DEAD');

      const redrive = '/herald/v1/deadLetters/actions/redrive';
      await refusedWithoutToken('POST', redrive, { deliveryIds: [dead.id] });
      await refusedWithoutToken('POST', redrive, { subscriptionId: sub.id });
      const still = await consoleCall('GET', deadLetters);
      assert.deepEqual((still.json as unknown as { id: string }[]).map((d) => d.id), [dead.id], 'the refused re-drives left the dead letter alone');

      healthy = true;
      const ok = await consoleCall('POST', redrive, { csrf: me.csrf, body: { deliveryIds: [dead.id] } });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.redriven, 1);
      await rx.waitFor((r) => r.filter((x) => x.path === '/redrive' && x.body === 'to re-drive').length === 2, 15_000, 'the re-driven delivery');
      await eventually(async () => {
        const res = await consoleCall('GET', deadLetters);
        return Array.isArray(res.json) && res.json.length === 0;
      }, 15_000, 'no dead letter left');
    });
  });
}
