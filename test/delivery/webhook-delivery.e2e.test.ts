import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually, Receiver, type Received } from '../helpers/receiver.js';

interface Trace {
  deliveries: { subscriptionId: string; state: string; attempts: number; timeNextAttempt: string | null; attemptHistory: { outcome: string; statusCode: number | null; error: string | null }[] }[];
}

/** A receiver that performs OCI's confirmation handshake the way real ones do: GET the X-OCI-NS-ConfirmationURL. */
function confirmingReceiver(onMessage: (r: Received) => { status: number; body?: string; headers?: Record<string, string> } = () => ({ status: 200 })): Receiver {
  return new Receiver(async (r) => {
    const url = r.headers['x-oci-ns-confirmationurl'];
    if (typeof url === 'string') {
      const res = await fetch(url);
      await res.text();
      return { status: 200 };
    }
    return onMessage(r);
  });
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
      const rx = await confirmingReceiver().start();
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

        await new Promise((r) => setTimeout(r, 300));
        assert.equal(pendingRx.requests.length, 1, 'a PENDING subscription receives only its confirmation');
        assert.equal((await h.dp.getSubscription({ subscriptionId: pendingId })).subscription.lifecycleState, 'PENDING');

        const trace = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
        const mine = trace.deliveries.find((d) => d.subscriptionId === id)!;
        assert.equal(mine.state, 'DELIVERED');
        assert.equal(mine.attemptHistory[0]?.statusCode, 200);
        assert.equal(trace.deliveries.some((d) => d.subscriptionId === pendingId), false);

        // The unsubscribe link in every delivery works.
        const res = await fetch(unsubscribeUrl);
        assert.equal(res.status, 200);
        assert.equal((await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState, 'DELETED');
      } finally {
        await rx.stop();
        await pendingRx.stop();
      }
    });

    it('retries a failing receiver with the same message id until it recovers', async () => {
      let failures = 0;
      const rx = await confirmingReceiver(() => (failures++ < 3 ? { status: 503, body: 'busy' } : { status: 200 })).start();
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
      } finally {
        await rx.stop();
      }
    });

    it('turns a never-recovering delivery into a dead letter once the window closes, and re-drives it', async () => {
      let healthy = false;
      const rx = await confirmingReceiver(() => (healthy ? { status: 204 } : { status: 500, body: 'down' })).start();
      try {
        const id = await subscribe(rx, '/down');
        await active(id);
        // 5 minutes at a time scale of 0.001 is a 300 ms window.
        await h.dp.updateSubscription({ subscriptionId: id, updateSubscriptionDetails: { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: 300_000, policyType: 'EXPONENTIAL' as never } } } });
        const pub = await h.dp.publishMessage({ topicId, messageDetails: { body: 'doomed' } });
        const messageId = pub.publishResult.messageId;
        const dead = await eventually(async () => {
          const list = await heraldClient(h).call<{ id: string; messageId: string; state: string; lastError: string | null }[]>('GET', `/herald/v1/deadLetters?subscriptionId=${id}`);
          return list.find((d) => d.messageId === messageId);
        }, 20_000, 'a dead letter');
        assert.equal(dead.state, 'DEAD');
        const trace = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
        const d = trace.deliveries.find((x) => x.subscriptionId === id)!;
        assert.ok(d.attempts >= 2, `several attempts were made (${d.attempts})`);
        assert.ok(d.attemptHistory.every((a) => a.statusCode === 500));

        healthy = true;
        const res = await heraldClient(h).call<{ redriven: number }>('POST', '/herald/v1/deadLetters/actions/redrive', { deliveryIds: [dead.id] });
        assert.equal(res.redriven, 1);
        await eventually(async () => {
          const t = await heraldClient(h).call<Trace>('GET', `/herald/v1/messages/${messageId}`);
          return t.deliveries.find((x) => x.subscriptionId === id)?.state === 'DELIVERED';
        }, 15_000, 'the re-driven delivery');
        assert.ok(rx.requests.some((x) => x.headers['x-oci-ns-messageid'] === messageId && x.path === '/down'));
        const left = await heraldClient(h).call<unknown[]>('GET', `/herald/v1/deadLetters?subscriptionId=${id}`);
        assert.equal(left.length, 0);
      } finally {
        await rx.stop();
      }
    });

    it('sends a 4xx answer straight to the dead letters without retrying', async () => {
      const rx = await confirmingReceiver(() => ({ status: 400, body: '{"error":"bad payload"}' })).start();
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
