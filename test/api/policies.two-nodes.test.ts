/**
 * IAM changes made through one node reach another node sharing the PostgreSQL store within
 * seconds: a removed membership and a revoked key stop working there too.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import * as identity from 'oci-identity';
import * as ons from 'oci-ons';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/config.js';
import { startHerald, type RunningHerald } from '../../src/server/herald.js';
import { eventually } from '../helpers/eventually.js';
import { KINDS } from '../helpers/herald.js';
import { dropSchema, PG_URL } from '../helpers/pg.js';

/** Generous for a busy machine; the authorizer's snapshot lives 1 s. */
const PROPAGATION_MS = 10_000;

describe('IAM changes reach every node (postgres)', { skip: !KINDS.includes('postgres') }, () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const dirs: string[] = [];
  const nodes: RunningHerald[] = [];
  let admin: identity.IdentityClient;
  let pubOnB: ons.NotificationDataPlaneClient;
  let topicId: string;
  let membershipId: string;
  let pubUserId: string;
  let fingerprint: string;

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), `herald-iam-node${i}-`));
      dirs.push(dataDir);
      const config = resolveConfig({ port: '0', host: '127.0.0.1', dataDir, store: PG_URL, nodeId: `iam-node-${i}` }, {});
      nodes.push(await startHerald(config, { logger: pino({ level: 'silent' }), schema }));
    }
    const [a, b] = nodes as [RunningHerald, RunningHerald];
    assert.ok(a.ociConfigPath, 'the first node bootstraps and writes the admin config');
    const provider = new common.ConfigFileAuthenticationDetailsProvider(a.ociConfigPath, 'DEFAULT');
    const tenancyId = provider.getTenantId();
    admin = new identity.IdentityClient({ authenticationDetailsProvider: provider });
    admin.endpoint = a.url;
    const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
    cp.endpoint = a.url;
    topicId = (await cp.createTopic({ createTopicDetails: { name: 'orders', compartmentId: tenancyId } })).notificationTopic.topicId;
    cp.close();

    const group = (await admin.createGroup({ createGroupDetails: { compartmentId: tenancyId, name: 'Publishers', description: 'p' } })).group;
    await admin.createPolicy({
      createPolicyDetails: { compartmentId: tenancyId, name: 'publishers', description: 'p', statements: ['Allow group Publishers to use ons-topics in tenancy'] },
    });
    const user = (await admin.createUser({ createUserDetails: { compartmentId: tenancyId, name: 'pub', description: 'p' } })).user;
    pubUserId = user.id;
    membershipId = (await admin.addUserToGroup({ addUserToGroupDetails: { userId: user.id, groupId: group.id } })).userGroupMembership.id;
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fingerprint = (await admin.uploadApiKey({ userId: user.id, createApiKeyDetails: { key: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() } })).apiKey.fingerprint ?? '';
    const pubProvider = new common.SimpleAuthenticationDetailsProvider(
      tenancyId, user.id, fingerprint, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), null, common.Region.US_ASHBURN_1,
    );
    pubOnB = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: pubProvider });
    pubOnB.endpoint = b.url;
  });

  after(async () => {
    pubOnB.close();
    admin.close();
    for (const n of nodes) await n.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await dropSchema(schema);
  });

  const publishStatus = async (): Promise<number> => {
    try {
      await pubOnB.publishMessage({ topicId, messageDetails: { body: 'order placed' } });
      return 200;
    } catch (err) {
      return (err as { statusCode?: number }).statusCode ?? 0;
    }
  };

  it('a membership removed on node A stops publishes on node B within seconds', async () => {
    // Granted on A; B learns of the membership within its snapshot's life.
    await eventually(async () => (await publishStatus()) === 200, PROPAGATION_MS, 'node B honouring the new membership');
    await admin.removeUserFromGroup({ userGroupMembershipId: membershipId });
    await eventually(async () => (await publishStatus()) === 404, PROPAGATION_MS, 'node B refusing after the membership was removed on node A');
  });

  it('a key revoked on node A is refused on node B within seconds', async () => {
    await admin.deleteApiKey({ userId: pubUserId, fingerprint });
    await eventually(async () => (await publishStatus()) === 401, PROPAGATION_MS, 'node B refusing the revoked key');
  });
});
