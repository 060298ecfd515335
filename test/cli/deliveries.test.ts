import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually } from '../helpers/eventually.js';
import { cliFor as cli } from '../helpers/process.js';
import { confirming, Receiver } from '../helpers/receiver.js';

describe('herald CLI: message trace, dead letters and the dev mailbox', () => {
  let h: TestHerald;
  let rx: Receiver;
  let healthy = false;
  before(async () => {
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true, retryTimeScale: '0.001' });
    rx = await new Receiver(confirming(() => ({ status: healthy ? 200 : 500 }))).start();
  });
  after(async () => {
    await rx.stop();
    await h.stop();
  });

  it('lists a dead letter, re-drives it, shows the trace and reads the mailbox', async () => {
    const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'cli', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + '/x' } });
    await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'EMAIL', endpoint: 'ops@example.com' } });
    await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, 'the webhook confirmed');
    await h.dp.updateSubscription({ subscriptionId: s.subscription.id, updateSubscriptionDetails: { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: 200_000, policyType: 'EXPONENTIAL' as never } } } });
    const messageId = (await h.dp.publishMessage({ topicId, messageDetails: { body: 'cli test' } })).publishResult.messageId;

    const dead = await eventually(async () => {
      const r = await cli(h, ['dead-letters', 'list', '--topic', topicId, '--output', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { id: string; messageId: string }[];
      return rows.find((x) => x.messageId === messageId);
    }, 15_000, 'the dead letter via the CLI');

    // The failed attempts reached the receiver too: the re-driven one is the first after them. DEAD is final,
    // so nothing else of this message's can arrive in between.
    const attempts = () => rx.requests.filter((r) => r.headers['x-oci-ns-messageid'] === messageId && r.path === '/x').length;
    const failedAttempts = attempts();
    assert.ok(failedAttempts >= 1);
    healthy = true;
    const redrive = await cli(h, ['dead-letters', 'redrive', '--delivery-id', dead.id, '--output', 'table']);
    assert.equal(redrive.code, 0, redrive.stderr);
    assert.match(redrive.stdout, /re-driven: 1/);
    await eventually(() => attempts() > failedAttempts, 15_000, 'the re-driven delivery');

    const trace = await eventually(async () => {
      const r = await cli(h, ['message', 'get', messageId, '--output', 'table']);
      return r.stdout.includes('DELIVERED') ? r : undefined;
    }, 15_000, 'DELIVERED in the CLI trace');
    assert.match(trace.stdout, /CUSTOM_HTTPS/);

    const mail = await cli(h, ['mail', 'list', '--to', 'ops@example.com']);
    assert.equal(mail.code, 0, mail.stderr);
    assert.match(mail.stdout, /To confirm this subscription/);

    const bad = await cli(h, ['message', 'get', 'no-such-message']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /404 NotAuthorizedOrNotFound/);
  });
});
