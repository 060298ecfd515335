import { strict as assert } from 'node:assert';
import type { LookupAddress } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import {
  FORBIDDEN_ADDRESS_CODE,
  ForbiddenAddressError,
  checkLiteralHost,
  checkUrlHost,
  guardedLookup,
  isForbiddenAddress,
  isMetadataAddress,
} from '../../src/delivery/egress.js';
import { HttpClient } from '../../src/delivery/http-client.js';
import { captureServer } from './fixtures.js';
import type { CaptureServer } from './fixtures.js';

const FORBIDDEN = [
  '127.0.0.1',
  '127.255.255.254',
  '::1',
  '[::1]',
  '10.0.0.1',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '100.64.0.1',
  '100.127.255.255',
  '169.254.0.1',
  '169.254.169.254',
  'fe80::1',
  'fe80::1%eth0',
  'fc00::1',
  'fd12:3456::1',
  'fd00:ec2::254',
  '0.0.0.0',
  '0.1.2.3',
  '::',
  '224.0.0.1',
  '239.255.255.250',
  'ff02::1',
  '255.255.255.255',
  '240.0.0.1',
  '198.18.0.1',
  '192.0.2.1',
  '2001:db8::1',
  '::ffff:10.0.0.1',
  '::ffff:127.0.0.1',
  '::ffff:a00:1', // the same, as the WHATWG URL parser writes it
  '::ffff:0:7f00:1', // SIIT
  '::127.0.0.1', // IPv4-compatible
  '64:ff9b::10.0.0.1', // NAT64
  '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
  '64:ff9b:1::1', // local-use NAT64
  '2002:a00:1::1', // 6to4 of 10.0.0.1
  'not-an-ip', // fail closed
  '',
];

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '172.15.255.255',
  '100.128.0.1',
  '192.169.0.1',
  '11.0.0.1',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('isForbiddenAddress', () => {
  for (const ip of FORBIDDEN) it(`refuses ${JSON.stringify(ip)}`, () => assert.equal(isForbiddenAddress(ip), true));
  for (const ip of ALLOWED) it(`allows ${ip}`, () => assert.equal(isForbiddenAddress(ip), false));

  it('flags cloud metadata addresses separately, including embedded forms', () => {
    for (const ip of ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254', '100.100.100.200']) assert.equal(isMetadataAddress(ip), true, ip);
    for (const ip of ['127.0.0.1', '10.0.0.1', '8.8.8.8']) assert.equal(isMetadataAddress(ip), false, ip);
  });
});

function lookup(allowPrivate: boolean, host: string, all: boolean): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) => {
    guardedLookup(allowPrivate)(host, { all }, (err, address) => (err ? reject(err) : resolve(address)));
  });
}

describe('guardedLookup', () => {
  it('refuses a name that resolves to loopback, checking the resolved address', async () => {
    await assert.rejects(lookup(false, 'localhost', false), (err: unknown) => {
      assert.ok(err instanceof ForbiddenAddressError);
      assert.equal(err.code, FORBIDDEN_ADDRESS_CODE);
      assert.equal(err.host, 'localhost');
      assert.match(err.message, /Refusing to connect to localhost: it resolves to (127\.0\.0\.1|::1)/);
      return true;
    });
  });

  it('resolves normally when private endpoints are allowed, in both answer shapes', async () => {
    const one = await lookup(true, 'localhost', false);
    assert.equal(typeof one, 'string');
    assert.ok(['127.0.0.1', '::1'].includes(one as string));
    const all = await lookup(true, 'localhost', true);
    assert.ok(Array.isArray(all) && all.length > 0 && all.every((a) => typeof a.family === 'number'));
  });

  it('passes DNS errors through unchanged', async () => {
    await assert.rejects(lookup(false, 'does-not-exist.invalid', false), (err: NodeJS.ErrnoException) => {
      assert.notEqual(err.code, FORBIDDEN_ADDRESS_CODE);
      return true;
    });
  });
});

