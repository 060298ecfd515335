import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SubscriptionLinks } from '../../src/core/links.js';
import {
  bodyJunkString, compartment, description, endpoint, fakeOcid, lifecycleState, limit, linkToken, looseObject, messageBody, page,
  PROTOCOL_ENDPOINTS, protocol, Ref, ref, Rep, retryPolicy, sortBy, sortOrder, tags, tagsOk, definedTags, topicName, topicRef, urlJunk, w,
  type Env, type Val,
} from '../helpers/arbitraries.js';
import { assertFuzz, judge, pair, sendFuzz, type Op as FuzzOp, type Seg, type Suite } from '../helpers/fuzz.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { send, SignedCaller, type RawResponse } from '../helpers/oci.js';

/**
 * Property: whatever arrives, every ONS operation answers with a 2xx or a
 * well-formed OCI error (never a 500, never silence); a signed request is never
 * refused as unauthenticated and an unsigned one always is (outside the link
 * operations); and nothing the fuzzers never addressed changes. The machinery (and FUZZ_SEED, FUZZ_RUNS,
 * FUZZ_STATS) is in test/helpers/fuzz.ts, shared with the Identity suite.
 */

const OCI = '/20181201';

type Op = FuzzOp<'topic' | 'sub'>;

const ours = fc.oneof(ref('tenancy'), ref('compartment'));

// --- the 16 operations ----------------------------------------------------------------------------

