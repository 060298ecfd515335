import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { heraldClient } from '../helpers/oci.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { openBrowser, signInThroughUi, withScreenshot, type ConsoleBrowser } from './browser.js';

/** Signs in through the form as any console user (signInThroughUi is the admin's). */
async function signInAs(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// sqlite only, as the other console e2e: the IAM services and stores are covered on every store elsewhere.
describe('console IAM pages in headless Chromium', () => {
  let h: TestHerald;
  let b: ConsoleBrowser;
  before(async () => {
    h = await startTestHerald('sqlite');
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await h?.stop();
  });

  it('admin creates a group, a user, a membership, a policy and a console password; the user signs in and sees what the policy allows', async () => {
    const { page } = b;
    await withScreenshot(page, 'iam', async () => {
      // A compartment made through the signed Identity API shows in the policies' compartment picker.
      const signed = heraldClient(h);
      await signed.call('POST', '/20160918/compartments', { compartmentId: h.tenancyId, name: 'Eng', description: 'Engineering' });
      const adminPassword = h.herald.consolePassword;
      assert.ok(adminPassword !== undefined);
      await signInThroughUi(page, h.herald.url, adminPassword);

      // Groups: create Readers.
      await page.getByRole('link', { name: 'Groups', exact: true }).click();
      await page.getByLabel('Group name').fill('Readers');
      await page.getByLabel('Description').fill('May look at topics');
      await page.getByRole('button', { name: 'Create group' }).click();
      const groups = page.getByRole('table', { name: 'Groups' });
      await groups.getByRole('link', { name: 'Readers' }).waitFor();
      // The bootstrap group is there too.
      await groups.getByRole('link', { name: 'Administrators' }).waitFor();

      // Users: create reader and open it.
      await page.getByRole('link', { name: 'Users', exact: true }).click();
      await page.getByLabel('User name').fill('reader');
      await page.getByLabel('Description').fill('Reads topics');
      await page.getByLabel('Email').fill('reader@example.com');
      await page.getByRole('button', { name: 'Create user' }).click();
      const users = page.getByRole('table', { name: 'Users' });
      await users.getByRole('row').filter({ hasText: 'reader@example.com' }).getByText('ACTIVE').waitFor();
      await users.getByRole('link', { name: 'reader', exact: true }).click();
      await page.getByRole('heading', { name: 'User reader' }).waitFor();

      // Add reader to Readers.
      const memberOf = page.getByRole('list', { name: 'Member of' });
      await page.getByRole('form', { name: 'Add to group' }).getByRole('combobox').selectOption({ label: 'Readers' });
      await page.getByRole('button', { name: 'Add to group' }).click();
      await memberOf.getByRole('link', { name: 'Readers' }).waitFor();

      // The group's page lists the member.
      await memberOf.getByRole('link', { name: 'Readers' }).click();
      await page.getByRole('table', { name: 'Members' }).getByRole('link', { name: 'reader' }).waitFor();

      // Policies: the picker offers the compartment; a malformed statement is refused with the server's message.
      await page.getByRole('link', { name: 'Policies', exact: true }).click();
      const picker = page.getByLabel('Compartment');
      await picker.locator('option', { hasText: 'Eng' }).waitFor({ state: 'attached' });
      await page.getByRole('table', { name: 'Policies' }).getByRole('link', { name: 'Tenant-Admin-Policy' }).waitFor();
      await page.getByLabel('Policy name').fill('ReadersInspectTopics');
      await page.getByLabel('Description').fill('Readers may list topics');
      await page.getByLabel('Statements (one per line)').fill('Allow group Readers to inspekt ons-topics in tenancy');
      await page.getByRole('button', { name: 'Create policy' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /Statement 1 \("Allow group Readers to inspekt ons-topics in tenancy"\), position \d+/);
      await page.getByLabel('Statements (one per line)').fill('Allow group Readers to inspect ons-topics in tenancy');
      await page.getByRole('button', { name: 'Create policy' }).click();
      await page.getByRole('table', { name: 'Policies' }).getByRole('link', { name: 'ReadersInspectTopics' }).click();

      // View and edit its statements.
      const statements = page.getByRole('list', { name: 'Statements' });
      await statements.getByText('Allow group Readers to inspect ons-topics in tenancy').waitFor();
      await page.getByRole('button', { name: 'Edit statements' }).click();
      await page.getByLabel('Statements (one per line)').fill('Allow group Readers to inspect ons-topics in tenancy\nAllow group Readers to read ons-topics in compartment Eng');
      await page.getByRole('button', { name: 'Save statements' }).click();
      await statements.getByText('Allow group Readers to read ons-topics in compartment Eng').waitFor();
      assert.equal(await statements.getByRole('listitem').count(), 2);

      // Back on reader's page: upload an API key, see its fingerprint, revoke it.
      await page.getByRole('link', { name: 'Users', exact: true }).click();
      await page.getByRole('table', { name: 'Users' }).getByRole('link', { name: 'reader', exact: true }).click();
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const fingerprint = createHash('md5').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').replace(/(..)(?!$)/g, '$1:');
      await page.getByLabel('Public key (PEM)').fill(pem);
      await page.getByRole('button', { name: 'Upload key' }).click();
      const keys = page.getByRole('table', { name: 'API keys' });
      await keys.getByText(fingerprint).waitFor();
      await keys.getByRole('button', { name: `Delete key ${fingerprint}` }).click();
      await page.getByRole('button', { name: 'Confirm delete' }).click();
      await page.getByText('No API keys').waitFor();
      assert.equal(await keys.getByText(fingerprint).count(), 0);

      // Set reader's console password: shown once.
      await page.getByRole('button', { name: 'Set console password' }).click();
      const shown = page.getByLabel('New console password');
      await shown.waitFor();
      const readerPassword = ((await shown.textContent()) ?? '').trim();
      assert.ok(readerPassword.length >= 12, `password "${readerPassword}"`);
      await page.getByText('It is shown only once.').waitFor();

      // The admin makes a topic through the SDK.
      await h.cp.createTopic({ createTopicDetails: { name: 'ReadableTopic', compartmentId: h.tenancyId } });

      // Sign out; sign in as reader.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await signInAs(page, h.herald.url, 'reader', readerPassword);
      await page.locator('header .user', { hasText: 'reader' }).waitFor();

      // Topics: listed (inspect), but creating one is refused visibly.
      await page.getByRole('link', { name: 'Topics', exact: true }).click();
      await page.getByRole('table', { name: 'Topics' }).getByRole('link', { name: 'ReadableTopic' }).waitFor();
      await page.getByLabel('Topic name').fill('NotMine');
      await page.getByRole('button', { name: 'Create topic' }).click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor();
      assert.match((await refusal.textContent()) ?? '', /NotAuthorizedOrNotFound/);
      assert.equal(await page.getByRole('table', { name: 'Topics' }).getByRole('link', { name: 'NotMine' }).count(), 0);

      // Users, groups and policies: not allowed to see, and no error dump.
      for (const section of ['Users', 'Groups', 'Policies']) {
        await page.getByRole('link', { name: section, exact: true }).click();
        await page.getByRole('heading', { name: section, level: 1 }).waitFor();
        await page.getByText('You are not allowed to see this.').waitFor();
        assert.equal(await page.getByRole('alert').count(), 0, `${section}: no error shown`);
        assert.equal(await page.getByRole('table', { name: section }).count(), 0, `${section}: no table`);
      }
    });
  });
});
