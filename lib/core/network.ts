import * as ipaddr from 'ipaddr.js';

/** An inclusive IPv4 range as 32-bit integers. */
export interface Ipv4Range {
  /** First address. */
  readonly first: number;
  /** Last address. */
  readonly last: number;
  /** The spec it was parsed from (`a-b`, `a/n` or `a`). */
  readonly spec: string;
}

function toInt(addr: ipaddr.IPv4): number {
  return addr.toByteArray().reduce((acc, b) => acc * 256 + b, 0);
}

/** Parses a strict dotted-quad IPv4 address, or returns undefined. */
export function parseIpv4(text: string): ipaddr.IPv4 | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
}

/** An IPv4 address as a 32-bit integer, or undefined when it is not one. */
export function ipv4ToInt(text: string): number | undefined {
  const addr = parseIpv4(text);
  return addr ? toInt(addr) : undefined;
}

/**
 * Parses a CAPMOX `ipv4Config.addresses` entry: a range `a-b`, a CIDR `a/n` or a single address.
 * @returns undefined when the entry is malformed
 */
export function parseIpv4Range(spec: string): Ipv4Range | undefined {
  const dash = spec.split('-');
  if (dash.length === 2) {
    // No trimming: CAPMOX copies the entry verbatim, so " a - b" must be refused, not accepted.
    const first = ipv4ToInt(dash[0]);
    const last = ipv4ToInt(dash[1]);
    if (first === undefined || last === undefined || first > last) return undefined;
    return { first, last, spec };
  }
  if (spec.includes('/')) {
    if (!ipaddr.IPv4.isValidCIDR(spec)) return undefined;
    const [addr, bits] = ipaddr.IPv4.parseCIDR(spec);
    const size = 2 ** (32 - bits);
    const first = Math.floor(toInt(addr) / size) * size;
    return { first, last: first + size - 1, spec };
  }
  const single = ipv4ToInt(spec);
  return single === undefined ? undefined : { first: single, last: single, spec };
}

/** The subnet `address/prefix` lies in, as a range (network to broadcast). */
export function subnetRange(address: string, prefix: number): Ipv4Range | undefined {
  const int = ipv4ToInt(address);
  if (int === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const first = Math.floor(int / size) * size;
  return { first, last: first + size - 1, spec: `${intToIpv4(first)}/${prefix}` };
}

/** Dotted-quad form of a 32-bit integer. */
export function intToIpv4(int: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(int / 2 ** shift) % 256).join('.');
}

/** Whether a range contains an address (as an integer). */
export function rangeContains(range: Ipv4Range, int: number): boolean {
  return int >= range.first && int <= range.last;
}

/** Whether two ranges share at least one address. */
export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** The address part of `a/n` equals its network address: no host bits set. */
export function cidrHostBitsZero(cidr: string): boolean {
  if (!ipaddr.IPv4.isValidCIDR(cidr)) return false;
  return ipaddr.IPv4.networkAddressFromCIDR(cidr).toString() === ipaddr.IPv4.parseCIDR(cidr)[0].toString();
}

/** Number of addresses in a range. */
export function rangeSize(range: Ipv4Range): number {
  return range.last - range.first + 1;
}

/** An address family: IPv4 or IPv6. */
export type IpFamily = 4 | 6;

/** Bits of an address of a family. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** An inclusive range of addresses of one family, as unsigned integers (IPv6 needs 128 bits). */
export interface IpRange {
  /** The family of both ends. */
  readonly family: IpFamily;
  /** First address. */
  readonly first: bigint;
  /** Last address. */
  readonly last: bigint;
  /** The spec it was parsed from (`a-b`, `a/n` or `a`). */
  readonly spec: string;
}

/**
 * Parses a strict IPv4 dotted quad or an IPv6 address (no zone index: `%eth0` names a link, not
 * an address), or returns undefined.
 */
export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  if (typeof text !== 'string') return undefined;
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, value: BigInt(toInt(v4)) };
  if (text.includes('%') || text.includes('.') || !ipaddr.IPv6.isValid(text)) return undefined;
  const bytes = ipaddr.IPv6.parse(text).toByteArray();
  return { family: 6, value: bytes.reduce((acc, b) => acc * 256n + BigInt(b), 0n) };
}

/** The text form of an address (IPv6 in its short form, `fd00::1`). */
export function formatIp(family: IpFamily, value: bigint): string {
  const length = familyBits(family) / 8;
  const bytes: number[] = [];
  let rest = value;
  for (let i = 0; i < length; i++) {
    bytes.unshift(Number(rest % 256n));
    rest /= 256n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** `a/n` as a network address and a prefix length, or undefined when malformed. */
function parseCidr(spec: string): { family: IpFamily; value: bigint; prefix: number } | undefined {
  const parts = spec.split('/');
  if (parts.length !== 2 || !/^(0|[1-9][0-9]{0,2})$/.test(parts[1])) return undefined;
  const addr = parseIp(parts[0]);
  const prefix = Number(parts[1]);
  if (!addr || prefix > familyBits(addr.family)) return undefined;
  return { ...addr, prefix };
}

/**
 * Parses an address-pool entry of either family, as CAPMOX and in-cluster IPAM take them: a range
 * `a-b` (both ends of one family), a CIDR `a/n` or a single address. No trimming.
 * @returns undefined when the entry is malformed
 */
export function parseIpRange(spec: string): IpRange | undefined {
  if (typeof spec !== 'string') return undefined;
  const dash = spec.split('-');
  if (dash.length === 2) {
    const first = parseIp(dash[0]);
    const last = parseIp(dash[1]);
    if (!first || !last || first.family !== last.family || first.value > last.value) return undefined;
    return { family: first.family, first: first.value, last: last.value, spec };
  }
  if (spec.includes('/')) {
    const cidr = parseCidr(spec);
    if (!cidr) return undefined;
    const size = 2n ** BigInt(familyBits(cidr.family) - cidr.prefix);
    const first = (cidr.value / size) * size;
    return { family: cidr.family, first, last: first + size - 1n, spec };
  }
  const single = parseIp(spec);
  return single ? { family: single.family, first: single.value, last: single.value, spec } : undefined;
}

/** The subnet `address/prefix` lies in (either family), as a range; its spec is the CIDR. */
export function ipSubnet(address: string, prefix: number): IpRange | undefined {
  const addr = parseIp(address);
  if (!addr || !Number.isInteger(prefix) || prefix < 0 || prefix > familyBits(addr.family)) return undefined;
  const size = 2n ** BigInt(familyBits(addr.family) - prefix);
  const first = (addr.value / size) * size;
  return { family: addr.family, first, last: first + size - 1n, spec: `${formatIp(addr.family, first)}/${prefix}` };
}

/** Whether two ranges of one family share an address (ranges of different families never do). */
export function ipRangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Whether a range holds an address of its family. */
export function ipRangeContains(range: IpRange, family: IpFamily, value: bigint): boolean {
  return range.family === family && value >= range.first && value <= range.last;
}

/** Number of addresses in a range. */
export function ipRangeSize(range: IpRange): bigint {
  return range.last - range.first + 1n;
}

/** Prefix length of a CIDR `a/n`, or undefined. */
export function cidrPrefix(spec: string): number | undefined {
  return typeof spec === 'string' ? parseCidr(spec)?.prefix : undefined;
}

/** The family of a CIDR `a/n`, or undefined when it is not one. */
export function cidrFamily(spec: string): IpFamily | undefined {
  return typeof spec === 'string' && !/\s/.test(spec) ? parseCidr(spec)?.family : undefined;
}
