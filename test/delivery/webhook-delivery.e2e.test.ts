import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { confirming, Receiver, type Received } from '../helpers/receiver.js';

interface Attempt {
  attempt: number;
  timeStarted: string;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  error: string | null;
}
interface TraceDelivery {
  id: string;
  subscriptionId: string;
  state: string;
  attempts: number;
  timeNextAttempt: string | null;
  timeWindowStart: string;
  timeUpdated: string;
  attemptHistory: Attempt[];
}
interface Trace {
  deliveries: TraceDelivery[];
}

/** The herald in this suite runs OCI's retry schedule a thousand times faster. */
const TIME_SCALE = 0.001;
/** OCI's documented schedule, written out here so the product's own table is not its oracle: after the n-th failure. */
const BACKOFF_MINUTES = [0, 1, 2, 4, 8, 16, 32];
const scaledBackoffMs = (failures: number): number => BACKOFF_MINUTES[Math.min(failures, BACKOFF_MINUTES.length) - 1]! * 60_000 * TIME_SCALE;

/**
 * Every retry in the trace came no sooner than the schedule allows after the failure before it, and was
 * decided while the window was still open (a retry is scheduled only if it falls inside the window). Both
 * follow from the product's own recorded times, so a slow machine cannot make them fail.
 */
function assertFollowsSchedule(d: TraceDelivery, windowMs: number): void {
  const closesAt = Date.parse(d.timeWindowStart) + windowMs * TIME_SCALE;
  const h = d.attemptHistory;
  for (let i = 0; i + 1 < h.length; i++) {
    const end = Date.parse(h[i]!.timeStarted) + h[i]!.durationMs;
    const due = end + scaledBackoffMs(i + 1);
    assert.ok(Date.parse(h[i + 1]!.timeStarted) >= due, `attempt ${i + 2} started at ${h[i + 1]!.timeStarted}, before its backoff ended (${new Date(due).toISOString()})`);
    assert.ok(due <= closesAt, `attempt ${i + 2} was scheduled at ${new Date(due).toISOString()}, after the window closed (${new Date(closesAt).toISOString()})`);
  }
}

