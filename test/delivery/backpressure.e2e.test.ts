import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { heraldClient, type RawResponse } from '../helpers/oci.js';
import { KINDS, metricValue, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { confirming, Receiver } from '../helpers/receiver.js';

for (const kind of KINDS) {
  describe(`publish backpressure (${kind})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, maxBacklog: '5', deliveryTimeoutMs: '20000' });
      rx = await new Receiver(
        confirming(async () => {
          await held; // the receiver stalls, so deliveries pile up
          return { status: 200 };
        }),
      ).start();
    });
    after(async () => {
      release();
      await rx.stop();
      await h.stop();
    });

    it('answers 429 with Retry-After while the backlog is over the limit, and accepts again once it drains', async () => {
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'bp', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + '/slow' } });
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s.subscription.id })).subscription.lifecycleState === 'ACTIVE', 15_000, 'the subscription confirmed');
      // The subscription turns ACTIVE while its confirmation delivery may still be in flight, and the
      // backpressure reading refreshes every 500 ms: start from a reading that has seen it finish, so
      // exactly the limit's worth of publishes (0..5 waiting) is accepted before the first 429.
      await eventually(async () => (await metricValue(h.herald.url, 'herald_publish_backlog')) === 0, 20_000, 'a backlog reading of 0');

      // Publish back to back until the first refusal; the bound only stops a build that never refuses.
      const accepted: string[] = [];
      let refused: RawResponse | undefined;
      while (refused === undefined && accepted.length < 50) {
        const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: `m${accepted.length}` }));
        if (res.status === 202) accepted.push(String(res.json.messageId));
        else refused = res;
      }
      assert.ok(refused !== undefined, `no publish was refused (${accepted.length} accepted)`);
      assert.equal(refused.status, 429);
      assert.equal(refused.json.code, 'TooManyRequests');
      assert.equal(refused.headers['retry-after'], '1');
      // Accepted while the reading was 0..5 (each publish adds its one delivery), refused above 5. A
      // periodic reading that lands between a publish's commit and its ack counts that one twice, so
      // the 429 may come one publish early, never later and never earlier than that.
      assert.ok(accepted.length === 6 || accepted.length === 5, `publishes were accepted until the backlog passed the limit (${accepted.length})`);

      release();
      const afterId = await eventually(async () => {
        const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: 'after' }));
        return res.status === 202 ? String(res.json.messageId) : undefined;
      }, 20_000, 'publishes accepted again after the backlog drained');
      // Nothing accepted was lost to the refusals: each is DELIVERED as Herald records it (the receiver answered
      // 200). The receiver's own log proves nothing here: it records a request when it arrives, so it had every
      // one of them while it still held them.
      await eventually(
        async () => {
          for (const id of [...accepted, afterId]) {
            const t = await heraldClient(h).call<{ deliveries: { state: string }[] }>('GET', `/herald/v1/messages/${id}`);
            if (t.deliveries.length !== 1 || t.deliveries[0]!.state !== 'DELIVERED') return false;
          }
          return true;
        },
        20_000,
        'every accepted message delivered',
      );
    });
  });
}
