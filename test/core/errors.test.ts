import { quote } from '../../lib/core/errors';

describe('quote', () => {
  test('a short value is JSON-quoted whole', () => {
    expect(quote('a b\n')).toBe('"a b\\n"');
    expect(quote(undefined)).toBe('nothing');
  });

  test('a long string is cut before escaping: at most 80 characters, the closing quote kept, no escape split', () => {
    const long = `${'x'.repeat(77)}\n${'y'.repeat(5_000_000)}`;
    const q = quote(long);
    expect(q.length).toBeLessThanOrEqual(80);
    expect(q).toBe(`"${'x'.repeat(77)}…"`);
    expect(JSON.parse(q)).toBe(`${'x'.repeat(77)}…`);
  });
});
