import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { confirming, type Received, Receiver } from '../helpers/receiver.js';
import { openBrowser, signInThroughUi, withScreenshot, type ConsoleBrowser } from './browser.js';

interface Health {
  state: string;
  heldDeliveries: number;
  consecutiveFailures: number;
  lastFailure: { statusCode: number | null; error: string } | null;
}
interface Trace {
  deliveries: { subscriptionId: string; state: string }[];
}

const POLICY = { kind: ['order'] };
/** Deliveries that have nothing left to do (a replay skips a message with a delivery still to make). */
const SETTLED = new Set(['DELIVERED', 'FILTERED', 'DEAD']);

describe('console: delivery control of a subscription (headless Chromium)', () => {
  let h: TestHerald;
  let b: ConsoleBrowser;
  let rx: Receiver;
  let signed: SignedCaller;
  /** While set, the receiver answers messages with 500 (it always confirms the subscription). */
  let failing = false;
  let topicId = '';
  let subscriptionId = '';

  const sub = (rest: string): string => `/herald/v1/subscriptions/${subscriptionId}${rest}`;
  const health = (): Promise<Health> => signed.call<Health>('GET', sub('/health'));
  const publish = async (body: string): Promise<string> =>
    (await signed.call<{ messageId: string }>('POST', `/20181201/topics/${topicId}/messages`, { title: 'console test', body })).messageId;
  /** The requests that carried this message body (the confirmation request is not one of them). */
  const received = (body: string): Received[] => rx.requests.filter((r) => r.body === body && r.headers['x-oci-ns-confirmationurl'] === undefined);
  /** The state of the message's delivery to the subscription (undefined before fan-out made it). */
  const deliveryState = async (messageId: string): Promise<string | undefined> =>
    (await signed.call<Trace>('GET', `/herald/v1/messages/${messageId}`)).deliveries.find((x) => x.subscriptionId === subscriptionId)?.state;
  /** Waits until the message's delivery to the subscription is in one of the states, and answers that state. */
  const settled = (messageId: string, states: ReadonlySet<string>): Promise<string> =>
    eventually(async () => {
      const state = await deliveryState(messageId);
      return state !== undefined && states.has(state) ? state : undefined;
    }, 20_000, `message ${messageId} settled in ${[...states].join('/')}`);

  before(async () => {
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true, retryTimeScale: '0.001', deliveryTimeoutMs: '2000', endpointDisableAfter: '2s' });
    rx = await new Receiver(confirming(() => (failing ? { status: 500, body: 'receiver is failing' } : { status: 200, body: 'ok' }))).start();
    signed = heraldClient(h);
    topicId = (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'Shipments', compartmentId: h.tenancyId })).topicId;
    subscriptionId = (
      await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `${rx.url}/hook` })
    ).id;
    await eventually(async () => (await signed.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${subscriptionId}`)).lifecycleState === 'ACTIVE', 20_000, 'the subscription confirmed');
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await rx?.stop();
    await h?.stop();
  });

  /** The subscription page's region of that name. */
  const region = (page: Page, name: string) => page.getByRole('region', { name, exact: true });

  it('shows health on the topic page and leads to the subscription page', async () => {
    const { page } = b;
    await withScreenshot(page, 'delivery-control-topic', async () => {
      const password = h.herald.consolePassword;
      assert.ok(password !== undefined);
      await signInThroughUi(page, h.herald.url, password);
      await page.getByRole('link', { name: 'Topics' }).click();
      await page.getByRole('table', { name: 'Topics' }).getByRole('link', { name: 'Shipments' }).click();
      const row = page.getByRole('table', { name: 'Subscriptions' }).locator(`tr[data-subscription-id="${subscriptionId}"]`);
      await row.getByTestId('health-state').getByText('HEALTHY', { exact: true }).waitFor();
      await row.getByRole('link', { name: `${rx.url}/hook` }).click();
      await page.getByRole('heading', { name: `Subscription CUSTOM_HTTPS ${rx.url}/hook` }).waitFor();
      assert.ok(page.url().endsWith(`#/subscriptions/${subscriptionId}`), page.url());
      await region(page, 'Health').getByTestId('health-state').getByText('HEALTHY', { exact: true }).waitFor();
      // Still under Topics in the menu, with the way back to the topic.
      await page.getByRole('navigation', { name: 'Main' }).locator('a[aria-current="page"]').getByText('Topics').waitFor();
      await page.getByRole('link', { name: '← Topic Shipments' }).waitFor();
    });
  });

  it('saves, tests, refuses and removes a filter policy', async () => {
    const { page } = b;
    await withScreenshot(page, 'delivery-control-filter', async () => {
      const filter = region(page, 'Filter policy');
      const form = filter.getByRole('form', { name: 'Edit filter policy' });
      const tester = filter.getByRole('form', { name: 'Test against a sample message' });
      const editor = form.getByLabel('Filter policy (JSON)');
      await filter.getByText('None is set: every message is delivered.').waitFor();
      assert.equal(await editor.inputValue(), '');

      await editor.fill(JSON.stringify(POLICY));
      await form.getByRole('button', { name: 'Save filter policy' }).click();
      await form.getByRole('status').getByText('Filter policy saved').waitFor();
      assert.deepEqual(JSON.parse(await editor.inputValue()), POLICY);
      assert.deepEqual((await signed.call<{ filterPolicy: unknown }>('GET', sub('/filterPolicy'))).filterPolicy, POLICY);

      // The sample box tests the editor's policy: one that matches, one that does not.
      const sample = tester.getByLabel('Sample message body');
      const result = tester.getByTestId('filter-test-result');
      await sample.fill('{"kind": "order", "id": 1}');
      await tester.getByRole('button', { name: 'Test', exact: true }).click();
      await result.getByText('Matches: it would be delivered').waitFor();
      await sample.fill('{"kind": "refund"}');
      await tester.getByRole('button', { name: 'Test', exact: true }).click();
      await result.getByText('Does not match: it would be filtered').waitFor();

      // An invalid policy: the server's 400 message inline, for the test and for a save; the saved one stays.
      await editor.fill('{"kind": "order"}');
      const invalid = 'Invalid filter policy: "kind" must be an object or an array, got "order"';
      await tester.getByRole('button', { name: 'Test', exact: true }).click();
      await tester.getByRole('alert').getByText(invalid).waitFor();
      await form.getByRole('button', { name: 'Save filter policy' }).click();
      await form.getByRole('alert').getByText(invalid).waitFor();
      assert.equal(await editor.getAttribute('aria-invalid'), 'true');
      assert.deepEqual((await signed.call<{ filterPolicy: unknown }>('GET', sub('/filterPolicy'))).filterPolicy, POLICY);

      // Remove, then save it again for the replay below.
      await form.getByRole('button', { name: 'Remove filter policy' }).click();
      await form.getByRole('status').getByText('Filter policy removed').waitFor();
      assert.equal(await editor.inputValue(), '');
      assert.equal((await signed.call<{ filterPolicy: unknown }>('GET', sub('/filterPolicy'))).filterPolicy, null);
      await editor.fill(JSON.stringify(POLICY, null, 2));
      await form.getByRole('button', { name: 'Save filter policy' }).click();
      await form.getByRole('status').getByText('Filter policy saved').waitFor();
      assert.deepEqual((await signed.call<{ filterPolicy: unknown }>('GET', sub('/filterPolicy'))).filterPolicy, POLICY);
    });
  });

  it('sets and removes a rate limit', async () => {
    const { page } = b;
    await withScreenshot(page, 'delivery-control-rate', async () => {
      const rate = region(page, 'Rate limit');
      const current = rate.getByTestId('rate-limit');
      await current.getByText('unlimited').waitFor();
      await rate.getByLabel('Deliveries per second').fill('5');
      await rate.getByRole('button', { name: 'Save rate limit' }).click();
      await current.getByText('5 deliveries per second').waitFor();
      assert.equal((await signed.call<{ perSecond: number | null }>('GET', sub('/rateLimit'))).perSecond, 5);
      await rate.getByRole('button', { name: 'Remove rate limit' }).click();
      await current.getByText('unlimited').waitFor();
      await rate.getByRole('status').getByText('Rate limit removed').waitFor();
      assert.equal((await signed.call<{ perSecond: number | null }>('GET', sub('/rateLimit'))).perSecond, null);
    });
  });

  it('replays the retained messages its filter policy passes', async () => {
    const { page } = b;
    await withScreenshot(page, 'delivery-control-replay', async () => {
      const bodies = ['{"kind": "order", "id": 1}', '{"kind": "order", "id": 2}', '{"kind": "refund", "id": 3}'];
      const ids = [];
      for (const body of bodies) ids.push(await publish(body));
      // Replay skips a message with a delivery still to make: wait until all three are settled.
      assert.equal(await settled(ids[0]!, SETTLED), 'DELIVERED');
      assert.equal(await settled(ids[1]!, SETTLED), 'DELIVERED');
      assert.equal(await settled(ids[2]!, SETTLED), 'FILTERED');
      assert.equal(received(bodies[2]!).length, 0, 'the filtered message never reached the receiver');

      const replay = region(page, 'Replay');
      // A window that ends where it starts: the server's 400, inline.
      await replay.getByLabel('Since').fill('2030-01-01T10:00:00');
      await replay.getByLabel('Until (optional)').fill('2030-01-01T10:00:00');
      await replay.getByRole('button', { name: 'Replay' }).click();
      await replay.getByRole('alert').getByText('since must be earlier than until.').waitFor();

      // The last hour (the page's own default for since, in the browser's time zone) up to now.
      await page.reload();
      assert.equal(await replay.getByLabel('Until (optional)').inputValue(), '');
      assert.notEqual(await replay.getByLabel('Since').inputValue(), '');
      // Counted before, not assumed to be 1: a slow answer may have been tried twice.
      const before = [received(bodies[0]!).length, received(bodies[1]!).length];
      await replay.getByRole('button', { name: 'Replay' }).click();
      await replay.getByRole('status').getByText('Replayed 2 messages.').waitFor();
      await rx.waitFor(() => received(bodies[0]!).length > before[0]! && received(bodies[1]!).length > before[1]!, 20_000, 'both order messages delivered again');
      assert.equal(received(bodies[2]!).length, 0);
    });
  });

  it('shows a failing endpoint become DISABLED, holds its deliveries and enables it again', async () => {
    const { page } = b;
    await withScreenshot(page, 'delivery-control-health', async () => {
      failing = true;
      const healthRegion = region(page, 'Health');
      const first = await publish('{"kind": "order", "id": 4}');
      // FAILING from the first failed attempt (or already DISABLED when the page polls late).
      await healthRegion.getByTestId('health-state').getByText(/^(FAILING|DISABLED)$/).waitFor({ timeout: 20_000 });
      // Disabled by a failure more than 2 s after the first one. Should every retry of that message be spent first
      // (a very busy machine), the next message's failure disables it.
      let latest = first;
      await eventually(async () => {
        if ((await health()).state === 'DISABLED') return true;
        if ((await deliveryState(latest)) === 'DEAD') latest = await publish('{"kind": "order", "id": 5}');
        return false;
      }, 60_000, 'the subscription disabled');
      await healthRegion.getByTestId('health-state').getByText('DISABLED', { exact: true }).waitFor();
      await healthRegion.getByTestId('health-last-error').getByText(/HTTP 500/).waitFor();
      const failures = Number(await healthRegion.getByTestId('health-failures').textContent());
      assert.ok(failures >= 2, `consecutive failures: ${failures}`);

      // The topic page shows it too.
      await page.getByRole('link', { name: '← Topic Shipments' }).click();
      const row = page.getByRole('table', { name: 'Subscriptions' }).locator(`tr[data-subscription-id="${subscriptionId}"]`);
      await row.getByTestId('health-state').getByText('DISABLED', { exact: true }).waitFor();
      await row.getByRole('link', { name: `${rx.url}/hook` }).click();

      // A message published now is held, not attempted.
      const heldBody = '{"kind": "order", "id": 6}';
      const held = await publish(heldBody);
      await settled(held, new Set(['HELD']));
      await healthRegion.getByTestId('health-held').filter({ hasNotText: /^0$/ }).waitFor();
      assert.equal(rx.requests.filter((r) => r.body === heldBody).length, 0);
      // HERALD_SUBSCRIPTION_SCREENSHOT=docs/console-subscription.png refreshes the README's screenshot (disabled, one held).
      if (process.env.HERALD_SUBSCRIPTION_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.HERALD_SUBSCRIPTION_SCREENSHOT, fullPage: true });

      // The receiver heals; Enable releases the held delivery.
      failing = false;
      await healthRegion.getByRole('button', { name: 'Enable' }).click();
      await healthRegion.getByTestId('health-state').getByText('HEALTHY', { exact: true }).waitFor();
      await page.getByRole('status').getByText(/^Subscription enabled/).waitFor();
      await rx.waitFor(() => received(heldBody).length > 0, 20_000, 'the held message delivered after enable');
      await eventually(async () => {
        const hl = await health();
        return hl.state === 'HEALTHY' && hl.heldDeliveries === 0;
      }, 20_000, 'healthy with nothing held');
      await healthRegion.getByTestId('health-held').getByText('0', { exact: true }).waitFor();
      assert.equal(await healthRegion.getByRole('button', { name: 'Enable' }).count(), 0);
    });
  });
});
