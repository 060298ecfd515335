import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { INLINE_FANOUT } from '../../src/core/messages.js';
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

    it("paces publishes while the thread is saturated and a topic's fan-out starts late, refuses and loses none, and stops once it has room", async () => {
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'paced', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      // One more subscription than a publish fans out inline, so each message's deliveries are made by the engine's
      // fan-out and claims, which the saturated thread makes late. (A small topic's deliveries are handed to the
      // engine in the publish's own turn and start on time however busy the thread: nothing for the pacer to do.)
      const subscriptions = INLINE_FANOUT + 1;
      await Promise.all(
        Array.from({ length: subscriptions }, (_, i) =>
          h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/s${i}` } }),
        ),
      );
      await eventually(
        async () => {
          const subs = await h.dp.listSubscriptions({ compartmentId: h.tenancyId, topicId, limit: 100 });
          return subs.items.length === subscriptions && subs.items.every((s) => s.lifecycleState === 'ACTIVE');
        },
        30_000,
        'every subscription confirmed',
      );
      // Confirming them all at once can itself make the pacer engage: the load starts once it has let go.
      await eventually(async () => (await metricValue(h.herald.url, 'herald_publish_paced')) === 0, 20_000, 'not paced before the load');
      const pacedBefore = (await metricValue(h.herald.url, 'herald_publishes_paced_total')) ?? 0;

      const accepted: string[] = [];
      let sent = 0;
      const refusals: number[] = [];
      let sawPaced = false;
      let publishing = true;
      const stopHog = hogTheThread();
      try {
        // Ten publishers back to back until the pacer has made some of them wait (bounded, so a build that
        // never paces fails rather than hangs).
        const publisher = async (): Promise<void> => {
          while (publishing) {
            const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: `m${sent++}` }));
            if (res.status === 202) accepted.push(String(res.json.messageId));
            else refusals.push(res.status);
          }
        };
        const publishers = Array.from({ length: 10 }, () => publisher());
        await eventually(
          async () => {
            sawPaced ||= (await metricValue(h.herald.url, 'herald_publish_paced')) === 1;
            return sawPaced && ((await metricValue(h.herald.url, 'herald_publishes_paced_total')) ?? 0) > pacedBefore;
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
            if (t.deliveries.length !== subscriptions || t.deliveries.some((d) => d.state !== 'DELIVERED')) return false;
          }
          return true;
        },
        60_000,
        `every accepted message delivered to its ${subscriptions} subscriptions`,
      );
    });
  });
}
