import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INLINE_FANOUT } from '../../src/core/messages.js';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, type TestHerald } from '../helpers/herald.js';
import { attr, spansOf, startWithEnv, traceparentParts, type OtlpExport } from '../helpers/otlp.js';
import { confirming, Receiver, type Received } from '../helpers/receiver.js';
import { subscriptionFixture } from '../store/fixtures.js';

/** The receivers listen on loopback. */
const PRIVATE = { allowPrivateEndpoints: true };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const INCOMING = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

async function createTopic(h: TestHerald, name: string): Promise<string> {
  return (await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } })).notificationTopic.topicId;
}

async function subscribe(h: TestHerald, topicId: string, endpoint: string): Promise<void> {
  const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint } });
  const id = s.subscription.id;
  await eventually(async () => (await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${id} ACTIVE`);
}

async function publish(h: TestHerald, topicId: string, body: string, traceparent?: string): Promise<string> {
  const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body }), traceparent === undefined ? {} : { traceparent });
  assert.equal(res.status, 202, res.text);
  return String(res.json.messageId);
}

const deliveryOf = (rx: Receiver, messageId: string): Received | undefined => rx.requests.find((r) => r.headers['x-oci-ns-messageid'] === messageId);

for (const kind of KINDS) {
  describe(`OpenTelemetry tracing with an OTLP endpoint (${kind})`, () => {
    let h: TestHerald;
    let otlp: Receiver;
    let rx: Receiver;
    before(async () => {
      otlp = await new Receiver(() => ({ status: 200, body: '{}', headers: { 'content-type': 'application/json' } })).start();
      rx = await new Receiver(confirming()).start();
      h = await startWithEnv(kind, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
        OTEL_SERVICE_NAME: 'herald-e2e',
        // Export soon after each span ends rather than every 5 s (the test waits on what arrives, not on time).
        OTEL_BSP_SCHEDULE_DELAY: '20',
      }, PRIVATE);
    });
    after(async () => {
      await h.stop();
      await rx.stop();
      await otlp.stop();
    });

    it('continues the publisher\'s trace through the publish, its stored message and the webhook delivery', async () => {
      const topicId = await createTopic(h, 'traced-small');
      await subscribe(h, topicId, `${rx.url}/small`);
      const messageId = await publish(h, topicId, 'hello', INCOMING);

      // The webhook carries a traceparent of the publisher's trace: the attempt span's.
      await rx.waitFor(() => deliveryOf(rx, messageId) !== undefined, 15_000, 'the delivery');
      const sent = traceparentParts(deliveryOf(rx, messageId)!.headers.traceparent as string | undefined);
      assert.equal(sent.traceId, TRACE_ID);

      const spans = await eventually(() => {
        const all = spansOf(otlp).filter((s) => s.traceId === TRACE_ID);
        const pub = all.find((s) => s.name === 'publish' && attr(s, 'messaging.message.id') === messageId);
        const attempt = all.find((s) => s.name === 'deliver CUSTOM_HTTPS' && attr(s, 'messaging.message.id') === messageId);
        return pub !== undefined && attempt !== undefined && { pub, attempt };
      }, 15_000, 'the publish and attempt spans exported');
      // The publish span is a child of the caller's span; the attempt a child of the publish.
      assert.equal(spans.pub.parentSpanId, CALLER_SPAN);
      assert.equal(attr(spans.pub, 'messaging.destination.name'), topicId);
      assert.equal(spans.attempt.parentSpanId, spans.pub.spanId);
      assert.equal(spans.attempt.spanId, sent.spanId);
      assert.equal(attr(spans.attempt, 'http.response.status_code'), 200);
      assert.equal(attr(spans.attempt, 'herald.delivery.outcome'), 'SUCCESS');

      // The message carries the publish span's context durably, for whichever node delivers it.
      const stored = await h.herald.store.messages.getMessage(h.tenancyId, messageId);
      assert.equal(stored?.traceParent, `00-${TRACE_ID}-${spans.pub.spanId}-01`);

      const resource = otlp.requests.map((r) => (JSON.parse(r.body) as OtlpExport).resourceSpans[0]?.resource).find(Boolean);
      assert.equal(resource?.attributes.find((a) => a.key === 'service.name')?.value.stringValue, 'herald-e2e');
    });

    it('fans a big topic out under a child span of the publish, every attempt in the same trace', async () => {
      const topicId = await createTopic(h, 'traced-big');
      await subscribe(h, topicId, `${rx.url}/big/0`);
      // Enough subscriptions that the fan-out is left to the engine's loop rather than done in the publish.
      const topic = (await h.herald.store.topics.getTopic(h.tenancyId, topicId))!;
      for (let i = 1; i < INLINE_FANOUT; i++) {
        await h.herald.store.subscriptions.insertSubscription(
          subscriptionFixture(topic, { protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/big/${i}`, lifecycleState: 'ACTIVE', activatedAt: Date.now() - 1000 }),
        );
      }
      const messageId = await publish(h, topicId, 'to many', INCOMING);
      await rx.waitFor((r) => r.filter((x) => x.headers['x-oci-ns-messageid'] === messageId).length === INLINE_FANOUT, 30_000, 'every delivery');
      for (const r of rx.requests.filter((x) => x.headers['x-oci-ns-messageid'] === messageId)) assert.equal(traceparentParts(r.headers.traceparent as string).traceId, TRACE_ID);

      const { pub, fanout, attempts } = await eventually(() => {
        const all = spansOf(otlp).filter((s) => s.traceId === TRACE_ID && attr(s, 'messaging.message.id') === messageId);
        const attempts = all.filter((s) => s.name === 'deliver CUSTOM_HTTPS');
        const pub = all.find((s) => s.name === 'publish');
        const fanout = all.find((s) => s.name === 'fanout');
        return pub !== undefined && fanout !== undefined && attempts.length === INLINE_FANOUT && { pub, fanout, attempts };
      }, 30_000, 'the publish, fan-out and attempt spans exported');
      assert.equal(fanout.parentSpanId, pub.spanId);
      for (const a of attempts) assert.equal(a.parentSpanId, pub.spanId);
    });

    it('ignores an invalid traceparent: the publish succeeds and starts a trace of its own', async () => {
      const topicId = await createTopic(h, 'traced-invalid');
      await subscribe(h, topicId, `${rx.url}/invalid`);
      // Version ff is forbidden; the rest of it is well formed.
      const messageId = await publish(h, topicId, 'fresh', `ff-${TRACE_ID}-${CALLER_SPAN}-01`);
      await rx.waitFor(() => deliveryOf(rx, messageId) !== undefined, 15_000, 'the delivery');
      const sent = traceparentParts(deliveryOf(rx, messageId)!.headers.traceparent as string | undefined);
      assert.notEqual(sent.traceId, TRACE_ID);
      const pub = await eventually(() => spansOf(otlp).find((s) => s.name === 'publish' && attr(s, 'messaging.message.id') === messageId), 15_000, 'the publish span');
      assert.equal(pub.traceId, sent.traceId);
      assert.equal(pub.parentSpanId ?? '', '');
    });
  });

  describe(`tracing off without an OTLP endpoint (${kind})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      rx = await new Receiver(confirming()).start();
      h = await startWithEnv(kind, {}, PRIVATE);
      assert.equal(process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, undefined, 'the suite runs without OTEL endpoints');
    });
    after(async () => {
      await h.stop();
      await rx.stop();
    });

    it('sends no traceparent and stores none, even when the publisher sent one', async () => {
      const topicId = await createTopic(h, 'untraced');
      await subscribe(h, topicId, `${rx.url}/off`);
      const messageId = await publish(h, topicId, 'plain', INCOMING);
      await rx.waitFor(() => deliveryOf(rx, messageId) !== undefined, 15_000, 'the delivery');
      assert.equal(deliveryOf(rx, messageId)!.headers.traceparent, undefined);
      assert.ok(rx.requests.every((r) => r.headers.traceparent === undefined), 'not on the confirmation either');
      assert.equal((await h.herald.store.messages.getMessage(h.tenancyId, messageId))?.traceParent, null);
    });
  });
}
