import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../src/api/auth/signature.js';
import { OPERATIONS_TOPIC } from '../../src/core/operations-events.js';
import { webhookSignature } from '../../src/delivery/protocols/custom-https.js';
import { eventually } from '../helpers/eventually.js';
import { deliveryIn, messagesAt } from '../helpers/delivery-state.js';
import { KINDS, metricValue, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, send, type RawResponse, type SignedCaller } from '../helpers/oci.js';
import { withPg } from '../helpers/pg.js';
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
  time: string;
  subscriptionId: string;
  topicId: string;
  protocol: string;
  endpoint: string;
  failingSince: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastStatusCode: number | null;
  deliveries: number;
  reason: string;
}

/**
 * Asserts that arrivals (epoch ms, any order) keep to a token bucket of `perSecond` tokens, refilled at
 * `perSecond` a second, that was full at `from`: the k-th arrival comes no earlier than from + (k - N) / N s,
 * and no window between two arrivals holds more than N + N x its length. Lower bounds on time only: a busy
 * machine makes arrivals later, never earlier. Between two arrivals, the latency from taking a token to the
 * request reaching the receiver varies; one token's interval of slack absorbs that, while an unlimited
 * burst (a retry sent the moment its first attempt failed) still breaks the bound.
 */
function assertPaced(arrivals: readonly number[], perSecond: number, from: number, what: string): void {
  const at = [...arrivals].sort((x, y) => x - y);
  const interval = 1000 / perSecond;
  at.forEach((t, i) => {
    const earliest = from + (i + 1 - perSecond) * interval;
    assert.ok(t >= earliest - 2, `${what}: arrival ${i + 1} came ${t - from} ms after the start; ${perSecond}/s allows it from ${earliest - from} ms`);
  });
  for (let i = 0; i < at.length; i++) {
    for (let j = i + 1; j < at.length; j++) {
      const count = j - i + 1;
      const span = at[j]! - at[i]!;
      const least = (count - perSecond) * interval;
      assert.ok(span >= least - interval, `${what}: arrivals ${i + 1}..${j + 1} (${count}) within ${span} ms; ${perSecond}/s allows ${count} only over ${least} ms`);
    }
  }
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
    async function subscribe(rx: Receiver, onTopic = topicId, path = '/hook'): Promise<string> {
      const s = await h.dp.createSubscription({ createSubscriptionDetails: { topicId: onTopic, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}${path}` } });
      const id = s.subscription.id;
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${id} ACTIVE`);
      return id;
    }

    async function publish(body: string, onTopic = topicId): Promise<string> {
      return (await h.dp.publishMessage({ topicId: onTopic, messageDetails: { body } })).publishResult.messageId;
    }

    /** A topic of the test's own, so that a replay window holds only the test's messages. */
    async function newTopic(name: string): Promise<string> {
      return (await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } })).notificationTopic.topicId;
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
      // A secret in the endpoint's query string must not reach the operations topic.
      const e = await subscribe(rxE, topicId, '/hook?token=s3cret-in-query');
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
      // When: the moment it was disabled (as health shows it), an ISO time at least the window after the first failure.
      assert.match(off.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(off.time, disabled.timeDisabled);
      assert.ok(Date.parse(off.time) - Date.parse(off.failingSince!) >= 2000, `${off.failingSince} -> ${off.time}`);
      assert.ok(Date.parse(off.time) <= Date.now());
      // Why: the receiver's last answer, as health reports it.
      assert.equal(off.lastError, 'HTTP 500 Internal Server Error');
      assert.equal(off.lastError, disabled.lastError);
      assert.deepEqual([off.protocol, off.reason], ['CUSTOM_HTTPS', 'no-success-within-window']);
      assert.ok(off.consecutiveFailures >= 1);
      assert.ok(!rxOps.requests.some((r) => r.body.includes('s3cret')), 'the endpoint\'s query string reached herald-operations');

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
      assert.ok(Date.parse(on.time) >= Date.parse(off.time), `enabled ${on.time} before disabled ${off.time}`);
      assert.equal(on.endpoint, `${rxE.url}/…`);
      // Enabling what is enabled is a no-op answer.
      assert.equal((await api.call<HealthWire>('POST', `/herald/v1/subscriptions/${e}/actions/enable`)).state, 'HEALTHY');
    });

    it('releases the held deliveries of a re-enabled subscription oldest first and no faster than its rate limit', async () => {
      let failing = true;
      const rx = await receiver(confirming(() => (failing ? { status: 500, body: 'down' } : { status: 200, body: 'ok' })));
      const s = await subscribe(rx);
      // One a second: the release's order is then the order of the tokens, which are a second apart.
      const perSecond = 1;
      assert.deepEqual(await api.call('PUT', `/herald/v1/subscriptions/${s}/rateLimit`, { perSecond }), { subscriptionId: s, perSecond });
      const healthOf = (): Promise<HealthWire> => api.call<HealthWire>('GET', `/herald/v1/subscriptions/${s}/health`);

      const ids = [await publish('held 0')];
      await eventually(async () => (await healthOf()).state === 'DISABLED', 30_000, 'the endpoint DISABLED');
      for (const n of [1, 2, 3]) ids.push(await publish(`held ${n}`));
      for (const id of ids) await settled(id, s, ['HELD']);
      assert.equal((await healthOf()).heldDeliveries, ids.length);
      // Held deliveries make no attempts: everything the receiver got so far is the first message failing.
      const before = messages(rx).length;
      assert.ok(messages(rx).every((r) => r.body === 'held 0'));

      failing = false;
      const enabledAt = Date.now();
      const enabled = await api.call<HealthWire>('POST', `/herald/v1/subscriptions/${s}/actions/enable`);
      assert.deepEqual([enabled.state, enabled.heldDeliveries], ['HEALTHY', 0]);
      await rx.waitFor((r) => r.filter((x) => x.headers['x-oci-ns-confirmationurl'] === undefined).length >= before + ids.length, 30_000, 'the held deliveries after enable');
      for (const id of ids) await settled(id, s, ['DELIVERED']);
      const released = messages(rx).slice(before);
      assert.deepEqual(released.map((r) => r.body), ['held 0', 'held 1', 'held 2', 'held 3'], 'released in the order they were published');
      assert.deepEqual(released.map((r) => r.headers['x-oci-ns-messageid']), ids);
      assertPaced(released.map((r) => r.at), perSecond, enabledAt, 'held deliveries released by enable');
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

    it('refuses a replay to a subscription that is not ACTIVE with 409 IncorrectState', async () => {
      // A receiver that never follows the confirmation URL: the subscription stays PENDING.
      const rx = await receiver(() => ({ status: 200, body: 'ok' }));
      const p = (await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` } })).subscription.id;
      await rx.waitFor((r) => r.some((x) => x.headers['x-oci-ns-confirmationurl'] !== undefined), 20_000, 'the confirmation request');
      assert.equal((await h.dp.getSubscription({ subscriptionId: p })).subscription.lifecycleState, 'PENDING');
      const since = new Date(Date.now() - 60_000).toISOString();
      const pending = await api.raw('POST', `/herald/v1/subscriptions/${p}/actions/replay`, JSON.stringify({ since }));
      assert.equal(pending.status, 409, pending.text);
      assert.equal(pending.json.code, 'IncorrectState');
      assert.equal(pending.json.message, `Subscription ${p} is PENDING; only an ACTIVE subscription can be replayed to.`);
      assert.ok(pending.headers['opc-request-id']);

      await h.dp.deleteSubscription({ subscriptionId: p });
      const deleted = await api.raw('POST', `/herald/v1/subscriptions/${p}/actions/replay`, JSON.stringify({ since }));
      assert.equal(deleted.status, 409, deleted.text);
      assert.equal(deleted.json.code, 'IncorrectState');
      assert.match(String(deleted.json.message), /is DELETED; only an ACTIVE subscription/);
      assert.equal(messages(rx).length, 0, 'nothing was delivered to a subscription that never became ACTIVE');
    });

    it('replays only messages published once the subscription was ACTIVE, however early since is', async () => {
      const t = await newTopic(`replay-window-${kind}`);
      let confirmationUrl: string | undefined;
      // Confirms only when told to, so that a message can be published while the subscription is PENDING.
      const rx = await receiver((r) => {
        const url = r.headers['x-oci-ns-confirmationurl'];
        if (typeof url === 'string') confirmationUrl = url;
        return { status: 200, body: 'ok' };
      });
      const since = new Date(Date.now() - 1000).toISOString();
      const beforeSubscription = await publish('before the subscription', t);
      const s = (await h.dp.createSubscription({ createSubscriptionDetails: { topicId: t, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` } })).subscription.id;
      await rx.waitFor(() => confirmationUrl !== undefined, 20_000, 'the confirmation request');
      const whilePending = await publish('while pending', t);
      assert.equal((await fetch(confirmationUrl!)).status, 200);
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s })).subscription.lifecycleState === 'ACTIVE', 15_000, `${s} ACTIVE`);
      const afterActive = await publish('after activation', t);
      await settled(afterActive, s, ['DELIVERED']);

      const res = await api.raw('POST', `/herald/v1/subscriptions/${s}/actions/replay`, JSON.stringify({ since }));
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.json, { replayed: 1 });
      await rx.waitFor((r) => r.filter((x) => x.body === 'after activation').length === 2, 20_000, 'the replayed delivery');
      await settled(afterActive, s, ['DELIVERED']);
      assert.deepEqual(bodies(rx), ['after activation', 'after activation']);
      // Nor is there a delivery of the earlier two to make or to show.
      for (const id of [beforeSubscription, whilePending]) {
        const trace = await api.call<{ deliveries: { subscriptionId: string }[] }>('GET', `/herald/v1/messages/${id}`);
        assert.ok(!trace.deliveries.some((d) => d.subscriptionId === s), `${id} has a delivery to ${s}`);
      }
    });

    it('sends a replayed message with the webhook-id and X-OCI-NS-MessageId of its first delivery', async () => {
      const t = await newTopic(`replay-ids-${kind}`);
      const rx = await receiver();
      const s = await subscribe(rx, t);
      const since = new Date(Date.now() - 1000).toISOString();
      const id = await publish('{"order":42}', t);
      await settled(id, s, ['DELIVERED']);
      const res = await api.raw('POST', `/herald/v1/subscriptions/${s}/actions/replay`, JSON.stringify({ since }));
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.json, { replayed: 1 });
      await rx.waitFor((r) => r.filter((x) => x.body === '{"order":42}').length === 2, 20_000, 'the replayed delivery');
      const [original, replayed] = messages(rx);
      assert.equal(original!.headers['webhook-id'], id);
      assert.equal(original!.headers['x-oci-ns-messageid'], id);
      assert.equal(replayed!.headers['webhook-id'], original!.headers['webhook-id']);
      assert.equal(replayed!.headers['x-oci-ns-messageid'], original!.headers['x-oci-ns-messageid']);
      // Signed for its own attempt: a timestamp of its own (not earlier), and a signature over this id, timestamp and body.
      assert.ok(Number(replayed!.headers['webhook-timestamp']) >= Number(original!.headers['webhook-timestamp']));
      const { secret } = await api.call<{ secret: string }>('GET', `/herald/v1/subscriptions/${s}/signing-secret`);
      assert.equal(replayed!.headers['webhook-signature'], webhookSignature(secret, id, Number(replayed!.headers['webhook-timestamp']), replayed!.body));
    });

    // A second replay while one runs is refused. Holding the first one open without a race needs a lock it waits on
    // while the server goes on answering: a PostgreSQL row lock does that; SQLite's driver is synchronous, so a
    // held SQLite lock would stall the whole server, the second request included.
    if (kind === 'postgres') {
      it('refuses a second replay to a subscription while one is running with 409 Conflict', async () => {
        const t = await newTopic(`replay-conflict-${kind}`);
        const rx = await receiver();
        const s = await subscribe(rx, t);
        const since = new Date(Date.now() - 1000).toISOString();
        const id = await publish('replay me once', t);
        await settled(id, s, ['DELIVERED']);
        const replay = (): Promise<RawResponse> => api.raw('POST', `/herald/v1/subscriptions/${s}/actions/replay`, JSON.stringify({ since }));
        await withPg(h.schema, async (c) => {
          await c.query('BEGIN');
          // The replay restarts this finished delivery: it waits on the row until this transaction ends.
          await c.query('SELECT id FROM deliveries WHERE subscription_id = $1 FOR UPDATE', [s]);
          const mine = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          const first = replay();
          try {
            // pg_stat_activity is read from a snapshot kept for the whole transaction: cleared before each look.
            const waiting = 'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE $2';
            await eventually(async () => {
              await c.query('SELECT pg_stat_clear_snapshot()');
              return ((await c.query(waiting, [mine, 'UPDATE deliveries SET state = %'])).rowCount ?? 0) > 0;
            }, 15_000, 'the first replay waiting on the row lock');
            // Were it not refused at once, it would wait on the same lock: bounded, so a regression fails instead of hanging.
            let timer: NodeJS.Timeout | undefined;
            const second = await Promise.race([
              replay(),
              new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the second replay was not answered while the first ran')), 15_000))),
            ]).finally(() => clearTimeout(timer));
            assert.equal(second.status, 409, second.text);
            assert.equal(second.json.code, 'Conflict');
            assert.equal(second.json.message, `A replay to subscription ${s} is already running.`);
            assert.ok(second.headers['opc-request-id']);
          } finally {
            await c.query('ROLLBACK');
          }
          const done = await first;
          assert.equal(done.status, 202, done.text);
          assert.deepEqual(done.json, { replayed: 1 });
        });
        await rx.waitFor((r) => r.filter((x) => x.body === 'replay me once').length === 2, 20_000, 'the replayed delivery');
        // Once the first has finished, a replay is accepted again (the message has no delivery left to make once it is DELIVERED).
        await settled(id, s, ['DELIVERED']);
        const third = await replay();
        assert.equal(third.status, 202, third.text);
        assert.deepEqual(third.json, { replayed: 1 });
        await rx.waitFor((r) => r.filter((x) => x.body === 'replay me once').length === 3, 20_000, 'the second replay');
      });
    }

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
      // Controls of its own, which the other tenancy's calls must leave as they are.
      const policy = { kind: ['mine'] };
      await api.call('PUT', `/herald/v1/subscriptions/${mine}/filterPolicy`, { filterPolicy: policy });
      await api.call('PUT', `/herald/v1/subscriptions/${mine}/rateLimit`, { perSecond: 7 });
      for (const [method, path, body] of [
        ['GET', `/herald/v1/subscriptions/${mine}/filterPolicy`, undefined],
        ['PUT', `/herald/v1/subscriptions/${mine}/filterPolicy`, { filterPolicy: { a: ['b'] } }],
        ['DELETE', `/herald/v1/subscriptions/${mine}/filterPolicy`, undefined],
        ['GET', `/herald/v1/subscriptions/${mine}/rateLimit`, undefined],
        ['PUT', `/herald/v1/subscriptions/${mine}/rateLimit`, { perSecond: 1 }],
        ['DELETE', `/herald/v1/subscriptions/${mine}/rateLimit`, undefined],
        ['GET', `/herald/v1/subscriptions/${mine}/health`, undefined],
        ['POST', `/herald/v1/subscriptions/${mine}/actions/enable`, undefined],
        ['POST', `/herald/v1/subscriptions/${mine}/actions/replay`, { since: new Date().toISOString() }],
        ['GET', `/herald/v1/topics/${topicId}/subscriptionHealth`, undefined],
      ] as const) {
        const res = await as(method, path, body);
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.json.code, 'NotAuthorizedOrNotFound', `${method} ${path}`);
        const what = path.startsWith('/herald/v1/topics/') ? `Topic ${topicId}` : `Subscription ${mine}`;
        assert.equal(res.json.message, `${what} not found or not authorized.`, `${method} ${path}`);
        assert.ok(res.headers['opc-request-id'], `${method} ${path}`);
      }
      // Nothing changed.
      assert.deepEqual(await api.call('GET', `/herald/v1/subscriptions/${mine}/filterPolicy`), { subscriptionId: mine, filterPolicy: policy });
      assert.deepEqual(await api.call('GET', `/herald/v1/subscriptions/${mine}/rateLimit`), { subscriptionId: mine, perSecond: 7 });
      await api.raw('DELETE', `/herald/v1/subscriptions/${mine}/filterPolicy`);
      await api.raw('DELETE', `/herald/v1/subscriptions/${mine}/rateLimit`);
      const unsigned = await send(new URL(`${h.herald.url}/herald/v1/subscriptions/${mine}/health`), 'GET', {});
      assert.equal(unsigned.status, 401);
      assert.equal(unsigned.json.code, 'NotAuthenticated');
    });
  });

  describe(`rate limits hold for every attempt, retries included (${kind})`, () => {
    let h: TestHerald;
    let api: SignedCaller;
    let topicId: string;
    const receivers: Receiver[] = [];
    before(async () => {
      // Retries at a thousandth of OCI's schedule (the first one at once). The disable window is long: only a
      // failure the product counted wrongly, never a slow machine, could disable the subscription here.
      h = await startTestHerald(kind, { allowPrivateEndpoints: true, retryTimeScale: '0.001', deliveryTimeoutMs: '2000', endpointDisableAfter: '10m' });
      api = heraldClient(h);
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'paced', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      for (const r of receivers) await r.stop();
      await h.stop();
    });

    it('spaces first attempts and retries together by the rate limit, and counts only the real failures against health', async () => {
      let failed = 0;
      const tried = new Set<string>();
      // Each message's first attempt is answered 500, its retry 200.
      const rx = await new Receiver(
        confirming((r) => {
          const id = String(r.headers['x-oci-ns-messageid']);
          if (tried.has(id)) return { status: 200, body: 'ok' };
          tried.add(id);
          failed++;
          return { status: 500, body: 'first attempt fails' };
        }),
      ).start();
      receivers.push(rx);
      const created = await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` } });
      const s = created.subscription.id;
      await eventually(async () => (await h.dp.getSubscription({ subscriptionId: s })).subscription.lifecycleState === 'ACTIVE', 15_000, `${s} ACTIVE`);
      const perSecond = 2;
      assert.deepEqual(await api.call('PUT', `/herald/v1/subscriptions/${s}/rateLimit`, { perSecond }), { subscriptionId: s, perSecond });
      const healthOf = (): Promise<HealthWire> => api.call<HealthWire>('GET', `/herald/v1/subscriptions/${s}/health`);

      // Health is watched the whole time: waiting for a token is not a failure, so the count of consecutive
      // failures never exceeds the 500s the receiver has answered (read after the health, so never behind it).
      const wrong: string[] = [];
      let reads = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          try {
            const hw = await healthOf();
            const real = failed;
            reads++;
            if (hw.state === 'DISABLED') wrong.push(`DISABLED: ${JSON.stringify(hw)}`);
            if (hw.consecutiveFailures > real) wrong.push(`${hw.consecutiveFailures} consecutive failures after ${real} real ones`);
            if (hw.lastFailure !== null && hw.lastFailure.statusCode !== 500) wrong.push(`a failure that is not the receiver's 500: ${JSON.stringify(hw.lastFailure)}`);
          } catch (err) {
            wrong.push(`health: ${String(err)}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      const start = Date.now();
      const ids: string[] = [];
      try {
        for (let i = 0; i < 5; i++) ids.push((await h.dp.publishMessage({ topicId, messageDetails: { body: `paced ${i}` } })).publishResult.messageId);
        await rx.waitFor((r) => r.filter((x) => x.headers['x-oci-ns-confirmationurl'] === undefined).length >= 2 * ids.length, 60_000, 'every first attempt and retry');
        for (const id of ids) {
          const d = await deliveryIn(api, id, s, ['DELIVERED']);
          assert.equal(d.attempts, 2, `${id}: the failed first attempt and the retry, nothing for the waits`);
        }
      } finally {
        watching = false;
        await watcher;
      }
      assert.deepEqual(wrong, []);
      assert.ok(reads > 0);

      const got = messagesAt(rx);
      assert.equal(got.length, 2 * ids.length);
      for (const id of ids) assert.equal(got.filter((r) => r.headers['x-oci-ns-messageid'] === id).length, 2, id);
      assert.equal(failed, ids.length);
      assertPaced(got.map((r) => r.at), perSecond, start, 'first attempts and retries');

      // Every message ended with a success, so nothing is held against the endpoint; its last failure was a real 500.
      const end = await healthOf();
      assert.deepEqual([end.state, end.consecutiveFailures, end.timeFailingSince, end.timeDisabled, end.heldDeliveries], ['HEALTHY', 0, null, null, 0]);
      assert.equal(end.lastFailure?.statusCode, 500);
    });
  });
}
