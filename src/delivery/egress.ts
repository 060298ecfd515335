/**
 * SSRF guard for outbound deliveries. Subscription endpoints are chosen by tenants, so
 * without this a subscription could make Herald POST into its own network (the database,
 * the cloud metadata service, other internal HTTP services).
 *
 * The check runs on resolved addresses, never on names: `guardedLookup` is handed to the
 * socket as its `lookup`, so the address that is checked is the address that is dialled,
 * and a DNS answer that changes between a check and the connect (rebinding) cannot slip
 * through. Node skips `lookup` for IP-literal hosts, so those are checked separately
 * (`checkLiteralHost`, `checkUrlHost`).
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';
import type { LookupFunction } from 'node:net';

export const FORBIDDEN_ADDRESS_CODE = 'EHERALDFORBIDDEN';

/** Carries the errno-style `code` so it reads like any other connect error in traces. */
export class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS_CODE;

  constructor(
    readonly host: string,
    readonly address: string,
    metadata: boolean,
  ) {
    const what = metadata
      ? 'a link-local or cloud metadata address, which Herald never contacts'
      : 'a loopback, private, link-local or otherwise non-public address (set HERALD_ALLOW_PRIVATE_ENDPOINTS=true to allow it)';
    super(host === address ? `Refusing to connect to ${address}: it is ${what}.` : `Refusing to connect to ${host}: it resolves to ${address}, ${what}.`);
    this.name = 'ForbiddenAddressError';
  }
}

const V4_FORBIDDEN: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 dials the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT, also where some clouds put metadata (Alibaba 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, includes 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast 255.255.255.255
];

const V6_FORBIDDEN: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): the embedding position varies, so block it whole
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local, includes AWS metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local, still routed inside some networks
  ['ff00::', 8], // multicast
];

/**
 * Refused even with --allow-private-endpoints: that flag is for receivers on the operator's own network, and
 * nothing a tenant may name lives here. Whole ranges, not single addresses: metadata services answer on more
 * than one address (AWS ECS at 169.254.170.2, Azure IMDS and wireserver, AWS IPv6 IMDS anywhere in fd00:ec2::/32),
 * and link-local only ever reaches the host's own link. IPv4 carried inside IPv6 (::ffff:169.254.169.254, NAT64,
 * 6to4) is matched through `embeddedIPv4`.
 */
const ALWAYS_REFUSED: ReadonlyArray<readonly [string, number]> = [
  ['169.254.0.0', 16], // IPv4 link-local: AWS/GCP/Azure/OCI metadata 169.254.169.254, AWS ECS 169.254.170.2
  ['168.63.129.16', 32], // Azure wireserver (VM agent, health probes, DNS)
  ['100.100.100.200', 32], // Alibaba Cloud metadata
  ['fd00:ec2::', 32], // AWS IPv6 instance metadata (fd00:ec2::254) and its DNS/NTP neighbours
  ['fe80::', 10], // IPv6 link-local
];

const forbidden = new BlockList();
for (const [net, bits] of V4_FORBIDDEN) forbidden.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of V6_FORBIDDEN) forbidden.addSubnet(net, bits, 'ipv6');

const metadata = new BlockList();
for (const [net, bits] of ALWAYS_REFUSED) metadata.addSubnet(net, bits, isIPv4(net) ? 'ipv4' : 'ipv6');

/** Strips URL brackets and an IPv6 zone id, which BlockList does not accept. */
function bare(ip: string): string {
  let s = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return s;
}

/** 16 bytes of an address that `isIP` already accepted as IPv6. */
function ipv6Bytes(ip: string): Uint8Array {
  let s = ip;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // A dotted IPv4 tail (::ffff:10.0.0.1) is the last two groups written differently.
    const [a = 0, b = 0, c = 0, d = 0] = s.slice(lastColon + 1).split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', rest] = s.split('::');
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/**
 * The IPv4 address an IPv6 address carries in a form that reaches that IPv4 host:
 * IPv4-mapped (::ffff:a.b.c.d), SIIT (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d),
 * NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 */
function embeddedIPv4(b: Uint8Array): string | null {
  const v4 = (i: number): string => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;
  const zero = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return v4(12);
  if (zero(0, 12)) return v4(12); // :: and ::1 are already matched as IPv6 ranges
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return null;
}

function matches(list: BlockList, ip: string): boolean {
  const s = bare(ip);
  const family = isIP(s);
  if (family === 4) return list.check(s, 'ipv4');
  if (family !== 6) return false;
  if (list.check(s, 'ipv6')) return true;
  const v4 = embeddedIPv4(ipv6Bytes(s));
  return v4 !== null && list.check(v4, 'ipv4');
}

/**
 * True for any address a delivery must not reach unless private endpoints are allowed.
 * Anything that is not an IP address at all is refused too: failing closed is the point.
 */
export function isForbiddenAddress(ip: string): boolean {
  if (isIP(bare(ip)) === 0) return true;
  return matches(forbidden, ip);
}

/** Link-local and cloud metadata addresses: refused even when private endpoints are allowed. */
export function isMetadataAddress(ip: string): boolean {
  return matches(metadata, ip);
}

function refusal(host: string, ip: string, allowPrivate: boolean): ForbiddenAddressError | null {
  if (isMetadataAddress(ip)) return new ForbiddenAddressError(host, bare(ip), true);
  if (!allowPrivate && isForbiddenAddress(ip)) return new ForbiddenAddressError(host, bare(ip), false);
  return null;
}

/**
 * A `dns.lookup` replacement for `net.connect({ lookup })`. It always resolves every
 * address, refuses if ANY is forbidden (a name with one public and one private address
 * could otherwise be dialled on the private one by happy-eyeballs), and then answers in
 * the shape the caller asked for (`all` or a single address).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const opts: LookupAllOptions = { ...(typeof options === 'object' ? options : {}), all: true };
    dnsLookup(hostname, opts, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (err) return callback(err, '');
      for (const a of addresses) {
        const refused = refusal(hostname, a.address, allowPrivate);
        if (refused) return callback(refused, '');
      }
      if (typeof options === 'object' && options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) {
        return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '');
      }
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Synchronous check of an IP-literal host; names pass (the connect-time lookup checks them).
 * Cheap enough for every request, unlike a DNS round trip.
 */
export function checkLiteralHost(url: URL, allowPrivate: boolean): void {
  const host = bare(url.hostname);
  if (isIP(host) === 0) return;
  const refused = refusal(host, host, allowPrivate);
  if (refused) throw refused;
}

/**
 * Validates a URL's host up front: an IP literal directly, a name by resolving it now.
 * Useful for early feedback (e.g. when a subscription is created); the delivery path
 * still relies on `guardedLookup` at connect time, which is what defeats rebinding.
 */
export async function checkUrlHost(url: URL, allowPrivate: boolean): Promise<void> {
  const host = bare(url.hostname);
  if (isIP(host) !== 0) {
    checkLiteralHost(url, allowPrivate);
    return;
  }
  const lookup = guardedLookup(allowPrivate);
  await new Promise<void>((resolve, reject) => {
    lookup(host, { all: true }, (err) => (err ? reject(err) : resolve()));
  });
}
