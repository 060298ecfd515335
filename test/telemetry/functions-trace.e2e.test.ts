import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, type TestHerald } from '../helpers/herald.js';
import { attr, spansOf, startWithEnv, traceparentParts } from '../helpers/otlp.js';
import { cliFor as cli } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { vendorPackage } from '../helpers/vendor.js';

/** OTLP's SPAN_KIND_CLIENT. */
const CLIENT = 3;
const FN_NAME = 'trace-echo';

// The real Node FDK: answers with the traceparent header the call carried (ctx.getHeader reads the call's headers).
const TRACE_ECHO_FN = `const fdk = require('@fnproject/fdk');
fdk.handle(function (input, ctx) {
  return { traceparent: ctx.getHeader('traceparent') || null, input: input };
});
`;

interface TraceWire {
  deliveries: { protocol: string; state: string; attemptHistory: { outcome: string; statusCode: number | null; responseExcerpt: string | null }[] }[];
}

for (const kind of KINDS) {
  describe(`OpenTelemetry tracing through a real function in the sandbox (${kind})`, () => {
    let h: TestHerald;
    let otlp: Receiver;
    let work: string;
    let fnId: string;
    before(async () => {
      otlp = await new Receiver(() => ({ status: 200, body: '{}', headers: { 'content-type': 'application/json' } })).start();
      h = await startWithEnv(kind, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
        OTEL_SERVICE_NAME: 'herald-e2e',
        // Export soon after each span ends rather than every 5 s (the test waits on what arrives, not on time).
        OTEL_BSP_SCHEDULE_DELAY: '20',
      });
      work = await mkdtemp(join(tmpdir(), 'herald-fn-trace-'));
      const dir = join(work, FN_NAME);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'func.yaml'), `schema_version: 20180708\nname: ${FN_NAME}\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\nmemory: 128\ntimeout: 10\n`);
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: FN_NAME, version: '0.0.1', type: 'commonjs', dependencies: { '@fnproject/fdk': '*' } }));
      await writeFile(join(dir, 'func.js'), TRACE_ECHO_FN);
      await vendorPackage('@fnproject/fdk', dir);
      const app = await cli(h, ['app', 'create', '--name', 'traced']);
      assert.equal(app.code, 0, app.stderr);
      const deployed = await cli(h, ['fn', 'deploy', dir, '--app', 'traced', '--output', 'json']);
      assert.equal(deployed.code, 0, deployed.stderr);
      fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
    });
    after(async () => {
      await h?.stop();
      await otlp?.stop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    it('continues the publisher\'s trace into an ORACLE_FUNCTIONS delivery: publish → deliver → invoke → the function', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpan = '00f067aa0ba902b7';
      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'traced-fn', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      const sub = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'ORACLE_FUNCTIONS', endpoint: fnId } });
      assert.equal(sub.subscription.lifecycleState, 'ACTIVE');
      const res = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: '{"orderId":7}' }), {
        traceparent: `00-${traceId}-${callerSpan}-01`,
      });
      assert.equal(res.status, 202, res.text);
      const messageId = String(res.json.messageId);

      // What the function answered, as the message trace recorded it.
      const delivery = await eventually(async () => {
        const t = await heraldClient(h).call<TraceWire>('GET', `/herald/v1/messages/${messageId}`);
        return t.deliveries[0]?.state === 'DELIVERED' ? t.deliveries[0] : undefined;
      }, 30_000, 'the function delivery');
      assert.equal(delivery.protocol, 'ORACLE_FUNCTIONS');
      assert.deepEqual(delivery.attemptHistory.map((a) => a.outcome), ['SUCCESS']);
      const answer = JSON.parse(delivery.attemptHistory[0]!.responseExcerpt ?? 'null') as { traceparent: unknown; input: unknown };
      assert.deepEqual(answer.input, { orderId: 7 });
      const seen = traceparentParts(answer.traceparent);
      assert.equal(seen.traceId, traceId, 'the function saw the publisher\'s trace');

      const { pub, attempt, invoke } = await eventually(() => {
        const all = spansOf(otlp).filter((s) => s.traceId === traceId);
        const pub = all.find((s) => s.name === 'publish' && attr(s, 'messaging.message.id') === messageId);
        const attempt = all.find((s) => s.name === 'deliver ORACLE_FUNCTIONS' && attr(s, 'messaging.message.id') === messageId);
        const invoke = all.find((s) => s.spanId === seen.spanId);
        return pub !== undefined && attempt !== undefined && invoke !== undefined && { pub, attempt, invoke };
      }, 15_000, 'the publish, attempt and invoke spans exported');
      // The function was handed the invoke span's own context, and the chain runs back to the caller's span.
      assert.equal(invoke.name, `invoke ${FN_NAME}`);
      assert.equal(invoke.kind, CLIENT);
      assert.equal(attr(invoke, 'faas.invoked_name'), FN_NAME);
      assert.equal(attr(invoke, 'herald.function.id'), fnId);
      assert.equal(attr(invoke, 'herald.function.status'), 200);
      assert.equal(invoke.parentSpanId, attempt.spanId);
      assert.equal(attempt.parentSpanId, pub.spanId);
      assert.equal(pub.parentSpanId, callerSpan);
      assert.equal(attr(attempt, 'herald.delivery.outcome'), 'SUCCESS');
    });

    it('continues the caller\'s trace through the invoke API into the function', async () => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const callerSpan = 'b7ad6b7169203331';
      const res = await heraldClient(h).raw('POST', `/20181201/functions/${fnId}/actions/invoke`, JSON.stringify({ direct: true }), {
        traceparent: `00-${traceId}-${callerSpan}-01`,
      });
      assert.equal(res.status, 200, res.text);
      const answer = JSON.parse(res.text) as { traceparent: unknown; input: unknown };
      assert.deepEqual(answer.input, { direct: true });
      const seen = traceparentParts(answer.traceparent);
      assert.equal(seen.traceId, traceId, 'the function saw the caller\'s trace');
      assert.notEqual(seen.spanId, callerSpan, 'the function is handed the invoke span, not the caller\'s');

      const invoke = await eventually(() => spansOf(otlp).find((s) => s.traceId === traceId && s.spanId === seen.spanId), 15_000, 'the invoke span exported');
      assert.equal(invoke.name, `invoke ${FN_NAME}`);
      assert.equal(invoke.parentSpanId, callerSpan);
      assert.equal(attr(invoke, 'faas.invoked_name'), FN_NAME);
      assert.equal(attr(invoke, 'herald.function.id'), fnId);
    });
  });
}
