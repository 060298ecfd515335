import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConflictError, InvalidParameterError, NotFoundError } from '../../src/core/errors.js';
import { bootstrapTenancy, fingerprintOf, generateApiKeyPair } from '../../src/core/identity.js';
import { Authorizer } from '../../src/core/iam/authorizer.js';
import { CompartmentService } from '../../src/core/iam/compartment-service.js';
import type { IamDeps } from '../../src/core/iam/iam-deps.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { UserService } from '../../src/core/iam/users.js';
import { ConsoleCredentials } from '../../src/console/credentials.js';
import { isOcid } from '../../src/core/ids.js';
import type { Store } from '../../src/store/store.js';
import { STORE_KINDS, makeTestStore } from '../helpers/stores.js';
import type { TestStore } from '../helpers/stores.js';

function rsaPublicKey(bits: number, type: 'spki' | 'pkcs1' = 'spki'): string {
  return generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type, format: 'pem' }).toString();
}

describe('API key material', () => {
  it('generateApiKeyPair returns a usable pkcs8/spki pair and its OCI fingerprint', () => {
    const pair = generateApiKeyPair();
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    assert.match(pair.fingerprint, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    const data = Buffer.from('hello');
    assert.ok(verify('sha256', data, pair.publicKeyPem, sign('sha256', data, pair.privateKeyPem)));
  });

  it('fingerprintOf is MD5 of the DER SubjectPublicKeyInfo, for spki and PKCS#1 PEMs alike', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('md5').update(der).digest('hex').match(/../g)?.join(':');
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.match(pkcs1, /BEGIN RSA PUBLIC KEY/);
    assert.equal(fingerprintOf(spki), expected);
    assert.equal(fingerprintOf(pkcs1), expected);
    assert.equal(fingerprintOf(`\n  ${spki}\n\n`), expected);
  });

  it('fingerprintOf rejects anything but an RSA public key of >= 2048 bits', () => {
    const rsa1024 = rsaPublicKey(1024);
    const spkiOf = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString();
    const ec = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const ed = spkiOf(generateKeyPairSync('ed25519').publicKey);
    const priv = generateApiKeyPair().privateKeyPem;
    // createPublicKey would derive a public key from these; they must still be refused.
    const pkcs1Priv = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const spki = rsaPublicKey(2048);
    const corrupt = spki.replace(/\n(.{10})/, '\nAAAAAAAAAA');
    for (const bad of ['', 'not a key', rsa1024, ec, ed, priv, pkcs1Priv, corrupt, `${spki}${spki}`]) {
      assert.throws(() => fingerprintOf(bad), InvalidParameterError, bad.slice(0, 40));
    }
    assert.throws(() => fingerprintOf(rsa1024), /at least 2048 bits/);
    assert.throws(() => fingerprintOf(ec), /RSA/);
  });
});

