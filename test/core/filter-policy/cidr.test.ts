import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileFilterPolicy, matchesFilterPolicy, parseMessageBody } from '../../../src/core/filter-policy/index.js';

/** The cidr operator: IPv4 and IPv6 blocks, and which payload strings count as addresses. */

const inBlock = (cidr: string, ip: unknown): boolean =>
  matchesFilterPolicy(compileFilterPolicy({ ip: [{ cidr }] }), parseMessageBody(JSON.stringify({ ip })));

describe('cidr, IPv4', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['10.0.0.0/24', '10.0.0.0', true],
    ['10.0.0.0/24', '10.0.0.255', true],
    ['10.0.0.0/24', '10.0.1.0', false],
    ['10.0.0.0/24', '9.255.255.255', false],
    ['10.0.0.0/24', '10.0.0.256', false],
    ['10.0.0.0/24', '10.0.0', false],
    ['10.0.0.0/24', '10.0.0.1.5', false],
    ['10.0.0.0/24', '010.0.0.1', false],
    ['10.0.0.0/24', ' 10.0.0.1', false],
    ['10.0.0.0/24', 167772161, false],
    ['10.0.0.77/24', '10.0.0.1', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['192.168.1.7/32', '192.168.1.7', true],
    ['192.168.1.7/32', '192.168.1.8', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['10.0.0.0/24', '::ffff:10.0.0.1', false],
  ];
  for (const [cidr, ip, expected] of cases) {
    it(`${cidr} ${expected ? 'contains' : 'does not contain'} ${JSON.stringify(ip)}`, () => assert.equal(inBlock(cidr, ip), expected));
  }
});

describe('cidr, IPv6', () => {
  const cases: Array<[string, string, boolean]> = [
    ['2001:db8::/32', '2001:db8::1', true],
    ['2001:db8::/32', '2001:DB8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '10.0.0.1', false],
    ['2001:db8:0:0:8000::/65', '2001:db8::8000:0:0:1', true],
    ['2001:db8:0:0:8000::/65', '2001:db8::7fff:0:0:1', false],
    ['::/0', '::', true],
    ['::1/128', '::1', true],
    ['::1/128', '::2', false],
    ['::ffff:0:0/96', '::ffff:10.0.0.1', true],
    ['::ffff:0:0/96', '10.0.0.1', false],
    ['fe80::/10', 'fe80::1%eth0', false],
    ['2001:db8::/32', '2001:db8::1::2', false],
    ['2001:db8::/32', '2001:db8:1:2:3:4:5:6:7', false],
    ['2001:db8::/32', '2001:db8:12345::', false],
  ];
  for (const [cidr, ip, expected] of cases) {
    it(`${cidr} ${expected ? 'contains' : 'does not contain'} ${ip}`, () => assert.equal(inBlock(cidr, ip), expected));
  }

  it('ORs several blocks of both families in one leaf', () => {
    const policy = compileFilterPolicy({ ip: [{ cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/32' }] });
    for (const [ip, expected] of [['10.1.2.3', true], ['2001:db8::5', true], ['11.0.0.1', false]] as const) {
      assert.equal(matchesFilterPolicy(policy, parseMessageBody(JSON.stringify({ ip }))), expected, ip);
    }
  });
});

describe('which strings are addresses', () => {
  const ipv4 = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((parts) => parts.join('.'));
  const hexGroup = fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)) },
    { weight: 1, arbitrary: fc.constantFrom('', '10000', '0000f', 'g') },
  );
  // Eight groups, or six and a dotted tail, with a run (possibly empty) folded into "::", then a group more or less.
  const ipv6 = fc
    .record({
      groups: fc.array(hexGroup, { minLength: 8, maxLength: 8 }),
      tail: fc.option(ipv4, { nil: undefined }),
      fold: fc.option(fc.tuple(fc.nat(8), fc.nat(8)), { nil: undefined }),
      resize: fc.constantFrom(0, 0, 0, -1, 1),
    })
    .map(({ groups, tail, fold, resize }) => {
      let parts = tail === undefined ? groups : [...groups.slice(0, 6), tail];
      if (resize < 0) parts = parts.slice(1);
      if (resize > 0) parts = ['1', ...parts];
      if (fold === undefined) return parts.join(':');
      const from = Math.min(fold[0], fold[1], parts.length);
      const to = Math.min(Math.max(fold[0], fold[1]), parts.length);
      return `${parts.slice(0, from).join(':')}::${parts.slice(to).join(':')}`;
    });
  const noise = fc.string({ unit: fc.constantFrom('0', '1', 'f', ':', '.', 'g', '%'), maxLength: 12 });

  it('agree with node:net isIP (zone ids aside, which no block contains)', () => {
    const any4 = compileFilterPolicy({ ip: [{ cidr: '0.0.0.0/0' }] });
    const any6 = compileFilterPolicy({ ip: [{ cidr: '::/0' }] });
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6, noise), (ip) => {
        const body = parseMessageBody(JSON.stringify({ ip }));
        const family = ip.includes('%') ? 0 : isIP(ip);
        assert.equal(matchesFilterPolicy(any4, body), family === 4, `${ip} as IPv4`);
        assert.equal(matchesFilterPolicy(any6, body), family === 6, `${ip} as IPv6`);
      }),
      { numRuns: 5000 },
    );
  });
});
