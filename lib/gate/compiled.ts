import { createHash } from 'crypto';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import * as vm from 'vm';
import Ajv, { AnySchema, ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { version as ajvVersion } from 'ajv/package.json';
import { cacheEntry, readCacheBytes, writeCacheEntry } from '../core/cache';
import { cacheDir, PROJECT_ROOT } from '../core/paths';

/** Bumped whenever the schema transforms change, so cached validators are rebuilt. */
const TRANSFORM_VERSION = '1';
/** Format of the cache entries: 2 since they carry a digest header (older files are simply not found). */
const ENTRY_FORMAT = '2';
const projectRequire = createRequire(path.join(PROJECT_ROOT, 'package.json'));

/**
 * Compiles a JSON Schema with ajv, or loads the validator compiled by an earlier run.
 *
 * Compiling the CRD and Talos schemas takes a few hundred milliseconds; synth runs on every edit.
 * Ajv's standalone code for each schema is kept in `<cache>/validators/<sha256>.js`, keyed by the
 * schema, the transforms and the ajv version, so the cache is safe to delete and never stale.
 * Each entry carries the sha256 of its code (lib/core/cache.ts): a truncated or edited validator,
 * which could crash the run or switch the schema gate off, is discarded and compiled again.
 *
 * @param ajv an Ajv instance created with `code: { source: true }`, holding any referenced schemas
 * @param schema the schema to compile; or a function that makes it, called only when the
 *   validator is not cached, when `identity` alone names the schema (the text it is made from:
 *   reading a large schema only to name its validator was most of a small synth's gate)
 * @param identity the content the validator depends on besides `schema` (e.g. the text of a
 *   referenced schema file)
 */
export function compileCached(ajv: () => Ajv, schema: AnySchema | (() => AnySchema), identity: string = ''): ValidateFunction {
  const hash = createHash('sha256').update(`${ENTRY_FORMAT}\n${TRANSFORM_VERSION}\n${ajvVersion}\n${identity}\n`);
  if (typeof schema !== 'function') hash.update(JSON.stringify(schema));
  const key = hash.digest('hex');
  const file = path.join(cacheDir(), 'validators', `${key}.js`);
  return cacheEntry<ValidateFunction>(file, {
    decode: (code) => load(code, file),
    build: () => {
      const instance = ajv();
      const fn = instance.compile(typeof schema === 'function' ? schema() : schema);
      return { value: fn, payload: standaloneCode(instance, fn) };
    },
  });
}

/**
 * Evaluates standalone validator code; its `require`s resolve from the project. It is compiled
 * from a V8 code cache beside its entry (`<entry>.<node version>-<arch>.v8cache`, in the entry
 * format) when there is one V8 accepts: parsing the large validators and compiling them on their
 * first call took about 70 ms of the default clusters' 0.5 s synth. A missing or refused code cache is written when the
 * process exits ({@link flushCodeCaches}), so that it holds the functions the run compiled.
 */
function load(code: string, file: string): ValidateFunction {
  const codeCache = `${file}.${process.version}-${process.arch}.v8cache`;
  const entry = readCacheBytes(codeCache);
  const cachedData = entry && 'payload' in entry ? entry.payload : undefined;
  const script = new vm.Script(`(function (module, exports, require) {\n${code}\n})`, { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    if (pendingCodeCaches.size === 0) process.once('exit', flushCodeCaches);
    pendingCodeCaches.set(codeCache, script);
  }
  const module: { exports: Record<string, unknown> } = { exports: {} };
  (script.runInThisContext() as (m: typeof module, e: typeof module.exports, r: NodeRequire) => void)(module, module.exports, projectRequire);
  const fn = module.exports.default ?? module.exports;
  // Code that runs but exports no function is as unusable as code that does not parse.
  if (typeof fn !== 'function') throw new Error('the code exports no validator');
  return fn as ValidateFunction;
}

/** Validator scripts whose code cache is to be written, by code-cache file. */
const pendingCodeCaches = new Map<string, vm.Script>();

/**
 * Writes the code caches of the validators loaded without one (called when the process exits),
 * only into a cache folder that still exists; a cache that cannot be written costs the next run
 * its compile time, nothing else.
 */
export function flushCodeCaches(): void {
  for (const [file, script] of pendingCodeCaches) {
    try {
      if (fs.existsSync(path.dirname(file))) writeCacheEntry(file, script.createCachedData());
    } catch {
      // read-only or full
    }
  }
  pendingCodeCaches.clear();
}

/**
 * Rewrites a Go (RE2) pattern for JavaScript. The one construct CRD patterns use that JavaScript
 * lacks is a leading case-insensitive flag (`^(?i)…`); it becomes explicit upper/lower-case
 * alternatives, so the default RegExp engine (and ajv's standalone code) can run it.
 */
export function goPatternToJs(pattern: string): string {
  const m = /^(\^?)\(\?i\)/.exec(pattern);
  if (!m) return pattern;
  const body = pattern.slice(m[0].length);
  const swap = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
  const isLetter = (c: string | undefined) => c !== undefined && /^[a-zA-Z]$/.test(c);
  let out = m[1];
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      out += c + (body[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
      } else if (isLetter(c) && body[i + 1] === '-' && isLetter(body[i + 2])) {
        out += `${c}-${body[i + 2]}${swap(c)}-${swap(body[i + 2])}`;
        i += 2;
      } else {
        out += isLetter(c) ? c + swap(c) : c;
      }
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else {
      out += isLetter(c) ? `[${c}${swap(c)}]` : c;
    }
  }
  return out;
}
