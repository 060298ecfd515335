/**
 * Confirmation-link time rules of SubscriptionService, driven by an injected clock against real stores.
 * OCI: "The confirmation URL is valid for 3 days. ResendSubscriptionConfirmation issues a new one."
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SubscriptionLinks } from '../../src/core/links.js';
import type { Subscription, Topic } from '../../src/core/models.js';
import { SubscriptionService } from '../../src/core/subscriptions.js';
import { refusal } from '../helpers/refusal.js';
import { STORE_KINDS, makeTestStore } from '../helpers/stores.js';
import type { TestStore } from '../helpers/stores.js';
import type { Authorizer } from '../../src/core/iam/authorizer.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { T0, seedAdminTenancy, topicFixture } from '../store/fixtures.js';

const DAY = 24 * 60 * 60 * 1000;
/** Written out rather than imported, so a wrong constant in src fails here. */
const LINK_VALIDITY_MS = 3 * DAY;

for (const kind of STORE_KINDS) {
  describe(`subscription confirmation links with an injected clock (${kind})`, () => {
    let t: TestStore;
    let tenancyId: string;
    let topic: Topic;
    let links: SubscriptionLinks;
    let subs: SubscriptionService;
    let admin: Principal;
    let authz: Authorizer;
    let now = T0;
    /** Every subscription whose confirmation was asked to be sent, in order: what the engine would send. */
    const sent: Subscription[] = [];

    before(async () => {
      t = await makeTestStore(kind);
      const seeded = await seedAdminTenancy(t.store);
      tenancyId = seeded.tenancy.id;
      admin = seeded.admin;
      authz = seeded.authz;
      topic = topicFixture(tenancyId);
      await t.store.topics.insertTopic(topic);
      links = new SubscriptionLinks(randomBytes(32), () => 'http://herald.test');
      subs = new SubscriptionService(t.store, links, authz, { confirmationRequested: (s) => sent.push(s) }, () => now);
    });
    after(() => t.cleanup());

    async function subscribe(at: number): Promise<Subscription> {
      now = at;
      return subs.create(admin, { topicId: topic.id, compartmentId: tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: 'https://example.com/hook' });
    }

    /** The link in the latest confirmation sent for the subscription, as a subscriber would click it. */
    function latestLink(id: string): { token: string; protocol: string } {
      const last = sent.filter((s) => s.id === id).at(-1);
      assert.ok(last, `no confirmation was sent for ${id}`);
      const url = new URL(links.confirmationUrl(last));
      return { token: url.searchParams.get('token') ?? '', protocol: url.searchParams.get('protocol') ?? '' };
    }

    async function click(id: string, link: { token: string; protocol: string }): Promise<string> {
      return (await subs.confirm(id, link.token, link.protocol)).message;
    }

    async function stored(id: string): Promise<Subscription> {
      const s = await t.store.subscriptions.getSubscription(tenancyId, id);
      assert.ok(s);
      return s;
    }

    it('sends a link that expires three days after the subscription is created', async () => {
      const sub = await subscribe(T0);
      assert.equal(sub.lifecycleState, 'PENDING');
      assert.equal(sub.confirmationExpiresAt, T0 + LINK_VALIDITY_MS);
      assert.equal((await stored(sub.id)).confirmationExpiresAt, T0 + LINK_VALIDITY_MS);
      assert.equal(sent.filter((s) => s.id === sub.id).length, 1);
    });

    it('confirms with the link one millisecond before it expires', async () => {
      const sub = await subscribe(T0);
      now = T0 + LINK_VALIDITY_MS - 1;
      assert.equal(await click(sub.id, latestLink(sub.id)), 'The subscription is confirmed.');
      const s = await stored(sub.id);
      assert.equal(s.lifecycleState, 'ACTIVE');
      assert.equal(s.activatedAt, now);
    });

    it('refuses the link one millisecond after it expires (400 InvalidParameter) and leaves the subscription PENDING', async () => {
      const sub = await subscribe(T0);
      const before = await stored(sub.id);
      now = T0 + LINK_VALIDITY_MS + 1;
      const r = await refusal(click(sub.id, latestLink(sub.id)));
      assert.deepEqual([r.code, r.status], ['InvalidParameter', 400]);
      assert.match(r.message, /expired/);
      const s = await stored(sub.id);
      assert.equal(s.lifecycleState, 'PENDING');
      assert.equal(s.activatedAt, null);
      // Nothing was written: the refused click neither used up the link nor touched the row.
      assert.equal(s.etag, before.etag);
      assert.equal(s.confirmationTokenHash, before.confirmationTokenHash);
      // And it stays refused: an expired link does not come back.
      now += DAY;
      assert.equal((await refusal(click(sub.id, latestLink(sub.id)))).code, 'InvalidParameter');
      assert.equal((await stored(sub.id)).lifecycleState, 'PENDING');
    });

    it('resending after expiry sends a fresh three-day link that confirms; the previous link stops working (404)', async () => {
      const sub = await subscribe(T0);
      const oldLink = latestLink(sub.id);
      const resentAt = T0 + LINK_VALIDITY_MS + 1;
      now = resentAt;
      const resent = await subs.resendConfirmation(admin, sub.id);
      assert.equal(resent.confirmationExpiresAt, resentAt + LINK_VALIDITY_MS);
      assert.equal((await stored(sub.id)).confirmationExpiresAt, resentAt + LINK_VALIDITY_MS);
      assert.equal(sent.filter((s) => s.id === sub.id).length, 2, 'the resend queues a new confirmation');
      const newLink = latestLink(sub.id);
      assert.notEqual(newLink.token, oldLink.token);

      now = resentAt + LINK_VALIDITY_MS - 1;
      // The previous link stops working at the resend (a different token, so not found rather than expired).
      const old = await refusal(click(sub.id, oldLink));
      assert.deepEqual([old.code, old.status], ['NotAuthorizedOrNotFound', 404]);
      assert.equal((await stored(sub.id)).lifecycleState, 'PENDING');
      assert.equal(await click(sub.id, newLink), 'The subscription is confirmed.');
      assert.equal((await stored(sub.id)).lifecycleState, 'ACTIVE');
    });

    it('a resent link counts its three days from the resend, not from the creation', async () => {
      const resentAt = T0 + DAY;
      const a = await subscribe(T0);
      const b = await subscribe(T0);
      now = resentAt;
      await subs.resendConfirmation(admin, a.id);
      await subs.resendConfirmation(admin, b.id);

      // Past the first link's expiry, within the resent one's: confirms.
      now = T0 + LINK_VALIDITY_MS + 1;
      assert.equal(await click(a.id, latestLink(a.id)), 'The subscription is confirmed.');
      assert.equal((await stored(a.id)).lifecycleState, 'ACTIVE');

      // Just past the resent link's own expiry: refused, and still PENDING.
      now = resentAt + LINK_VALIDITY_MS + 1;
      const r = await refusal(click(b.id, latestLink(b.id)));
      assert.deepEqual([r.code, r.status], ['InvalidParameter', 400]);
      assert.equal((await stored(b.id)).lifecycleState, 'PENDING');
    });

    it('does not resend the confirmation of a subscription that is already ACTIVE (409 IncorrectState)', async () => {
      const sub = await subscribe(T0);
      now = T0 + 1;
      await click(sub.id, latestLink(sub.id));
      const count = sent.length;
      const r = await refusal(subs.resendConfirmation(admin, sub.id));
      assert.deepEqual([r.code, r.status], ['IncorrectState', 409]);
      assert.equal(sent.length, count, 'no confirmation was queued');
    });
  });
}
