import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeraldClient } from '../../src/cli/client.js';
import { RawHeraldClient } from '../../src/cli/raw-client.js';
import { listAll, type Ons } from '../../src/cli/resolve.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient } from '../helpers/oci.js';
import { eventually } from '../helpers/eventually.js';
import { cliFor as cli } from '../helpers/process.js';
import { type Row, fails, json, ok } from '../helpers/cli.js';
import { confirming, Receiver } from '../helpers/receiver.js';

describe('herald CLI: topics, subscriptions and publish', () => {
  let h: TestHerald;
  let rx: Receiver;
  let work: string;
  before(async () => {
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true, retryTimeScale: '0.001' });
    work = await mkdtemp(join(tmpdir(), 'herald-ons-cli-'));
    // Confirms CUSTOM_HTTPS subscriptions the way a webhook receiver does: by following the header's link.
    rx = await new Receiver(confirming()).start();
  });
  after(async () => {
    await rx.stop();
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('creates, lists, gets, updates and deletes topics by name and OCID', async () => {
    const ordersId = (await ok(h, ['topic', 'create', '--name', 'orders', '--description', 'order events', '--output', 'table'])).trim();
    assert.match(ordersId, /^ocid1\.onstopic\./);
    const audit = json(await ok(h, ['topic', 'create', '--name', 'audit', '--output', 'json']));
    assert.equal(audit.compartmentId, h.tenancyId);

    // A topic in a child compartment is found by name from the root.
    const team = await heraldClient(h).call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'team' });
    const teamTopic = json(await ok(h, ['topic', 'create', '--name', 'team-events', '--compartment', team.id, '--output', 'json']));
    assert.equal(json(await ok(h, ['topic', 'get', 'team-events'])).topicId, teamTopic.topicId);

    const listed = json<Row[]>(await ok(h, ['topic', 'list', '--output', 'json']));
    // herald-operations is made at bootstrap, in the root compartment.
    assert.deepEqual(listed.map((t) => t.name).sort(), ['audit', 'herald-operations', 'orders']);
    assert.deepEqual(json<Row[]>(await ok(h, ['topic', 'list', '--compartment', team.id])).map((t) => t.name), ['team-events']);
    assert.match(await ok(h, ['topic', 'list', '--output', 'table']), /^name\s+topicId\s+lifecycleState[\s\S]*orders\s+ocid1\.onstopic\.[\s\S]*order events/m);

    const byName = json(await ok(h, ['topic', 'get', 'orders', '--output', 'table']));
    assert.deepEqual([byName.topicId, byName.description, typeof byName.etag], [ordersId, 'order events', 'string']);
    assert.equal(json(await ok(h, ['topic', 'get', ordersId])).name, 'orders');

    assert.equal(json(await ok(h, ['topic', 'update', 'orders', '--description', 'all orders'])).description, 'all orders');
    assert.equal((await h.cp.getTopic({ topicId: ordersId })).notificationTopic.description, 'all orders');
    assert.equal(json(await ok(h, ['topic', 'update', String(audit.topicId), '--description', 'who did what'])).description, 'who did what');

    await fails(h, ['topic', 'create', '--name', 'orders'], /^herald: 409 Conflict: /);
    await fails(h, ['topic', 'get', 'ghost'], /^herald: No topic named "ghost" in the tenancy or its compartments\.\n$/);
    await fails(h, ['topic', 'delete', 'ghost'], /No topic named "ghost"/);

    const deleted = await cli(h, ['topic', 'delete', 'orders']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Deleted topic orders/);
    await ok(h, ['topic', 'delete', String(audit.topicId)]);
    await ok(h, ['topic', 'delete', 'team-events']);
    assert.deepEqual(json<Row[]>(await ok(h, ['topic', 'list'])).map((t) => t.name), ['herald-operations']);
    await fails(h, ['topic', 'get', ordersId], /^herald: 404 /);
  });

  it('follows opc-next-page to list everything', async () => {
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } });
    const opts = { endpoint: h.herald.url, configFile: h.configFile, profile: 'DEFAULT' };
    const ons: Ons = { client: await HeraldClient.fromConfig(opts), raw: await RawHeraldClient.fromConfig(opts) };
    const all = await listAll(ons, '/20181201/topics', { compartmentId: h.tenancyId, sortBy: 'TIMECREATED', sortOrder: 'ASC' }, 2);
    const made = all.filter((t) => /^p\d$/.test(String(t.name)));
    // Topics made earlier in this suite (and herald-operations) come first, then these five, in order.
    assert.deepEqual(made.map((t) => t.name), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.equal(all.length, made.length + (await h.cp.listTopics({ compartmentId: h.tenancyId, limit: 100 })).items.length - 5);
    for (const t of made) await ok(h, ['topic', 'delete', String(t.topicId)]);
  });

  it('creates, lists, gets, re-confirms and deletes subscriptions', async () => {
    const topicId = (await ok(h, ['topic', 'create', '--name', 'alerts', '--output', 'table'])).trim();
    const email = await cli(h, ['subscription', 'create', '--topic', 'alerts', '--protocol', 'EMAIL', '--subscription-endpoint', 'ops@example.com', '--output', 'table']);
    assert.equal(email.code, 0, email.stderr);
    const emailId = email.stdout.trim();
    assert.match(emailId, /^ocid1\.onssubscription\./);
    assert.match(email.stderr, /PENDING until the confirmation sent to ops@example\.com is followed/);
    const confirmations = async (n: number) =>
      eventually(async () => {
        const mails = json<{ text: string }[]>(await ok(h, ['mail', 'list', '--to', 'ops@example.com', '--output', 'json']));
        return mails.filter((m) => m.text.includes('To confirm this subscription')).length >= n;
      }, 15_000, `${n} confirmation email(s)`);
    await confirmations(1);

    const hook = json(
      await ok(h, ['subscription', 'create', '--topic', topicId, '--protocol', 'custom_https', '--subscription-endpoint', `${rx.url}/alerts`, '--max-retry-duration', '600000', '--output', 'json']),
    );
    assert.equal(hook.protocol, 'CUSTOM_HTTPS');
    const got = (await h.dp.getSubscription({ subscriptionId: String(hook.id) })).subscription;
    assert.equal((JSON.parse(got.deliverPolicy!) as { backoffRetryPolicy: { maxRetryDuration: number } }).backoffRetryPolicy.maxRetryDuration, 600000);

    const byTopic = json<Row[]>(await ok(h, ['subscription', 'list', '--topic', 'alerts']));
    assert.deepEqual(byTopic.map((s) => s.id).sort(), [emailId, hook.id].sort());
    const all = json<Row[]>(await ok(h, ['subscription', 'list']));
    assert.ok(all.some((s) => s.id === emailId));
    assert.match(await ok(h, ['subscription', 'list', '--topic', 'alerts', '--output', 'table']), /^id\s+protocol\s+endpoint[\s\S]*EMAIL\s+ops@example\.com\s+PENDING/m);

    assert.equal(json(await ok(h, ['subscription', 'get', emailId])).protocol, 'EMAIL');
    assert.match(await ok(h, ['subscription', 'resend-confirmation', emailId, '--output', 'table']), /Confirmation re-sent to ops@example\.com/);
    await confirmations(2);
    assert.equal(json(await ok(h, ['subscription', 'resend-confirmation', emailId, '--output', 'json'])).id, emailId);

    const del = await cli(h, ['subscription', 'delete', emailId]);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /Deleted subscription ocid1\.onssubscription\./);
    assert.equal(json(await ok(h, ['subscription', 'get', emailId])).lifecycleState, 'DELETED');

    await fails(h, ['subscription', 'create', '--topic', 'alerts', '--protocol', 'EMAIL', '--subscription-endpoint', 'x@example.com', '--max-retry-duration', 'soon'], /^herald: --max-retry-duration wants milliseconds/);
    await fails(h, ['subscription', 'create', '--topic', 'nope', '--protocol', 'EMAIL', '--subscription-endpoint', 'x@example.com'], /^herald: No topic named "nope"/);
    await fails(h, ['subscription', 'get', 'alerts'], /^herald: "alerts" is not a subscription OCID/);
    await fails(h, ['subscription', 'list', '--topic', 'nope'], /No topic named "nope"/);
    await ok(h, ['topic', 'delete', 'alerts']);
  });

  it('publishes with --body, --body-file and stdin', async () => {
    const topicId = (await ok(h, ['topic', 'create', '--name', 'news', '--output', 'table'])).trim();
    const sub = json(await ok(h, ['subscription', 'create', '--topic', 'news', '--protocol', 'CUSTOM_HTTPS', '--subscription-endpoint', `${rx.url}/news`]));
    await eventually(async () => (await h.dp.getSubscription({ subscriptionId: String(sub.id) })).subscription.lifecycleState === 'ACTIVE', 15_000, 'the webhook confirmed');

    const first = (await ok(h, ['publish', '--topic', 'news', '--title', 'Hello', '--body', 'from --body', '--output', 'table'])).trim();
    assert.match(first, /^\S+$/);
    const file = join(work, 'body.json');
    await writeFile(file, '{"orderId":"A-1"}');
    const second = json<{ messageId: string; timeStamp: string }>(await ok(h, ['publish', '--topic', topicId, '--body-file', file, '--output', 'json']));
    assert.deepEqual(Object.keys(second).sort(), ['messageId', 'timeStamp']);
    assert.ok(!Number.isNaN(Date.parse(second.timeStamp)));
    const third = (await ok(h, ['publish', '--topic', 'news', '--output', 'table'], 'from stdin\n')).trim();

    await rx.waitFor((r) => r.filter((x) => x.path === '/news' && x.headers['x-oci-ns-messageid'] !== undefined).length >= 3, 15_000, 'three messages');
    const byId = new Map(rx.requests.filter((r) => r.path === '/news').map((r) => [r.headers['x-oci-ns-messageid'], r.body]));
    assert.equal(byId.get(first), 'from --body');
    assert.equal(byId.get(second.messageId), '{"orderId":"A-1"}');
    assert.equal(byId.get(third), 'from stdin\n');
    // Webhooks carry no title; the message trace shows it was stored.
    assert.equal(json(await ok(h, ['message', 'get', first, '--output', 'json'])).title, 'Hello');

    await fails(h, ['publish', '--topic', 'ghost', '--body', 'x'], /^herald: No topic named "ghost"/);
    await fails(h, ['publish', '--topic', 'news', '--body-file', join(work, 'missing.txt')], /^herald: --body-file cannot be read/);
    await fails(h, ['publish', '--topic', 'news', '--body', 'a', '--body-file', file], /not both/);
  });

  it('has --help for every command', async () => {
    for (const args of [
      ['topic', 'create'],
      ['topic', 'list'],
      ['topic', 'get'],
      ['topic', 'update'],
      ['topic', 'delete'],
      ['subscription', 'create'],
      ['subscription', 'list'],
      ['subscription', 'get'],
      ['subscription', 'delete'],
      ['subscription', 'resend-confirmation'],
      ['publish'],
    ]) {
      const out = await ok(h, [...args, '--help']);
      assert.match(out, /Usage: herald /, args.join(' '));
      assert.match(out, /--endpoint <url>/, args.join(' '));
    }
  });
});
