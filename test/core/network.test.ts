import { cidrHostBitsZero, parseIpv4Range } from '../../lib/core/network';

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
