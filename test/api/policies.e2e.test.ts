/**
 * OCI policies enforced on real calls: two users in two groups with different rights,
 * signing with their own keys through the real SDKs; inheritance down the compartment
 * tree; conditions; and rights taken away by removing a membership or revoking a key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import * as identity from 'oci-identity';
import * as ons from 'oci-ons';
import { expectOciError, SignedCaller } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

interface Person {
  userId: string;
  cp: ons.NotificationControlPlaneClient;
  dp: ons.NotificationDataPlaneClient;
  iam: identity.IdentityClient;
  fingerprint: string;
  /** Signed raw calls with this person's key, for Herald's own endpoints. */
  signed: SignedCaller;
  close(): void;
}

for (const kind of KINDS) {
  describe(`OCI policies enforced on every call (${kind})`, () => {
    let h: TestHerald;
    let admin: identity.IdentityClient;
    let tenancyId: string;
    const ids: Record<string, string> = {};
    const people: Person[] = [];

    async function person(name: string, group: string): Promise<Person> {
      const user = (await admin.createUser({ createUserDetails: { compartmentId: tenancyId, name, description: name } })).user;
      const g = (await admin.listGroups({ compartmentId: tenancyId, name: group })).items[0];
      assert.ok(g, `group ${group}`);
      const membership = (await admin.addUserToGroup({ addUserToGroupDetails: { userId: user.id, groupId: g.id } })).userGroupMembership;
      ids[`${name}:membership`] = membership.id;
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const key = (await admin.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() } })).apiKey;
      const provider = new common.SimpleAuthenticationDetailsProvider(
        tenancyId, user.id, key.fingerprint ?? '', pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), null, common.Region.US_ASHBURN_1,
      );
      const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
      const dp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: provider });
      const iam = new identity.IdentityClient({ authenticationDetailsProvider: provider });
      cp.endpoint = dp.endpoint = iam.endpoint = h.herald.url;
      const signed = new SignedCaller({ herald: h.herald, provider } as unknown as TestHerald);
      const p: Person = { userId: user.id, cp, dp, iam, signed, fingerprint: key.fingerprint ?? '', close: () => [cp, dp, iam].forEach((c) => c.close()) };
      people.push(p);
      return p;
    }

    const topic = (name: string, compartmentId: string) => h.cp.createTopic({ createTopicDetails: { name: `${name}-${kind}`, compartmentId } }).then((r) => r.notificationTopic.topicId);
    const publish = (p: Person, topicId: string) => p.dp.publishMessage({ topicId, messageDetails: { body: 'order placed' } });

    let pub: Person;
    let op: Person;

    before(async () => {
      h = await startTestHerald(kind);
      tenancyId = h.tenancyId;
      admin = new identity.IdentityClient({ authenticationDetailsProvider: h.provider });
      admin.endpoint = h.herald.url;
      const compartment = async (name: string, parent: string) =>
        (await admin.createCompartment({ createCompartmentDetails: { compartmentId: parent, name, description: name } })).compartment.id;
      ids.orders = await compartment('Orders', tenancyId);
      ids.eu = await compartment('Eu', ids.orders);
      ids.ops = await compartment('Ops', tenancyId);
      for (const name of ['Publishers', 'Operators']) await admin.createGroup({ createGroupDetails: { compartmentId: tenancyId, name, description: name } });
      await admin.createPolicy({
        createPolicyDetails: {
          compartmentId: tenancyId,
          name: 'shop',
          description: 'who may do what',
          statements: [
            'Allow group Publishers to use ons-topics in compartment Orders',
            'Allow group Operators to manage ons-family in compartment Ops',
            'Allow group Operators to inspect compartments in tenancy',
          ],
        },
      });
      // Attached below the root: names resolve from Ops, and it can grant only inside Ops.
      await admin.createPolicy({
        createPolicyDetails: {
          compartmentId: ids.ops,
          name: 'ops-get-only',
          description: 'anyone may get (not list) Ops topics',
          statements: ["Allow any-user to read ons-topics in compartment Ops where request.operation = 'GetTopic'"],
        },
      });
      ids.ordersTopic = await topic('orders-placed', ids.orders);
      ids.euTopic = await topic('eu-orders', ids.eu);
      ids.opsTopic = await topic('ops-alerts', ids.ops);
      pub = await person('pub', 'Publishers');
      op = await person('op', 'Operators');
    });
    after(async () => {
      for (const p of people) p.close();
      admin.close();
      await h.stop();
    });

    it('a publisher publishes in its compartment and below it, and nowhere else', async () => {
      assert.ok((await publish(pub, ids.ordersTopic ?? '')).publishResult.messageId);
      assert.ok((await publish(pub, ids.euTopic ?? '')).publishResult.messageId, 'inherited by the child compartment');
      await expectOciError(publish(pub, ids.opsTopic ?? ''), 404, 'NotAuthorizedOrNotFound');
    });

    it('use ons-topics reads, lists and subscribes, but neither creates nor deletes topics', async () => {
      assert.equal((await pub.cp.getTopic({ topicId: ids.ordersTopic ?? '' })).notificationTopic.topicId, ids.ordersTopic);
      assert.ok((await pub.cp.listTopics({ compartmentId: ids.orders ?? '' })).items.some((t) => t.topicId === ids.ordersTopic));
      const sub = await pub.dp.createSubscription({
        createSubscriptionDetails: { topicId: ids.ordersTopic ?? '', compartmentId: ids.orders ?? '', protocol: 'EMAIL', endpoint: 'supplier@example.com' },
      });
      assert.equal(sub.subscription.lifecycleState, 'PENDING');
      await expectOciError(pub.cp.createTopic({ createTopicDetails: { name: `nope-${kind}`, compartmentId: ids.orders ?? '' } }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(pub.cp.deleteTopic({ topicId: ids.ordersTopic ?? '' }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(pub.cp.listTopics({ compartmentId: tenancyId }), 404, 'NotAuthorizedOrNotFound');
      // A topic the caller may not subscribe to looks missing from the body's point of view.
      await expectOciError(
        pub.dp.createSubscription({ createSubscriptionDetails: { topicId: ids.opsTopic ?? '', compartmentId: ids.orders ?? '', protocol: 'EMAIL', endpoint: 'x@example.com' } }),
        400,
        'RelatedResourceNotAuthorizedOrNotFound',
      );
    });

    it('an operator manages topics and subscriptions in Ops only, and may inspect compartments', async () => {
      const mine = (await op.cp.createTopic({ createTopicDetails: { name: `op-made-${kind}`, compartmentId: ids.ops ?? '' } })).notificationTopic;
      assert.ok((await publish(op, mine.topicId)).publishResult.messageId, 'manage includes use');
      await op.cp.deleteTopic({ topicId: mine.topicId });
      await expectOciError(op.cp.getTopic({ topicId: ids.ordersTopic ?? '' }), 404, 'NotAuthorizedOrNotFound');
      const names = (await op.iam.listCompartments({ compartmentId: tenancyId })).items.map((c) => c.name);
      assert.deepEqual(names.sort(), ['Ops', 'Orders']);
      await expectOciError(op.iam.listUsers({ compartmentId: tenancyId }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(op.iam.createCompartment({ createCompartmentDetails: { compartmentId: tenancyId, name: 'Mine', description: '' } }), 404, 'NotAuthorizedOrNotFound');
    });

    it('a condition narrows a grant to one operation; a policy attached to Ops reaches only Ops', async () => {
      assert.equal((await pub.cp.getTopic({ topicId: ids.opsTopic ?? '' })).notificationTopic.topicId, ids.opsTopic);
      await expectOciError(pub.cp.listTopics({ compartmentId: ids.ops ?? '' }), 404, 'NotAuthorizedOrNotFound');
    });

    it('a user manages their own API keys without any policy, and no one else\'s', async () => {
      const extra = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const key = (await pub.iam.uploadApiKey({ userId: pub.userId, createApiKeyDetails: { key: extra } })).apiKey;
      assert.equal((await pub.iam.listApiKeys({ userId: pub.userId })).items.length, 2);
      await pub.iam.deleteApiKey({ userId: pub.userId, fingerprint: key.fingerprint ?? '' });
      await expectOciError(pub.iam.listApiKeys({ userId: op.userId }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(pub.iam.uploadApiKey({ userId: op.userId, createApiKeyDetails: { key: extra } }), 404, 'NotAuthorizedOrNotFound');
    });

    it('Herald\'s own endpoints follow the same policies (trace needs read on the topic\'s compartment)', async () => {
      const { messageId } = (await publish(pub, ids.ordersTopic ?? '')).publishResult;
      const own = await pub.signed.raw('GET', `/herald/v1/messages/${messageId}`);
      assert.equal(own.status, 200, own.text);
      const other = await op.signed.raw('GET', `/herald/v1/messages/${messageId}`);
      assert.equal(other.status, 404, other.text);
      assert.equal(other.json.code, 'NotAuthorizedOrNotFound');
      // The overview counts the whole tenancy: it needs inspect ons-topics there, which the publisher lacks.
      const overview = await pub.signed.raw('GET', '/herald/v1/console/overview');
      assert.equal(overview.status, 404, overview.text);
      const adminOverview = await new SignedCaller(h).raw('GET', '/herald/v1/console/overview');
      assert.equal(adminOverview.status, 200, adminOverview.text);
      assert.ok((adminOverview.json.topics as number) >= 3);
    });

    it('delivery controls answer a user without rights on the subscription\'s compartment as GetSubscription does: 404 NotAuthorizedOrNotFound from every route', async () => {
      // In Orders, where the operator has no policy; the topic and subscription are the administrator's.
      const sub = (await h.dp.createSubscription({
        createSubscriptionDetails: { topicId: ids.ordersTopic ?? '', compartmentId: ids.orders ?? '', protocol: 'EMAIL', endpoint: `controls-${kind}@example.com` },
      })).subscription.id;
      const admins = new SignedCaller(h);
      assert.equal((await admins.raw('PUT', `/herald/v1/subscriptions/${sub}/rateLimit`, JSON.stringify({ perSecond: 3 }))).status, 200);
      // What the OCI routes answer this user for the same subscription and topic.
      await expectOciError(op.dp.getSubscription({ subscriptionId: sub }), 404, 'NotAuthorizedOrNotFound');
      const oci = await op.signed.raw('GET', `/20181201/subscriptions/${sub}`);
      const ociList = await op.signed.raw('GET', `/20181201/subscriptions?compartmentId=${ids.orders ?? ''}&topicId=${ids.ordersTopic ?? ''}`);
      for (const r of [oci, ociList]) assert.deepEqual([r.status, r.json.code], [404, 'NotAuthorizedOrNotFound'], r.text);

      const base = `/herald/v1/subscriptions/${sub}`;
      for (const [method, path, body, same] of [
        ['PUT', `${base}/filterPolicy`, { filterPolicy: { kind: ['x'] } }, oci],
        ['GET', `${base}/filterPolicy`, undefined, oci],
        ['DELETE', `${base}/filterPolicy`, undefined, oci],
        ['PUT', `${base}/rateLimit`, { perSecond: 1 }, oci],
        ['GET', `${base}/rateLimit`, undefined, oci],
        ['DELETE', `${base}/rateLimit`, undefined, oci],
        ['GET', `${base}/health`, undefined, oci],
        ['POST', `${base}/actions/enable`, undefined, oci],
        ['POST', `${base}/actions/replay`, { since: new Date(Date.now() - 60_000).toISOString() }, oci],
        ['GET', `/herald/v1/topics/${ids.ordersTopic ?? ''}/subscriptionHealth`, undefined, ociList],
      ] as const) {
        const res = await op.signed.raw(method, path, body === undefined ? undefined : JSON.stringify(body));
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.json.code, 'NotAuthorizedOrNotFound', `${method} ${path}`);
        assert.equal(res.json.message, same.json.message, `${method} ${path}: the same message as the OCI route`);
        assert.ok(res.headers['opc-request-id'], `${method} ${path}`);
      }
      // Nothing changed.
      assert.deepEqual((await admins.raw('GET', `${base}/rateLimit`)).json, { subscriptionId: sub, perSecond: 3 });
      assert.deepEqual((await admins.raw('GET', `${base}/filterPolicy`)).json, { subscriptionId: sub, filterPolicy: null });
    });

    it('a user whose group manages ons-family in the compartment reads and changes a subscription\'s delivery controls there', async () => {
      const sub = (await h.dp.createSubscription({
        createSubscriptionDetails: { topicId: ids.opsTopic ?? '', compartmentId: ids.ops ?? '', protocol: 'EMAIL', endpoint: `ops-controls-${kind}@example.com` },
      })).subscription.id;
      const base = `/herald/v1/subscriptions/${sub}`;
      const health = await op.signed.raw('GET', `${base}/health`);
      assert.equal(health.status, 200, health.text);
      assert.deepEqual([health.json.subscriptionId, health.json.state], [sub, 'HEALTHY']);
      const put = await op.signed.raw('PUT', `${base}/rateLimit`, JSON.stringify({ perSecond: 5 }));
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, { subscriptionId: sub, perSecond: 5 });
      const policy = { kind: ['alert'] };
      assert.equal((await op.signed.raw('PUT', `${base}/filterPolicy`, JSON.stringify({ filterPolicy: policy }))).status, 200);
      // Seen by the administrator too: the change was made, not just answered.
      const admins = new SignedCaller(h);
      assert.deepEqual((await admins.raw('GET', `${base}/rateLimit`)).json, { subscriptionId: sub, perSecond: 5 });
      assert.deepEqual((await admins.raw('GET', `${base}/filterPolicy`)).json, { subscriptionId: sub, filterPolicy: policy });
      const listed = await op.signed.raw('GET', `/herald/v1/topics/${ids.opsTopic ?? ''}/subscriptionHealth`);
      assert.equal(listed.status, 200, listed.text);
      const badge = (listed.json as unknown as { subscriptionId: string; state: string }[]).find((x) => x.subscriptionId === sub);
      assert.equal(badge?.state, 'HEALTHY', listed.text);
      assert.equal((await op.signed.raw('DELETE', `${base}/rateLimit`)).status, 204);
      assert.deepEqual((await admins.raw('GET', `${base}/rateLimit`)).json, { subscriptionId: sub, perSecond: null });
    });

    it('removing a membership takes the right away at once; revoking a key refuses its signatures', async () => {
      await admin.removeUserFromGroup({ userGroupMembershipId: ids['pub:membership'] ?? '' });
      await expectOciError(publish(pub, ids.ordersTopic ?? ''), 404, 'NotAuthorizedOrNotFound');
      assert.ok((await publish(op, ids.opsTopic ?? '')).publishResult.messageId);
      await admin.deleteApiKey({ userId: op.userId, fingerprint: op.fingerprint });
      await expectOciError(publish(op, ids.opsTopic ?? ''), 401, 'NotAuthenticated');
    });

  });
}
