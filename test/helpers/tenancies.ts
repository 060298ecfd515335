import { generateApiKeyPair } from '../../src/core/identity.js';
import { seedAdministrators } from '../../src/core/iam/bootstrap.js';
import { newEtag, newOcid } from '../../src/core/ids.js';
import type { Store } from '../../src/store/store.js';

export interface ExtraTenancy {
  tenancyId: string;
  userId: string;
  fingerprint: string;
  privateKeyPem: string;
}

/** Another tenancy beside the bootstrap one, made as bootstrap makes it: an admin user with a key, in Administrators. */
export async function addTenancy(store: Store, name: string, kp = generateApiKeyPair()): Promise<ExtraTenancy> {
  const tenancyId = newOcid('tenancy');
  const userId = newOcid('user');
  const now = Date.now();
  await store.directory.createTenancy(
    { id: tenancyId, name, createdAt: now },
    { id: userId, tenancyId, name: 'admin', description: '', email: null, lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: now },
    { tenancyId, userId, fingerprint: kp.fingerprint, publicKeyPem: kp.publicKeyPem, createdAt: now },
  );
  await seedAdministrators(store, tenancyId, now);
  return { tenancyId, userId, fingerprint: kp.fingerprint, privateKeyPem: kp.privateKeyPem };
}