const OPS: Record<'topics' | 'subscriptions' | 'links' | 'publish', Op[]> = {
  topics: [
    {
      name: 'CreateTopic',
      method: 'POST',
      path: '/topics',
      body: {
        strict: fc.record({ name: fc.stringMatching(/^fz-[a-z0-9]{1,10}$/), compartmentId: ours, description: fc.string({ maxLength: 30 }), freeformTags: tagsOk }, { requiredKeys: ['name', 'compartmentId'] }),
        loose: looseObject({ name: topicName, compartmentId: compartment, description, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListTopics',
      method: 'GET',
      path: '/topics',
      list: true,
      query: { compartmentId: compartment, id: topicRef, name: topicName, lifecycleState, sortBy, sortOrder, limit, page },
      base: pair('compartmentId', ref('tenancy')),
    },
    { name: 'GetTopic', method: 'GET', path: '/topics/{id}', id: 'topic' },
    {
      name: 'UpdateTopic',
      method: 'PUT',
      path: '/topics/{id}',
      id: 'topic',
      body: { strict: fc.record({ description: fc.string({ maxLength: 30 }), freeformTags: tagsOk }, { requiredKeys: [] }), loose: looseObject({ description, freeformTags: tags, definedTags }) },
    },
    { name: 'DeleteTopic', method: 'DELETE', path: '/topics/{id}', id: 'topic' },
    {
      name: 'ChangeTopicCompartment',
      method: 'POST',
      path: '/topics/{id}/actions/changeCompartment',
      id: 'topic',
      body: { strict: fc.record({ compartmentId: ours }), loose: looseObject({ compartmentId: compartment }) },
    },
  ],
  subscriptions: [
    {
      name: 'CreateSubscription',
      method: 'POST',
      path: '/subscriptions',
      body: {
        strict: fc
          .tuple(fc.constantFrom(...PROTOCOL_ENDPOINTS), ours, fc.option(tagsOk, { nil: undefined }))
          .map(([[p, e], c, t]): Val => ({ topicId: new Ref('topic'), compartmentId: c, protocol: p, endpoint: e, ...(t === undefined ? {} : { freeformTags: t }) })),
        loose: looseObject({ topicId: topicRef, compartmentId: compartment, protocol, endpoint, metadata: bodyJunkString, freeformTags: tags, definedTags }),
      },
    },
    {
      name: 'ListSubscriptions',
      method: 'GET',
      path: '/subscriptions',
      list: true,
      query: { compartmentId: compartment, topicId: topicRef, limit, page },
      base: fc.oneof(pair('compartmentId', ref('tenancy')), pair('topicId', ref('topic'))),
    },
    { name: 'GetSubscription', method: 'GET', path: '/subscriptions/{id}', id: 'sub' },
    {
      name: 'UpdateSubscription',
      method: 'PUT',
      path: '/subscriptions/{id}',
      id: 'sub',
      body: {
        strict: fc.record({ deliveryPolicy: fc.integer({ min: 1, max: 7_200_000 }).map((ms): Val => ({ backoffRetryPolicy: { maxRetryDuration: ms, policyType: 'EXPONENTIAL' } })), freeformTags: tagsOk }, { requiredKeys: [] }),
        loose: looseObject({ deliveryPolicy: looseObject({ backoffRetryPolicy: retryPolicy }), freeformTags: tags, definedTags }),
      },
    },
    { name: 'DeleteSubscription', method: 'DELETE', path: '/subscriptions/{id}', id: 'sub' },
    {
      name: 'ChangeSubscriptionCompartment',
      method: 'POST',
      path: '/subscriptions/{id}/actions/changeCompartment',
      id: 'sub',
      body: { strict: fc.record({ compartmentId: ours }), loose: looseObject({ compartmentId: compartment }) },
    },
    { name: 'ResendConfirmation', method: 'POST', path: '/subscriptions/{id}/resendConfirmation', id: 'sub' },
  ],
  links: (['confirmation', 'unsubscription'] as const).map((kind) => ({
    name: kind === 'confirmation' ? 'GetConfirmation' : 'GetUnsubscription',
    method: 'GET',
    path: `/subscriptions/{id}/${kind}`,
    id: 'sub',
    unsigned: true,
    query: { token: linkToken, protocol },
    base: linkToken.map((t): [Val, Val][] => [['token', t], ['protocol', 'HTTPS']]),
  })),
  publish: [
    {
      name: 'PublishMessage',
      method: 'POST',
      path: '/topics/{id}/messages',
      id: 'topic',
      body: {
        strict: fc.record({ title: fc.string({ maxLength: 20 }), body: fc.string({ maxLength: 40 }) }, { requiredKeys: ['body'] }),
        loose: looseObject({ title: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(new Rep('t', 256))), body: messageBody }),
      },
    },
  ],
};

// --- request arbitraries --------------------------------------------------------------------------

const idSeg = (kind: 'topic' | 'sub'): fc.Arbitrary<Seg> =>
  fc.oneof(
    w(6, ref(kind)),
    w(1, ref(kind === 'topic' ? 'sub' : 'topic')),
    w(2, fakeOcid(kind === 'topic' ? 'onstopic' : 'onssubscription')),
    w(2, urlJunk),
    w(1, fc.uint8Array({ minLength: 1, maxLength: 12 })),
  );

const SUITE: Suite<'topic' | 'sub'> = { prefix: OCI, idSeg, etags: [ref('topicEtag'), ref('subEtag')] };

// --- the tests ------------------------------------------------------------------------------------

for (const kind of KINDS) {
  describe(`ONS API fuzz (${kind})`, () => {
    let h: TestHerald;
    let caller: SignedCaller;
    let links: SubscriptionLinks;
    let compartmentId: string;
    let victimCount = 0;
    const victim = { topic: '', sub: '' };
    const canary = { topicId: '', subId: '', topic: undefined as RawResponse | undefined, sub: undefined as RawResponse | undefined };

    /** Brings the victims back to life if a fuzz op deleted them, and reads their current etags and tokens. */
    async function refresh(): Promise<Env> {
      const { store } = h.herald;
      let topic = await store.topics.getTopic(h.tenancyId, victim.topic);
      if (topic === undefined) {
        const name = `victim-${++victimCount}`;
        victim.topic = (await caller.call<{ topicId: string }>('POST', `${OCI}/topics`, { name, compartmentId: h.tenancyId })).topicId;
        topic = await store.topics.getTopic(h.tenancyId, victim.topic);
      }
      let sub = await store.subscriptions.getSubscription(h.tenancyId, victim.sub);
      if (sub === undefined || sub.lifecycleState === 'DELETED' || sub.topicId !== victim.topic) {
        const body = { topicId: victim.topic, compartmentId: h.tenancyId, protocol: 'HTTPS', endpoint: 'http://127.0.0.1:9/victim' };
        victim.sub = (await caller.call<{ id: string }>('POST', `${OCI}/subscriptions`, body)).id;
        sub = await store.subscriptions.getSubscription(h.tenancyId, victim.sub);
      }
      assert.ok(topic !== undefined && sub !== undefined);
      return {
        tenancy: h.tenancyId,
        compartment: compartmentId,
        topic: topic.id,
        sub: sub.id,
        topicEtag: topic.etag,
        subEtag: sub.etag,
        topicName: topic.name,
        confirmToken: links.confirmationToken(sub.id, sub.confirmationNonce),
        unsubToken: links.unsubscribeToken(sub.id),
      };
    }

    before(async () => {
      h = await startTestHerald(kind);
      caller = new SignedCaller(h);
      const secret = await h.herald.store.settings.getSetting('link-secret');
      assert.ok(secret !== undefined);
      links = new SubscriptionLinks(Buffer.from(secret, 'base64'), () => h.herald.url);
      compartmentId = (await caller.call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'fuzz' })).id;
      canary.topicId = (await caller.call<{ topicId: string }>('POST', `${OCI}/topics`, { name: 'canary', compartmentId: h.tenancyId, description: 'not a fuzz target', freeformTags: { k: 'v' } })).topicId;
      canary.subId = (await caller.call<{ id: string }>('POST', `${OCI}/subscriptions`, { topicId: canary.topicId, compartmentId: h.tenancyId, protocol: 'HTTPS', endpoint: 'http://127.0.0.1:9/canary' })).id;
      canary.topic = await caller.raw('GET', `${OCI}/topics/${canary.topicId}`);
      canary.sub = await caller.raw('GET', `${OCI}/subscriptions/${canary.subId}`);
      await refresh();
    });
    after(async () => {
      await h.stop();
    });

    const groups: [keyof typeof OPS, number][] = [['topics', 300], ['subscriptions', 300], ['links', 150], ['publish', 150]];
    for (const [group, runs] of groups) {
      it(`answers junk to the ${group} operations with 2xx or a clean OCI error`, async () => {
        await assertFuzz(OPS[group], runs, SUITE, async (r) => {
          const { what, res } = await sendFuzz(r, await refresh(), OCI, caller, h.herald.url);
          judge(r, what, res);
        });
      });
    }

    it('leaves the canary untouched and the API answering', async () => {
      const topic = await caller.raw('GET', `${OCI}/topics/${canary.topicId}`);
      assert.equal(topic.status, 200);
      assert.equal(topic.headers.etag, canary.topic?.headers.etag);
      assert.deepEqual(topic.json, canary.topic?.json);
      const sub = await caller.raw('GET', `${OCI}/subscriptions/${canary.subId}`);
      assert.equal(sub.status, 200);
      assert.equal(sub.headers.etag, canary.sub?.headers.etag);
      assert.deepEqual(sub.json, canary.sub?.json);

      // Every page of the topic list is a bare array, and paging reaches the canary.
      const seen: string[] = [];
      let next: string | undefined = '';
      for (let i = 0; next !== undefined && i < 500; i++) {
        const res = await caller.raw('GET', `${OCI}/topics?compartmentId=${h.tenancyId}&limit=7${next === '' ? '' : `&page=${next}`}`);
        assert.equal(res.status, 200, res.text);
        const items = JSON.parse(res.text) as unknown;
        assert.ok(Array.isArray(items), res.text);
        seen.push(...(items as { topicId: string }[]).map((t) => t.topicId));
        const np = res.headers['opc-next-page'];
        next = typeof np === 'string' ? np : undefined;
      }
      assert.ok(seen.includes(canary.topicId), 'the canary topic is listed');
      assert.equal(new Set(seen).size, seen.length, 'no topic is listed twice');

      const subs = await caller.raw('GET', `${OCI}/subscriptions?topicId=${canary.topicId}`);
      assert.equal(subs.status, 200, subs.text);
      assert.deepEqual((JSON.parse(subs.text) as { id: string }[]).map((s) => s.id), [canary.subId]);

      const health = await send(new URL(h.herald.url + '/health'), 'GET', {});
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: 'ok' });
    });
  });
}
