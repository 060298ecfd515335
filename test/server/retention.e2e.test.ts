import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, metricValue, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { confirming, Receiver } from '../helpers/receiver.js';

/**
 * --message-retention end to end: a delivered message's trace answers 404 once it is past
 * the window, while a message whose delivery is still in flight is kept (and counted as
 * held on /metrics) until that delivery finishes.
 */
for (const kind of KINDS) {
  describe(`message retention (${kind})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, messageRetention: '1s', deliveryTimeoutMs: '30000' });
      rx = await new Receiver(
        confirming(async (r) => {
          if (r.path === '/hold') await held;
          return { status: 200 };
        }),
      ).start();
    });
    after(async () => {
      release();
      await rx.stop();
      await h.stop();
    });

    async function topicTo(name: string, path: string): Promise<string> {
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } })).notificationTopic.topicId;
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + path } });
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${name} confirmed`);
      return topicId;
    }

    const publish = async (topicId: string, body: string): Promise<string> =>
      (await h.dp.publishMessage({ topicId, messageDetails: { body } })).publishResult.messageId;
    const trace = (id: string) => heraldClient(h).raw('GET', `/herald/v1/messages/${id}`);
    const metric = async (name: string): Promise<number> => (await metricValue(h.herald.url, name)) ?? Number.NaN;

    it('prunes a delivered message past the window (its trace answers 404) and keeps one whose delivery is in flight until it finishes', async () => {
      const fast = await topicTo('fast', '/ok');
      const slow = await topicTo('slow', '/hold');
      const stuck = await publish(slow, 'stuck');
      await rx.waitFor((rs) => rs.some((r) => r.path === '/hold'), 15_000, 'the held delivery to arrive');
      const done = await publish(fast, 'done');
      await rx.waitFor((rs) => rs.some((r) => r.headers['x-oci-ns-messageid'] === done), 15_000, 'the fast delivery');

      const gone = await eventually(async () => {
        const res = await trace(done);
        return res.status === 404 ? res : undefined;
      }, 20_000, 'the delivered message to be pruned');
      assert.equal(gone.json.code, 'NotAuthorizedOrNotFound');
      assert.ok(typeof gone.headers['opc-request-id'] === 'string');
      // Exactly the one message: 'stuck' is older but its delivery is in flight (confirmations are not messages).
      await eventually(async () => (await metric('herald_retention_pruned_messages_total')) === 1, 20_000, 'one message pruned');

      // The in-flight one is past the window too, but held: counted (it is the only one), and its trace intact.
      // A sweep that counted it held has looked at it past the window and kept it.
      await eventually(async () => (await metric('herald_retention_held_messages')) === 1, 20_000, 'the held message to be counted');
      assert.ok((await metric('herald_retention_oldest_held_age_seconds')) >= 1);
      const kept = await trace(stuck);
      assert.equal(kept.status, 200);
      const states = (kept.json.deliveries as { state: string }[]).map((d) => d.state);
      assert.equal(states.length, 1);
      assert.ok(['IN_FLIGHT', 'PENDING'].includes(states[0]!), `its delivery is not finished (${states[0]})`);

      release();
      await eventually(async () => (await trace(stuck)).status === 404, 20_000, 'the held message to be pruned once delivered');
      await eventually(async () => (await metric('herald_retention_held_messages')) === 0, 20_000, 'no message held any more');
      assert.equal(await metric('herald_retention_pruned_messages_total'), 2);
    });
  });
}
