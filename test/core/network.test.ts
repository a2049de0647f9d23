import { cidrFamily, cidrHostBitsZero, formatIp, ipRangeContains, ipRangesOverlap, ipSubnet, parseIpRange, parseIpv4Range } from '../../lib/core/network';

describe('IPv4 ranges', () => {
  test('parses a-b, a/n and a; never trims (CAPMOX copies entries verbatim)', () => {
    expect(parseIpv4Range('10.0.0.1-10.0.0.9')).toEqual({ first: 167772161, last: 167772169, spec: '10.0.0.1-10.0.0.9' });
    expect(parseIpv4Range('10.0.0.8/29')).toEqual({ first: 167772168, last: 167772175, spec: '10.0.0.8/29' });
    expect(parseIpv4Range('10.0.0.1')).toEqual({ first: 167772161, last: 167772161, spec: '10.0.0.1' });
    expect(parseIpv4Range('10.0.0.1 - 10.0.0.9')).toBeUndefined();
    expect(parseIpv4Range(' 10.0.0.1')).toBeUndefined();
  });
  test('host bits of a CIDR', () => {
    expect(cidrHostBitsZero('10.96.0.0/12')).toBe(true);
    expect(cidrHostBitsZero('10.96.0.1/12')).toBe(false);
    expect(cidrHostBitsZero('10.96.0.0')).toBe(false);
  });
});

describe('addresses of either family (parseIpRange, ipSubnet, formatIp)', () => {
  test('IPv6 ranges, CIDRs and single addresses, as 128-bit integers', () => {
    expect(parseIpRange('fd00::10-fd00::1f')).toEqual({ family: 6, first: 0xfd00n << 112n | 0x10n, last: 0xfd00n << 112n | 0x1fn, spec: 'fd00::10-fd00::1f' });
    const cidr = parseIpRange('fd00:20::/64')!;
    expect([cidr.family, formatIp(6, cidr.first), formatIp(6, cidr.last)]).toEqual([6, 'fd00:20::', 'fd00:20::ffff:ffff:ffff:ffff']);
    expect(parseIpRange('fd00::1')).toMatchObject({ family: 6, first: 0xfd00n << 112n | 1n });
    expect(parseIpRange('10.0.0.1-10.0.0.3')).toEqual({ family: 4, first: 167772161n, last: 167772163n, spec: '10.0.0.1-10.0.0.3' });
  });

  test('refuses mixed families, reversed ranges, zone indexes, prefixes too long and whitespace', () => {
    for (const bad of ['10.0.0.1-fd00::1', 'fd00::2-fd00::1', 'fe80::1%eth0', 'fd00::/129', '10.0.0.0/33', ' fd00::1', 'fd00::/064', '::ffff:10.0.0.1']) {
      expect(parseIpRange(bad)).toBeUndefined();
    }
  });

  test('subnets and their CIDR text, per family', () => {
    expect(ipSubnet('fd00:20::1', 64)?.spec).toBe('fd00:20::/64');
    expect(ipSubnet('192.168.0.254', 24)?.spec).toBe('192.168.0.0/24');
    expect(ipSubnet('fd00::1', 129)).toBeUndefined();
  });

  test('ranges of different families never overlap; containment checks the family', () => {
    const v4 = parseIpRange('0.0.0.0/0')!;
    const v6 = parseIpRange('::/0')!;
    expect(ipRangesOverlap(v4, v6)).toBe(false);
    expect(ipRangesOverlap(v6, parseIpRange('fd00::5')!)).toBe(true);
    expect(ipRangeContains(v4, 6, 5n)).toBe(false);
    expect(ipRangeContains(v4, 4, 5n)).toBe(true);
  });

  test('cidrFamily tells IPv4 from IPv6 CIDRs, and nothing else', () => {
    expect([cidrFamily('10.244.0.0/16'), cidrFamily('fd00:10:244::/56'), cidrFamily('fd00::1'), cidrFamily('10.0.0.0/16 ')]).toEqual([4, 6, undefined, undefined]);
  });
});
