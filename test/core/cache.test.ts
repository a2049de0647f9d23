import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheEntry, readCacheEntry, writeCacheEntry } from '../../lib/core/cache';

describe('cache entries', () => {
  let dir: string;
  let stderr: jest.SpyInstance;
  const notices = () => stderr.mock.calls.map((c) => String(c[0]));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-test-'));
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stderr.mockRestore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A JSON entry whose build is counted, as the helm and validator caches use it. */
  const entry = (file: string, value: object) => {
    const build = jest.fn(() => ({ value, payload: JSON.stringify(value) }));
    return { build, get: () => cacheEntry(file, { decode: (p) => JSON.parse(p) as object, build }) };
  };

  test('builds a missing entry once, stores it with its digest, and loads it without building again', () => {
    const file = path.join(dir, 'sub', 'a.json');
    const e = entry(file, { a: 1 });
    expect(e.get()).toEqual({ a: 1 });
    expect(e.get()).toEqual({ a: 1 });
    expect(e.build).toHaveBeenCalledTimes(1);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\/\/ cdk8s-talos-proxmox cache sha256=[0-9a-f]{64}\n\{"a":1\}$/);
    // atomic write: no temporary file is left beside the entry
    expect(fs.readdirSync(path.dirname(file))).toEqual(['a.json']);
    expect(notices()).toEqual([]);
  });

  test.each([
    ['truncated', (c: Buffer) => c.subarray(0, Math.floor(c.length / 2))],
    ['replaced with garbage', () => Buffer.from('\u0000\u00ff garbage {{{ not a cache entry')],
    // still valid JSON, so only the digest can tell
    ['edited', (c: Buffer) => Buffer.from(c.toString('utf8').replace('"a":1', '"a":2'))],
    // an entry written before entries carried a digest
    ['without a digest header', () => Buffer.from('{"a":1}')],
  ] as const)('an entry %s is discarded and rebuilt with one notice; the next run is clean', (_name, corrupt) => {
    const file = path.join(dir, 'a.json');
    entry(file, { a: 1 }).get();
    fs.writeFileSync(file, corrupt(fs.readFileSync(file)));

    const again = entry(file, { a: 1 });
    expect(again.get()).toEqual({ a: 1 });
    expect(again.build).toHaveBeenCalledTimes(1);
    expect(notices()).toHaveLength(1);
    expect(notices()[0]).toMatch(new RegExp(`^cdk8s-talos-proxmox: rebuilt corrupt cache entry ${path.join(dir, 'a.json').replace(/[.\\]/g, '\\$&')} \\((digest mismatch|no digest header)\\)\\n$`));

    stderr.mockClear();
    const clean = entry(file, { a: 1 });
    expect(clean.get()).toEqual({ a: 1 });
    expect(clean.build).not.toHaveBeenCalled();
    expect(notices()).toEqual([]);
  });

  test('an intact entry that does not decode is rebuilt too', () => {
    const file = path.join(dir, 'a.json');
    writeCacheEntry(file, '{"a":');
    expect(entry(file, { a: 1 }).get()).toEqual({ a: 1 });
    expect(notices()).toEqual([expect.stringMatching(/rebuilt corrupt cache entry .*a\.json \(does not load: SyntaxError: .*\)\n$/)]);
  });

  test('when the rebuild fails, the corrupt entry is gone and the notice says it was discarded', () => {
    const file = path.join(dir, 'a.json');
    fs.writeFileSync(file, 'garbage');
    expect(() => cacheEntry(file, { decode: JSON.parse, build: () => { throw new Error('helm failed'); } })).toThrow('helm failed');
    expect(fs.existsSync(file)).toBe(false);
    expect(notices()).toEqual([`cdk8s-talos-proxmox: discarded corrupt cache entry ${file} (no digest header)\n`]);
  });

  test('readCacheEntry: missing, intact, corrupt', () => {
    const file = path.join(dir, 'b');
    expect(readCacheEntry(file)).toBeUndefined();
    writeCacheEntry(file, 'ünïcode payload');
    expect(readCacheEntry(file)).toEqual({ payload: 'ünïcode payload' });
    fs.appendFileSync(file, 'x');
    expect(readCacheEntry(file)).toEqual({ corrupt: 'digest mismatch' });
  });
});
