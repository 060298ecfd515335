import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { eventually } from '../helpers/eventually.js';
import { deliveryIn, messagesAt } from '../helpers/delivery-state.js';
import { cliFor as cli } from '../helpers/process.js';
import { type Row, fails, json, ok } from '../helpers/cli.js';
import { confirming, Receiver, type Received, type Responder } from '../helpers/receiver.js';

const messages = messagesAt;

/** A line of `subscription health` for a person: the label padded to the longest one ("consecutive failures"). */
const line = (label: string, value: unknown): string => `${label.padEnd(20)}  ${value === null ? '-' : String(value)}\n`;


describe('herald CLI: delivery control (filter policies, rate limits, health, enable, replay)', () => {
  let h: TestHerald;
  let api: SignedCaller;
  let work: string;
  const receivers: Receiver[] = [];
  before(async () => {
    // A subscription is disabled after 2 s without a success; retries run a thousand times faster than OCI's.
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true, retryTimeScale: '0.001', deliveryTimeoutMs: '2000', endpointDisableAfter: '2s' });
    api = heraldClient(h);
    work = await mkdtemp(join(tmpdir(), 'herald-control-cli-'));
  });
  after(async () => {
    for (const r of receivers) await r.stop();
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function receiver(respond: Responder = confirming()): Promise<Receiver> {
    const rx = await new Receiver(respond).start();
    receivers.push(rx);
    return rx;
  }

  /** A topic of the test's own, so replay windows and subscription lists hold only what the test made. */
  async function topic(name: string): Promise<string> {
    return (await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } })).notificationTopic.topicId;
  }

  /** `herald subscription create` of a webhook to the receiver, confirmed through the handshake. */
  async function subscribe(topicName: string, rx: Receiver, extra: string[] = []): Promise<string> {
    const s = json(await ok(h, ['subscription', 'create', '--topic', topicName, '--protocol', 'CUSTOM_HTTPS', '--subscription-endpoint', `${rx.url}/hook`, ...extra, '--output', 'json']));
    const id = String(s.id);
    await eventually(async () => (await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState === 'ACTIVE', 15_000, `${id} ACTIVE`);
    return id;
  }

  async function publish(topicId: string, body: string): Promise<string> {
    return (await h.dp.publishMessage({ topicId, messageDetails: { body } })).publishResult.messageId;
  }

  const settled = (messageId: string, subscriptionId: string, states: string[]): Promise<{ state: string; attempts: number }> =>
    deliveryIn(api, messageId, subscriptionId, states);

  const subscriptionsTo = async (topicName: string, rx: Receiver): Promise<Row[]> =>
    json<Row[]>(await ok(h, ['subscription', 'list', '--topic', topicName, '--output', 'json'])).filter((s) => s.endpoint === `${rx.url}/hook`);

  it('creates a subscription with --filter-policy @file: a message the policy refuses is FILTERED, one it passes is delivered', async () => {
    const topicId = await topic('orders');
    const rx = await receiver();
    const file = join(work, 'orders-policy.json');
    const policy = { type: ['order'], total: [{ numeric: ['>=', 100] }] };
    await writeFile(file, JSON.stringify(policy));
    const id = await subscribe('orders', rx, ['--filter-policy', `@${file}`]);
    assert.deepEqual(json(await ok(h, ['subscription', 'filter-policy', 'get', id, '--output', 'json'])), { subscriptionId: id, filterPolicy: policy });

    const refused = await publish(topicId, '{"type":"order","total":5}');
    const passed = await publish(topicId, '{"type":"order","total":150}');
    const r = await settled(refused, id, ['FILTERED', 'DELIVERED']);
    assert.deepEqual([r.state, r.attempts], ['FILTERED', 0]);
    assert.equal((await settled(passed, id, ['FILTERED', 'DELIVERED'])).state, 'DELIVERED');
    // Both are final: the refused one was never sent.
    assert.deepEqual(messages(rx).map((r) => [r.headers['x-oci-ns-messageid'], r.body]), [[passed, '{"type":"order","total":150}']]);
  });

  it('refuses an invalid filter policy on create before creating anything', async () => {
    await topic('refunds');
    const rx = await receiver();
    const create = ['subscription', 'create', '--topic', 'refunds', '--protocol', 'CUSTOM_HTTPS', '--subscription-endpoint', `${rx.url}/hook`];
    // Refused by the server's test action: a value that is not a list.
    await fails(h, [...create, '--filter-policy', '{"type":"order"}'], /^herald: 400 InvalidParameter: Invalid filter policy: .*object or an array/);
    await fails(h, [...create, '--filter-policy', '{"a":["1"],"b":["2"],"c":["3"],"d":["4"],"e":["5"],"f":["6"]}'], /^herald: 400 InvalidParameter: .*more than 5 keys/);
    // Refused by the CLI itself.
    await fails(h, [...create, '--filter-policy', '{type: order}'], /^herald: --filter-policy is not valid JSON: /);
    await fails(h, [...create, '--filter-policy', `@${join(work, 'missing.json')}`], /^herald: --filter-policy cannot be read: .*ENOENT/);
    assert.deepEqual(await subscriptionsTo('refunds', rx), []);
    // Over 256 KB: the test action applies the size limit as the PUT does, so nothing is created either.
    const huge = join(work, 'huge-policy.json');
    await writeFile(huge, JSON.stringify({ type: ['x'.repeat(300_000)] }));
    const r = await cli(h, [...create, '--filter-policy', `@${huge}`]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^herald: 400 InvalidParameter: Invalid filter policy: Filter policy is too large/);
    assert.deepEqual((await subscriptionsTo('refunds', rx)).filter((s) => s.lifecycleState !== 'DELETED'), []);
    assert.deepEqual(messages(rx), []);

    // The same endpoint with a valid policy is listed: the list above could have shown one.
    const id = await subscribe('refunds', rx, ['--filter-policy', '{"type":["refund"]}']);
    assert.deepEqual((await subscriptionsTo('refunds', rx)).filter((s) => s.lifecycleState !== 'DELETED').map((s) => s.id), [id]);
  });

  it('sets, gets, tests and deletes a filter policy', async () => {
    const topicId = await topic('payments');
    const rx = await receiver();
    const id = await subscribe('payments', rx);
    const fp = (...args: string[]): string[] => ['subscription', 'filter-policy', ...args];

    assert.deepEqual(json(await ok(h, fp('get', id, '--output', 'json'))), { subscriptionId: id, filterPolicy: null });
    assert.equal(await ok(h, fp('get', id, '--output', 'table')), `Subscription ${id} has no filter policy: every message is delivered.\n`);

    const inline = { kind: ['card'] };
    assert.deepEqual(json(await ok(h, fp('set', id, JSON.stringify(inline), '--output', 'json'))), { subscriptionId: id, filterPolicy: inline });
    assert.deepEqual(json(await ok(h, fp('get', id, '--output', 'table'))), inline);

    const fromFile = { kind: ['card', 'wire'], amount: [{ numeric: ['>', 0] }] };
    const file = join(work, 'payments-policy.json');
    await writeFile(file, JSON.stringify(fromFile));
    assert.equal(await ok(h, fp('set', id, `@${file}`, '--output', 'table')), `Filter policy of ${id} set.\n`);
    assert.deepEqual(json(await ok(h, fp('get', id, '--output', 'json'))), { subscriptionId: id, filterPolicy: fromFile });

    // Refusals leave the policy as it was.
    await fails(h, fp('set', id, '{"kind":[{"wildcard":"c*"}]}'), /^herald: 400 InvalidParameter: Invalid filter policy: .*wildcard/);
    await fails(h, fp('set', id, '{kind'), /^herald: The filter policy is not valid JSON: /);
    await fails(h, fp('set', 'payments', '{}'), /^herald: "payments" is not a subscription OCID/);
    assert.deepEqual(json(await ok(h, fp('get', id))), { subscriptionId: id, filterPolicy: fromFile });

    // test: exits 0 whether or not the message matches.
    const sample = join(work, 'sample.json');
    await writeFile(sample, '{"kind":"wire","amount":12}');
    assert.deepEqual(json(await ok(h, fp('test', `@${file}`, '--message', `@${sample}`, '--output', 'json'))), { matches: true });
    assert.deepEqual(json(await ok(h, fp('test', `@${file}`, '--message', '{"kind":"wire","amount":0}', '--output', 'json'))), { matches: false });
    assert.equal(await ok(h, fp('test', '{"kind":["cash"]}', '--message', '{"kind":"cash"}', '--output', 'table')), 'The message matches the filter policy.\n');
    assert.equal(await ok(h, fp('test', '{"kind":["cash"]}', '--message', 'not json', '--output', 'table')), 'The message does not match the filter policy.\n');
    await fails(h, fp('test', '{"kind":"cash"}', '--message', '{}'), /^herald: 400 InvalidParameter: Invalid filter policy: /);
    await fails(h, fp('test', '{"kind":["cash"]}'), /required option '--message <text>' not specified/);

    // While set it holds; deleted, the same message goes out.
    const held = await publish(topicId, '{"kind":"cash"}');
    assert.equal((await settled(held, id, ['FILTERED', 'DELIVERED'])).state, 'FILTERED');
    const del = await cli(h, fp('delete', id));
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stderr, `Removed the filter policy of ${id}\n`);
    assert.deepEqual(json(await ok(h, fp('get', id, '--output', 'json'))), { subscriptionId: id, filterPolicy: null });
    const sent = await publish(topicId, '{"kind":"cash"}');
    assert.equal((await settled(sent, id, ['FILTERED', 'DELIVERED'])).state, 'DELIVERED');
    assert.deepEqual(messages(rx).map((r) => r.headers['x-oci-ns-messageid']), [sent]);
  });

  it('sets, gets and deletes a rate limit, and reports the server\'s refusal of a bad one', async () => {
    await topic('metrics');
    const rx = await receiver();
    const id = await subscribe('metrics', rx);
    const rl = (...args: string[]): string[] => ['subscription', 'rate-limit', ...args];

    assert.deepEqual(json(await ok(h, rl('get', id, '--output', 'json'))), { subscriptionId: id, perSecond: null });
    assert.equal(await ok(h, rl('get', id, '--output', 'table')), `Subscription ${id} has no rate limit.\n`);
    assert.deepEqual(json(await ok(h, rl('set', id, '5', '--output', 'json'))), { subscriptionId: id, perSecond: 5 });
    assert.equal(await ok(h, rl('set', id, '7', '--output', 'table')), `Rate limit of ${id}: 7 deliveries per second.\n`);
    assert.equal(await ok(h, rl('get', id, '--output', 'table')), '7 deliveries per second\n');

    await fails(h, rl('set', id, '0'), /^herald: 400 InvalidParameter: perSecond must be a whole number of deliveries per second from 1 to 10000\.\n$/);
    await fails(h, rl('set', id, '2.5'), /^herald: 400 InvalidParameter: perSecond must be a whole number/);
    await fails(h, rl('set', id, 'fast'), /^herald: perSecond wants a number of deliveries per second, got "fast"\.\n$/);
    assert.deepEqual(json(await ok(h, rl('get', id))), { subscriptionId: id, perSecond: 7 });

    const del = await cli(h, rl('delete', id));
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stderr, `Removed the rate limit of ${id}\n`);
    assert.deepEqual(json(await ok(h, rl('get', id))), { subscriptionId: id, perSecond: null });
  });

  it('shows a failing endpoint DISABLED with its deliveries held, and enable makes it HEALTHY and sends them', async () => {
    const topicId = await topic('alerts');
    let failing = true;
    const rx = await receiver(confirming(() => (failing ? { status: 500, body: 'down for maintenance' } : { status: 200, body: 'ok' })));
    const id = await subscribe('alerts', rx);
    const health = async (format = 'json'): Promise<string> => ok(h, ['subscription', 'health', id, '--output', format]);

    const healthy = json(await health());
    assert.deepEqual(
      [healthy.subscriptionId, healthy.state, healthy.since, healthy.consecutiveFailures, healthy.heldDeliveries, healthy.disableAfter],
      [id, 'HEALTHY', null, 0, 0, '2s'],
    );
    assert.equal(
      await health('table'),
      [line('state', 'HEALTHY'), line('since', null), line('failing since', null), line('disabled', null)].join('') +
        [line('consecutive failures', 0), line('last error', null), line('held deliveries', 0), line('disable after', '2s')].join(''),
    );

    const msg = await publish(topicId, 'during the outage');
    const disabled = await eventually(async () => {
      const hw = json(await health());
      return hw.state === 'DISABLED' && hw.heldDeliveries === 1 ? hw : undefined;
    }, 30_000, 'the subscription DISABLED with its delivery held');
    assert.equal(disabled.since, disabled.timeDisabled);
    assert.ok(Number(disabled.consecutiveFailures) >= 1, JSON.stringify(disabled));
    assert.equal((disabled.lastFailure as Row).statusCode, 500);
    await settled(msg, id, ['HELD']);
    // Nothing changes while the only delivery is held, so the table shows what the json showed.
    const table = await health('table');
    assert.equal(
      table,
      [line('state', 'DISABLED'), line('since', disabled.timeDisabled), line('failing since', disabled.timeFailingSince), line('disabled', disabled.timeDisabled)].join('') +
        [line('consecutive failures', disabled.consecutiveFailures), line('last error', disabled.lastError), line('held deliveries', 1), line('disable after', '2s')].join(''),
    );
    assert.match(table, /^last error {12}\S*.*500/m);
    const tried = messages(rx).length;

    failing = false;
    const enabled = await ok(h, ['subscription', 'enable', id, '--output', 'table']);
    assert.ok(enabled.startsWith([line('state', 'HEALTHY'), line('since', null), line('failing since', null), line('disabled', null), line('consecutive failures', 0)].join('')), enabled);
    assert.ok(enabled.includes(line('held deliveries', 0)), enabled);
    assert.equal((await settled(msg, id, ['DELIVERED'])).state, 'DELIVERED');
    assert.ok(messages(rx).slice(tried).some((r) => r.body === 'during the outage'), 'the held message was sent after enable');
    // Enabling what is enabled changes nothing; json is the wire object.
    const again = json(await ok(h, ['subscription', 'enable', id, '--output', 'json']));
    assert.deepEqual([again.subscriptionId, again.state, again.timeDisabled, again.heldDeliveries], [id, 'HEALTHY', null, 0]);
    await fails(h, ['subscription', 'health', 'alerts'], /^herald: "alerts" is not a subscription OCID/);
  });

  it('replays the messages of a window given as a duration or RFC 3339 times', async () => {
    const topicId = await topic('audit');
    const rx = await receiver();
    const id = await subscribe('audit', rx);
    const beforePublish = new Date().toISOString();
    const msg = await publish(topicId, 'replay me');
    await settled(msg, id, ['DELIVERED']);
    const copies = (): Received[] => messages(rx).filter((r) => r.headers['x-oci-ns-messageid'] === msg);
    assert.equal(copies().length, 1);

    assert.equal(await ok(h, ['subscription', 'replay', id, '--since', '1h', '--output', 'table']), `Replayed 1 message to ${id}.\n`);
    await rx.waitFor(() => copies().length === 2, 20_000, 'the replayed message');
    assert.deepEqual(copies().map((r) => r.body), ['replay me', 'replay me']);

    // Once that delivery is done the message can be replayed again (one with a delivery still to make is skipped).
    await settled(msg, id, ['DELIVERED']);
    assert.deepEqual(json(await ok(h, ['subscription', 'replay', id, '--since', '30m', '--until', '0s', '--output', 'json'])), { replayed: 1 });
    await rx.waitFor(() => copies().length === 3, 20_000, 'the second replay');
    // A window that ends before the message holds nothing.
    await settled(msg, id, ['DELIVERED']);
    assert.deepEqual(json(await ok(h, ['subscription', 'replay', id, '--since', '1h', '--until', beforePublish])), { replayed: 0 });

    await fails(h, ['subscription', 'replay', id, '--since', 'yesterday'], /^herald: --since wants an RFC 3339 time .* or how long ago .*, got "yesterday"\.\n$/);
    await fails(h, ['subscription', 'replay', id, '--since', '1h', '--until', 'soon'], /^herald: --until wants an RFC 3339 time/);
    await fails(h, ['subscription', 'replay', id, '--since', '30d'], /^herald: 400 InvalidParameter: since is older than the message retention allows/);
    await fails(h, ['subscription', 'replay', id, '--since', '1m', '--until', '2m'], /^herald: 400 InvalidParameter: since must be earlier than until\./);
    await fails(h, ['subscription', 'replay', id], /required option '--since <time>' not specified/);
    assert.equal(copies().length, 3);
  });

  it('has --help for every delivery-control command', async () => {
    for (const args of [
      ['subscription', 'filter-policy', 'set'],
      ['subscription', 'filter-policy', 'get'],
      ['subscription', 'filter-policy', 'delete'],
      ['subscription', 'filter-policy', 'test'],
      ['subscription', 'rate-limit', 'set'],
      ['subscription', 'rate-limit', 'get'],
      ['subscription', 'rate-limit', 'delete'],
      ['subscription', 'health'],
      ['subscription', 'enable'],
      ['subscription', 'replay'],
    ]) {
      const out = await ok(h, [...args, '--help']);
      assert.match(out, new RegExp(`Usage: herald ${args.join(' ')} `), args.join(' '));
      assert.match(out, /--endpoint <url>/, args.join(' '));
    }
    assert.match(await ok(h, ['subscription', 'create', '--help']), /--filter-policy <policy>/);
    const overview = await ok(h, ['subscription', '--help']);
    for (const c of ['filter-policy', 'rate-limit', 'health', 'enable', 'replay']) assert.match(overview, new RegExp(`^  ${c} `, 'm'), c);
  });
});
