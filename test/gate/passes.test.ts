import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readCacheEntry, writeCacheEntry } from '../../lib/core/cache';
import { gateIdentity, GatePasses, MAX_PASSES } from '../../lib/gate/passes';

describe('GatePasses', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-passes-'));
    file = path.join(dir, 'gate', 'passes-x.txt');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a pass is found by the next run under the same identity, for the same parts only', () => {
    const first = new GatePasses('id', file);
    const key = first.key(['cluster', 'a: 1\n'])!;
    expect(first.passed(key)).toBe(false);
    first.add(key);
    first.save([key]);
    const next = new GatePasses('id', file);
    expect(next.passed(next.key(['cluster', 'a: 1\n']))).toBe(true);
    // One byte of the output, the order or the split of its parts, or the identity: another key.
    expect(next.passed(next.key(['cluster', 'a: 2\n']))).toBe(false);
    expect(next.passed(next.key(['a: 1\n', 'cluster']))).toBe(false);
    expect(next.passed(next.key(['cluster', 'a: ', '1\n']))).toBe(false);
    expect(new GatePasses('other', file).passed(new GatePasses('other', file).key(['cluster', 'a: 1\n']))).toBe(false);
  });

  test('without an identity nothing is keyed, found or written', () => {
    const none = GatePasses.none();
    expect(none.key(['cluster'])).toBeUndefined();
    expect(none.passed(undefined)).toBe(false);
    none.save([]);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  test('the store is written only when the run passed something new; this run first, then the older keys, at most MAX_PASSES', () => {
    const keys = Array.from({ length: 3 }, (_, i) => new GatePasses('id').key([String(i)])!);
    const first = new GatePasses('id', file);
    first.add(keys[0]);
    first.save([keys[0]]);
    const inode = fs.statSync(file).ino;
    // Nothing new: not rewritten (a rewrite is a new file, renamed into place).
    new GatePasses('id', file).save([keys[0]]);
    expect(fs.statSync(file).ino).toBe(inode);
    new GatePasses('id', file).save([keys[1], keys[2]]);
    expect(fs.readFileSync(file, 'utf8').split('\n').slice(1, -1)).toEqual([keys[1], keys[2], keys[0]]);

    const many = Array.from({ length: MAX_PASSES + 5 }, (_, i) => i.toString(16).padStart(64, '0'));
    new GatePasses('id', file).save(many);
    const stored = fs.readFileSync(file, 'utf8').split('\n').slice(1, -1);
    expect(stored).toHaveLength(MAX_PASSES);
    expect(stored[0]).toBe(many[0]);
  });

  test('a damaged store counts as empty and is written afresh by the next save, which says so on stderr once', () => {
    writeCacheEntry(file, `${'a'.repeat(64)}\n`);
    fs.appendFileSync(file, 'tampered\n');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const notices = () => stderr.mock.calls.map((c) => String(c[0])).join('');
    try {
      const store = new GatePasses('id', file);
      expect(store.passed('a'.repeat(64))).toBe(false);
      // Nothing was rebuilt yet: nothing said.
      expect(notices()).toBe('');
      // Written afresh (intact, the damaged keys gone) even when the run passed nothing new.
      store.save([]);
      expect(notices()).toMatch(/^cdk8s-talos-proxmox: rebuilt corrupt cache entry .*passes-x\.txt \(digest mismatch\)\n$/);
      expect(readCacheEntry(file)).toEqual({ payload: '' });
      stderr.mockClear();
      store.save([]);
      expect(notices()).toBe('');
    } finally {
      stderr.mockRestore();
    }
  });

  test('a store that cannot be read or written costs the checks, never the synth', () => {
    fs.mkdirSync(file, { recursive: true });
    const store = new GatePasses('id', file);
    const key = store.key(['x'])!;
    expect(store.passed(key)).toBe(false);
    store.add(key);
    expect(() => store.save([key])).not.toThrow();
    expect(fs.statSync(file).isDirectory()).toBe(true);
  });

  test('only the four newest stores are kept (other code, the plan\'s bundle)', () => {
    const store = (n: number) => path.join(dir, 'gate', `passes-${String(n).padStart(4, '0')}.txt`);
    for (let n = 0; n < 6; n++) {
      const s = new GatePasses(`id${n}`, store(n));
      s.save([s.key(['x'])!]);
      fs.utimesSync(store(n), n + 1, n + 1);
    }
    expect(fs.readdirSync(path.join(dir, 'gate')).sort()).toEqual([2, 3, 4, 5].map((n) => path.basename(store(n))));
  });
});

describe('gateIdentity', () => {
  let schemas: string;
  beforeEach(() => {
    schemas = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-identity-'));
    fs.mkdirSync(path.join(schemas, 'crds'));
    fs.mkdirSync(path.join(schemas, 'talos'));
    fs.writeFileSync(path.join(schemas, 'crds', 'a.json'), '{}');
    fs.writeFileSync(path.join(schemas, 'talos', 'v1.13.json'), '{}');
  });
  afterEach(() => fs.rmSync(schemas, { recursive: true, force: true }));

  test('none without a bundle; another for other code or any schema changed, added or renamed', () => {
    const env = { CDK8S_TALOS_BUNDLE: '/cache/app/main-0123.js' };
    expect(gateIdentity({}, schemas)).toBeUndefined();
    const base = gateIdentity(env, schemas);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(gateIdentity({ CDK8S_TALOS_BUNDLE: '/elsewhere/main-0123.js' }, schemas)).toBe(base);
    expect(gateIdentity({ CDK8S_TALOS_BUNDLE: '/cache/app/main-4567.js' }, schemas)).not.toBe(base);
    fs.writeFileSync(path.join(schemas, 'talos', 'v1.13.json'), '{"x":1}');
    const edited = gateIdentity(env, schemas);
    expect(edited).not.toBe(base);
    fs.writeFileSync(path.join(schemas, 'crds', 'b.json'), '{}');
    const added = gateIdentity(env, schemas);
    expect(added).not.toBe(edited);
    fs.renameSync(path.join(schemas, 'crds', 'b.json'), path.join(schemas, 'crds', 'c.json'));
    expect(gateIdentity(env, schemas)).not.toBe(added);
  });
});
