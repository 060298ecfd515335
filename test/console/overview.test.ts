import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../src/console/auth.js';
import { eventually } from '../helpers/eventually.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { confirming, Receiver } from '../helpers/receiver.js';
import { addTenancy } from '../helpers/tenancies.js';

/**
 * The console's overview shows the signed-in tenancy's own figures. It used to show the installation's /metrics,
 * so one tenancy's console read every other tenancy's queue and traffic.
 */

interface Overview {
  topics: number;
  subscriptions: number;
  pending: number;
  inFlight: number;
  deadLetters: number;
  publishedLastMinute: number;
}

const NOTHING: Overview = { topics: 0, subscriptions: 0, pending: 0, inFlight: 0, deadLetters: 0, publishedLastMinute: 0 };

async function signIn(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/herald/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

async function overview(url: string, cookie: string): Promise<Overview & Record<string, unknown>> {
  const res = await fetch(`${url}/herald/v1/console/overview`, { headers: { cookie } });
  assert.equal(res.status, 200);
  return (await res.json()) as Overview & Record<string, unknown>;
}

const figures = (o: Overview): Overview => ({
  topics: o.topics,
  subscriptions: o.subscriptions,
  pending: o.pending,
  inFlight: o.inFlight,
  deadLetters: o.deadLetters,
  publishedLastMinute: o.publishedLastMinute,
});

/** A second tenancy made as bootstrap makes one (its admin in Administrators), with a console login for that admin. */
async function secondTenancy(h: TestHerald, username: string, password: string): Promise<string> {
  const { tenancyId, userId } = await addTenancy(h.herald.store, `other-${randomBytes(4).toString('hex')}`);
  await h.herald.store.console.insertConsoleUserIfAbsent({ username, passwordHash: await hashPassword(password), tenancyId, userId, createdAt: Date.now() });
  return tenancyId;
}

for (const kind of KINDS) {
  describe(`console overview answers the caller's tenancy only (${kind})`, () => {
    let h: TestHerald;
    let signed: SignedCaller;
    const rx = new Receiver(confirming(() => ({ status: 400, body: 'refused' })));
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true });
      signed = heraldClient(h);
      await rx.start();
    });
    after(async () => {
      await rx.stop();
      await h?.stop();
    });

    it("counts tenancy A's topics, subscriptions, queue, dead letters and publishes for A, none of them for B", async () => {
      const a = await signIn(h.herald.url, 'admin', h.herald.consolePassword!);
      await secondTenancy(h, 'bob', 'bob-password-123');
      const b = await signIn(h.herald.url, 'bob', 'bob-password-123');
      assert.deepEqual(figures(await overview(h.herald.url, b)), NOTHING);

      // Tenancy A: two topics, a webhook that confirms and then refuses (400: straight to the dead letters), one publish.
      const topicId = (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'overview-a', compartmentId: h.tenancyId })).topicId;
      await signed.call('POST', '/20181201/topics', { name: 'overview-a2', compartmentId: h.tenancyId });
      const sub = await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` });
      await eventually(async () => (await signed.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${sub.id}`)).lifecycleState === 'ACTIVE', 15_000, 'the subscription to confirm');
      await signed.call('POST', `/20181201/topics/${topicId}/messages`, { body: 'to the dead letters' });
      // And one delivery waiting far in the future, so the queue of A is not empty.
      await h.herald.store.deliveries.insertDeliveries([
        { tenancyId: h.tenancyId, topicId, subscriptionId: sub.id, messageId: null, kind: 'CONFIRMATION', protocol: 'CUSTOM_HTTPS', nextAttemptAt: Date.now() + 3_600_000, confirmationNonce: 1, createdAt: Date.now() },
      ]);

      // Three topics: A's two and herald-operations, made in the bootstrap tenancy at start.
      const expectedA: Overview = { topics: 3, subscriptions: 1, pending: 1, inFlight: 0, deadLetters: 1, publishedLastMinute: 1 };
      await eventually(async () => {
        assert.deepEqual(figures(await overview(h.herald.url, a)), expectedA);
        return true;
      }, 15_000, "A's overview to count A's figures");
      const seenByB = await overview(h.herald.url, b);
      assert.deepEqual(figures(seenByB), NOTHING, "B's overview counts nothing of A's");
      assert.equal(seenByB.samples, undefined, 'no installation-wide samples either');
    });
  });
}
