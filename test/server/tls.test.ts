import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type * as common from 'oci-common';
import * as ons from 'oci-ons';
import { Agent, request } from 'undici';
import { eventually } from '../helpers/eventually.js';
import { KINDS, startTestHerald } from '../helpers/herald.js';
import { spawnHerald, stopHerald } from '../helpers/process.js';
import { pino } from 'pino';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { startHerald } from '../../src/server/herald.js';
import { keyFileWarning } from '../../src/server/tls.js';

const run = promisify(execFile);

/** A throwaway CA and server certificates for 127.0.0.1 and localhost, made by Debian's openssl. */
class TestPki {
  constructor(readonly dir: string) {}

  static async create(): Promise<TestPki> {
    const pki = new TestPki(await mkdtemp(join(tmpdir(), 'herald-tls-')));
    await pki.openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', pki.path('ca.key'), '-out', pki.path('ca.pem'),
      '-days', '2', '-subj', '/CN=Herald Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    await writeFile(pki.path('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    return pki;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  private async openssl(...args: string[]): Promise<void> {
    await run('openssl', args);
  }

  /** A server certificate with this serial (hex) and its key, as `<name>.pem` and `<name>.key` (mode 0600). */
  async server(name: string, serial: number): Promise<{ cert: string; key: string }> {
    const cert = this.path(`${name}.pem`);
    const key = this.path(`${name}.key`);
    await this.openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', this.path(`${name}.csr`), '-subj', `/CN=herald-${name}`);
    await this.openssl('x509', '-req', '-in', this.path(`${name}.csr`), '-CA', this.path('ca.pem'), '-CAkey', this.path('ca.key'), '-set_serial', String(serial),
      '-days', '2', '-extfile', this.path('server.ext'), '-out', cert);
    await chmod(key, 0o600);
    return { cert, key };
  }
}

/** The serial number of the certificate a TLS server presents, verified against the test CA. */
function servedSerial(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('HTTPS', () => {
  let pki: TestPki;
  let ca: string;
  before(async () => {
    pki = await TestPki.create();
    ca = await readFile(pki.path('ca.pem'), 'utf8');
  });
  after(async () => {
    await rm(pki.dir, { recursive: true, force: true });
  });

  for (const kind of KINDS) {
    it(`serves the OCI API to the SDK over TLS, refuses plain HTTP and swaps certificates on reload (${kind})`, async () => {
      const one = await pki.server(`one-${kind}`, 1);
      const two = await pki.server(`two-${kind}`, 2);
      const stray = await pki.server(`stray-${kind}`, 3);
      // The files Herald is given; a renewal overwrites them in place.
      const certFile = pki.path(`live-${kind}.pem`);
      const keyFile = pki.path(`live-${kind}.key`);
      await copyFile(one.cert, certFile);
      await copyFile(one.key, keyFile);
      const t = await startTestHerald(kind, { tlsCert: certFile, tlsKey: keyFile });
      // The SDK's documented hook for transport settings is ClientConfiguration.httpOptions: oci-common passes it
      // as fetch()'s second argument, and Node's fetch (undici) takes a dispatcher there that trusts our CA.
      const dispatcher = new Agent({ connect: { ca } });
      const cfg: common.ClientConfiguration = { httpOptions: { dispatcher } };
      const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: t.provider }, cfg);
      const dp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: t.provider }, cfg);
      try {
        assert.match(t.herald.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(t.herald.publicUrl, t.herald.url);
        cp.endpoint = t.herald.url;
        dp.endpoint = t.herald.url;
        const { notificationTopic } = await cp.createTopic({ createTopicDetails: { name: `tls-${kind}`, compartmentId: t.tenancyId } });
        assert.equal(notificationTopic.apiEndpoint, t.herald.url);
        const published = await dp.publishMessage({ topicId: notificationTopic.topicId, messageDetails: { title: 't', body: 'over TLS' } });
        assert.ok(published.publishResult.messageId);
        const console = await request(`${t.herald.url}/console/`, { dispatcher });
        assert.equal(console.statusCode, 200);
        await console.body.text();

        // Plain HTTP on the same port gets no HTTP answer, and a client without the CA refuses the server.
        const port = new URL(t.herald.url).port;
        await assert.rejects(request(`http://127.0.0.1:${port}/health`));
        await assert.rejects(request(`${t.herald.url}/health`), /certificate/i);

        assert.equal(await servedSerial(t.herald.url, ca), '01');
        await copyFile(two.cert, certFile);
        await copyFile(two.key, keyFile);
        assert.equal(await t.herald.reloadTls(), true);
        assert.equal(await servedSerial(t.herald.url, ca), '02');

        // A half-renewed pair (a certificate with another one's key) is refused and the served one kept.
        await copyFile(stray.cert, certFile);
        assert.equal(await t.herald.reloadTls(), false);
        assert.equal(await servedSerial(t.herald.url, ca), '02');
        const health = await request(`${t.herald.url}/health`, { dispatcher });
        assert.equal(health.statusCode, 200);
        await health.body.text();
      } finally {
        cp.close();
        dp.close();
        await dispatcher.close();
        await t.stop();
      }
    });
  }

  it('refuses to start with a key that does not match the certificate', async () => {
    const a = await pki.server('mismatch-a', 10);
    const b = await pki.server('mismatch-b', 11);
    const config = resolveConfig({ port: '0', dataDir: pki.path('mismatch-data'), tlsCert: a.cert, tlsKey: b.key }, {});
    await assert.rejects(startHerald(config, { logger: pino({ level: 'silent' }) }), (err: unknown) =>
      err instanceof ConfigError && /Cannot use --tls-cert .* with --tls-key .*key values mismatch/.test(err.message));
  });

  it('warns about a private key its group or others can read', async () => {
    const { key } = await pki.server('modes', 12);
    assert.equal(await keyFileWarning(key), undefined);
    await chmod(key, 0o640);
    assert.match((await keyFileWarning(key)) ?? '', /readable by its group \(mode 0640\); chmod 600 it/);
    await chmod(key, 0o604);
    assert.match((await keyFileWarning(key)) ?? '', /readable by every user \(mode 0604\)/);
  });

  it('re-reads the certificate on SIGHUP in `herald serve`', async () => {
    const one = await pki.server('hup-one', 21);
    const two = await pki.server('hup-two', 22);
    const certFile = pki.path('hup-live.pem');
    const keyFile = pki.path('hup-live.key');
    await copyFile(one.cert, certFile);
    await copyFile(one.key, keyFile);
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-tls-serve-'));
    const s = await spawnHerald({ HERALD_PORT: '0', HERALD_DATA_DIR: dataDir, HERALD_TLS_CERT: certFile, HERALD_TLS_KEY: keyFile, HERALD_FUNCTIONS_SANDBOX: 'none' });
    try {
      assert.match(s.url, /^https:\/\//);
      assert.equal(await servedSerial(s.url, ca), '15');
      await copyFile(two.cert, certFile);
      await copyFile(two.key, keyFile);
      s.child.kill('SIGHUP');
      await eventually(() => s.logs.join('').includes('TLS certificate reloaded'), 20_000, 'the reload log line');
      assert.equal(await servedSerial(s.url, ca), '16');
      assert.equal(s.child.exitCode, null, 'SIGHUP does not stop a TLS server');
    } finally {
      assert.equal(await stopHerald(s), 0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
