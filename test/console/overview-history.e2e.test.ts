import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, type SignedCaller } from '../helpers/oci.js';
import { confirming, Receiver } from '../helpers/receiver.js';
import { openBrowser, signInThroughUi, withScreenshot, type ConsoleBrowser } from './browser.js';

/**
 * The overview's history (GET /herald/v1/console/stats) drawn from what Herald stored, and the console's wording
 * of dead letters and retries. The retry schedule runs at real speed here: a failed delivery stays
 * "retrying" for as long as the receiver's Retry-After asks, so the test reads a state that cannot move under it.
 */

const MINUTE = 60_000;

/** The figures a chart bucket carries as data attributes, summed over the buckets starting at `starts` (all when omitted). */
async function bucketSum(page: Page, attr: 'data-published' | 'data-delivered', starts?: Set<number>): Promise<number> {
  let sum = 0;
  for (const g of await page.getByRole('img', { name: /^Deliveries per/ }).locator('g.bucket').all()) {
    if (starts !== undefined && !starts.has(Number(await g.getAttribute('data-bucket')))) continue;
    sum += Number(await g.getAttribute(attr));
  }
  return sum;
}

describe('console overview history and dead-letter wording in headless Chromium', () => {
  let h: TestHerald;
  let b: ConsoleBrowser;
  let signed: SignedCaller;
  /** Confirms and takes every message. */
  const ok = new Receiver(confirming());
  /** Refuses everything, its confirmation request too (400: no retry, straight to the dead letters). */
  const refusing = new Receiver(() => ({ status: 400, body: 'no thanks' }));
  /** Confirms, then answers messages 503 with a Retry-After of half an hour. */
  const down = new Receiver(confirming(() => ({ status: 503, body: 'down', headers: { 'retry-after': '1800' } })));
  let topicId = '';

  before(async () => {
    h = await startTestHerald('sqlite', { allowPrivateEndpoints: true });
    signed = heraldClient(h);
    await Promise.all([ok.start(), refusing.start(), down.start()]);
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await Promise.all([ok.stop(), refusing.stop(), down.stop()]);
    await h?.stop();
  });

  const subscribe = async (topic: string, endpoint: string): Promise<string> =>
    (await signed.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId: topic, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint })).id;
  const active = (id: string): Promise<boolean> =>
    eventually(async () => (await signed.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${id}`)).lifecycleState === 'ACTIVE', 20_000, `subscription ${id} to confirm`);

  it('on a fresh Herald draws the axes, says there was no traffic, and an empty table says it is empty', async () => {
    const { page } = b;
    // The one topic a fresh Herald has is the one it makes for its own events: without it the table is empty.
    const own = await signed.call<{ topicId: string }[]>('GET', `/20181201/topics?compartmentId=${h.tenancyId}&name=herald-operations`);
    assert.equal(own.length, 1);
    assert.equal((await signed.raw('DELETE', `/20181201/topics/${own[0]!.topicId}`)).status, 204);
    await withScreenshot(page, 'overview-empty', async () => {
      await signInThroughUi(page, h.herald.url, h.herald.consolePassword!);
      const chart = page.getByRole('img', { name: /^Deliveries per 1 minutes/ });
      await chart.waitFor();
      assert.equal(await chart.getAttribute('data-empty'), 'true');
      await chart.locator('[data-axis="time"] text').first().waitFor();
      await chart.locator('[data-axis="value"] text').first().waitFor();
      assert.equal(await chart.locator('g.bucket').count(), 60);
      await chart.getByText('No traffic in the last hour.').waitFor();
      await page.getByRole('table', { name: 'Topic health' }).getByText('No topic had traffic or a backlog in the last hour.').waitFor();
      await page.getByRole('img', { name: 'Delivery latency p50 and p99' }).getByText('No deliveries, so no latency.').waitFor();

      // The day: 96 quarter-hours, just as empty.
      await page.getByRole('button', { name: 'Last day' }).click();
      const day = page.getByRole('img', { name: /^Deliveries per 15 minutes/ });
      await day.getByText('No traffic in the last day.').waitFor();
      assert.equal(await day.locator('g.bucket').count(), 96);
      await page.getByRole('button', { name: 'Last hour' }).click();
      await chart.waitFor();

      await page.getByRole('link', { name: 'Dead letters' }).first().click();
      await page.getByRole('table', { name: 'Dead letters' }).getByRole('cell', { name: 'No dead letters.' }).waitFor();
    });
  });

  it('after deliveries to a confirmed webhook, charts them in their bucket and lists the topic with its health', async () => {
    const { page } = b;
    await withScreenshot(page, 'overview-history', async () => {
      topicId = (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'history', compartmentId: h.tenancyId })).topicId;
      await active(await subscribe(topicId, `${ok.url}/hook`));
      const buckets = new Set<number>();
      for (const n of [1, 2, 3]) {
        buckets.add(Math.floor(Date.now() / MINUTE) * MINUTE);
        await signed.call('POST', `/20181201/topics/${topicId}/messages`, { title: `m${n}`, body: `message ${n}` });
        buckets.add(Math.floor(Date.now() / MINUTE) * MINUTE);
      }
      await ok.waitFor((r) => r.filter((x) => x.body.startsWith('message ')).length === 3, 20_000, 'the three messages at the receiver');

      await page.getByRole('link', { name: 'Overview' }).click();
      const chart = page.getByRole('img', { name: /^Deliveries per 1 minutes/ });
      // The page polls: wait until the stored history shows the three publishes and their three deliveries.
      await chart.locator('g.bucket:not([data-delivered="0"])').first().waitFor({ timeout: 30_000 });
      await eventually(async () => (await bucketSum(page, 'data-published', buckets)) === 3 && (await bucketSum(page, 'data-delivered')) === 3, 30_000, 'published 3 and delivered 3 in the chart');
      assert.equal(await chart.getAttribute('data-empty'), 'false');
      assert.equal(await chart.getByText('No traffic in the last hour.').count(), 0);
      assert.match((await chart.locator(`g.bucket[data-published="3"] title, g.bucket:not([data-published="0"]) title`).first().textContent()) ?? '', /published [1-3]/);

      const row = page.getByRole('table', { name: 'Topic health' }).locator(`tr[data-topic-id="${topicId}"]`);
      await row.getByTestId('topic-published').getByText('3', { exact: true }).waitFor({ timeout: 30_000 });
      await row.getByTestId('topic-delivered').getByText('3', { exact: true }).waitFor({ timeout: 30_000 });
      await row.getByTestId('topic-success-rate').getByText('100.0%').waitFor();
      assert.equal(await row.getByRole('link', { name: 'history' }).getAttribute('href'), `#/topics/${topicId}`);
      // A delivery took some time: the latency chart has a point.
      await page.getByRole('img', { name: 'Delivery latency p50 and p99' }).locator('g.latency').first().waitFor({ timeout: 30_000 });
      // HERALD_OVERVIEW_SCREENSHOT=docs/console-overview.png refreshes the README's screenshot.
      if (process.env.HERALD_OVERVIEW_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.HERALD_OVERVIEW_SCREENSHOT, fullPage: true });
    });
  });

  it('names a confirmation dead letter "confirmation request", links it to its topic, and says what a re-drive re-drove', async () => {
    const { page } = b;
    await withScreenshot(page, 'confirmation-dead-letter', async () => {
      await subscribe(topicId, `${refusing.url}/refuses`);
      await eventually(async () => (await signed.call<unknown[]>('GET', '/herald/v1/deadLetters')).length > 0, 20_000, 'the confirmation to die');

      await page.getByRole('link', { name: 'Dead letters' }).first().click();
      const row = page.getByRole('table', { name: 'Dead letters' }).getByRole('row').filter({ hasText: `${refusing.url}/refuses` });
      const link = row.getByRole('link', { name: 'confirmation request' });
      await link.waitFor();
      const href = (await link.getAttribute('href')) ?? '';
      assert.equal(href, `#/topics/${topicId}`);
      assert.doesNotMatch(href, /messages\/null/);
      await row.getByRole('link', { name: 'history' }).waitFor();
      await link.click();
      await page.getByRole('heading', { name: 'Topic history' }).waitFor();
      await page.goBack();

      // The re-drive sends the refused confirmation again (PENDING, so it leaves the list) and says so.
      await row.getByRole('button', { name: 'Re-drive' }).click();
      await page.getByRole('status').getByText(`Re-drove 1 dead delivery of subscription CUSTOM_HTTPS ${refusing.url}/refuses (topic history).`).waitFor();
    });
  });

  it('shows a PENDING delivery after a failed attempt as "retrying", and the trace names its topic', async () => {
    const { page } = b;
    await withScreenshot(page, 'retrying', async () => {
      const slow = (await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'slow-receiver', compartmentId: h.tenancyId })).topicId;
      await active(await subscribe(slow, `${down.url}/down`));
      const { messageId } = await signed.call<{ messageId: string }>('POST', `/20181201/topics/${slow}/messages`, { body: 'will wait' });

      await page.goto(`${h.herald.url}/console/#/messages/${messageId}`);
      const state = page.getByRole('table', { name: 'Deliveries' }).getByTestId('delivery-state');
      await state.getByText(/^retrying \(attempt 1 failed; next at \d\d:\d\d:\d\d\)$/).waitFor({ timeout: 20_000 });
      assert.equal(await state.getAttribute('data-state'), 'PENDING');
      const topic = page.getByTestId('trace-topic');
      await topic.getByText('slow-receiver').waitFor();
      assert.equal(await topic.getAttribute('href'), `#/topics/${slow}`);
    });
  });
});
