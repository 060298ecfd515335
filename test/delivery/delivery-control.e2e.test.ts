import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/api/auth/signature.js';
import { OPERATIONS_TOPIC } from '../../src/core/operations-events.js';
import { eventually } from '../helpers/eventually.js';
import { deliveryIn, messagesAt } from '../helpers/delivery-state.js';
import { KINDS, metricValue, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, send, type SignedCaller } from '../helpers/oci.js';
import { confirming, Receiver } from '../helpers/receiver.js';
import { addTenancy } from '../helpers/tenancies.js';

interface HealthWire {
  state: string;
  since: string | null;
  timeFailingSince: string | null;
  timeDisabled: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastFailure: { time: string; statusCode: number | null; error: string } | null;
  heldDeliveries: number;
  disableAfter: string;
}
interface OperationsEventWire {
  type: string;
  subscriptionId: string;
  topicId: string;
  endpoint: string;
  failingSince: string | null;
  consecutiveFailures: number;
  lastStatusCode: number | null;
  deliveries: number;
}

const messages = messagesAt;
const bodies = (rx: Receiver): string[] => messages(rx).map((r) => r.body);

for (const kind of KINDS) {
  describe(`delivery control: filter policies, endpoint health, replay, rate limits (${kind})`, () => {
    let h: TestHerald;
    let api: SignedCaller;
    let topicId: string;
    const receivers: Receiver[] = [];
    before(async () => {
      // A subscription is disabled after 2 s without a success; retries run a thousand times faster than OCI's.
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, retryTimeScale: '0.001', deliveryTimeoutMs: '2000', endpointDisableAfter: '2s' });
      api = heraldClient(h);
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'shop', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      for (const r of receivers) await r.stop();
      await h.stop();
    });

    async function receiver(respond = confirming()): Promise<Receiver> {
      const rx = await new Receiver(respond).start();
      receivers.push(rx);
      return rx;
    }

    /** A CUSTOM_HTTPS subscription to the receiver, confirmed through the handshake. */
    async function subscribe(rx: Receiver, onTopic = topicId): Promise<string> {
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId: onTopic, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` } });
      const id = s.subscription.id;
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${id} ACTIVE`);
      return id;
    }

    async function publish(body: string): Promise<string> {
      return (await h.dp.publishMessage({ topicId, messageDetails: { body } })).publishResult.messageId;
    }

    const settled = (messageId: string, subscriptionId: string, states: string[]): Promise<{ state: string; attempts: number }> =>
      deliveryIn(api, messageId, subscriptionId, states);

    it('delivers only what a subscription\'s filter policy passes, shows the rest FILTERED, and applies changes at once', async () => {
      const rxA = await receiver();
      const rxB = await receiver();
      const a = await subscribe(rxA);
      await subscribe(rxB);
      const base = `/herald/v1/subscriptions/${a}/filterPolicy`;

      // Invalid policies are refused with a reason, OCI-shaped.
      for (const [policy, reason] of [
        [{ type: 'order' }, /object or an array/],
        [{ a: ['1'], b: ['2'], c: ['3'], d: ['4'], e: ['5'], f: ['6'] }, /more than 5 keys/],
        [{ total: [{ numeric: ['>', 10, '<', 5] }] }, /Bottom must be less than top/],
        [{ type: [{ wildcard: 'x*' }] }, /wildcard/],
      ] as const) {
        const res = await api.raw('PUT', base, JSON.stringify({ filterPolicy: policy }));
        assert.equal(res.status, 400, res.text);
        assert.equal(res.json.code, 'InvalidParameter');
        assert.match(String(res.json.message), reason);
        assert.ok(res.headers['opc-request-id']);
      }
      assert.deepEqual(await api.call('GET', base), { subscriptionId: a, filterPolicy: null });

      const policy = { type: ['order'], total: [{ numeric: ['>=', 100] }] };
      const put = await api.raw('PUT', base, JSON.stringify({ filterPolicy: policy }));
      assert.equal(put.status, 200, put.text);
      assert.ok(put.headers.etag);
      assert.deepEqual(await api.call('GET', base), { subscriptionId: a, filterPolicy: policy });

      const sent = ['{"type":"order","total":150}', '{"type":"order","total":5}', 'plain text', '{"type":"refund","total":500}'];
      const ids: string[] = [];
      for (const body of sent) ids.push(await publish(body));
      await rxB.waitFor((r) => r.filter((x) => x.headers['x-oci-ns-confirmationurl'] === undefined).length === 4, 20_000, 'all four at the unfiltered subscription');
      assert.deepEqual((await settled(ids[0]!, a, ['DELIVERED', 'FILTERED'])).state, 'DELIVERED');
      for (const id of ids.slice(1)) {
        const d = await settled(id, a, ['DELIVERED', 'FILTERED']);
        assert.deepEqual([d.state, d.attempts], ['FILTERED', 0], id);
      }
      assert.deepEqual(bodies(rxA), [sent[0]]);
      const text = await (await fetch(`${h.herald.url}/metrics`)).text();
      const filtered = /^herald_deliveries_finished_total\{protocol="CUSTOM_HTTPS",state="FILTERED"\} (\d+)$/m.exec(text);
      assert.ok(filtered !== null && Number(filtered[1]) >= 3, `FILTERED in /metrics: ${filtered?.[0] ?? 'absent'}`);

      // The console's test box answers with the same evaluation.
      assert.deepEqual(await api.call('POST', '/herald/v1/filterPolicy/actions/test', { filterPolicy: policy, message: sent[0] }), { matches: true });
      assert.deepEqual(await api.call('POST', '/herald/v1/filterPolicy/actions/test', { filterPolicy: policy, message: sent[2] }), { matches: false });

      // Removed: the next message goes out whatever it holds.
      assert.equal((await api.raw('DELETE', base)).status, 204);
      assert.deepEqual(await api.call('GET', base), { subscriptionId: a, filterPolicy: null });
      await publish('{"type":"refund","total":1}');
      await rxA.waitFor((r) => r.some((x) => x.body === '{"type":"refund","total":1}'), 20_000, 'the refund after the policy was removed');
      await rxB.waitFor((r) => r.some((x) => x.body === '{"type":"refund","total":1}'), 20_000, 'the refund at the unfiltered subscription');
    });

    it('holds a rate-limited subscription to its rate, retries and all, and leaves the others alone', async () => {
      const rxC = await receiver();
      const rxD = await receiver();
      const c = await subscribe(rxC);
      await subscribe(rxD);
      const base = `/herald/v1/subscriptions/${c}/rateLimit`;
      for (const bad of [0, -1, 2.5, '4', 10_001]) {
        const res = await api.raw('PUT', base, JSON.stringify({ perSecond: bad }));
        assert.equal(res.status, 400, `perSecond ${String(bad)}: ${res.text}`);
        assert.equal(res.json.code, 'InvalidParameter');
      }
      assert.deepEqual(await api.call('PUT', base, { perSecond: 4 }), { subscriptionId: c, perSecond: 4 });
      assert.deepEqual(await api.call('GET', base), { subscriptionId: c, perSecond: 4 });

      const start = Date.now();
      for (let i = 0; i < 12; i++) await publish(`rate ${i}`);
      await rxC.waitFor((r) => r.filter((x) => x.body.startsWith('rate ')).length === 12, 30_000, 'all 12 at the limited subscription');
      await rxD.waitFor((r) => r.filter((x) => x.body.startsWith('rate ')).length === 12, 30_000, 'all 12 at the unlimited subscription');
      // A bucket of 4 refilled at 4/s: the k-th delivery cannot start before (k - 4) / 4 s after the first
      // publish, however slow the machine (a slow machine only makes them later).
      const arrivals = messages(rxC).filter((r) => r.body.startsWith('rate ')).map((r) => r.at).sort((x, y) => x - y);
      arrivals.forEach((at, i) => {
        const earliest = start + ((i + 1 - 4) / 4) * 1000;
        assert.ok(at >= earliest - 2, `delivery ${i + 1} arrived ${at - start} ms after the first publish; the limit allows it from ${earliest - start} ms`);
      });

      assert.equal((await api.raw('DELETE', base)).status, 204);
      assert.deepEqual(await api.call('GET', base), { subscriptionId: c, perSecond: null });
    });

    it('disables an endpoint failing for longer than the window, holds its deliveries, tells herald-operations, and delivers them on enable', async () => {
      // The operations topic is made at bootstrap in the root compartment.
      const ops = (await h.cp.listTopics({ compartmentId: h.tenancyId, name: OPERATIONS_TOPIC })).items;
      assert.equal(ops.length, 1);
      const rxOps = await receiver();
      await subscribe(rxOps, ops[0]!.topicId);
      const events = (): OperationsEventWire[] => bodies(rxOps).map((b) => JSON.parse(b) as OperationsEventWire);

      let failing = true;
      const rxE = await receiver(confirming(() => (failing ? { status: 500, body: 'down for maintenance' } : { status: 200, body: 'ok' })));
      const e = await subscribe(rxE);
      const healthOf = (): Promise<HealthWire> => api.call<HealthWire>('GET', `/herald/v1/subscriptions/${e}/health`);
      assert.equal((await healthOf()).state, 'HEALTHY');

      const first = await publish('before the outage ends');
      const failingHealth = await eventually(async () => {
        const hw = await healthOf();
        return hw.state !== 'HEALTHY' ? hw : undefined;
      }, 20_000, 'the endpoint FAILING');
      assert.ok(failingHealth.consecutiveFailures >= 1);
      assert.equal(failingHealth.lastFailure?.statusCode, 500);
      assert.ok(failingHealth.timeFailingSince);
      assert.equal(failingHealth.disableAfter, '2s');

      const disabled = await eventually(async () => {
        const hw = await healthOf();
        return hw.state === 'DISABLED' ? hw : undefined;
      }, 30_000, 'the endpoint DISABLED');
      assert.ok(Date.parse(disabled.timeDisabled!) - Date.parse(disabled.timeFailingSince!) >= 2000, JSON.stringify(disabled));
      assert.equal(disabled.since, disabled.timeDisabled);
      await settled(first, e, ['HELD']);

      await rxOps.waitFor(() => events().some((x) => x.type === 'subscription.disabled'), 20_000, 'the subscription.disabled event');
      const off = events().find((x) => x.type === 'subscription.disabled')!;
      assert.equal(off.subscriptionId, e);
      assert.equal(off.topicId, topicId);
      assert.equal(off.endpoint, `${rxE.url}/…`);
      assert.equal(off.lastStatusCode, 500);
      assert.equal(off.failingSince, disabled.timeFailingSince);
      assert.ok(off.deliveries >= 1);

      // While disabled, a new message is held: never attempted, not lost.
      const tried = messages(rxE).length;
      const second = await publish('during the outage');
      assert.equal((await settled(second, e, ['HELD'])).attempts, 0);
      assert.equal(messages(rxE).length, tried);
      assert.equal((await healthOf()).heldDeliveries, 2);
      assert.ok(((await metricValue(h.herald.url, 'herald_subscriptions_disabled_total')) ?? 0) >= 1);
      await eventually(async () => ((await metricValue(h.herald.url, 'herald_deliveries_held')) ?? 0) >= 2, 10_000, 'herald_deliveries_held to count the two');

      failing = false;
      const enabled = await api.call<HealthWire>('POST', `/herald/v1/subscriptions/${e}/actions/enable`);
      assert.deepEqual([enabled.state, enabled.timeFailingSince, enabled.timeDisabled, enabled.consecutiveFailures, enabled.heldDeliveries], ['HEALTHY', null, null, 0, 0]);
      await rxE.waitFor((r) => r.some((x) => x.body === 'during the outage') && r.some((x) => x.body === 'before the outage ends' && r.indexOf(x) >= tried), 20_000, 'both held messages after enable');
      await settled(first, e, ['DELIVERED']);
      await settled(second, e, ['DELIVERED']);
      await rxOps.waitFor(() => events().some((x) => x.type === 'subscription.enabled'), 20_000, 'the subscription.enabled event');
      const on = events().find((x) => x.type === 'subscription.enabled')!;
      assert.equal(on.subscriptionId, e);
      assert.equal(on.deliveries, 2);
      // Enabling what is enabled is a no-op answer.
      assert.equal((await api.call<HealthWire>('POST', `/herald/v1/subscriptions/${e}/actions/enable`)).state, 'HEALTHY');
    });

    it('cancels the held deliveries of a disabled subscription that is deleted, so retention can prune their messages', async () => {
      const rxG = await receiver(confirming(() => ({ status: 503, body: 'gone for good' })));
      const g = await subscribe(rxG);
      const id = await publish('to an endpoint that never recovers');
      await eventually(async () => (await api.call<HealthWire>('GET', `/herald/v1/subscriptions/${g}/health`)).state === 'DISABLED', 30_000, 'the endpoint DISABLED');
      await settled(id, g, ['HELD']);
      await h.dp.deleteSubscription({ subscriptionId: g });
      const cancelled = await settled(id, g, ['CANCELLED']);
      assert.equal(cancelled.state, 'CANCELLED');
    });

    it('replays retained messages of a window through the current filter policy, with their message ids', async () => {
      const rxF = await receiver();
      const f = await subscribe(rxF);
      const since = new Date(Date.now() - 1000).toISOString();
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await publish(JSON.stringify({ n })));
      await rxF.waitFor((r) => r.filter((x) => x.body.startsWith('{"n"')).length === 3, 20_000, 'the first three deliveries');
      const firstIds = messages(rxF).filter((x) => x.body.startsWith('{"n"')).map((x) => x.headers['x-oci-ns-messageid']);
      assert.deepEqual([...firstIds].sort(), [...ids].sort());
      // Received is not yet recorded: a replay skips a message whose delivery is still in flight.
      for (const id of ids) await settled(id, f, ['DELIVERED']);

      await api.call('PUT', `/herald/v1/subscriptions/${f}/filterPolicy`, { filterPolicy: { n: [{ numeric: ['>=', 2] }] } });
      const res = await api.raw('POST', `/herald/v1/subscriptions/${f}/actions/replay`, JSON.stringify({ since }));
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.json, { replayed: 2 });
      await rxF.waitFor((r) => r.filter((x) => x.body.startsWith('{"n"')).length === 5, 20_000, 'the two replayed deliveries');
      const again = messages(rxF).filter((x) => x.body.startsWith('{"n"')).slice(3);
      assert.deepEqual(again.map((x) => x.body).sort(), ['{"n":2}', '{"n":3}']);
      assert.deepEqual(again.map((x) => x.headers['x-oci-ns-messageid']).sort(), [ids[1], ids[2]].sort());

      // A window of nothing replays nothing; bad windows are refused with the reason.
      assert.deepEqual(await api.call('POST', `/herald/v1/subscriptions/${f}/actions/replay`, { since: new Date(Date.now() - 60_000).toISOString(), until: since }), { replayed: 0 });
      for (const [body, reason] of [
        [{}, /since/],
        [{ since: 'yesterday' }, /not an RFC 3339 time|must be an RFC 3339/],
        [{ since, until: since }, /earlier than until/],
        [{ since: new Date(Date.now() - 8 * 86_400_000).toISOString() }, /retention/],
        [{ since, extra: 1 }, /extra|Unrecognized/i],
      ] as const) {
        const bad = await api.raw('POST', `/herald/v1/subscriptions/${f}/actions/replay`, JSON.stringify(body));
        assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
        assert.match(String(bad.json.message), reason);
      }
    });

    it('keeps every control to its own tenancy and refuses unsigned calls', async () => {
      const rx = await receiver();
      const mine = await subscribe(rx);
      const other = await addTenancy(h.herald.store, `other-${kind}`);
      const keyId = `${other.tenancyId}/${other.userId}/${other.fingerprint}`;
      const as = async (method: string, path: string, body?: unknown) => {
        const url = new URL(h.herald.url + path);
        const text = body === undefined ? undefined : JSON.stringify(body);
        const headers = signRequest({ method, url, headers: { 'content-type': 'application/json' }, body: text, keyId, privateKeyPem: other.privateKeyPem });
        return send(url, method, headers, text);
      };
      for (const [method, path, body] of [
        ['GET', `/herald/v1/subscriptions/${mine}/filterPolicy`, undefined],
        ['PUT', `/herald/v1/subscriptions/${mine}/filterPolicy`, { filterPolicy: { a: ['b'] } }],
        ['PUT', `/herald/v1/subscriptions/${mine}/rateLimit`, { perSecond: 1 }],
        ['GET', `/herald/v1/subscriptions/${mine}/health`, undefined],
        ['POST', `/herald/v1/subscriptions/${mine}/actions/enable`, undefined],
        ['POST', `/herald/v1/subscriptions/${mine}/actions/replay`, { since: new Date().toISOString() }],
      ] as const) {
        const res = await as(method, path, body);
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.json.code, 'NotAuthorizedOrNotFound');
      }
      // Nothing changed.
      assert.deepEqual(await api.call('GET', `/herald/v1/subscriptions/${mine}/filterPolicy`), { subscriptionId: mine, filterPolicy: null });
      const unsigned = await send(new URL(`${h.herald.url}/herald/v1/subscriptions/${mine}/health`), 'GET', {});
      assert.equal(unsigned.status, 401);
      assert.equal(unsigned.json.code, 'NotAuthenticated');
    });
  });
}
