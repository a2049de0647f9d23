#!/usr/bin/env node
// The app command of cdk8s.yaml: runs main.ts from a bundle that esbuild rebuilds whenever a
// source changes. Type-checking belongs to `npm test`; synth only needs the code, and a bundle
// loads in a fraction of the time a TypeScript loader takes to transpile lib/ and imports/.
//
// `node scripts/app.js plan [args]` (`npm run plan`) runs scripts/plan.ts the same way, from a
// bundle of its own (`plan-<hash>.js`), with the arguments after `plan`.
//
// TypeScript clusters (`clusters/<name>.ts`, or $CLUSTERS_DIR) are compiled into the same bundle:
// its entry registers each one with lib/app/clusters.ts before main.ts runs, so they share one
// copy of the constructs with the config-file clusters.
//
// The bundle is named by the sha256 of every source it is built from (main.ts or scripts/plan.ts,
// lib/, imports/, the TypeScript under the clusters folder, package-lock.json for the bundled
// dependencies, the esbuild version, this script), so it is never stale; it lives in the cache
// (`.cache/app/`, or $CDK8S_TALOS_CACHE_DIR/app), which is safe to delete. Like every cache entry
// it starts with a header holding the sha256 of the rest, checked before the bundle is loaded: a
// truncated or edited bundle is rebuilt (one line on stderr says so), never run.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
// As lib/core/paths.ts: the variable is relative to the working directory.
const cache = process.env.CDK8S_TALOS_CACHE_DIR ? path.resolve(process.env.CDK8S_TALOS_CACHE_DIR) : path.join(root, '.cache');
const outDir = path.join(cache, 'app');
// Relative to the working directory, as main.ts reads it.
const clustersDir = process.env.CLUSTERS_DIR ? path.resolve(process.env.CLUSTERS_DIR) : path.join(root, 'clusters');

/** Path from the project root with `/` separators: the key lib/app/clusters.ts looks modules up by. */
function fromRoot(file) {
  return path.relative(root, file).split(path.sep).join('/');
}

/** The cluster files written in TypeScript: `*.ts` (not `*.d.ts`) directly in the clusters folder. */
function typescriptClusters() {
  if (!fs.existsSync(clustersDir)) return [];
  return fs.readdirSync(clustersDir, { withFileTypes: true })
    .filter((e) => e.isFile() && /(?<!\.d)\.ts$/.test(e.name))
    .map((e) => path.join(clustersDir, e.name))
    .sort();
}

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [])
    .sort();
}

/**
 * What a bundle runs: main.ts (the synth app), or scripts/plan.ts (`npm run plan`), whose `cli`
 * takes the arguments after `plan`.
 */
const ENTRIES = {
  main: { file: path.join(root, 'main.ts'), run: (rel) => `require(${rel});` },
  plan: { file: path.join(root, 'scripts', 'plan.ts'), run: (rel) => `require(${rel}).cli(process.argv.slice(3));` },
};

