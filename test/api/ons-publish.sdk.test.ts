import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { after, before, describe, it, mock } from 'node:test';
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

describe('ONS publish when the disk fails an fsync (sqlite)', () => {
  let h: TestHerald;
  let topicId: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'fsync', compartmentId: h.tenancyId } })).notificationTopic.topicId;
  });
  after(async () => {
    await h.stop();
  });

  it('refuses every publish with 500 once a WAL fsync has failed, until Herald restarts', async () => {
    await h.dp.publishMessage({ topicId, messageDetails: { body: 'before' } });
    // Every FileHandle's sync() (the WAL's among them) fails once, as a disk error would.
    const handle = await open(h.dataDir, 'r');
    const proto = Object.getPrototypeOf(handle) as { sync(): Promise<void> };
    await handle.close();
    let failures = 0;
    const syncs = mock.method(proto, 'sync', async () => {
      failures++;
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    try {
      await expectOciError(h.dp.publishMessage({ topicId, messageDetails: { body: 'failed' } }), 500, 'InternalServerError');
    } finally {
      syncs.mock.restore();
    }
    assert.ok(failures >= 1);
    // The disk answers again, but what the failed fsync held may be gone: no publish is acknowledged over it.
    await expectOciError(h.dp.publishMessage({ topicId, messageDetails: { body: 'after' } }), 500, 'InternalServerError');
    await h.restart();
    const ok = await h.dp.publishMessage({ topicId, messageDetails: { body: 'restarted' } });
    assert.match(ok.publishResult.messageId, /^[0-9a-f-]{36}$/);
  });
});
