#!/usr/bin/env node
// The app command of cdk8s.yaml: runs main.ts from a bundle that esbuild rebuilds whenever a
// source changes. Type-checking belongs to `npm test`; synth only needs the code, and a bundle
// loads in a fraction of the time a TypeScript loader takes to transpile lib/ and imports/.
//
// TypeScript clusters (`clusters/<name>.ts`, or $CLUSTERS_DIR) are compiled into the same bundle:
// its entry registers each one with lib/app/clusters.ts before main.ts runs, so they share one
// copy of the constructs with the config-file clusters.
//
// The bundle is named by the sha256 of every source it is built from (main.ts, lib/, imports/, the
// TypeScript under the clusters folder, package-lock.json for the bundled dependencies, the esbuild
// version), so it is never stale; it lives in the cache (`.cache/app/`, or
// $CDK8S_TALOS_CACHE_DIR/app), which is safe to delete.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
// As lib/core/paths.ts: the variable is relative to the working directory.
const cache = process.env.CDK8S_TALOS_CACHE_DIR ? path.resolve(process.env.CDK8S_TALOS_CACHE_DIR) : path.join(root, '.cache');
const outDir = path.join(cache, 'app');
const clustersDir = path.resolve(root, process.env.CLUSTERS_DIR || 'clusters');

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

function bundlePath() {
  const hash = crypto.createHash('sha256');
  hash.update(require('esbuild/package.json').version);
  // Bundled dependencies change with the lockfile.
  hash.update(fs.readFileSync(path.join(root, 'package-lock.json')));
  const clusterSources = fs.existsSync(clustersDir) ? sources(clustersDir) : [];
  for (const file of [path.join(root, 'main.ts'), ...sources(path.join(root, 'lib')), ...sources(path.join(root, 'imports')), ...clusterSources]) {
    hash.update(fromRoot(file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return path.join(outDir, `main-${hash.digest('hex').slice(0, 16)}.js`);
}

function build(out) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const rel = (file) => JSON.stringify(`./${fromRoot(file)}`);
  const entry = [
    `const { registerClusterModule } = require(${rel(path.join(root, 'lib', 'app', 'clusters.ts'))});`,
    ...typescriptClusters().map((f) => `registerClusterModule(${JSON.stringify(fromRoot(f))}, () => require(${rel(f)}));`),
    `require(${rel(path.join(root, 'main.ts'))});`,
  ].join('\n');
  esbuild.buildSync({
    stdin: { contents: entry, resolveDir: root, sourcefile: 'synth-entry.js', loader: 'js' },
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Dependencies are bundled too: one file loads faster than hundreds of small modules.
    external: ['esbuild'],
    keepNames: true,
    logLevel: 'error',
  });
  fs.renameSync(tmp, out);
  for (const old of fs.readdirSync(outDir)) {
    if (old.startsWith('main-') && path.join(outDir, old) !== out) fs.rmSync(path.join(outDir, old), { force: true });
  }
}

const out = bundlePath();
if (!fs.existsSync(out)) build(out);
// The bundle runs from the cache; tell lib/paths.ts where the project is.
process.env.CDK8S_TALOS_PROJECT_ROOT = root;
require(out);
