import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { SignedCaller } from '../helpers/oci.js';
import { messageFixture, seedTenancy, topicFixture } from '../store/fixtures.js';

/** GET /herald/v1/topics/{topicId}/messages and GET /herald/v1/topicStats, signed, on both stores. */

interface RecentMessage {
  id: string;
  title: string | null;
  body: string;
  timePublished: string;
}
type Stats = Record<string, { subscriptions: number; recentMessages: number }>;

const HOUR = 60 * 60 * 1000;

for (const kind of KINDS) {
  describe(`recent messages and topic stats on ${kind}`, () => {
    let h: TestHerald;
    let api: SignedCaller;
    before(async () => {
      h = await startTestHerald(kind);
      api = new SignedCaller(h);
    });
    after(async () => {
      await h.stop();
    });

    const createTopic = async (name: string): Promise<string> =>
      (await h.cp.createTopic({ createTopicDetails: { name, compartmentId: h.tenancyId } })).notificationTopic.topicId;
    const publish = async (topicId: string, title: string, body: string): Promise<string> =>
      (await h.dp.publishMessage({ topicId, messageDetails: { title, body } })).publishResult.messageId;

    it('lists a topic’s messages newest first, within the limit, with a 200-character body excerpt', async () => {
      const topicId = await createTopic('recent-list');
      const other = await createTopic('recent-other');
      const long = 'x'.repeat(250);
      const ids: string[] = [];
      for (const [i, body] of ['first', long, 'third'].entries()) {
        ids.push(await publish(topicId, `m${i}`, body));
        // Distinct publish times, so the order is by time alone.
        await new Promise((r) => setTimeout(r, 5));
      }
      await publish(other, 'elsewhere', 'not listed');

      const all = await api.call<RecentMessage[]>('GET', `/herald/v1/topics/${topicId}/messages`);
      assert.deepEqual(
        all.map((m) => m.id),
        [...ids].reverse(),
      );
      assert.deepEqual(
        all.map((m) => m.title),
        ['m2', 'm1', 'm0'],
      );
      assert.equal(all[1]?.body, 'x'.repeat(200));
      assert.equal(all[0]?.body, 'third');
      assert.deepEqual(Object.keys(all[0] ?? {}).sort(), ['body', 'id', 'timePublished', 'title']);
      assert.ok(!Number.isNaN(Date.parse(all[0]?.timePublished ?? '')));
      assert.ok(Date.parse(all[0]?.timePublished ?? '') >= Date.parse(all[2]?.timePublished ?? ''));

      const two = await api.call<RecentMessage[]>('GET', `/herald/v1/topics/${topicId}/messages?limit=2`);
      assert.deepEqual(
        two.map((m) => m.id),
        [ids[2], ids[1]],
      );
      assert.equal((await api.raw('GET', `/herald/v1/topics/${topicId}/messages?limit=0`)).status, 400);
    });

    it('answers 404 for a missing topic, another tenancy’s topic and a deleted one', async () => {
      const stranger = await seedTenancy(h.herald.store);
      const theirs = topicFixture(stranger.tenancy.id);
      await h.herald.store.topics.insertTopic(theirs);
      await h.herald.store.messages.insertMessages([messageFixture(theirs, { publishedAt: Date.now() })]);
      const missing = `${theirs.id.slice(0, -4)}zzzz`;
      for (const id of [theirs.id, missing]) {
        const res = await api.raw('GET', `/herald/v1/topics/${id}/messages`);
        assert.equal(res.status, 404, res.text);
        assert.equal(res.json.code, 'NotAuthorizedOrNotFound');
      }
      const gone = await createTopic('recent-gone');
      await h.cp.deleteTopic({ topicId: gone });
      assert.equal((await api.raw('GET', `/herald/v1/topics/${gone}/messages`)).status, 404);
      assert.equal((await api.raw('GET', '/herald/v1/topics/not-an-ocid/messages')).status, 400);
    });

    it('topicStats counts live subscriptions and the last 24 hours of messages per topic, tenancy-scoped', async () => {
      const busy = await createTopic('stats-busy');
      const quiet = await createTopic('stats-quiet');
      const subs = [];
      for (const n of [1, 2, 3]) {
        const s = await h.dp.createSubscription({
          createSubscriptionDetails: { topicId: busy, compartmentId: h.tenancyId, protocol: 'CUSTOM_HTTPS', endpoint: `https://127.0.0.1:9/hook${n}` },
        });
        subs.push(s.subscription.id);
      }
      await h.dp.deleteSubscription({ subscriptionId: subs[0] ?? '' });
      await publish(busy, 'a', 'b');
      await publish(busy, 'c', 'd');
      const [topic] = await h.herald.store.deliveries.getTopicsByIds([busy]);
      assert.ok(topic);
      await h.herald.store.messages.insertMessages([messageFixture(topic, { publishedAt: Date.now() - 25 * HOUR })]);
      const stranger = await seedTenancy(h.herald.store);
      const theirs = topicFixture(stranger.tenancy.id);
      await h.herald.store.topics.insertTopic(theirs);
      await h.herald.store.messages.insertMessages([messageFixture(theirs, { publishedAt: Date.now() })]);

      const stats = await api.call<Stats>('GET', `/herald/v1/topicStats?topicId=${busy}&topicId=${quiet}&topicId=${theirs.id}`);
      assert.deepEqual(stats, {
        [busy]: { subscriptions: 2, recentMessages: 2 },
        [quiet]: { subscriptions: 0, recentMessages: 0 },
        [theirs.id]: { subscriptions: 0, recentMessages: 0 },
      });
      assert.deepEqual(await api.call<Stats>('GET', '/herald/v1/topicStats'), {});
      assert.equal((await api.raw('GET', '/herald/v1/topicStats?topicId=nope')).status, 400);
    });

    it('requires a signature', async () => {
      const res = await fetch(`${h.herald.url}/herald/v1/topicStats`);
      assert.equal(res.status, 401);
    });
  });
}