function bundlePath(entry) {
  const hash = crypto.createHash('sha256');
  hash.update(entry);
  hash.update(require('esbuild/package.json').version);
  // This script: the build options and the entry format.
  hash.update(fs.readFileSync(__filename));
  // Bundled dependencies change with the lockfile.
  hash.update(fs.readFileSync(path.join(root, 'package-lock.json')));
  const clusterSources = fs.existsSync(clustersDir) ? sources(clustersDir) : [];
  for (const file of [ENTRIES[entry].file, ...sources(path.join(root, 'lib')), ...sources(path.join(root, 'imports')), ...clusterSources]) {
    hash.update(fromRoot(file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return path.join(outDir, `${entry}-${hash.digest('hex').slice(0, 16)}.js`);
}

// The cache entry format of lib/core/cache.ts: a header line with the sha256 of the payload, then
// the payload. A local copy because this script is plain JavaScript that runs before anything is
// compiled (lib/ is TypeScript, bundled by this very script); test/scripts/app.test.ts checks that
// the two copies read each other's entries.
const HEADER = '// cdk8s-talos-proxmox cache sha256=';
const HEADER_LENGTH = HEADER.length + 64 + 1;

/** `{ payload }` (a Buffer) if `file` is an intact entry, `undefined` if missing, else `{ corrupt: reason }` (unreadable ones too). */
function readEntry(file) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    return { corrupt: `unreadable (${e.code || 'error'})` };
  }
  const header = data.subarray(0, HEADER_LENGTH).toString('latin1');
  if (!header.startsWith(HEADER) || !header.endsWith('\n')) return { corrupt: 'no digest header' };
  const payload = data.subarray(HEADER_LENGTH);
  const digest = crypto.createHash('sha256').update(payload).digest('hex');
  return digest === header.slice(HEADER.length, -1) ? { payload } : { corrupt: 'digest mismatch' };
}

/** Writes `payload` (a Buffer) with its digest header, atomically (temp file + rename). */
function writeEntry(file, payload) {
  const digest = crypto.createHash('sha256').update(payload).digest('hex');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${HEADER}${digest}\n`, 'latin1'), payload]));
  fs.renameSync(tmp, file);
}

/** The path relative to the working directory when it is inside it (shorter in a notice). */
function displayPath(file) {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * The code of the intact bundle `out` (a Buffer), read once: kept when its digest matches, else
 * (missing or corrupt) rebuilt by `build()`, which returns the bundle's code as a Buffer; a
 * corrupt one is reported on stderr.
 */
function loadBundle(out, build) {
  const entry = readEntry(out);
  if (entry && 'payload' in entry) {
    // Marks it used, for pruneBundles (a cache we may not write to is still usable).
    try {
      const now = new Date();
      fs.utimesSync(out, now, now);
    } catch {
      // keep going: only the pruning order suffers
    }
    return entry.payload;
  }
  if (entry) fs.rmSync(out, { force: true });
  const code = build();
  writeEntry(out, code);
  if (entry) process.stderr.write(`cdk8s-talos-proxmox: rebuilt corrupt cache entry ${displayPath(out)} (${entry.corrupt})\n`);
  return code;
}

/** Bundles an entry (main.ts or scripts/plan.ts, and the TypeScript clusters) and returns the code; removes older bundles of it. */
function build(out, entry) {
  const esbuild = require('esbuild');
  const rel = (file) => JSON.stringify(`./${fromRoot(file)}`);
  const code = [
    `const { registerClusterModule } = require(${rel(path.join(root, 'lib', 'app', 'clusters.ts'))});`,
    ...typescriptClusters().map((f) => `registerClusterModule(${JSON.stringify(fromRoot(f))}, () => require(${rel(f)}));`),
    ENTRIES[entry].run(rel(ENTRIES[entry].file)),
  ].join('\n');
  const result = esbuild.buildSync({
    stdin: { contents: code, resolveDir: root, sourcefile: 'synth-entry.js', loader: 'js' },
    outfile: out,
    // In memory: loadBundle stores it with its digest.
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Dependencies are bundled too: one file loads faster than hundreds of small modules.
    external: ['esbuild'],
    keepNames: false,
    // No comments and little whitespace: the bundle shrinks from 3.8 to 2.6 MB and is pure ASCII,
    // so reading, digesting, decoding (as one-byte text) and compiling it cost less on every run.
    // Identifiers are kept, so a stack trace still names the functions.
    minifyWhitespace: true,
    logLevel: 'error',
  });
  fs.mkdirSync(outDir, { recursive: true });
  pruneBundles(out, entry);
  return Buffer.from(result.outputFiles[0].contents);
}

/** How many bundles of each entry the cache keeps: projects with another CLUSTERS_DIR (or its TypeScript) get their own. */
const KEPT_BUNDLES = 4;

/**
 * Deletes all but the most recently used bundles, so that alternating between two sets of clusters
 * (the project's and a test's, say) does not rebuild each time. Only finished bundles: a `.tmp`
 * file may be another synth's bundle being written right now.
 */
function pruneBundles(keep, entry) {
  const bundles = fs.readdirSync(outDir)
    .filter((name) => new RegExp(`^${entry}-[0-9a-f]+\\.js$`).test(name) && path.join(outDir, name) !== keep)
    .map((name) => {
      const file = path.join(outDir, name);
      try {
        return { file, used: fs.statSync(file).mtimeMs };
      } catch {
        return undefined; // removed meanwhile by another synth
      }
    })
    .filter(Boolean)
    .sort((a, b) => b.used - a.used);
  for (const { file } of bundles.slice(KEPT_BUNDLES - 1)) fs.rmSync(file, { force: true });
  // Code caches of bundles that are gone (runBundle).
  for (const name of fs.readdirSync(outDir)) {
    const m = new RegExp(`^((?:${Object.keys(ENTRIES).join('|')})-[0-9a-f]+\\.js)\\..*\\.v8cache$`).exec(name);
    if (m && m[1] !== path.basename(keep) && !fs.existsSync(path.join(outDir, m[1]))) fs.rmSync(path.join(outDir, name), { force: true });
  }
}

/**
 * The V8 code cache of a bundle: `<bundle>.<node version>-<arch>.v8cache`, beside it, in the entry
 * format (a damaged one is never handed to V8). V8 checks that it fits the source and its flags
 * itself, and compiles from scratch when it does not.
 */
function codeCachePath(bundle) {
  return `${bundle}.${process.version}-${process.arch}.v8cache`;
}

/**
 * Runs the bundle (`code`, the verified bytes of the file `bundle`) as `require` would, but
 * compiled with its V8 code cache: compiling the bundle and its functions is a fifth of a small
 * synth. The cache is written when the process exits (so it holds the functions the run
 * compiled), only when it was missing or V8 refused it; a cache that cannot be written costs the
 * next run its compile time, nothing else.
 */
function runBundle(bundle, code) {
  const Module = require('module');
  const vm = require('vm');
  // ASCII (as the bundle is) decodes byte for byte, at a fraction of the cost of UTF-8 decoding.
  const source = require('buffer').isAscii(code) ? code.toString('latin1') : code.toString('utf8');
  const cacheFile = codeCachePath(bundle);
  let cachedData;
  try {
    cachedData = readEntry(cacheFile)?.payload;
  } catch {
    // unreadable: compiled afresh, and written again below
  }
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        writeEntry(cacheFile, script.createCachedData());
      } catch {
        // a read-only cache: the next run compiles again
      }
    });
  }
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
}

if (require.main === module) {
  // The cdk8s CLI runs this script without arguments: main.ts.
  const entry = process.argv[2] === 'plan' ? 'plan' : 'main';
  const out = bundlePath(entry);
  const code = loadBundle(out, () => build(out, entry));
  // The bundle runs from the cache; tell lib/paths.ts where the project is.
  process.env.CDK8S_TALOS_PROJECT_ROOT = root;
  // main.ts (or scripts/plan.ts) runs the same bundle on a worker thread for large fleets (lib/app/cluster-output.ts).
  process.env.CDK8S_TALOS_BUNDLE = out;
  runBundle(out, code);
} else {
  // Required by test/scripts/app.test.ts.
  module.exports = { readEntry, writeEntry, loadBundle, codeCachePath };
}
