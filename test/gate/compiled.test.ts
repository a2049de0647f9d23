import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import { readCacheBytes, writeCacheEntry } from '../../lib/core/cache';
import { compileCached, flushCodeCaches } from '../../lib/gate/compiled';

describe('compiled validator cache', () => {
  const saved = { ...process.env };
  let cache: string;
  let stderr: jest.SpyInstance;
  const notices = () => stderr.mock.calls.map((c) => String(c[0]));
  const schema = { type: 'object', properties: { replicas: { type: 'integer', minimum: 1 } }, required: ['replicas'] };
  const compile = jest.fn(() => new Ajv({ code: { source: true } }));
  const validator = () => compileCached(compile, schema, 'compiled.test');
  const entryFile = () => {
    const dir = path.join(cache, 'validators');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(files).toHaveLength(1);
    return path.join(dir, files[0]);
  };
  /** The validator still rejects what the schema forbids: the gate is on. */
  const expectGateOn = (validate: ReturnType<typeof validator>) => {
    expect(validate({ replicas: 0 })).toBe(false);
    expect(validate({})).toBe(false);
    expect(validate({ replicas: 3 })).toBe(true);
  };
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'validators-test-'));
    process.env.CDK8S_TALOS_CACHE_DIR = cache;
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    compile.mockClear();
  });
  afterEach(() => {
    stderr.mockRestore();
    process.env = { ...saved };
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test('compiles once; later runs load the stored code', () => {
    expectGateOn(validator());
    expectGateOn(validator());
    expect(compile).toHaveBeenCalledTimes(1);
    expect(notices()).toEqual([]);
  });

  test.each([
    // would crash every run with a SyntaxError
    ['truncated', (code: string) => code.slice(0, Math.floor(code.length / 2))],
    ['replaced with garbage', () => '\u0000 garbage }{'],
    // still valid JavaScript that accepts everything: the schema gate switched off
    ['edited', (code: string) => code.replaceAll('return false;', 'return true;')],
  ])('a stored validator %s is compiled again with one notice and keeps the gate on; the next run is clean', (_name, corrupt) => {
    validator();
    const file = entryFile();
    const code = fs.readFileSync(file, 'utf8');
    const edited = corrupt(code);
    expect(edited).not.toBe(code);
    fs.writeFileSync(file, edited);

    expectGateOn(validator());
    expect(compile).toHaveBeenCalledTimes(2);
    expect(notices()).toEqual([expect.stringMatching(new RegExp(`^cdk8s-talos-proxmox: rebuilt corrupt cache entry \\S*${path.basename(file)} \\((digest mismatch|no digest header)\\)\\n$`))]);
    expect(fs.readFileSync(file, 'utf8')).toBe(code);

    stderr.mockClear();
    expectGateOn(validator());
    expect(compile).toHaveBeenCalledTimes(2);
    expect(notices()).toEqual([]);
  });

  test('the stored code is compiled from a V8 code cache written at exit; a damaged or refused one is only compiled afresh', () => {
    const codeCache = () => fs.readdirSync(path.join(cache, 'validators')).filter((f) => f.endsWith('.v8cache'));
    // Compiled by ajv: no stored code was loaded, so nothing to cache yet.
    expectGateOn(validator());
    flushCodeCaches();
    expect(codeCache()).toEqual([]);
    expectGateOn(validator());
    expect(codeCache()).toEqual([]);
    flushCodeCaches();
    expect(codeCache()).toEqual([`${path.basename(entryFile())}.${process.version}-${process.arch}.v8cache`]);
    const file = path.join(cache, 'validators', codeCache()[0]);
    const written = fs.statSync(file).mtimeMs;
    // Accepted: nothing to write at the next exit.
    expectGateOn(validator());
    flushCodeCaches();
    expect(fs.statSync(file).mtimeMs).toBe(written);
    // A damaged entry fails its digest and is written again. (Data V8 refuses is compiled afresh
    // and written again too, but only a new process shows it: within one, V8 reuses the script it
    // compiled before and never reads the data.)
    fs.appendFileSync(file, 'x');
    expectGateOn(validator());
    flushCodeCaches();
    const entry = readCacheBytes(file);
    expect(entry && 'payload' in entry && entry.payload.length > 0).toBe(true);
    writeCacheEntry(file, 'not a code cache');
    expectGateOn(validator());
    expect(compile).toHaveBeenCalledTimes(1);
    expect(notices()).toEqual([]);
  });
});
