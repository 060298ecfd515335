import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ConfigError, FILE_KEYS, resolveConfig } from '../../src/config/config.js';

/** A file setting every key once (the README's example says the same things). */
const FULL = `
port: 9443
host: 0.0.0.0
dataDir: /var/lib/herald
store: postgres://herald@db/herald
publicUrl: https://herald.example.com/
logLevel: debug
logFormat: json
smtpUrl: smtp://mail.example.com:587
mailFrom: Herald <herald@example.com>
retryTimeScale: 0.5
allowPrivateEndpoints: true
smsBaseUrl: https://sms.example.com
smsAccountSid: AC1
smsAuthToken: secret
smsFrom: "+15550100"
nodeId: node-a
deliveryTimeoutMs: 10000
maxBacklog: 5000
deliveryLagTarget: 2s
deliveryThreads: 3
messageRetention: 3d
endpointDisableAfter: 12h
functionsSandbox: none
functionsNetwork: isolated
functionsPython: /usr/bin/python3.11
functionsBwrap: /usr/bin/bwrap
tlsCert: /etc/herald/cert.pem
tlsKey: /etc/herald/key.pem
`;

describe('the config file (--config / HERALD_CONFIG)', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (text: string): Promise<string> => {
    const path = join(dir, `herald-${++n}.yaml`);
    await writeFile(path, text);
    return path;
  };
  const refused = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
  };

  it('supplies every setting a flag can, with YAML numbers and booleans', async () => {
    const path = await file(FULL);
    const c = resolveConfig({ config: path }, {});
    assert.equal(c.port, 9443);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.dataDir, '/var/lib/herald');
    assert.equal(c.store, 'postgres://herald@db/herald');
    assert.equal(c.publicUrl, 'https://herald.example.com');
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.logFormat, 'json');
    assert.equal(c.smtpUrl, 'smtp://mail.example.com:587');
    assert.equal(c.mailFrom, 'Herald <herald@example.com>');
    assert.equal(c.retryTimeScale, 0.5);
    assert.equal(c.allowPrivateEndpoints, true);
    assert.deepEqual(c.sms, { baseUrl: 'https://sms.example.com', accountSid: 'AC1', authToken: 'secret', from: '+15550100' });
    assert.equal(c.nodeId, 'node-a');
    assert.equal(c.deliveryTimeoutMs, 10_000);
    assert.equal(c.maxBacklog, 5000);
    assert.equal(c.deliveryLagTargetMs, 2000);
    assert.equal(c.deliveryThreads, 3);
    assert.equal(c.messageRetentionMs, 3 * 86_400_000);
    assert.equal(c.endpointDisableAfterMs, 12 * 3_600_000);
    assert.equal(c.functionsSandbox, 'none');
    assert.equal(c.functionsNetwork, 'isolated');
    assert.equal(c.functionsPython, '/usr/bin/python3.11');
    assert.equal(c.functionsBwrap, '/usr/bin/bwrap');
    assert.deepEqual(c.tls, { certFile: '/etc/herald/cert.pem', keyFile: '/etc/herald/key.pem' });
  });

  it('knows every flag but --config, and the test above sets each of them', () => {
    assert.deepEqual(Object.keys(parse(FULL) as object).sort(), Object.keys(FILE_KEYS).sort());
  });

  it('is found through HERALD_CONFIG too', async () => {
    const path = await file('port: 7000\n');
    assert.equal(resolveConfig({}, { HERALD_CONFIG: path }).port, 7000);
    assert.equal(resolveConfig({}, {}).port, 8080);
  });

  it('loses to the environment, and both lose to flags', async () => {
    const path = await file('port: 7000\nlogLevel: debug\nmaxBacklog: 10\n');
    const c = resolveConfig({ config: path, port: '7002' }, { HERALD_PORT: '7001', HERALD_LOG_LEVEL: 'warn' });
    assert.equal(c.port, 7002);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.maxBacklog, 10);
    // An empty variable is unset, as everywhere: the file's value stands.
    assert.equal(resolveConfig({ config: path }, { HERALD_PORT: '' }).port, 7000);
  });

  it('resolves relative paths against the file\'s folder, and leaves a bare command to PATH', async () => {
    const path = await file('dataDir: state\ntlsCert: tls/cert.pem\ntlsKey: ../keys/key.pem\nfunctionsBwrap: bwrap\n');
    const c = resolveConfig({ config: path }, {});
    assert.equal(c.dataDir, join(dir, 'state'));
    assert.deepEqual(c.tls, { certFile: join(dir, 'tls', 'cert.pem'), keyFile: join(dir, '..', 'keys', 'key.pem') });
    assert.equal(c.functionsBwrap, 'bwrap');
    const rel = await file('functionsBwrap: bin/bwrap\n');
    assert.equal(resolveConfig({ config: rel }, {}).functionsBwrap, join(dir, 'bin', 'bwrap'));
  });

  it('refuses unknown keys, naming each of them', async () => {
    const path = await file('port: 1\ntls_cert: a.pem\nlistenPort: 2\n');
    refused(() => resolveConfig({ config: path }, {}), /unknown keys: tls_cert, listenPort/);
    // `config` names the file; a file naming another file is not a thing.
    refused(() => resolveConfig({ config: path.replace('.yaml', '-x.yaml') }, {}), /Cannot read config file/);
    const nested = await file('config: other.yaml\n');
    refused(() => resolveConfig({ config: nested }, {}), /unknown key: config/);
  });

  it('refuses a value of the wrong type, naming the key', async () => {
    for (const [text, pattern] of [
      ['port: "8080"\n', /port must be a number, got string: "8080"/],
      ['allowPrivateEndpoints: "yes"\n', /allowPrivateEndpoints must be a boolean/],
      ['host: 127\n', /host must be a string, got number/],
      ['tlsCert: [a, b]\n', /tlsCert must be a string, got a list/],
      ['smtpUrl: { host: x }\n', /smtpUrl must be a string, got object/],
    ] as const) {
      const path = await file(text);
      refused(() => resolveConfig({ config: path }, {}), pattern);
    }
  });

  it('refuses a file that is not a mapping or not YAML, and treats an empty value as unset', async () => {
    refused(() => resolveConfig({ config: join(dir, 'list.yaml') }, {}), /Cannot read config file/);
    const list = await file('- port: 1\n');
    refused(() => resolveConfig({ config: list }, {}), /must be a mapping/);
    const broken = await file('port: [1\n');
    refused(() => resolveConfig({ config: broken }, {}), /not valid YAML/);
    const dup = await file('port: 1\nport: 2\n');
    refused(() => resolveConfig({ config: dup }, {}), /not valid YAML/);
    const empty = await file('smtpUrl:\n');
    assert.equal(resolveConfig({ config: empty }, {}).smtpUrl, undefined);
    assert.equal(resolveConfig({ config: await file('') }, {}).port, 8080);
  });

  it('checks file values like flag values', async () => {
    const path = await file('store: mysql://nope\n');
    refused(() => resolveConfig({ config: path }, {}), /--store must be "sqlite" or a postgres/);
  });
});