describe('checkUrlHost and checkLiteralHost', () => {
  it('refuses loopback by literal IP and by name unless allowed', async () => {
    for (const url of ['http://127.0.0.1:9/x', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://localhost:9/']) {
      await assert.rejects(checkUrlHost(new URL(url), false), ForbiddenAddressError, url);
      await checkUrlHost(new URL(url), true);
    }
  });

  it('lets a public literal through without any DNS', async () => {
    await checkUrlHost(new URL('https://8.8.8.8/hook'), false);
    checkLiteralHost(new URL('https://[2606:4700:4700::1111]/'), false);
  });

  it('refuses cloud metadata even when private endpoints are allowed', async () => {
    await assert.rejects(checkUrlHost(new URL('http://169.254.169.254/latest/meta-data/'), true), /cloud metadata/);
    assert.throws(() => checkLiteralHost(new URL('http://[fd00:ec2::254]/'), true), ForbiddenAddressError);
  });

  it('checkLiteralHost leaves names to the connect-time lookup', () => {
    checkLiteralHost(new URL('http://localhost/'), false);
  });
});

/** Refused whatever --allow-private-endpoints says: link-local, cloud metadata, and the same carried inside IPv6. */
const ALWAYS_REFUSED = [
  '169.254.169.254',
  '169.254.170.2', // AWS ECS task metadata
  '169.254.169.123', // AWS time sync
  '169.254.0.1',
  '169.254.255.255',
  '168.63.129.16', // Azure wireserver
  '100.100.100.200', // Alibaba metadata
  'fd00:ec2::254', // AWS IPv6 IMDS
  'fd00:ec2::23',
  'fd00:ec2:ffff::1',
  'fe80::1',
  'fe80::a9fe:a9fe%eth0',
  'febf:ffff::1',
  '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe', // the same, as the WHATWG URL parser writes it
  '::ffff:168.63.129.16',
  '::ffff:0:169.254.169.254', // SIIT
  '64:ff9b::169.254.169.254', // NAT64
  '2002:a9fe:a9fe::1', // 6to4
];

/** The neighbours of those ranges: reachable when private endpoints are allowed (some are public anyway). */
const NEIGHBOURS = ['10.0.0.1', '127.0.0.1', '169.253.255.255', '169.255.0.1', '168.63.129.17', 'fd00:ec3::1', 'fd12::1', 'fec0::1', '::ffff:10.0.0.1'];

describe('link-local and cloud metadata addresses are refused even with private endpoints allowed', () => {
  for (const ip of ALWAYS_REFUSED) {
    it(`refuses ${ip}`, () => {
      assert.equal(isMetadataAddress(ip), true);
      // A URL cannot carry an IPv6 zone id; the guard still sees one from a lookup.
      if (ip.includes('%')) return;
      const host = ip.includes(':') ? `[${ip}]` : ip;
      assert.throws(() => checkLiteralHost(new URL(`http://${host}/`), true), (err: unknown) => {
        assert.ok(err instanceof ForbiddenAddressError);
        assert.match(err.message, /link-local or cloud metadata address, which Herald never contacts/);
        return true;
      });
    });
  }

  for (const ip of NEIGHBOURS) {
    it(`lets ${ip} through when private endpoints are allowed`, () => {
      assert.equal(isMetadataAddress(ip), false);
      checkLiteralHost(new URL(`http://${ip.includes(':') ? `[${ip}]` : ip}/`), true);
    });
  }
});

describe('HttpClient behind the guard', () => {
  let server: CaptureServer;
  before(async () => {
    server = await captureServer();
  });
  after(async () => {
    await server.close();
  });

  for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
    it(`refuses ${host} before sending a byte when private endpoints are not allowed`, async () => {
      const client = new HttpClient({ allowPrivate: false, timeoutMs: 2000 });
      try {
        const before = server.requests.length;
        await assert.rejects(client.post(`http://${host}:${server.port}/hook`, { headers: {}, body: 'x' }), (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, FORBIDDEN_ADDRESS_CODE);
          return true;
        });
        assert.equal(server.requests.length, before);
      } finally {
        await client.close();
      }
    });
  }

  it('reaches the same server when private endpoints are allowed', async () => {
    const client = new HttpClient({ allowPrivate: true, timeoutMs: 2000 });
    try {
      const answer = await client.post(`http://localhost:${server.port}/hook`, { headers: {}, body: 'x' });
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.bodyExcerpt, 'ok');
    } finally {
      await client.close();
    }
  });
});
