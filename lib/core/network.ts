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