describe('delivery threads setting', () => {
  it('makes HTTP deliveries on one thread by default, on none with 0, and refuses anything but 0 to 16', () => {
    assert.equal(resolveConfig({}, {}).deliveryThreads, 1);
    assert.equal(resolveConfig({ deliveryThreads: '0' }, {}).deliveryThreads, 0);
    assert.equal(resolveConfig({}, { HERALD_DELIVERY_THREADS: '4' }).deliveryThreads, 4);
    for (const bad of ['-1', '1.5', 'two', '17', '']) {
      assert.throws(() => resolveConfig({ deliveryThreads: bad }, {}), (e: unknown) => e instanceof ConfigError && /--delivery-threads must be an integer from 0 to 16/.test(e.message), bad);
    }
  });
});

describe('publish pacing setting', () => {
  it('paces at 500 ms by default, takes a duration or off, and refuses anything else', () => {
    assert.equal(resolveConfig({}, {}).deliveryLagTargetMs, 500);
    assert.equal(resolveConfig({ deliveryLagTarget: '1500ms' }, {}).deliveryLagTargetMs, 1500);
    assert.equal(resolveConfig({}, { HERALD_DELIVERY_LAG_TARGET: 'off' }).deliveryLagTargetMs, 0);
    assert.throws(() => resolveConfig({ deliveryLagTarget: '500' }, {}), (e: unknown) => e instanceof ConfigError && /--delivery-lag-target must be a duration/.test(e.message));
    assert.throws(() => resolveConfig({ deliveryLagTarget: '1h' }, {}), (e: unknown) => e instanceof ConfigError && /up to 10m/.test(e.message));
  });
});

describe('TLS and log format settings', () => {
  it('wants both the certificate and the key, or neither', () => {
    assert.equal(resolveConfig({}, {}).tls, undefined);
    assert.throws(() => resolveConfig({ tlsCert: 'c.pem' }, {}), (e: unknown) => e instanceof ConfigError && /only --tls-cert is set/.test(e.message));
    assert.throws(() => resolveConfig({}, { HERALD_TLS_KEY: 'k.pem' }), (e: unknown) => e instanceof ConfigError && /only --tls-key is set/.test(e.message));
    assert.deepEqual(resolveConfig({ tlsCert: '/a/c.pem' }, { HERALD_TLS_KEY: '/a/k.pem' }).tls, { certFile: '/a/c.pem', keyFile: '/a/k.pem' });
  });

  it('accepts json or pretty, and leaves the choice to the terminal when unset', () => {
    assert.equal(resolveConfig({}, {}).logFormat, undefined);
    assert.equal(resolveConfig({}, { HERALD_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(resolveConfig({ logFormat: 'json' }, { HERALD_LOG_FORMAT: 'pretty' }).logFormat, 'json');
    assert.throws(() => resolveConfig({ logFormat: 'xml' }, {}), (e: unknown) => e instanceof ConfigError && /--log-format must be "json" or "pretty"/.test(e.message));
  });
});
