import { invalid } from './problems.js';

/**
 * A CIDR block as the numbers evaluation compares against. IPv4 fits a double exactly; IPv6 is kept as eight
 * 16-bit groups with a per-group mask, so matching needs no bigint (which would allocate per payload value).
 */
export type CidrRange =
  | { readonly family: 4; readonly lo: number; readonly hi: number }
  | { readonly family: 6; readonly network: readonly number[]; readonly mask: readonly number[] };

// Payload addresses are parsed into this one buffer: matching is synchronous and never re-entered.
const scratch = new Uint16Array(8);

/**
 * Strict dotted-quad IPv4 from `start` to the end of `s`, as an unsigned number, or -1. Leading zeros are
 * refused (as node:net's isIP does): "010" is octal to some parsers and decimal to others.
 */
export function ipv4At(s: string, start: number): number {
  const len = s.length;
  if (len - start < 7 || len - start > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses a textual IPv6 address (with `::` and an optional dotted-quad tail) into `out`. Zone ids
 * ("fe80::1%eth0") are refused: a zone names a host's interface, which a network block cannot contain.
 */
export function parseIPv6Into(s: string, out: Uint16Array): boolean {
  const len = s.length;
  if (len < 2 || len > 45) return false;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    let group = 0;
    let digits = 0;
    let j = i;
    for (; j < len; j++) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      group = group * 16 + h;
      digits++;
    }
    if (j < len && s.charCodeAt(j) === 46) {
      if (n > 6) return false;
      const v4 = ipv4At(s, i);
      if (v4 < 0) return false;
      out[n++] = Math.floor(v4 / 65536);
      out[n++] = v4 % 65536;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    out[n++] = group;
    if (j === len) break;
    if (s.charCodeAt(j) !== 58) return false;
    i = j + 1;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === len) {
      return false;
    }
  }
  if (gap < 0) return n === 8;
  // "::" stands for at least one zero group (RFC 4291), so eight explicit groups leave it nothing to stand for.
  if (n === 8) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** Compiles `{"cidr": "10.0.0.0/24"}`. Host bits below the mask are ignored, as in any routing table. */
export function compileCidr(text: string): CidrRange {
  const shown = JSON.stringify(text);
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) throw invalid(`Malformed CIDR ${shown}: exactly one '/' is required`);
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) throw invalid(`Malformed CIDR ${shown}: the prefix length must be a non-negative integer`);
  const bits = Number(bitsText);
  const address = text.slice(0, slash);
  if (!address.includes(':')) {
    const v4 = ipv4At(address, 0);
    if (v4 < 0) throw invalid(`Malformed CIDR ${shown}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    if (bits > 32) throw invalid(`Malformed CIDR ${shown}: an IPv4 prefix length is at most 32`);
    const size = 2 ** (32 - bits);
    const lo = Math.floor(v4 / size) * size;
    return { family: 4, lo, hi: lo + size - 1 };
  }
  const groups = new Uint16Array(8);
  if (!parseIPv6Into(address, groups)) throw invalid(`Malformed CIDR ${shown}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  if (bits > 128) throw invalid(`Malformed CIDR ${shown}: an IPv6 prefix length is at most 128`);
  const network: number[] = [];
  const mask: number[] = [];
  for (let g = 0; g < 8; g++) {
    const covered = Math.min(16, Math.max(0, bits - 16 * g));
    const m = covered === 0 ? 0 : (0xffff << (16 - covered)) & 0xffff;
    mask.push(m);
    network.push(groups[g]! & m);
  }
  return { family: 6, network, mask };
}

/** Whether the payload string is an address inside any of the blocks. Anything that is not an address is not inside. */
export function cidrContains(ranges: readonly CidrRange[], s: string): boolean {
  // The two families never mix: an IPv4 address is not matched by an IPv4-mapped IPv6 block, nor the reverse.
  const v6 = s.includes(':');
  let v4 = -1;
  if (v6) {
    if (!parseIPv6Into(s, scratch)) return false;
  } else {
    v4 = ipv4At(s, 0);
    if (v4 < 0) return false;
  }
  for (let r = 0; r < ranges.length; r++) {
    const range = ranges[r]!;
    if (range.family === 4) {
      if (!v6 && v4 >= range.lo && v4 <= range.hi) return true;
    } else if (v6 && inBlock6(range.network, range.mask)) {
      return true;
    }
  }
  return false;
}

function inBlock6(network: readonly number[], mask: readonly number[]): boolean {
  for (let g = 0; g < 8; g++) {
    if ((scratch[g]! & mask[g]!) !== network[g]) return false;
  }
  return true;
}
