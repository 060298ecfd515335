import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOciError, heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

for (const kind of KINDS) {
  describe(`ONS topics through the oci-ons SDK (${kind})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startTestHerald(kind);
    });
    after(async () => {
      await h.stop();
    });

    it('creates, gets, updates and deletes a topic with the SDK wire shapes', async () => {
      const created = await h.cp.createTopic({
        createTopicDetails: { name: 'orders', compartmentId: h.tenancyId, description: 'd1', freeformTags: { team: 'shop' } },
      });
      const t = created.notificationTopic;
      assert.match(t.topicId, /^ocid1\.onstopic\.oc1\.iad\./);
      assert.equal(t.lifecycleState, 'ACTIVE');
      assert.equal(t.apiEndpoint, h.herald.url);
      assert.equal(typeof t.timeCreated, 'string');
      assert.ok(!Number.isNaN(Date.parse(String(t.timeCreated))));
      assert.match(created.etag ?? '', /^[0-9a-f]{8}$/);
      assert.equal(t.etag, created.etag);
      assert.deepEqual(t.freeformTags, { team: 'shop' });
      assert.ok(created.opcRequestId);

      const got = await h.cp.getTopic({ topicId: t.topicId });
      assert.equal(got.notificationTopic.name, 'orders');
      assert.equal(got.etag, created.etag);

      const updated = await h.cp.updateTopic({ topicId: t.topicId, topicAttributesDetails: { description: 'd2' }, ifMatch: got.etag });
      assert.equal(updated.notificationTopic.description, 'd2');
      assert.notEqual(updated.etag, got.etag);
      assert.deepEqual(updated.notificationTopic.freeformTags, { team: 'shop' });

      await h.cp.deleteTopic({ topicId: t.topicId, ifMatch: updated.etag });
      await expectOciError(h.cp.getTopic({ topicId: t.topicId }), 404, 'NotAuthorizedOrNotFound');
      // The name is free again once the topic is gone.
      const again = await h.cp.createTopic({ createTopicDetails: { name: 'orders', compartmentId: h.tenancyId } });
      assert.notEqual(again.notificationTopic.topicId, t.topicId);
    });

    it('refuses a duplicate name, bad ids, missing fields and malformed bodies with OCI errors', async () => {
      await h.cp.createTopic({ createTopicDetails: { name: 'dup', compartmentId: h.tenancyId } });
      await expectOciError(h.cp.createTopic({ createTopicDetails: { name: 'dup', compartmentId: h.tenancyId } }), 409, 'Conflict');
      // Names are case-sensitive.
      await h.cp.createTopic({ createTopicDetails: { name: 'DUP', compartmentId: h.tenancyId } });
      await expectOciError(h.cp.getTopic({ topicId: 'not-an-ocid' }), 400, 'InvalidParameter');
      await expectOciError(h.cp.getTopic({ topicId: 'ocid1.onstopic.oc1.iad.aaaaaaaanosuchtopic' }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(h.cp.createTopic({ createTopicDetails: { name: 'bad name!', compartmentId: h.tenancyId } }), 400, 'InvalidParameter');
      await expectOciError(h.cp.createTopic({ createTopicDetails: { compartmentId: h.tenancyId } as never }), 400, 'MissingParameter');
      await expectOciError(
        h.cp.createTopic({ createTopicDetails: { name: 'x', compartmentId: 'ocid1.compartment.oc1..aaaaaaaanotmine' } }),
        404,
        'NotAuthorizedOrNotFound',
      );
      const raw = await heraldClient(h).raw('POST', '/20181201/topics', '{"name": "x",');
      assert.equal(raw.status, 400);
      assert.equal(raw.json.code, 'CannotParseRequest');
      await expectOciError(h.cp.listTopics({ compartmentId: '' } as never), 400, 'MissingParameter');
    });

    it('pages through topics with opaque opc-next-page tokens, filters and sorts', async () => {
      const c = await heraldClient(h).call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'paging', description: 'p' });
      const names: string[] = [];
      for (let i = 0; i < 7; i++) {
        const name = `page-${i}`;
        names.push(name);
        await h.cp.createTopic({ createTopicDetails: { name, compartmentId: c.id } });
      }
      const first = await h.cp.listTopics({ compartmentId: c.id, limit: 3, sortBy: 'TIMECREATED' as never, sortOrder: 'ASC' as never });
      assert.ok(Array.isArray(first.items));
      assert.equal(first.items.length, 3);
      assert.ok(first.opcNextPage);
      const all: string[] = [];
      for await (const t of h.cp.listTopicsRecordIterator({ compartmentId: c.id, limit: 3, sortOrder: 'ASC' as never })) all.push(t.name);
      assert.deepEqual(all, names);
      const desc: string[] = [];
      for await (const t of h.cp.listTopicsRecordIterator({ compartmentId: c.id, limit: 2, sortOrder: 'DESC' as never })) desc.push(t.name);
      assert.deepEqual(desc, [...names].reverse());
      const byName = await h.cp.listTopics({ compartmentId: c.id, name: 'page-3' });
      assert.deepEqual(byName.items.map((t) => t.name), ['page-3']);
      const byState = await h.cp.listTopics({ compartmentId: c.id, lifecycleState: 'active' as never });
      assert.equal(byState.items.length, 7);
      const byId = await h.cp.listTopics({ compartmentId: c.id, id: byName.items[0]!.topicId });
      assert.equal(byId.items.length, 1);
      await expectOciError(h.cp.listTopics({ compartmentId: c.id, page: 'garbage!' }), 400, 'InvalidParameter');
      await expectOciError(h.cp.listTopics({ compartmentId: c.id, limit: 0 }), 400, 'InvalidParameter');
    });

    it('enforces if-match on update, delete and change compartment', async () => {
      const t = (await h.cp.createTopic({ createTopicDetails: { name: 'etags', compartmentId: h.tenancyId } })).notificationTopic;
      await expectOciError(h.cp.updateTopic({ topicId: t.topicId, topicAttributesDetails: { description: 'x' }, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      await expectOciError(h.cp.deleteTopic({ topicId: t.topicId, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      await expectOciError(
        h.cp.changeTopicCompartment({ topicId: t.topicId, changeTopicCompartmentDetails: { compartmentId: h.tenancyId }, ifMatch: 'deadbeef' }),
        412,
        'NoEtagMatch',
      );
      // Without if-match the write simply applies.
      const u = await h.cp.updateTopic({ topicId: t.topicId, topicAttributesDetails: { description: 'y' } });
      assert.equal(u.notificationTopic.description, 'y');
    });

    it('replays a create for the same opc-retry-token and refuses the token with another body', async () => {
      const a = await h.cp.createTopic({ createTopicDetails: { name: 'retry-a', compartmentId: h.tenancyId }, opcRetryToken: 'tok-topic-1' });
      const b = await h.cp.createTopic({ createTopicDetails: { name: 'retry-a', compartmentId: h.tenancyId }, opcRetryToken: 'tok-topic-1' });
      assert.equal(b.notificationTopic.topicId, a.notificationTopic.topicId);
      await expectOciError(
        h.cp.createTopic({ createTopicDetails: { name: 'retry-b', compartmentId: h.tenancyId }, opcRetryToken: 'tok-topic-1' }),
        409,
        'InvalidatedRetryToken',
      );
      // A first call that failed does not burn the token.
      await expectOciError(h.cp.createTopic({ createTopicDetails: { name: 'retry-a', compartmentId: h.tenancyId }, opcRetryToken: 'tok-topic-2' }), 409, 'Conflict');
      const ok = await h.cp.createTopic({ createTopicDetails: { name: 'retry-c', compartmentId: h.tenancyId }, opcRetryToken: 'tok-topic-2' });
      assert.equal(ok.notificationTopic.name, 'retry-c');
    });

    it('moves a topic to another compartment, idempotently under a retry token', async () => {
      const c = await heraldClient(h).call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'target' });
      const t = (await h.cp.createTopic({ createTopicDetails: { name: 'mover', compartmentId: h.tenancyId } })).notificationTopic;
      const got = await h.cp.getTopic({ topicId: t.topicId });
      await h.cp.changeTopicCompartment({ topicId: t.topicId, changeTopicCompartmentDetails: { compartmentId: c.id }, ifMatch: got.etag, opcRetryToken: 'move-1' });
      await h.cp.changeTopicCompartment({ topicId: t.topicId, changeTopicCompartmentDetails: { compartmentId: c.id }, ifMatch: got.etag, opcRetryToken: 'move-1' });
      const moved = await h.cp.getTopic({ topicId: t.topicId });
      assert.equal(moved.notificationTopic.compartmentId, c.id);
      const inTarget = await h.cp.listTopics({ compartmentId: c.id });
      assert.deepEqual(inTarget.items.map((x) => x.topicId), [t.topicId]);
    });

    it('keeps every topic across a restart', async () => {
      const t = (await h.cp.createTopic({ createTopicDetails: { name: 'durable', compartmentId: h.tenancyId } })).notificationTopic;
      await h.restart();
      const got = await h.cp.getTopic({ topicId: t.topicId });
      assert.equal(got.notificationTopic.name, 'durable');
      assert.equal(got.etag, t.etag);
    });
  });
}
