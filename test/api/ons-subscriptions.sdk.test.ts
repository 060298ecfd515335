import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOciError, heraldClient, send } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

interface ConfirmationLink {
  confirmationUrl: string | null;
  lifecycleState: string;
}

function linkParams(url: string): { id: string; token: string; protocol: string } {
  const u = new URL(url);
  const m = /\/subscriptions\/([^/]+)\/(confirmation|unsubscription)$/.exec(u.pathname);
  assert.ok(m, url);
  return { id: decodeURIComponent(m[1]!), token: u.searchParams.get('token')!, protocol: u.searchParams.get('protocol')! };
}

for (const kind of KINDS) {
  describe(`ONS subscriptions through the oci-ons SDK (${kind})`, () => {
    let h: TestHerald;
    let topicId: string;
    before(async () => {
      h = await startTestHerald(kind);
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'subs', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      await h.stop();
    });

    const create = (protocol: string, endpoint: string, extra: { opcRetryToken?: string } = {}) =>
      h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol, endpoint }, ...extra });

    it('creates a PENDING subscription with deliverPolicy as a string and createdTime in epoch ms', async () => {
      const res = await create('CUSTOM_HTTPS', 'https://receiver.example.com/hook');
      const s = res.subscription;
      assert.match(s.id, /^ocid1\.onssubscription\.oc1\.iad\./);
      assert.equal(s.lifecycleState, 'PENDING');
      assert.equal(typeof s.createdTime, 'number');
      assert.ok(Math.abs(Number(s.createdTime) - Date.now()) < 60_000);
      assert.equal(typeof s.deliverPolicy, 'string');
      assert.deepEqual(JSON.parse(s.deliverPolicy!), { backoffRetryPolicy: { maxRetryDuration: 7200000, policyType: 'EXPONENTIAL' } });
      assert.equal(res.etag, s.etag);

      const got = await h.dp.getSubscription({ subscriptionId: s.id });
      assert.equal(got.subscription.endpoint, 'https://receiver.example.com/hook');
      assert.equal(typeof got.subscription.deliverPolicy, 'string');

      const list = await h.dp.listSubscriptions({ compartmentId: h.tenancyId, topicId });
      const summary = list.items.find((x) => x.id === s.id);
      assert.ok(summary);
      assert.deepEqual(summary.deliveryPolicy, { backoffRetryPolicy: { maxRetryDuration: 7200000, policyType: 'EXPONENTIAL' } });
    });

    it('confirms through the link, unsubscribes through the other, and the waiter sees DELETED', async () => {
      const s = (await create('EMAIL', 'supplier@example.com')).subscription;
      const link = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      assert.ok(link.confirmationUrl?.startsWith(h.herald.url + '/20181201/subscriptions/'));
      const p = linkParams(link.confirmationUrl!);
      await expectOciError(h.dp.getConfirmSubscription({ id: s.id, token: p.token, protocol: 'SLACK' }), 400, 'InvalidParameter');
      await expectOciError(h.dp.getConfirmSubscription({ id: s.id, token: 'wrong', protocol: 'EMAIL' }), 404, 'NotAuthorizedOrNotFound');
      const confirmed = await h.dp.getConfirmSubscription({ id: s.id, token: p.token, protocol: p.protocol });
      assert.equal(confirmed.confirmationResult.subscriptionId, s.id);
      assert.equal(confirmed.confirmationResult.topicName, 'subs');
      assert.equal(confirmed.confirmationResult.endpoint, 'supplier@example.com');
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'ACTIVE');
      // Clicking the same link again is harmless.
      await h.dp.getConfirmSubscription({ id: s.id, token: p.token, protocol: p.protocol });

      const u = linkParams(confirmed.confirmationResult.unsubscribeUrl);
      const unsub = await h.dp.getUnsubscription({ id: s.id, token: u.token, protocol: u.protocol });
      assert.equal(typeof unsub.value, 'string');
      // The SDK's waiter only recognises DELETED as a state (its 404 branch is unreachable), so Get shows it.
      const waited = await h.dp.createWaiters().forSubscription({ subscriptionId: s.id }, 'DELETED' as never);
      assert.equal(waited?.subscription.lifecycleState, 'DELETED');
      await expectOciError(h.dp.getUnsubscription({ id: s.id, token: u.token, protocol: u.protocol }), 404, 'NotAuthorizedOrNotFound');
    });

    it('a HEAD on either link (mail scanners probe links) neither confirms nor unsubscribes', async () => {
      const s = (await create('CUSTOM_HTTPS', 'https://receiver.example.com/scanned')).subscription;
      const link = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      const head = await send(new URL(link.confirmationUrl!), 'HEAD', { accept: 'text/html' });
      assert.equal(head.status, 200);
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'PENDING');
      const p = linkParams(link.confirmationUrl!);
      const confirmed = await h.dp.getConfirmSubscription({ id: s.id, token: p.token, protocol: p.protocol });
      const unsubscribeUrl = new URL(confirmed.confirmationResult.unsubscribeUrl);
      assert.equal((await send(unsubscribeUrl, 'HEAD', { accept: 'text/html' })).status, 200);
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'ACTIVE');
      // The same link still works when followed.
      assert.equal((await send(unsubscribeUrl, 'GET', { accept: 'text/html' })).status, 200);
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'DELETED');
    });

    it('accepts unsigned browser clicks on the links and answers them with a page', async () => {
      const s = (await create('CUSTOM_HTTPS', 'https://receiver.example.com/browser')).subscription;
      const link = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      const res = await send(new URL(link.confirmationUrl!), 'GET', { accept: 'text/html,application/xhtml+xml' });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.match(res.text, /Subscription confirmed/);
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'ACTIVE');
    });

    it('resends a confirmation with a fresh link and kills the old one', async () => {
      const s = (await create('SLACK', 'https://hooks.slack.com/services/T000/B000/XXXX')).subscription;
      const first = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      const resent = await h.dp.resendSubscriptionConfirmation({ id: s.id });
      assert.equal(resent.subscription.id, s.id);
      assert.equal(resent.subscription.lifecycleState, 'PENDING');
      const second = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      assert.notEqual(second.confirmationUrl, first.confirmationUrl);
      const old = linkParams(first.confirmationUrl!);
      await expectOciError(h.dp.getConfirmSubscription({ id: s.id, token: old.token, protocol: old.protocol }), 404, 'NotAuthorizedOrNotFound');
      const fresh = linkParams(second.confirmationUrl!);
      await h.dp.getConfirmSubscription({ id: s.id, token: fresh.token, protocol: fresh.protocol });
      await expectOciError(h.dp.resendSubscriptionConfirmation({ id: s.id }), 409, 'IncorrectState');
    });

    it('starts ORACLE_FUNCTIONS subscriptions ACTIVE and validates endpoints per protocol', async () => {
      const fn = await create('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1.iad.aaaaaaaaexamplefunction');
      assert.equal(fn.subscription.lifecycleState, 'ACTIVE');
      await expectOciError(create('EMAIL', 'not-an-email'), 400, 'InvalidParameter');
      await expectOciError(create('SMS', '5550100'), 400, 'InvalidParameter');
      await expectOciError(create('CUSTOM_HTTPS', 'ftp://x.example.com'), 400, 'InvalidParameter');
      await expectOciError(create('CARRIER_PIGEON', 'x'), 400, 'InvalidParameter');
      await expectOciError(create('CUSTOM_HTTPS', 'https://e.example.com/' + 'a'.repeat(600)), 400, 'InvalidParameter');
      await expectOciError(
        h.dp.createSubscription({
          createSubscriptionDetails: { topicId: 'ocid1.onstopic.oc1.iad.aaaaaaaanosuchtopic', compartmentId: h.tenancyId, protocol: 'EMAIL', endpoint: 'a@example.com' },
        }),
        400,
        'RelatedResourceNotAuthorizedOrNotFound',
      );
    });

    it('updates the delivery policy under if-match and answers with UpdateSubscriptionDetails', async () => {
      const s = await create('CUSTOM_HTTPS', 'https://receiver.example.com/policy');
      const details = { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: 3600000, policyType: 'EXPONENTIAL' as never } } };
      await expectOciError(h.dp.updateSubscription({ subscriptionId: s.subscription.id, updateSubscriptionDetails: details, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      const u = await h.dp.updateSubscription({ subscriptionId: s.subscription.id, updateSubscriptionDetails: details, ifMatch: s.etag });
      assert.deepEqual(u.updateSubscriptionDetails.deliveryPolicy, { backoffRetryPolicy: { maxRetryDuration: 3600000, policyType: 'EXPONENTIAL' } });
      assert.ok(u.etag && u.etag !== s.etag);
      const got = await h.dp.getSubscription({ subscriptionId: s.subscription.id });
      assert.equal(JSON.parse(got.subscription.deliverPolicy!).backoffRetryPolicy.maxRetryDuration, 3600000);
      const tooLong = { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: 9_000_000, policyType: 'EXPONENTIAL' as never } } };
      await expectOciError(h.dp.updateSubscription({ subscriptionId: s.subscription.id, updateSubscriptionDetails: tooLong }), 400, 'InvalidParameter');
    });

    it('replays createSubscription for a retry token, moves compartments and deletes', async () => {
      const a = await create('CUSTOM_HTTPS', 'https://receiver.example.com/rt', { opcRetryToken: 'sub-token-1' });
      const b = await create('CUSTOM_HTTPS', 'https://receiver.example.com/rt', { opcRetryToken: 'sub-token-1' });
      assert.equal(b.subscription.id, a.subscription.id);
      await expectOciError(create('CUSTOM_HTTPS', 'https://receiver.example.com/other', { opcRetryToken: 'sub-token-1' }), 409, 'InvalidatedRetryToken');

      const c = await heraldClient(h).call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'subs-target' });
      await h.dp.changeSubscriptionCompartment({ subscriptionId: a.subscription.id, changeSubscriptionCompartmentDetails: { compartmentId: c.id }, opcRetryToken: 'mv' });
      const inC = await h.dp.listSubscriptions({ compartmentId: c.id });
      assert.deepEqual(inC.items.map((x) => x.id), [a.subscription.id]);

      const cur = await h.dp.getSubscription({ subscriptionId: a.subscription.id });
      await expectOciError(h.dp.deleteSubscription({ subscriptionId: a.subscription.id, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      await h.dp.deleteSubscription({ subscriptionId: a.subscription.id, ifMatch: cur.etag });
      assert.equal((await h.dp.getSubscription({ subscriptionId: a.subscription.id })).subscription.lifecycleState, 'DELETED');
      await expectOciError(h.dp.deleteSubscription({ subscriptionId: a.subscription.id }), 404, 'NotAuthorizedOrNotFound');
    });

    it('pages through subscriptions and cascades a topic delete to its subscriptions', async () => {
      const t = (await h.cp.createTopic({ createTopicDetails: { name: 'cascade', compartmentId: h.tenancyId } })).notificationTopic;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await h.dp.createSubscription({
          createSubscriptionDetails: { topicId: t.topicId, compartmentId: h.tenancyId, protocol: 'EMAIL', endpoint: `user${i}@example.com` },
        });
        ids.push(s.subscription.id);
      }
      const first = await h.dp.listSubscriptions({ compartmentId: h.tenancyId, topicId: t.topicId, limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.opcNextPage);
      const seen: string[] = [];
      for await (const s of h.dp.listSubscriptionsRecordIterator({ compartmentId: h.tenancyId, topicId: t.topicId, limit: 2 })) seen.push(s.id);
      assert.deepEqual(seen, ids);
      await h.cp.deleteTopic({ topicId: t.topicId });
      assert.equal((await h.dp.getSubscription({ subscriptionId: ids[0]! })).subscription.lifecycleState, 'DELETED');
      assert.equal((await h.dp.listSubscriptions({ compartmentId: h.tenancyId, topicId: t.topicId })).items.length, 0);
    });

    it('keeps subscriptions and their confirmation links across a restart', async () => {
      const s = (await create('EMAIL', 'restart@example.com')).subscription;
      const link = await heraldClient(h).call<ConfirmationLink>('GET', `/herald/v1/subscriptions/${s.id}/confirmation-link`);
      await h.restart();
      const p = linkParams(link.confirmationUrl!);
      // The link's origin changed with the new port; the token itself must still work.
      await h.dp.getConfirmSubscription({ id: s.id, token: p.token, protocol: p.protocol });
      assert.equal((await h.dp.getSubscription({ subscriptionId: s.id })).subscription.lifecycleState, 'ACTIVE');
    });
  });
}
