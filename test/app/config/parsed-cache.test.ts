import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetClusterConfig } from '../../../bench/fleet';
import * as load from '../../../lib/app/config/load';
import { ParsedConfigs } from '../../../lib/app/config/parsed-cache';
import { writeCacheEntry } from '../../../lib/core/cache';
import { ROOT } from '../../util';

const HOMELAB = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');

/**
 * The homelab config with what a round trip through a cache could lose: a renamed key (a warning
 * and a renamed-key record), an anchor and its alias (one object twice), and patch values that
 * JSON has no words for (NaN, infinity, negative zero) or that name the prototype.
 */
const AWKWARD = HOMELAB
  .replace(/^( {2})podCidrs: \[([^\]]*)\]/m, '$1podCidr: $2')
  .replace('  extensions: [siderolabs/qemu-guest-agent]\n', [
    '  extensions: [siderolabs/qemu-guest-agent]',
    '  patches:',
    '    - &shared { machine: { kernel: { modules: [ { name: br_netfilter } ] } } }',
    '    - *shared',
    '    - { "__proto__": { polluted: true } }',
    '    - { cluster: { x: .nan, y: .inf, z: -0.0 } }',
    '',
  ].join('\n'));

/**
 * Where two values differ, strictly (own keys with undefined values, -0, NaN, functions by
 * identity, arrays against objects), or undefined when they do not. Not jest's toStrictEqual:
 * V8's deserializer makes its objects in Node's own realm, and jest runs tests in another, so
 * their prototypes differ here though not in the app.
 */
