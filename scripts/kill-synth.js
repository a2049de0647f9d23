#!/usr/bin/env node
// Kill test of publishing dist/: `node scripts/kill-synth.js [N=50] [--seed S]` (not a unit test;
// a few minutes for N=50).
//
// In a temporary clone of this repository's HEAD (node_modules symlinked, charts from
// ../shared/charts via CHARTS_DIR) it changes clusters/homelab.yaml so that dist/ changes (a worker
// pool's replicas), synthesizes that change once into a reference folder (which also times a run),
// then N times:
//
//   1. resets dist/ to the committed tree;
//   2. starts the synth app (`node scripts/app.js`) and kills it with SIGKILL after a random delay:
//      half of the kills anywhere in a run (a delay from the start), half after the publish of
//      dist/ began (a delay from the moment its first staging folder appears, seen with fs.watch),
//      since the publish is a few milliseconds of a run. Both windows are the medians of the last
//      five complete runs (run time; time from the start of the publish to the exit), so they
//      follow the machine's load;
//   3. checks that `git status --porcelain` shows no untracked file (`??`) and that dist/ is a
//      whole tree, the old or the new one, or missing (never a mix, never a half-written file);
//   4. runs the app again to completion and checks that dist/ is exactly the reference tree and
//      that no staging folder is left.
//
// The delays come from a seeded generator: the seed is printed, and `--seed S` (or KILL_SEED)
// repeats a run. It prints where the kills landed (before, during or after the publish, or after
// the app had exited) and every failure, and exits 1 on any failure. The clone is deleted at the
// end (KEEP=1 keeps it).
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  let count = 50;
  let seed = process.env.KILL_SEED ? Number(process.env.KILL_SEED) : Date.now() % 2 ** 31;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seed') seed = Number(argv[++i]);
    else if (/^\d+$/.test(argv[i])) count = Number(argv[i]);
    else throw new Error(`usage: node scripts/kill-synth.js [N=50] [--seed S] (unknown argument ${argv[i]})`);
  }
  if (!Number.isInteger(seed)) throw new Error('the seed must be an integer');
  return { count, seed };
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function run(command, args, options) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** Every file of a tree as `path -> content`, or undefined when it does not exist. */
function readTree(dir) {
  if (!fs.existsSync(dir)) return undefined;
  const out = new Map();
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else out.set(p, fs.readFileSync(path.join(dir, p), 'utf8'));
    }
  };
  walk('');
  return out;
}

function sameTree(a, b) {
  return a !== undefined && b !== undefined && a.size === b.size && [...a].every(([p, c]) => b.get(p) === c);
}

/** The staging folders of a publish of dist/ beside it (lib/app/output.ts), of either naming. */
function stagingFolders(repo) {
  return fs.readdirSync(repo).filter((n) => /^\.?dist\.(next|ready|prev|trash)-\d+/.test(n));
}

/**
 * Runs the app in the clone. With a `delay` it is killed with SIGKILL that many ms after it
 * started or, with `fromPublish`, after its first staging folder beside dist/ appeared (the
 * publish began). Resolves with its exit code or signal, its stderr, how long it ran and, when it
 * published, the ms from the start of the publish to its exit.
 */
function runApp(repo, env, { delay, fromPublish = false } = {}) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    let publishAt;
    let timer;
    let stderr = '';
    const child = spawn(process.execPath, [path.join(repo, 'scripts', 'app.js')], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const kill = () => child.kill('SIGKILL');
    const watcher = fs.watch(repo, (_event, name) => {
      if (publishAt !== undefined || !/^\.dist\.next-\d+$/.test(String(name))) return;
      publishAt = Date.now();
      if (delay !== undefined && fromPublish) timer = setTimeout(kill, delay);
    });
    if (delay !== undefined && !fromPublish) timer = setTimeout(kill, delay);
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      watcher.close();
      const end = Date.now();
      resolve({ code, signal, stderr, duration: end - start, publishTail: publishAt === undefined ? undefined : end - publishAt });
    });
  });
}

