import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as fnsdk from 'oci-functions';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli } from '../helpers/process.js';
import { eventually } from '../helpers/eventually.js';
import { Receiver } from '../helpers/receiver.js';
import { vendorPackage } from '../helpers/vendor.js';

/** A user's function folder: func.yaml, a handler written with the official FDK, and its node_modules. */
async function writeFunction(dir: string, name: string, source: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'func.yaml'),
    `schema_version: 20180708\nname: ${name}\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\nmemory: 128\ntimeout: 10\nconfig:\n  GREETING: from-func-yaml\n`,
  );
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.1', type: 'commonjs', dependencies: { '@fnproject/fdk': '*' } }));
  await writeFile(join(dir, 'func.js'), source);
  await vendorPackage('@fnproject/fdk', dir);
}

const LABEL_FN = `const fdk = require('@fnproject/fdk');
fdk.handle(function (input, ctx) {
  return { label: 'LABEL-' + input.orderId, greeting: ctx.config.GREETING, messageId: ctx.headers['X-Oci-Ns-Messageid'] || null };
});
`;

// Fails on its first two calls, then succeeds. Each call reports itself to a counter server on the
// host (the sandbox gives the function no file it could keep a count in across processes).
const FLAKY_FN = `const fdk = require('@fnproject/fdk');
const http = require('http');
function record(url, input) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(Number(text)));
    });
    req.on('error', reject);
    req.end(JSON.stringify(input));
  });
}
fdk.handle(async function (input, ctx) {
  const n = await record(ctx.config.COUNTER_URL, input);
  if (n <= 2) throw new Error('temporary failure ' + n);
  return { ok: true, call: n };
});
`;