function strictDifference(a: unknown, b: unknown, at = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b) ? undefined : at;
  if (Array.isArray(a) !== Array.isArray(b)) return at;
  const keys = (o: object) => Reflect.ownKeys(o).map(String).sort();
  if (JSON.stringify(keys(a)) !== JSON.stringify(keys(b))) return `${at} (keys)`;
  for (const k of keys(a)) {
    const d = strictDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

describe('ParsedConfigs: parsed cluster config files kept between synths', () => {
  let dir: string;
  let entry: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parsed-configs-'));
    entry = path.join(dir, 'cache', 'configs', 'main-0123456789abcdef.v8-test.bin');
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  /** One synth's use of the cache: every file loaded, then saved. */
  const synth = (files: readonly string[]) => {
    const cache = new ParsedConfigs(entry);
    const loaded = files.map((f) => cache.load(f, `clusters/${path.basename(f)}`));
    cache.save();
    return loaded;
  };

  test('a stored parse is, field for field and type for type, what parsing the file gives (also for values JSON cannot hold)', () => {
    const files = [write('homelab.yaml', HOMELAB), write('awkward.yaml', AWKWARD), write('fleet.yaml', fleetClusterConfig(7))];
    const fresh = files.map((f) => load.parseClusterConfig(fs.readFileSync(f, 'utf8'), `clusters/${path.basename(f)}`));
    const patches = (c: load.ClusterConfigFile) => c.config.talos!.patches!;
    expect(fresh[1].warnings).toHaveLength(1);
    expect(Object.is((patches(fresh[1])[3] as { cluster: { z: number } }).cluster.z, -0)).toBe(true);
    expect(strictDifference(synth(files), fresh)).toBeUndefined();
    const parse = jest.spyOn(load, 'parseClusterConfig');
    const stored = synth(files);
    expect(parse).not.toHaveBeenCalled();
    expect(strictDifference(stored, fresh)).toBeUndefined();
    // The comparison sees what a JSON round trip would have lost.
    expect(strictDifference(JSON.parse(JSON.stringify(fresh[1].config)), fresh[1].config)).toBeDefined();
    // A `__proto__` key never becomes a prototype, stored or not.
    expect((patches(stored[1])[2] as { polluted?: unknown }).polluted).toBeUndefined();
    expect(stored[1].renamed[0]).toBe(fresh[1].renamed[0]);
  });

  test('a changed text or another name is parsed afresh; the entry keeps only the files of the last synth', () => {
    const a = write('a.yaml', fleetClusterConfig(1));
    const b = write('b.yaml', fleetClusterConfig(2));
    synth([a, b]);
    const parse = jest.spyOn(load, 'parseClusterConfig');
    fs.writeFileSync(b, fleetClusterConfig(3));
    const [, changed] = synth([a, b]);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(changed.config.name).toBe('fleet-003');
    parse.mockClear();
    // Same text, another file name (messages name the file): parsed again.
    const c = write('c.yaml', fleetClusterConfig(1));
    synth([c]);
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockClear();
    synth([a, b]);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  test('nothing is written when every file came from the entry', () => {
    const a = write('a.yaml', fleetClusterConfig(1));
    synth([a]);
    const before = fs.statSync(entry);
    synth([a]);
    const after = fs.statSync(entry);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  test('a file that does not parse throws its own message every time and is never stored', () => {
    const bad = write('bad.yaml', `${HOMELAB}\nunknownKey: 1\n`);
    const cache = new ParsedConfigs(entry);
    expect(() => cache.load(bad, 'clusters/bad.yaml')).toThrow(/clusters\/bad\.yaml: unknownKey/);
    cache.save();
    expect(fs.existsSync(entry)).toBe(false);
    expect(() => new ParsedConfigs(entry).load(bad, 'clusters/bad.yaml')).toThrow(/clusters\/bad\.yaml: unknownKey/);
  });

  test('a corrupt entry is never used: rebuilt, with one line on stderr', () => {
    const a = write('a.yaml', fleetClusterConfig(1));
    const fresh = load.parseClusterConfig(fleetClusterConfig(1), 'clusters/a.yaml');
    for (const damage of [() => fs.appendFileSync(entry, 'x'), () => writeCacheEntry(entry, 'not V8 data')]) {
      synth([a]);
      damage();
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      expect(strictDifference(synth([a]), [fresh])).toBeUndefined();
      expect(stderr.mock.calls.map(([line]) => String(line))).toEqual([expect.stringMatching(/^cdk8s-talos-proxmox: rebuilt corrupt cache entry .*main-0123456789abcdef\.v8-test\.bin \((digest mismatch|does not load: .*)\)\n$/)]);
      stderr.mockRestore();
      const quiet = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      synth([a]);
      expect(quiet).not.toHaveBeenCalled();
      quiet.mockRestore();
    }
  });

  test('when the entry is written, those of bundles that are gone (and of another V8 version) are deleted; kept bundles keep theirs', () => {
    const folder = path.dirname(entry);
    const bundles = path.join(dir, 'app');
    fs.mkdirSync(folder, { recursive: true });
    fs.mkdirSync(bundles);
    for (const name of ['main-0123456789abcdef.js', 'main-aaaaaaaaaaaaaaaa.js', 'plan-0123456789abcdef.js']) fs.writeFileSync(path.join(bundles, name), '');
    const names = ['main-fedcba9876543210.v8-test.bin', 'main-aaaaaaaaaaaaaaaa.v8-test.bin', 'plan-0123456789abcdef.v8-test.bin', 'main-0123456789abcdef.v8-older.bin', 'notes.txt'];
    for (const name of names) fs.writeFileSync(path.join(folder, name), 'x');
    const cache = new ParsedConfigs(entry, bundles);
    cache.load(write('a.yaml', fleetClusterConfig(1)), 'clusters/a.yaml');
    cache.save();
    expect(fs.readdirSync(folder).sort()).toEqual(['main-0123456789abcdef.v8-test.bin', 'main-aaaaaaaaaaaaaaaa.v8-test.bin', 'notes.txt', 'plan-0123456789abcdef.v8-test.bin']);
  });

  test('only the bundled app keeps parses (its name covers every source); elsewhere every file is parsed', () => {
    expect(ParsedConfigs.forBundle(undefined)).toBeUndefined();
    expect(ParsedConfigs.forBundle('')).toBeUndefined();
    expect(ParsedConfigs.forBundle(path.join(dir, 'main-0123456789abcdef.js'))).toBeInstanceOf(ParsedConfigs);
  });
});