async function main() {
  const { count, seed } = parseArgs(process.argv.slice(2));
  const next = random(seed);
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kill-synth-'));
  const repo = path.join(work, 'repo');
  console.log(`kill-synth: N=${count}, seed ${seed}, clone in ${repo}`);
  try {
    run('git', ['clone', '-q', '--no-hardlinks', ROOT, repo]);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'));
    // A symlink is not the directory .gitignore's `node_modules/` names.
    fs.appendFileSync(path.join(repo, '.git', 'info', 'exclude'), 'node_modules\n');
    const git = (...args) => run('git', ['-C', repo, ...args]);
    const config = path.join(repo, 'clusters', 'homelab.yaml');
    const before = fs.readFileSync(config, 'utf8');
    const after = before.replace(/(- \{ name: default, replicas: )(\d+)/, (_, head, n) => `${head}${Number(n) + 1}`);
    if (after === before) throw new Error('found no worker pool replicas to change in clusters/homelab.yaml');
    fs.writeFileSync(config, after);
    git('-c', 'user.name=kill-synth', '-c', 'user.email=kill-synth@localhost', 'commit', '-q', '-m', 'more replicas', '--', 'clusters/homelab.yaml');

    const env = { ...process.env, CHARTS_DIR: path.resolve(ROOT, '..', 'shared', 'charts'), CDK8S_OUTDIR: '' };
    delete env.DIST_DIR;
    delete env.CDK8S_TALOS_PUBLISH_STOP_AT;
    const dist = path.join(repo, 'dist');
    const oldTree = readTree(dist);
    // The reference, twice: the first run builds the bundle and the render cache, the second is timed.
    const reference = path.join(work, 'reference');
    run(process.execPath, [path.join(repo, 'scripts', 'app.js')], { cwd: repo, env: { ...env, DIST_DIR: reference } });
    const newTree = readTree(reference);
    if (sameTree(oldTree, newTree)) throw new Error('the change did not alter dist/');
    // A timed run in the clone, which also checks it writes the reference.
    const timed = await runApp(repo, env);
    if (timed.code !== 0 || !sameTree(readTree(dist), newTree)) throw new Error(`a synth in the clone did not write the reference tree: ${timed.stderr}`);
    const durations = [timed.duration];
    const tails = [timed.publishTail ?? 50];
    const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
    console.log(`a synth run takes ${timed.duration} ms, ${tails[0]} ms of it from the start of the publish to the exit; killing within them`);

    const landed = { before: 0, during: 0, after: 0, exited: 0 };
    const failures = [];
    for (let i = 1; i <= count; i++) {
      git('checkout', '-q', 'HEAD', '--', 'dist');
      git('clean', '-fdq', '--', 'dist');
      const fromPublish = next() < 0.5;
      const delay = Math.round(next() * (fromPublish ? median(tails) : median(durations)));
      const killed = await runApp(repo, env, { delay, fromPublish });
      const fail = (what) => failures.push(`kill ${i} (${delay} ms after the ${fromPublish ? 'publish began' : 'start'}): ${what}`);
      const exited = killed.signal !== 'SIGKILL';
      if (exited && killed.code !== 0) fail(`the app failed on its own: ${killed.stderr.trim()}`);
      const untracked = git('status', '--porcelain', '--untracked-files=all').split('\n').filter((l) => l.startsWith('??'));
      if (untracked.length > 0) fail(`untracked files: ${untracked.join(', ')}`);
      const tree = readTree(dist);
      const leftovers = stagingFolders(repo);
      if (tree !== undefined && !sameTree(tree, oldTree) && !sameTree(tree, newTree)) fail('dist/ is neither the old nor the new tree');
      if (exited) landed.exited++;
      else if (leftovers.length > 0 || tree === undefined) landed.during++;
      else if (sameTree(tree, newTree)) landed.after++;
      else landed.before++;

      const again = await runApp(repo, env);
      durations.push(again.duration);
      if (durations.length > 5) durations.shift();
      if (again.publishTail !== undefined) tails.push(again.publishTail);
      if (tails.length > 5) tails.shift();
      if (again.code !== 0) fail(`the next synth failed: ${again.stderr.trim()}`);
      else if (!sameTree(readTree(dist), newTree)) fail('after the next synth dist/ is not the new tree');
      if (stagingFolders(repo).length > 0) fail(`staging folders left after the next synth: ${stagingFolders(repo).join(', ')}`);
      const untrackedAfter = git('status', '--porcelain', '--untracked-files=all').split('\n').filter((l) => l.startsWith('??'));
      if (untrackedAfter.length > 0) fail(`untracked files after the next synth: ${untrackedAfter.join(', ')}`);
      if (i % 10 === 0) console.log(`${i} kills, ${failures.length} failure(s)`);
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${count} kills: ${landed.before} before the publish, ${landed.during} during it (staging folders or no dist/ left), ${landed.after} after it, ${landed.exited} after the app had exited`);
    for (const f of failures) console.log(`FAIL ${f}`);
    console.log(`${failures.length} failure(s) in ${seconds} s (seed ${seed})`);
    process.exitCode = failures.length > 0 ? 1 : 0;
  } finally {
    if (process.env.KEEP === '1') console.log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`kill-synth: ${e.message}`);
  process.exit(1);
});