for (const kind of KINDS) {
  describe(`functions: deploy with the CLI, manage and invoke with oci-functions, run from a topic (${kind})`, () => {
    let h: TestHerald;
    let work: string;
    let mgmt: fnsdk.FunctionsManagementClient;
    let inv: fnsdk.FunctionsInvokeClient;
    before(async () => {
      h = await startTestHerald(kind, { retryTimeScale: '0.001' });
      work = await mkdtemp(join(tmpdir(), 'herald-fn-'));
      mgmt = new fnsdk.FunctionsManagementClient({ authenticationDetailsProvider: h.provider });
      mgmt.endpoint = h.herald.url;
      inv = new fnsdk.FunctionsInvokeClient({ authenticationDetailsProvider: h.provider });
    });
    after(async () => {
      mgmt.close();
      inv.close();
      await h.stop();
      await rm(work, { recursive: true, force: true });
    });

    it('deploys an FDK function, updates its config and invokes it sync and detached', async () => {
      assert.equal((await cli(h, ['app', 'create', '--name', 'shop'])).code, 0);
      await writeFunction(join(work, 'label'), 'shipping-label', LABEL_FN);
      const deployed = await cli(h, ['fn', 'deploy', join(work, 'label'), '--app', 'shop', '--output', 'json']);
      assert.equal(deployed.code, 0, deployed.stderr);
      const fn = JSON.parse(deployed.stdout) as { id: string; invokeEndpoint: string };
      assert.match(fn.id, /^ocid1\.fnfunc\./);

      const got = await mgmt.getFunction({ functionId: fn.id });
      assert.equal(got.function.displayName, 'shipping-label');
      assert.equal(got.function.config?.GREETING, 'from-func-yaml');
      inv.endpoint = got.function.invokeEndpoint!;
      const first = await inv.invokeFunction({ functionId: fn.id, invokeFunctionBody: JSON.stringify({ orderId: 42 }) });
      assert.deepEqual(JSON.parse(await new Response(first.value as ReadableStream).text()), { label: 'LABEL-42', greeting: 'from-func-yaml', messageId: null });

      await mgmt.updateFunction({ functionId: fn.id, updateFunctionDetails: { config: { GREETING: 'updated' } }, ifMatch: got.etag });
      const second = await inv.invokeFunction({ functionId: fn.id, invokeFunctionBody: JSON.stringify({ orderId: 43 }) });
      assert.equal((JSON.parse(await new Response(second.value as ReadableStream).text()) as { greeting: string }).greeting, 'updated');

      // The application's config reaches the next call as well, each time it changes (the function's own config, now
      // empty, no longer overrides it).
      const current = await mgmt.getFunction({ functionId: fn.id });
      await mgmt.updateFunction({ functionId: fn.id, updateFunctionDetails: { config: {} }, ifMatch: current.etag });
      for (const greeting of ['from-app', 'from-app-again']) {
        const app = await mgmt.getApplication({ applicationId: current.function.applicationId! });
        await mgmt.updateApplication({ applicationId: app.application.id!, updateApplicationDetails: { config: { GREETING: greeting } }, ifMatch: app.etag });
        const r = await inv.invokeFunction({ functionId: fn.id, invokeFunctionBody: JSON.stringify({ orderId: 45 }) });
        assert.equal((JSON.parse(await new Response(r.value as ReadableStream).text()) as { greeting: string }).greeting, greeting);
      }

      const detached = await inv.invokeFunction({ functionId: fn.id, invokeFunctionBody: JSON.stringify({ orderId: 44 }), fnInvokeType: fnsdk.requests.InvokeFunctionRequest.FnInvokeType.Detached });
      assert.ok(detached.opcRequestId);
      const logs = await eventually(async () => {
        const r = await cli(h, ['fn', 'logs', fn.id, '--output', 'json']);
        if (r.code !== 0) throw new Error(r.stderr);
        const rows = JSON.parse(r.stdout) as unknown[];
        return rows.length >= 3 ? rows : undefined;
      }, 15_000, 'three recorded calls');
      assert.ok(logs.length >= 3);
    });

    it('runs a function from an ORACLE_FUNCTIONS subscription, retrying it until it succeeds', async () => {
      await writeFunction(join(work, 'flaky'), 'flaky', FLAKY_FN);
      const deployed = await cli(h, ['fn', 'deploy', join(work, 'flaky'), '--app', 'shop', '--output', 'json']);
      assert.equal(deployed.code, 0, deployed.stderr);
      const fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
      // The receiver records a request before answering, so the count includes this call.
      const counter: Receiver = await new Receiver((r) => ({ status: 200, body: String(counter.requests.filter((x) => x.path === r.path).length) })).start();
      after(() => counter.stop());
      assert.equal((await cli(h, ['fn', 'config', '--fn', fnId, 'COUNTER_URL', `${counter.url}/calls`])).code, 0);

      const topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'OrderProcessing', compartmentId: h.tenancyId } })).notificationTopic.topicId;
      const sub = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'ORACLE_FUNCTIONS', endpoint: fnId } });
      assert.equal(sub.subscription.lifecycleState, 'ACTIVE');
      const body = JSON.stringify({ orderId: 'A-1', user: 'u-9' });
      const messageId = (await h.dp.publishMessage({ topicId, messageDetails: { title: 'New order', body } })).publishResult.messageId;

      const d = await eventually(async () => {
        const t = await heraldClient(h).call<{ deliveries: { state: string; attemptHistory: { outcome: string; statusCode: number | null }[] }[] }>('GET', `/herald/v1/messages/${messageId}`);
        return t.deliveries[0]?.state === 'DELIVERED' ? t.deliveries[0] : undefined;
      }, 30_000, 'the function delivery');
      assert.deepEqual(d.attemptHistory.map((a) => a.outcome), ['FAILURE', 'FAILURE', 'SUCCESS']);
      assert.equal(d.attemptHistory[0]?.statusCode, 502);
      assert.deepEqual(counter.requests.map((r) => JSON.parse(r.body) as unknown), [JSON.parse(body), JSON.parse(body), JSON.parse(body)]);
    });
  });
}
