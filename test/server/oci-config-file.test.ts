import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import { readOciConfig, writeOciConfig } from '../../src/server/oci-config-file.js';
import { signRequest, verifyOciSignature } from '../../src/api/auth/signature.js';
import { fingerprintOf } from '../../src/core/identity.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const PROFILE = {
  user: 'ocid1.user.oc1..aaaaaaaauser',
  fingerprint: fingerprintOf(publicKey),
  tenancy: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
  region: 'us-ashburn-1',
  privateKeyPem: privateKey,
};

describe('oci config file', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herald-ocicfg-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the key (0600), the config (INI) and the dir (0700)', async () => {
    const dir = join(root, 'nested', 'oci');
    const { configPath, keyPath } = await writeOciConfig(dir, PROFILE);
    assert.equal(configPath, join(dir, 'config'));
    assert.equal(keyPath, join(dir, 'oci_api_key.pem'));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
    assert.equal(await readFile(keyPath, 'utf8'), privateKey);
    assert.equal(
      await readFile(configPath, 'utf8'),
      [
        '[DEFAULT]',
        `user=${PROFILE.user}`,
        `fingerprint=${PROFILE.fingerprint}`,
        `tenancy=${PROFILE.tenancy}`,
        'region=us-ashburn-1',
        `key_file=${keyPath}`,
        '',
      ].join('\n'),
    );
  });

  it('is loadable by oci-common ConfigFileAuthenticationDetailsProvider', async () => {
    // A relative dir must still yield an absolute key_file, since SDKs resolve it against their own cwd.
    const { configPath, keyPath } = await writeOciConfig(relative(process.cwd(), join(root, 'sdk')), PROFILE);
    assert.ok(isAbsolute(keyPath));
    const provider = new common.ConfigFileAuthenticationDetailsProvider(configPath, 'DEFAULT');
    assert.equal(provider.getTenantId(), PROFILE.tenancy);
    assert.equal(provider.getUser(), PROFILE.user);
    assert.equal(provider.getFingerprint(), PROFILE.fingerprint);
    assert.equal(provider.getPrivateKey().trim(), privateKey.trim());
    assert.equal(provider.getRegion().regionId, 'us-ashburn-1');

    // And what that provider signs, we verify.
    const signer = new common.DefaultRequestSigner(provider);
    const request: common.HttpRequest = { method: 'GET', uri: 'http://127.0.0.1:1/20181201/topics?x=1', headers: new Headers() };
    await signer.signHttpRequest(request);
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => {
      headers[k] = v;
    });
    const caller = await verifyOciSignature({ method: 'GET', url: '/20181201/topics?x=1', headers, body: undefined }, async () => publicKey);
    assert.equal(caller.userId, PROFILE.user);
  });

  it('replaces existing files and tightens a loose key mode', async () => {
    const dir = join(root, 'again');
    const first = await writeOciConfig(dir, PROFILE);
    await writeFile(first.keyPath, 'old', { mode: 0o644 });
    await writeOciConfig(dir, { ...PROFILE, region: 'eu-frankfurt-1' });
    assert.equal((await stat(first.keyPath)).mode & 0o777, 0o600);
    assert.equal((await readOciConfig(first.configPath)).region, 'eu-frankfurt-1');
  });

  it('round-trips through readOciConfig', async () => {
    const { configPath, keyPath } = await writeOciConfig(join(root, 'rt'), PROFILE);
    const loaded = await readOciConfig(configPath);
    assert.deepEqual(loaded, {
      user: PROFILE.user,
      fingerprint: PROFILE.fingerprint,
      tenancy: PROFILE.tenancy,
      region: PROFILE.region,
      keyFile: keyPath,
      privateKeyPem: privateKey,
    });
    // The loaded profile is directly usable with signRequest.
    const url = new URL('http://127.0.0.1:1/20181201/topics');
    const headers = signRequest({
      method: 'POST',
      url,
      headers: {},
      body: '{"name":"t"}',
      keyId: `${loaded.tenancy}/${loaded.user}/${loaded.fingerprint}`,
      privateKeyPem: loaded.privateKeyPem,
    });
    await verifyOciSignature({ method: 'POST', url: url.pathname, headers, body: Buffer.from('{"name":"t"}') }, async () => publicKey);
  });

  it('reads named profiles with DEFAULT fallback, comments, CRLF and ~ in key_file', async () => {
    const { keyPath } = await writeOciConfig(join(root, 'multi'), PROFILE);
    const path = join(root, 'multi', 'config-multi');
    await writeFile(
      path,
      [
        '# comment',
        '[DEFAULT]',
        `tenancy = ${PROFILE.tenancy}`,
        'region=us-phoenix-1',
        '',
        '[ADMIN]',
        `user=${PROFILE.user}`,
        `fingerprint=${PROFILE.fingerprint}`,
        'key_file=~/multi/oci_api_key.pem',
        'region=us-ashburn-1',
      ].join('\r\n'),
    );
    // os.homedir() follows $HOME on POSIX, which lets `~` point into the temp dir.
    const savedHome = process.env['HOME'];
    process.env['HOME'] = root;
    let loaded;
    try {
      assert.equal(homedir(), root);
      loaded = await readOciConfig(path, 'ADMIN');
    } finally {
      process.env['HOME'] = savedHome;
    }
    assert.equal(loaded.tenancy, PROFILE.tenancy);
    assert.equal(loaded.region, 'us-ashburn-1');
    assert.equal(loaded.keyFile, keyPath);
    assert.equal(loaded.privateKeyPem, privateKey);
    await assert.rejects(readOciConfig(path, 'NOPE'), /no profile named \[NOPE\]/);
    await assert.rejects(readOciConfig(path), /missing user, fingerprint, key_file/);
  });

  it('refuses values that would break the INI format', async () => {
    await assert.rejects(writeOciConfig(join(root, 'bad'), { ...PROFILE, region: 'us\n[EVIL]' }), /single line/);
    await assert.rejects(writeOciConfig(join(root, 'bad'), { ...PROFILE, user: '' }), /non-empty/);
  });

  it('reports an unreadable key file clearly', async () => {
    const path = join(root, 'nokey-config');
    await writeFile(path, `[DEFAULT]\nuser=u\nfingerprint=f\ntenancy=t\nregion=r\nkey_file=${join(root, 'missing.pem')}\n`);
    await assert.rejects(readOciConfig(path), /cannot read key_file/);
  });
});
