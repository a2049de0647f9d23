import { compareText, CONTENT_HASH_LENGTH, contentAddressedName, contentHash } from '../../lib/core/naming';

describe('content-addressed names', () => {
  test('hash ignores key order and is stable across runs', () => {
    expect(contentHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(contentHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(contentHash({ a: 1 })).toMatch(new RegExp(`^[0-9a-f]{${CONTENT_HASH_LENGTH}}$`));
    // pinned: a changed algorithm would rename every template and roll every cluster
    expect(contentHash({ memoryMiB: 8192 })).toBe('5aca45a9'); // sha256 of "memoryMiB: 8192\n"
  });

  test('any change of content changes the hash, array order included', () => {
    expect(contentHash({ a: [1, 2] })).not.toBe(contentHash({ a: [2, 1] }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });

  test('name is <base>-<hash>', () => {
    expect(contentAddressedName('homelab-default', { x: 1 })).toBe(`homelab-default-${contentHash({ x: 1 })}`);
  });
});

describe('compareText', () => {
  test('orders by code units, whatever the locale (localeCompare would put "a" before "B")', () => {
    expect(['b', 'a-b', 'B', 'a_b', 'a'].sort(compareText)).toEqual(['B', 'a', 'a-b', 'a_b', 'b']);
    expect(compareText('x', 'x')).toBe(0);
  });
});