for (const kind of KINDS) {
  describe(`CUSTOM_HTTPS fan-out, retries and dead letters (${kind})`, () => {
    let h: TestHerald;
    let topicId: string;
    before(async () => {
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, retryTimeScale: '0.001', deliveryTimeoutMs: '2000' });
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'orders', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      await h.stop();
    });

    async function subscribe(receiver: Receiver, path: string): Promise<string> {
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: receiver.url + path } });
      return s.subscription.id;
    }

    async function active(id: string): Promise<void> {
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${id} ACTIVE`);
    }

    it('confirms through the X-OCI-NS-ConfirmationURL handshake and delivers the exact body and headers, signed', async () => {
      const rx = await new Receiver(confirming()).start();
      const pendingRx = await new Receiver().start();
      try {
        const id = await subscribe(rx, '/hook');
        await rx.waitFor((r) => r.some((x) => x.headers['x-oci-ns-confirmationurl'] !== undefined), 15_000, 'the confirmation POST');
        const conf = rx.requests.find((x) => x.headers['x-oci-ns-confirmationurl'] !== undefined)!;
        assert.equal(conf.method, 'POST');
        assert.equal(JSON.parse(conf.body).ConfirmationURL, conf.headers['x-oci-ns-confirmationurl']);
        assert.equal(conf.headers['x-oci-ns-subscriptionid'], id);
        await active(id);
        // A subscription left PENDING must get nothing but its confirmation.
        const pendingId = await subscribe(pendingRx, '/pending');
        await pendingRx.waitFor((r) => r.length >= 1, 15_000, 'the pending confirmation');

        const body = JSON.stringify({ orderId: 42, user: 7, note: 'zwölf €' });
        const pub = await h.dp.publishMessage({ topicId, messageDetails: { title: 'Order placed', body } });
        const messageId = pub.publishResult.messageId;
        await rx.waitFor((r) => r.some((x) => x.headers['x-oci-ns-messageid'] === messageId), 15_000, 'the message');
        const got = rx.requests.find((x) => x.headers['x-oci-ns-messageid'] === messageId)!;
        assert.equal(got.method, 'POST');
        assert.equal(got.path, '/hook');
        assert.equal(got.body, body);
        assert.equal(got.headers['x-oci-ns-topicocid'], topicId);
        assert.equal(got.headers['x-oci-ns-topicname'], 'orders');
        assert.ok(got.headers['x-oci-ns-messagetype']);
        const unsubscribeUrl = String(got.headers['x-oci-ns-unsubscribeurl']);
        assert.match(unsubscribeUrl, new RegExp(`^${h.herald.url}/20181201/subscriptions/${id}/unsubscription\\?token=.+&protocol=CUSTOM_HTTPS$`));
        assert.match(String(got.headers['content-type']), /application\/json/);

        const { secret } = await heraldClient(h).call<{ secret: string }>('GET', `/herald/v1/subscriptions/${id}/signing-secret`);
        const verified = new Webhook(secret).verify(got.body, {
          'webhook-id': String(got.headers['webhook-id']),
          'webhook-timestamp': String(got.headers['webhook-timestamp']),
          'webhook-signature': String(got.headers['webhook-signature']),
        });
        assert.deepEqual(verified, JSON.parse(body));

        // A PENDING subscription must get nothing but its confirmation. Barrier, not a sleep: the topic is small,
        // so all of the message's deliveries were created in its publish transaction (inline fan-out) and claimed
        // and sent along with the one rx just got; once every delivery in its trace is finished, a delivery to the
        // PENDING subscription, had Herald made one, would be listed there and already sent.
        const trace = await eventually(async () => {
          const t = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
          return t.deliveries.every((d) => ['DELIVERED', 'DEAD', 'CANCELLED'].includes(d.state)) ? t : undefined;
        }, 15_000, 'every delivery of the message finished');
        assert.deepEqual(trace.deliveries.map((d) => d.subscriptionId), [id], 'the message fanned out to the ACTIVE subscription only');
        const mine = trace.deliveries[0]!;
        assert.equal(mine.state, 'DELIVERED');
        assert.equal(mine.attemptHistory[0]?.statusCode, 200);
        assert.equal((await h.dp.getSubscription({ subscriptionId: pendingId })).subscription.lifecycleState, 'PENDING');
        // The sentinel, at the same endpoint: confirm the subscription now and publish once more. Anything of the
        // first message's for it (sent while PENDING, or held back until it turned ACTIVE) would be due before the
        // sentinel, which only exists from now on: an endpoint's deliveries are claimed in due order and start
        // FIFO through its slots. So once the sentinel is in, the first message is either there or never coming.
        await (await fetch(String(pendingRx.requests[0]!.headers['x-oci-ns-confirmationurl']))).text();
        await active(pendingId);
        const sentinel = (await h.dp.publishMessage({ topicId, messageDetails: { body: 'sentinel' } })).publishResult.messageId;
        await pendingRx.waitFor((r) => r.some((x) => x.headers['x-oci-ns-messageid'] === sentinel), 15_000, 'the sentinel');
        assert.deepEqual(
          pendingRx.requests.map((r) => [r.path, typeof r.headers['x-oci-ns-confirmationurl'] === 'string' ? 'confirmation' : r.headers['x-oci-ns-messageid']]),
          [
            ['/pending', 'confirmation'],
            ['/pending', sentinel],
          ],
          'while PENDING the subscription received its confirmation and nothing else',
        );
        await h.dp.deleteSubscription({ subscriptionId: pendingId });

        // The unsubscribe link in every delivery works.
        const res = await fetch(unsubscribeUrl);
        assert.equal(res.status, 200);
        assert.equal((await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState, 'DELETED');
      } finally {
        await rx.stop();
        await pendingRx.stop();
      }
    });

    it('delivers a confirmation re-sent right after the first one, with the new link that confirms', async () => {
      // The receiver answers 200 without confirming, then asks for a second confirmation at once: within the
      // engine's subscription cache, which still holds the first link's nonce.
      const rx = await new Receiver().start();
      try {
        const id = await subscribe(rx, '/resend');
        const links = (): string[] => rx.requests.map((x) => x.headers['x-oci-ns-confirmationurl']).filter((u): u is string => typeof u === 'string');
        await rx.waitFor(() => links().length >= 1, 15_000, 'the first confirmation');
        await h.dp.resendSubscriptionConfirmation({ id });
        await rx.waitFor(() => links().length >= 2, 15_000, 'the re-sent confirmation');
        const [first, second] = links();
        assert.notEqual(second, first);
        assert.equal((await fetch(first!)).status, 404, 'the first link died with the resend');
        assert.equal((await fetch(second!)).status, 200);
        await active(id);
      } finally {
        await rx.stop();
      }
    });

    it('retries a failing receiver with the same message id until it recovers', async () => {
      // Driven by the receiver, not the clock: it answers 503 exactly three times. The default window
      // (2 h, 7.2 s at this time scale) is far longer than the schedule's first three steps (0, 60, 120 ms).
      let failures = 0;
      const rx = await new Receiver(confirming(() => (failures++ < 3 ? { status: 503, body: 'busy' } : { status: 200 }))).start();
      try {
        const id = await subscribe(rx, '/flaky');
        await active(id);
        const pub = await h.dp.publishMessage({ topicId, messageDetails: { body: 'retry me' } });
        const messageId = pub.publishResult.messageId;
        const mine = (r: Received[]) => r.filter((x) => x.headers['x-oci-ns-messageid'] === messageId);
        await rx.waitFor((r) => mine(r).length >= 4, 20_000, 'four attempts');
        const ids = new Set(mine(rx.requests).map((x) => x.headers['webhook-id']));
        assert.equal(ids.size, 1, 'webhook-id is stable across retries');
        const trace = await eventually(async () => {
          const t = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
          const d = t.deliveries.find((x) => x.subscriptionId === id);
          return d?.state === 'DELIVERED' ? d : undefined;
        }, 15_000, 'DELIVERED in the trace');
        assert.deepEqual(trace.attemptHistory.map((a) => a.statusCode), [503, 503, 503, 200]);
        assert.deepEqual(trace.attemptHistory.map((a) => a.outcome), ['FAILURE', 'FAILURE', 'FAILURE', 'SUCCESS']);
        assertFollowsSchedule(trace, 7_200_000);
        assert.equal(mine(rx.requests).length, 4, 'no attempt after the one that succeeded');
      } finally {
        await rx.stop();
      }
    });

    it('turns a never-recovering delivery into a dead letter once the window closes, and re-drives it', async () => {
      let healthy = false;
      const rx = await new Receiver(confirming(() => (healthy ? { status: 204 } : { status: 500, body: 'down' }))).start();
      try {
        const id = await subscribe(rx, '/down');
        await active(id);
        // The longest window OCI allows, 2 h: 7.2 s at this time scale. Long enough that a busy machine still
        // fits several attempts in it (the first retry is immediate), short enough that the schedule
        // (0, 0, 60, 180, 420, 900, 1860, 3780, 5700 ms) runs out of it within seconds.
        const windowMs = 7_200_000;
        await h.dp.updateSubscription({ subscriptionId: id, updateSubscriptionDetails: { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: windowMs, policyType: 'EXPONENTIAL' as never } } } });
        const pub = await h.dp.publishMessage({ topicId, messageDetails: { body: 'doomed' } });
        const messageId = pub.publishResult.messageId;
        const mine = (): Received[] => rx.requests.filter((x) => x.headers['x-oci-ns-messageid'] === messageId);
        const dead = await eventually(async () => {
          const list = await heraldClient(h).call<{ id: string; messageId: string; state: string; lastError: string | null }[]>('GET', `/herald/v1/deadLetters?subscriptionId=${id}`);
          return list.find((d) => d.messageId === messageId);
        }, 60_000, 'a dead letter');
        assert.equal(dead.state, 'DEAD');
        const trace = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
        const d = trace.deliveries.find((x) => x.subscriptionId === id)!;
        assert.equal(d.state, 'DEAD');
        assert.ok(d.attempts >= 2, `it was retried before it was given up (${d.attempts} attempts)`);
        assert.equal(d.attemptHistory.length, d.attempts);
        assert.ok(d.attemptHistory.every((a) => a.statusCode === 500 && a.outcome === 'FAILURE'), JSON.stringify(d.attemptHistory));
        assert.equal(mine().length, d.attempts, 'every attempt reached the receiver, and nothing after it was dead');
        assertFollowsSchedule(d, windowMs);
        // It went DEAD because its next retry would have fallen after the window closed, not any sooner. The
        // decision is taken before the delivery is updated, so timeUpdated bounds the decision time from above.
        const closesAt = Date.parse(d.timeWindowStart) + windowMs * TIME_SCALE;
        assert.ok(Date.parse(d.timeUpdated) + scaledBackoffMs(d.attempts) > closesAt, `given up at ${d.timeUpdated} with the window open until ${new Date(closesAt).toISOString()}`);

        healthy = true;
        const res = await heraldClient(h).call<{ redriven: number }>('POST', '/herald/v1/deadLetters/actions/redrive', { deliveryIds: [dead.id] });
        assert.equal(res.redriven, 1);
        const redriven = await eventually(async () => {
          const t = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
          const x = t.deliveries.find((y) => y.subscriptionId === id);
          return x?.state === 'DELIVERED' ? x : undefined;
        }, 15_000, 'the re-driven delivery');
        assert.equal(redriven.attemptHistory.at(-1)?.statusCode, 204);
        assert.equal(mine().length, d.attempts + 1, 'the re-drive made exactly one more attempt, which succeeded');
        assert.equal(mine().at(-1)?.path, '/down');
        const left = await heraldClient(h).call<unknown[]>('GET', `/herald/v1/deadLetters?subscriptionId=${id}`);
        assert.equal(left.length, 0);
      } finally {
        await rx.stop();
      }
    });

    it('sends a 4xx answer straight to the dead letters without retrying', async () => {
      const rx = await new Receiver(confirming(() => ({ status: 400, body: '{"error":"bad payload"}' }))).start();
      try {
        const id = await subscribe(rx, '/strict');
        await active(id);
        const messageId = (await h.dp.publishMessage({ topicId, messageDetails: { body: 'x' } })).publishResult.messageId;
        const d = await eventually(async () => {
          const t = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
          const x = t.deliveries.find((y) => y.subscriptionId === id);
          return x?.state === 'DEAD' ? x : undefined;
        }, 15_000, 'DEAD');
        assert.equal(d.attempts, 1);
        assert.equal(d.attemptHistory[0]?.statusCode, 400);
        // DEAD is final, so the receiver's count is complete.
        assert.equal(rx.requests.filter((x) => x.headers['x-oci-ns-messageid'] === messageId).length, 1, 'no retry');
      } finally {
        await rx.stop();
      }
    });

    it('exposes Prometheus metrics', async () => {
      const res = await fetch(`${h.herald.url}/metrics`);
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.match(text, /herald_messages_published_total \d+/);
      assert.match(text, /herald_delivery_attempts_total\{protocol="CUSTOM_HTTPS",outcome="success"\} \d+/);
      assert.match(text, /herald_delivery_attempt_duration_seconds_bucket/);
      assert.match(text, /herald_queue_depth \d+/);
      assert.match(text, /herald_dead_letters \d+/);
    });
  });
}

describe('egress guard', () => {
  it('refuses to deliver to a loopback receiver unless private endpoints are allowed', async () => {
    const h = await startTestHerald('sqlite', { retryTimeScale: '0.001' });
    const rx = await new Receiver().start();
    try {
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'ssrf', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: rx.url + '/x' } });
      const dead = await eventually(async () => {
        const list = await heraldClient(h).call<{ kind: string; lastError: string | null }[]>('GET', `/herald/v1/deadLetters?subscriptionId=${s.subscription.id}`);
        return list[0];
      }, 15_000, 'the refused confirmation in the dead letters');
      assert.equal(dead.kind, 'CONFIRMATION');
      assert.match(String(dead.lastError), /private|loopback|forbidden|not allowed/i);
      assert.equal(rx.requests.length, 0);
    } finally {
      await rx.stop();
      await h.stop();
    }
  });
});
