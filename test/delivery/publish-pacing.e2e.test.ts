import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, metricValue, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { confirming, Receiver } from '../helpers/receiver.js';

/**
 * Saturates this thread (Herald runs in the test's process): 190 ms of every 200 busy, so the event loop is
 * as taken as a publisher at full speed would take it and deliveries start late.
 */
function hogTheThread(): () => void {
  const timer = setInterval(() => {
    const end = performance.now() + 190;
    while (performance.now() < end);
  }, 200);
  return () => clearInterval(timer);
}

for (const kind of KINDS) {
  describe(`publish pacing (${kind})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, deliveryLagTarget: '20ms' });
      rx = await new Receiver(confirming()).start();
    });
    after(async () => {
      await rx.stop();
      await h.stop();
    });

    it('paces publishes while the thread is saturated and deliveries start late, refuses and loses none, and stops once it has room', async () => {
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'paced', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      for (let i = 0; i < 3; i++) {
        const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/s${i}` } });
        await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, 'the subscription confirmed');
      }
      assert.equal(await metricValue(h.herald.url, 'herald_publish_paced'), 0, 'not paced before the load');

      const accepted: string[] = [];
      const refusals: number[] = [];
      let sawPaced = false;
      let publishing = true;
      const stopHog = hogTheThread();
      try {
        // Ten publishers back to back until the pacer has made some of them wait (bounded, so a build that
        // never paces fails rather than hangs).
        const publisher = async (): Promise<void> => {
          while (publishing) {
            const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: `m${accepted.length}` }));
            if (res.status === 202) accepted.push(String(res.json.messageId));
            else refusals.push(res.status);
          }
        };
        const publishers = Array.from({ length: 10 }, () => publisher());
        await eventually(
          async () => {
            sawPaced ||= (await metricValue(h.herald.url, 'herald_publish_paced')) === 1;
            return sawPaced && ((await metricValue(h.herald.url, 'herald_publishes_paced_total')) ?? 0) > 0;
          },
          60_000,
          'publishes paced (made to wait for their turn)',
        );
        publishing = false;
        await Promise.all(publishers);
      } finally {
        publishing = false;
        stopHog();
      }
      // Pacing only delays publishes: none is refused.
      assert.deepEqual(refusals, []);
      assert.ok(accepted.length > 0, 'publishes were accepted while paced');

      await eventually(async () => (await metricValue(h.herald.url, 'herald_publish_paced')) === 0, 20_000, 'pacing stopped once the thread had room');
      await eventually(
        async () => {
          for (const id of accepted) {
            const t = await heraldClient(h).call<{ deliveries: { state: string }[] }>('GET', `/herald/v1/messages/${id}`);
            if (t.deliveries.length !== 3 || t.deliveries.some((d) => d.state !== 'DELIVERED')) return false;
          }
          return true;
        },
        60_000,
        'every accepted message delivered to its 3 subscriptions',
      );
    });
  });
}
