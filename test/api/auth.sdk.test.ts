import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import * as ons from 'oci-ons';
import { signRequest } from '../../src/api/auth/signature.js';
import { fingerprintOf, generateApiKeyPair } from '../../src/core/identity.js';
import { addTenancy } from '../helpers/tenancies.js';
import { expectOciError, heraldClient, send } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';

function clientWith(h: TestHerald, tenancy: string, user: string, fingerprint: string, privateKeyPem: string): ons.NotificationControlPlaneClient {
  const provider = new common.SimpleAuthenticationDetailsProvider(tenancy, user, fingerprint, privateKeyPem, null, common.Region.US_ASHBURN_1);
  const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
  cp.endpoint = h.herald.url;
  return cp;
}

for (const kind of KINDS) {
  describe(`OCI request signatures (${kind})`, () => {
    let h: TestHerald;
    let user: string;
    before(async () => {
      h = await startTestHerald(kind);
      user = h.provider.getUser();
    });
    after(async () => {
      await h.stop();
    });

    it('refuses a request signed with a key that is not registered for the keyId', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      const cp = clientWith(h, h.tenancyId, user, h.provider.getFingerprint(), other.privateKey);
      await expectOciError(cp.listTopics({ compartmentId: h.tenancyId }), 401, 'NotAuthenticated');
      const unknownFp = clientWith(h, h.tenancyId, user, fingerprintOf(other.publicKey), other.privateKey);
      await expectOciError(unknownFp.listTopics({ compartmentId: h.tenancyId }), 401, 'NotAuthenticated');
      cp.close();
      unknownFp.close();
    });

    it('refuses unsigned calls, stale dates and tampered bodies', async () => {
      const url = new URL(`${h.herald.url}/20181201/topics?compartmentId=${h.tenancyId}`);
      const unsigned = await send(url, 'GET', {});
      assert.equal(unsigned.status, 401);
      assert.equal(unsigned.json.code, 'NotAuthenticated');
      assert.ok(unsigned.headers['opc-request-id']);

      const keyId = await h.provider.getKeyId();
      const stale = signRequest({ method: 'GET', url, headers: {}, keyId, privateKeyPem: h.provider.getPrivateKey(), now: new Date(Date.now() - 6 * 60_000) });
      const staleRes = await send(url, 'GET', stale);
      assert.equal(staleRes.status, 401);
      assert.equal(staleRes.json.code, 'NotAuthenticated');

      const fresh = signRequest({ method: 'GET', url, headers: {}, keyId, privateKeyPem: h.provider.getPrivateKey() });
      assert.equal((await send(url, 'GET', fresh)).status, 200);

      const postUrl = new URL(`${h.herald.url}/20181201/topics`);
      const body = JSON.stringify({ name: 'tampered', compartmentId: h.tenancyId });
      const signed = signRequest({ method: 'POST', url: postUrl, headers: { 'content-type': 'application/json' }, body, keyId, privateKeyPem: h.provider.getPrivateKey() });
      const tampered = await send(postUrl, 'POST', signed, body.replace('tampered', 'tampere2'));
      assert.equal(tampered.status, 401);
      assert.equal((await send(postUrl, 'POST', signed, body)).status, 200);
    });

    it('registers another key with the Herald API and accepts calls signed with it', async () => {
      const kp = generateApiKeyPair();
      const res = await heraldClient(h).call<{ fingerprint: string }>('POST', `/herald/v1/users/${user}/apiKeys`, { key: kp.publicKeyPem });
      assert.equal(res.fingerprint, kp.fingerprint);
      const cp = clientWith(h, h.tenancyId, user, kp.fingerprint, kp.privateKeyPem);
      const list = await cp.listTopics({ compartmentId: h.tenancyId });
      assert.ok(Array.isArray(list.items));
      cp.close();
      const dup = await heraldClient(h).raw('POST', `/herald/v1/users/${user}/apiKeys`, JSON.stringify({ key: kp.publicKeyPem }));
      assert.equal(dup.status, 409);
      const junk = await heraldClient(h).raw('POST', `/herald/v1/users/${user}/apiKeys`, JSON.stringify({ key: 'not a key' }));
      assert.equal(junk.status, 400);
    });

    it('hides one tenancy\'s resources from another', async () => {
      const mine = (await h.cp.createTopic({ createTopicDetails: { name: 'private', compartmentId: h.tenancyId } })).notificationTopic;
      const other = await addTenancy(h.herald.store, 'other');
      const t2 = other.tenancyId;
      const cp2 = clientWith(h, t2, other.userId, other.fingerprint, other.privateKeyPem);
      await expectOciError(cp2.getTopic({ topicId: mine.topicId }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(cp2.listTopics({ compartmentId: h.tenancyId }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(cp2.deleteTopic({ topicId: mine.topicId }), 404, 'NotAuthorizedOrNotFound');
      // Same name in another tenancy is fine.
      await cp2.createTopic({ createTopicDetails: { name: 'private', compartmentId: t2 } });
      cp2.close();
    });

    it('loads the bootstrap config file with the SDK and writes the key 0600', async () => {
      const { stat, readFile } = await import('node:fs/promises');
      const cfg = await readFile(h.configFile, 'utf8');
      assert.match(cfg, /^\[DEFAULT\]/m);
      const keyFile = /key_file=(.*)/.exec(cfg)?.[1]?.trim();
      assert.ok(keyFile);
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
      assert.equal(h.provider.getTenantId(), h.tenancyId);
    });
  });
}