for (const kind of STORE_KINDS) {
  describe(`identity on ${kind}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await makeTestStore(kind));
    });
    after(async () => {
      await cleanup();
    });

    let tenancyId: string;
    let userId: string;
    let admin: Principal;
    let users: UserService;
    let compartments: CompartmentService;
    const addApiKey = (tenancy: string, user: string, pem: string) => users.uploadApiKey({ tenancyId: tenancy, userId }, user, pem);
    const createCompartment = (tenancy: string, parent: string, name: string, description: string) =>
      compartments.create({ tenancyId: tenancy, userId }, { compartmentId: parent, name, description });
    const listCompartments = async (parent: string) => (await compartments.list(admin, parent, { offset: 0, limit: 100 })).items;

    it('bootstrapTenancy creates tenancy, root compartment, admin user and key once', async () => {
      assert.equal(await store.directory.countTenancies(), 0);
      const boot = await bootstrapTenancy(store, { tenancyName: 'acme' });
      assert.ok(boot);
      tenancyId = boot.tenancy.id;
      userId = boot.user.id;
      admin = { tenancyId, userId };
      const authz = new Authorizer(store.identity);
      const deps: IamDeps = { identity: store.identity, directory: store.directory, tokens: store.retryTokens, authz, accessChanged: (t) => authz.invalidate(t), consolePasswords: new ConsoleCredentials(store.console), now: Date.now };
      users = new UserService(deps);
      compartments = new CompartmentService(deps);
      assert.ok(isOcid(tenancyId, 'tenancy'));
      assert.ok(isOcid(userId, 'user'));
      assert.equal(boot.tenancy.name, 'acme');
      assert.equal(boot.user.tenancyId, tenancyId);
      assert.equal(await store.directory.countTenancies(), 1);
      assert.deepEqual(await store.directory.getTenancy(tenancyId), boot.tenancy);
      assert.deepEqual(await store.directory.getUser(tenancyId, userId), boot.user);
      // The admin is in the Administrators group, whose root policy lets it manage everything.
      const snapshot = await store.identity.loadAccessSnapshot(tenancyId);
      const admins = snapshot.groups.find((g) => g.name === 'Administrators');
      assert.ok(admins);
      assert.deepEqual(snapshot.memberships, [{ userId, groupId: admins.id }]);
      assert.deepEqual(snapshot.policies.map((p) => p.statements), [['ALLOW GROUP Administrators to manage all-resources IN TENANCY']]);

      const key = await store.directory.getApiKey(tenancyId, userId, boot.fingerprint);
      assert.ok(key);
      assert.equal(fingerprintOf(key.publicKeyPem), boot.fingerprint);
      // The returned private key belongs to the stored public key.
      const data = Buffer.from('x');
      assert.ok(verify('sha256', data, key.publicKeyPem, sign('sha256', data, boot.privateKeyPem)));

      const root = await store.directory.getCompartment(tenancyId, tenancyId);
      assert.equal(root?.parentId, null);
      assert.equal(root?.lifecycleState, 'ACTIVE');

      assert.equal(await bootstrapTenancy(store), undefined);
      assert.equal(await store.directory.countTenancies(), 1);
    });

    it('addApiKey registers a second key (PKCS#1 accepted, stored as spki)', async () => {
      const pkcs1 = rsaPublicKey(2048, 'pkcs1');
      const key = await addApiKey(tenancyId, userId, pkcs1);
      assert.equal(key.fingerprint, fingerprintOf(pkcs1));
      assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
      assert.deepEqual(await store.directory.getApiKey(tenancyId, userId, key.fingerprint), key);
      assert.equal((await store.directory.listApiKeys(tenancyId, userId)).length, 2);

      await assert.rejects(addApiKey(tenancyId, userId, pkcs1), ConflictError);
      // Same key in the other encoding is the same key.
      const spki = createPublicKey(pkcs1).export({ type: 'spki', format: 'pem' }).toString();
      await assert.rejects(addApiKey(tenancyId, userId, spki), ConflictError);
    });

    it('addApiKey rejects unknown users, other tenancies and bad keys', async () => {
      const pem = rsaPublicKey(2048);
      await assert.rejects(addApiKey(tenancyId, 'ocid1.user.oc1..aaaaaaaanobody', pem), NotFoundError);
      // A caller of another tenancy finds nothing: its authorizer has no such tenancy.
      await assert.rejects(addApiKey('ocid1.tenancy.oc1..aaaaaaaaother', userId, pem), NotFoundError);
      await assert.rejects(addApiKey(tenancyId, userId, rsaPublicKey(1024)), InvalidParameterError);
    });

    it('createCompartment / listCompartments nest under ACTIVE parents', async () => {
      assert.deepEqual(await listCompartments(tenancyId), []);
      const prod = await createCompartment(tenancyId, tenancyId, 'prod', 'Production');
      assert.ok(isOcid(prod.id, 'compartment'));
      assert.equal(prod.parentId, tenancyId);
      assert.equal(prod.lifecycleState, 'ACTIVE');
      assert.deepEqual(await store.directory.getCompartment(tenancyId, prod.id), prod);

      const team = await createCompartment(tenancyId, prod.id, 'team-a', '');
      const dev = await createCompartment(tenancyId, tenancyId, 'dev', 'Development');
      const top = await listCompartments(tenancyId);
      assert.deepEqual(top.map((c) => c.id).sort(), [prod.id, dev.id].sort());
      assert.deepEqual(await listCompartments(prod.id), [team]);

      await assert.rejects(createCompartment(tenancyId, tenancyId, 'prod', 'again'), ConflictError);
      // Same name under another parent is fine.
      await createCompartment(tenancyId, dev.id, 'team-a', '');
    });

    it('createCompartment validates its input and parent', async () => {
      const missing = 'ocid1.compartment.oc1..aaaaaaaamissing';
      await assert.rejects(createCompartment(tenancyId, missing, 'x', ''), NotFoundError);
      await assert.rejects(listCompartments(missing), NotFoundError);
      // A compartment of another tenancy is not found either.
      await assert.rejects(createCompartment('ocid1.tenancy.oc1..aaaaaaaaother', tenancyId, 'x', ''), NotFoundError);
      await assert.rejects(createCompartment(tenancyId, tenancyId, '', ''), /name/);
      await assert.rejects(createCompartment(tenancyId, tenancyId, '   ', ''), InvalidParameterError);
      await assert.rejects(createCompartment(tenancyId, tenancyId, 'n'.repeat(101), ''), /1 to 100/);
      await createCompartment(tenancyId, tenancyId, 'n'.repeat(100), '');
      await assert.rejects(createCompartment(tenancyId, tenancyId, 'long-desc', 'd'.repeat(401)), InvalidParameterError);
    });
  });

  describe(`bootstrapTenancy races on ${kind}`, () => {
    let t: TestStore;
    before(async () => {
      t = await makeTestStore(kind);
    });
    after(async () => {
      await t.cleanup();
    });

    it('creates exactly one tenancy when several nodes start at once', async () => {
      // Separate handles behave like separate nodes (own connections / db handles).
      const nodes = [t.store, await t.openAnother(), await t.openAnother()];
      const results = await Promise.all(nodes.flatMap((s) => [bootstrapTenancy(s), bootstrapTenancy(s)]));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal(await t.store.directory.countTenancies(), 1);
      assert.ok(await t.store.directory.getTenancy(winners[0]?.tenancy.id ?? ''));
    });
  });
}
