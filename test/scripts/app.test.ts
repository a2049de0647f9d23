import { isAscii } from 'buffer';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readCacheEntry, writeCacheEntry } from '../../lib/core/cache';

const ROOT = path.resolve(__dirname, '..', '..');

/** What scripts/app.js exports when it is required rather than run. */
interface AppScript {
  readEntry(file: string): { payload: Buffer } | { corrupt: string } | undefined;
  writeEntry(file: string, payload: Buffer): void;
  loadBundle(out: string, build: () => Buffer): Buffer;
  codeCachePath(bundle: string): string;
}
const app = jest.requireActual<AppScript>('../../scripts/app.js');

describe('the app bundle cache (scripts/app.js)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-test-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('its copy of the entry format and lib/core/cache.ts read each other\'s entries', () => {
    app.writeEntry(path.join(dir, 'a.js'), Buffer.from('module.exports = "ä";'));
    expect(readCacheEntry(path.join(dir, 'a.js'))).toEqual({ payload: 'module.exports = "ä";' });
    writeCacheEntry(path.join(dir, 'b.js'), 'module.exports = "ö";');
    expect(app.readEntry(path.join(dir, 'b.js'))).toEqual({ payload: Buffer.from('module.exports = "ö";') });
    fs.appendFileSync(path.join(dir, 'b.js'), ' ');
    expect(app.readEntry(path.join(dir, 'b.js'))).toEqual({ corrupt: 'digest mismatch' });
    // An entry that cannot be read is never used, by either copy.
    fs.mkdirSync(path.join(dir, 'c.js'));
    expect(app.readEntry(path.join(dir, 'c.js'))).toEqual({ corrupt: 'unreadable (EISDIR)' });
    expect(readCacheEntry(path.join(dir, 'c.js'))).toEqual({ corrupt: 'unreadable (EISDIR)' });
  });

  describe('loadBundle', () => {
    let stderr: jest.SpyInstance;
    const notices = () => stderr.mock.calls.map((c) => String(c[0]));
    beforeEach(() => { stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true); });
    afterEach(() => stderr.mockRestore());
    const load = (file: string): unknown => {
      jest.resetModules();
      return jest.requireActual(file);
    };

    test.each([
      ['truncated', (code: string) => code.slice(0, Math.floor(code.length / 2))],
      ['replaced with garbage', () => '\u0000 garbage }{'],
      ['edited', (code: string) => code.replace('"the real bundle"', '"an edited bundle"')],
    ])('a bundle %s is rebuilt before it is loaded, with one notice; the next run is clean', (_name, corrupt) => {
      const out = path.join(dir, 'main-0123.js');
      const real = 'module.exports = "the real bundle";\n';
      const build = jest.fn(() => Buffer.from(real));
      // The code it returns is the file's, as the file loads.
      const loadBundle = (): unknown => {
        const code = app.loadBundle(out, build).toString();
        expect(code).toBe(real);
        return load(out);
      };
      expect(loadBundle()).toBe('the real bundle');
      expect(build).toHaveBeenCalledTimes(1);
      fs.writeFileSync(out, corrupt(fs.readFileSync(out, 'utf8')));

      expect(loadBundle()).toBe('the real bundle');
      expect(build).toHaveBeenCalledTimes(2);
      expect(notices()).toEqual([expect.stringMatching(/^cdk8s-talos-proxmox: rebuilt corrupt cache entry \S*main-0123\.js \((digest mismatch|no digest header)\)\n$/)]);

      stderr.mockClear();
      expect(loadBundle()).toBe('the real bundle');
      expect(build).toHaveBeenCalledTimes(2);
      expect(notices()).toEqual([]);
      expect(fs.readdirSync(dir)).toEqual(['main-0123.js']);
    });
  });

  /**
   * `node scripts/app.js` with an empty clusters folder in `dir` and its cache in `dir/cache`: the
   * bundle runs main.ts, which stops with one message (`expected`), without helm or dist/.
   */
  const emptyFleet = () => {
    const cache = path.join(dir, 'cache');
    const clusters = path.join(dir, 'clusters');
    fs.mkdirSync(clusters);
    const run = () => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app.js')], {
      cwd: ROOT, encoding: 'utf8',
      env: { ...process.env, CDK8S_TALOS_CACHE_DIR: cache, CLUSTERS_DIR: clusters, DIST_DIR: path.join(dir, 'dist'), CDK8S_OUTDIR: '' },
    });
    const bundle = () => path.join(cache, 'app', fs.readdirSync(path.join(cache, 'app')).filter((f) => f.endsWith('.js'))[0]);
    return { run, bundle, expected: `error: no cluster files (*.yaml or *.ts) in ${clusters}\n` };
  };

  test('node scripts/app.js never runs an edited bundle: it rebuilds it with a notice, and the next run is clean', () => {
    const { run, bundle, expected } = emptyFleet();
    const first = run();
    expect(first.stderr).toBe(expected);
    const file = bundle();
    const code = fs.readFileSync(file, 'utf8');
    const edited = code.replace('no cluster files', 'NO CLUSTER FILES');
    expect(edited).not.toBe(code);
    fs.writeFileSync(file, edited);

    const second = run();
    expect(second.stderr).toBe(`cdk8s-talos-proxmox: rebuilt corrupt cache entry ${file} (digest mismatch)\n${expected}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(code);
    expect(run().stderr).toBe(expected);
  });

  test('the bundle holds no comments and only ASCII (read as one-byte text); a non-ASCII string of the code is escaped', () => {
    const { run, bundle, expected } = emptyFleet();
    expect(run().stderr).toBe(expected);
    const code = fs.readFileSync(bundle());
    expect(isAscii(code)).toBe(true);
    const text = code.toString('latin1');
    // A comment of lib/core/naming.ts is gone; the `→` of zod's messages is escaped.
    expect(text).not.toContain('Short, stable hash of a value');
    expect(text).toContain('\\u2192');
  });

  test('node scripts/app.js plan: scripts/plan.ts from a bundle of its own, given the arguments after "plan"', () => {
    const cache = path.join(dir, 'cache');
    const run = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app.js'), ...args], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK8S_TALOS_CACHE_DIR: cache },
    });
    const r = run(['plan', '--bogus']);
    expect(r.stderr).toBe('error: unknown argument "--bogus"\nerror: usage: npm run plan -- [--ref <git revision>] [--committed <dir>] [--dist <dir>] '
      + '[--allow-destructive] [--allow-rejected] [--allow-unsafe] [--json]\n');
    expect(r.status).toBe(2);
    const bundles = () => fs.readdirSync(path.join(cache, 'app')).filter((f) => f.endsWith('.js'));
    expect(bundles()).toEqual([expect.stringMatching(/^plan-[0-9a-f]{16}\.js$/)]);
    // The same bundle next time; main.ts gets its own.
    expect(run(['plan', '--ref', 'no-such-ref', '--dist', path.join(ROOT, 'dist')]).stderr)
      .toBe('error: git ref "no-such-ref" does not name a commit (try HEAD, a branch such as origin/main, or a commit id)\n');
    expect(bundles()).toHaveLength(1);
  });

  test('node scripts/app.js plan: the same plan with the synth\'s worker thread running the plan bundle as in line', () => {
    const cache = path.join(dir, 'cache');
    const run = (threads: string) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app.js'), 'plan', '--committed', path.join(ROOT, 'dist')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK8S_TALOS_CACHE_DIR: cache, CDK8S_TALOS_THREADS: threads },
    });
    const [threaded, inline] = [run('1'), run('0')];
    expect(threaded.stderr).toBe(inline.stderr);
    expect(threaded.stdout).toBe('No changes: a fresh synth equals dist/ at HEAD.\n');
    expect(threaded.status).toBe(0);
    expect(inline.stdout).toBe(threaded.stdout);
  });

  test('the bundle runs with a V8 code cache written beside it; a damaged one is ignored and written again', () => {
    const { run, bundle, expected } = emptyFleet();
    expect(run().stderr).toBe(expected);
    const codeCache = app.codeCachePath(bundle());
    expect(app.readEntry(codeCache)).toHaveProperty('payload');
    const written = fs.statSync(codeCache).mtimeMs;

    // Accepted: not written again.
    expect(run().stderr).toBe(expected);
    expect(fs.statSync(codeCache).mtimeMs).toBe(written);

    fs.writeFileSync(codeCache, 'garbage');
    expect(run().stderr).toBe(expected);
    expect(app.readEntry(codeCache)).toHaveProperty('payload');
  });
});
