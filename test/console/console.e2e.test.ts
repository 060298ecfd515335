import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packFunctionDir } from '../../src/functions/bundles.js';
import { heraldClient } from '../helpers/oci.js';
import { vendorPackage } from '../helpers/vendor.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { eventually } from '../helpers/eventually.js';
import { confirming, Receiver } from '../helpers/receiver.js';
import { openBrowser, signInThroughUi, withScreenshot, type ConsoleBrowser } from './browser.js';

describe('web console in headless Chromium', () => {
  let h: TestHerald;
  let b: ConsoleBrowser;
  let rx: Receiver;
  /** While set, the receiver answers messages with 503 (it always confirms subscriptions). */
  let failing = false;
  before(async () => {
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true, retryTimeScale: '0.001' });
    rx = await new Receiver(confirming(() => (failing ? { status: 503, body: 'receiver is down for maintenance' } : { status: 200, body: 'ok' }))).start();
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await rx?.stop();
    await h?.stop();
  });

  it('signs in, creates a topic, subscribes a webhook that confirms, publishes and traces, fails, retries, dead-letters and re-drives', async () => {
    const { page } = b;
    await withScreenshot(page, 'topic-flow', async () => {
      const password = h.herald.consolePassword;
      assert.ok(password !== undefined);
      await signInThroughUi(page, h.herald.url, password);

      // Topics: create one.
      await page.getByRole('link', { name: 'Topics' }).click();
      await page.getByLabel('Topic name').fill('OrderProcessing');
      await page.getByRole('textbox', { name: 'Description' }).fill('Orders placed in the shop');
      await page.getByRole('button', { name: 'Create topic' }).click();
      const topics = page.getByRole('table', { name: 'Topics' });
      await topics.getByRole('link', { name: 'OrderProcessing' }).click();

      // Subscriptions: the endpoint is validated while typing.
      await page.getByLabel('Protocol').selectOption('CUSTOM_HTTPS');
      await page.getByLabel('Endpoint').fill('not a url');
      await page.getByText('Enter an absolute http(s) URL.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Add subscription' }).isDisabled(), true);
      await page.getByLabel('Endpoint').fill(`${rx.url}/hook`);
      await page.getByRole('button', { name: 'Add subscription' }).click();
      const subs = page.getByRole('table', { name: 'Subscriptions' });
      await subs.getByText('ACTIVE', { exact: true }).waitFor({ timeout: 20_000 });

      // Publish and watch the delivery in the trace.
      await page.getByLabel('Title').fill('Order 42');
      await page.getByLabel('Body').fill('{"orderId": 42}');
      await page.getByRole('button', { name: 'Publish' }).click();
      await page.getByRole('link', { name: /^message / }).click();
      const deliveries = page.getByRole('table', { name: 'Deliveries' });
      await deliveries.getByTestId('delivery-state').getByText('DELIVERED').waitFor();
      await page.getByText('All deliveries are final.').waitFor();
      assert.ok(rx.requests.some((r) => r.body === '{"orderId": 42}'));

      // Without knowing its id: back on the topic page, the recent list leads to the same trace.
      const traceUrl = page.url();
      await page.goBack();
      await page.getByRole('table', { name: 'Recent messages' }).getByRole('link', { name: 'Order 42' }).click();
      await deliveries.getByTestId('delivery-state').getByText('DELIVERED').waitFor();
      assert.equal(page.url(), traceUrl);

      // Make the receiver fail: attempts pile up with their errors and a next retry is scheduled.
      failing = true;
      await page.goBack();
      await page.getByLabel('Title').fill('Order 43');
      await page.getByLabel('Body').fill('{"orderId": 43}');
      await page.getByRole('button', { name: 'Publish' }).click();
      await page.getByRole('link', { name: /^message / }).click();
      await page.getByText('Updating live…').waitFor();
      const attempts = deliveries.locator('ol.attempts li');
      // Locator waits, not waitForFunction strings: the console's CSP forbids eval once Playwright has to poll.
      await attempts.nth(2).waitFor({ timeout: 20_000 });
      assert.match((await attempts.first().textContent()) ?? '', /HTTP 503/);
      // Between attempts the row shows when the next retry is due (the waits grow to ~2 s at this time scale).
      await deliveries.getByTestId('next-retry').filter({ hasNotText: '—' }).first().waitFor({ timeout: 20_000 });

      // The retry window (2 h scaled by 0.001 = 7.2 s) closes: a dead letter, re-driven once the receiver heals.
      await deliveries.getByTestId('delivery-state').getByText('DEAD').waitFor({ timeout: 20_000 });
      failing = false;
      await page.getByRole('link', { name: 'Dead letters' }).click();
      const dead = page.getByRole('table', { name: 'Dead letters' });
      await dead.getByRole('button', { name: 'Re-drive' }).first().click();
      await page.getByRole('status').getByText(`Re-drove 1 dead delivery of subscription CUSTOM_HTTPS ${rx.url}/hook (topic OrderProcessing).`).waitFor();
      await page.goBack();
      await deliveries.getByTestId('delivery-state').getByText('DELIVERED').waitFor({ timeout: 20_000 });
      // The trace tells the re-drive's attempts from the ones before it: the last (successful) one is marked.
      const redriven = deliveries.locator('ol.attempts li[data-redriven="true"]');
      await redriven.last().getByText('after re-drive').waitFor();
      assert.match((await redriven.last().textContent()) ?? '', /SUCCESS/);
      assert.doesNotMatch((await attempts.first().textContent()) ?? '', /after re-drive/);
      await page.getByTestId('trace-topic').getByText('OrderProcessing').waitFor();
      assert.ok(rx.requests.filter((r) => r.body === '{"orderId": 43}').length >= 4);
      // HERALD_CONSOLE_SCREENSHOT=docs/console-trace.png refreshes the README's screenshot.
      if (process.env.HERALD_CONSOLE_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.HERALD_CONSOLE_SCREENSHOT });
    });
  });

  it('reads a dev-mailbox confirmation email and follows its link', async () => {
    const { page, context } = b;
    await withScreenshot(page, 'mailbox', async () => {
      await page.getByRole('link', { name: 'Topics' }).click();
      await page.getByRole('table', { name: 'Topics' }).getByRole('link', { name: 'OrderProcessing' }).click();
      await page.getByLabel('Protocol').selectOption('EMAIL');
      await page.getByLabel('Endpoint').fill('ops@');
      await page.getByText('Enter an email address such as ops@example.com.').waitFor();
      await page.getByLabel('Endpoint').fill('ops@example.com');
      await page.getByRole('button', { name: 'Add subscription' }).click();
      const row = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row').filter({ hasText: 'ops@example.com' });
      await row.getByText('PENDING').waitFor();

      // The confirmation mail is sent in the background: wait until Herald has it, so the mailbox page lists it.
      await eventually(async () => (await h.herald.store.mailbox.listMail(h.tenancyId, 10, 'ops@example.com')).length > 0, 15_000, 'the confirmation email in the dev mailbox');
      await page.getByRole('link', { name: 'Dev mailbox' }).click();
      const mails = page.getByRole('list', { name: 'Emails' });
      await mails.getByRole('listitem').filter({ hasText: 'ops@example.com' }).first().getByRole('button').click();
      const link = mails.getByRole('link', { name: /confirmation/ }).first();
      const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await tab.waitForLoadState();
      await tab.close();

      await page.getByRole('link', { name: 'Topics' }).click();
      await page.getByRole('table', { name: 'Topics' }).getByRole('link', { name: 'OrderProcessing' }).click();
      await page.getByRole('table', { name: 'Subscriptions' }).getByRole('row').filter({ hasText: 'ops@example.com' }).getByText('ACTIVE').waitFor({ timeout: 10_000 });
    });
  });

  it('invokes an existing function with a payload, edits its config and shows its recent calls', async () => {
    const { page } = b;
    // Deployed beforehand through the API (as herald fn deploy does); the console only uses it.
    const work = await mkdtemp(join(tmpdir(), 'herald-console-fn-'));
    try {
      await cp(join(process.cwd(), 'test', 'fixtures', 'functions', 'echo'), work, { recursive: true });
      await vendorPackage('@fnproject/fdk', work);
      const signed = heraldClient(h);
      const up = await signed.raw('POST', '/herald/v1/functionBundles', await packFunctionDir(work), { 'content-type': 'application/gzip' });
      assert.equal(up.status, 200, up.text);
      const app = await signed.call<{ id: string }>('POST', '/20181201/applications', { compartmentId: h.tenancyId, displayName: 'shop', subnetIds: [] });
      await signed.call('POST', '/20181201/functions', { applicationId: app.id, displayName: 'echo', image: String(up.json.image), memoryInMBs: 128, config: { GREETING: 'hello' } });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await withScreenshot(page, 'functions', async () => {
      await page.getByRole('link', { name: 'Functions' }).click();
      await page.getByRole('button', { name: 'echo' }).click();
      const fn = page.getByRole('region', { name: 'Function echo' });
      await fn.getByLabel('Config (JSON)').fill('{"GREETING": "from the console"}');
      // The invoke below must see the saved config: wait for the save's answer, not for a while.
      const saved = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/20181201/functions/'));
      await fn.getByRole('button', { name: 'Save config' }).click();
      assert.equal((await saved).status(), 200);
      await fn.getByLabel('Payload').fill('{"orderId": 7}');
      await fn.getByRole('button', { name: 'Invoke' }).click();
      const response = fn.getByLabel('Invoke response');
      await response.waitFor({ timeout: 30_000 });
      const out = JSON.parse((await response.textContent()) ?? '') as { input: unknown; greeting: string };
      assert.deepEqual(out.input, { orderId: 7 });
      assert.equal(out.greeting, 'from the console');
      // The console session never reaches the function.
      assert.ok(!JSON.stringify(out).toLowerCase().includes('herald_console'));
      assert.ok(!JSON.stringify(out).toLowerCase().includes('x-csrf-token'));
      await fn.getByRole('table', { name: 'Recent calls' }).getByRole('cell', { name: 'success' }).waitFor();
    });
  });
});
