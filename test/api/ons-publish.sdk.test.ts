import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOciError, heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

for (const kind of KINDS) {
  describe(`ONS publish through the oci-ons SDK (${kind})`, () => {
    let h: TestHerald;
    let topicId: string;
    before(async () => {
      h = await startTestHerald(kind);
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'pub', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      await h.stop();
    });

    it('stores a published message durably and returns its id', async () => {
      const res = await h.dp.publishMessage({ topicId, messageDetails: { title: 'Order placed', body: 'New Order has been placed: 42 by user: 7' } });
      assert.match(res.publishResult.messageId, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(String(res.publishResult.timeStamp))));
      await h.restart();
      const m = await h.herald.store.messages.getMessage(h.tenancyId, res.publishResult.messageId);
      assert.equal(m?.title, 'Order placed');
      assert.equal(m?.body, 'New Order has been placed: 42 by user: 7');
      assert.equal(m?.messageType, 'RAW_TEXT');
    });

    it('commits concurrent publishes as one group and acknowledges each', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => h.dp.publishMessage({ topicId, messageDetails: { body: `m${i}` } })),
      );
      const ids = new Set(results.map((r) => r.publishResult.messageId));
      assert.equal(ids.size, 50);
      for (const r of results) assert.ok(await h.herald.store.messages.getMessage(h.tenancyId, r.publishResult.messageId));
    });

    it('reads messageType from the request header and validates the JSON form', async () => {
      const ok = await h.dp.publishMessage({ topicId, messageType: 'JSON' as never, messageDetails: { body: JSON.stringify({ default: 'x', EMAIL: 'y' }) } });
      const m = await h.herald.store.messages.getMessage(h.tenancyId, ok.publishResult.messageId);
      assert.equal(m?.messageType, 'JSON');
      await expectOciError(h.dp.publishMessage({ topicId, messageType: 'JSON' as never, messageDetails: { body: 'not json' } }), 400, 'InvalidParameter');
    });

    it('refuses a message over 64 KB, a missing body and an unknown topic', async () => {
      await expectOciError(h.dp.publishMessage({ topicId, messageDetails: { body: 'x'.repeat(64 * 1024 + 1) } }), 413, 'PayloadTooLarge');
      await h.dp.publishMessage({ topicId, messageDetails: { body: 'x'.repeat(64 * 1024) } });
      await expectOciError(h.dp.publishMessage({ topicId, messageDetails: {} as never }), 400, 'MissingParameter');
      await expectOciError(h.dp.publishMessage({ topicId: 'ocid1.onstopic.oc1.iad.aaaaaaaanosuchtopic', messageDetails: { body: 'x' } }), 404, 'NotAuthorizedOrNotFound');
      const huge = await heraldClient(h).raw('POST', `/20181201/topics/${topicId}/messages`, JSON.stringify({ body: 'y'.repeat(2 * 1024 * 1024) }));
      assert.equal(huge.status, 413);
      assert.equal(huge.json.code, 'PayloadTooLarge');
    });
  });
}
