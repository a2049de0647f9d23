/**
 * `npm run bench`: how long `cdk8s synth` takes, against the cdk8s CLI's own floor.
 *
 * Generates fleet configs (1, 10 and 100 clusters × 3 worker pools) in a temporary directory,
 * runs `cdk8s synth` on each several times after one warm-up run (which fills the helm render,
 * validator and bundle caches, as any earlier synth on a workstation would), and the floor: the
 * same CLI running an app that synthesizes one empty chart with plain node. Prints median, min,
 * max wall time and peak memory (max RSS of any process, via GNU time when installed). Last, the
 * load cost of cdk8s-plus-28: a bundled app that makes one ConfigMap with it against the same app
 * with a plain ApiObject, each run with plain node.
 * Nothing is committed; nothing here is a test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetClusterConfig } from './fleet';

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CDK8S = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Sample { seconds: number; maxRssMiB?: number }

function run(cwd: string, env: Record<string, string>): Sample {
  const args = ['synth', '--check-upgrade=false'];
  const start = process.hrtime.bigint();
  const result = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', '%M', CDK8S, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' })
    : spawnSync(CDK8S, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`synth failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  const rss = GNU_TIME ? Number(result.stderr.trim().split('\n').pop()) : NaN;
  return { seconds, maxRssMiB: Number.isFinite(rss) ? rss / 1024 : undefined };
}

function measure(cwd: string, env: Record<string, string>): Sample[] {
  run(cwd, env);
  return Array.from({ length: RUNS }, () => run(cwd, env));
}

function stats(samples: Sample[]) {
  const s = samples.map((x) => x.seconds).sort((a, b) => a - b);
  const rss = samples.map((x) => x.maxRssMiB).filter((x): x is number => x !== undefined);
  return {
    median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1],
    rss: rss.length ? Math.max(...rss) : undefined,
  };
}

/** Wall time of `node <file>`, median of RUNS runs after a warm-up run. */
function nodeMedian(file: string): number {
  const once = () => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${file} failed:\n${r.stderr}`);
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  once();
  const s = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * What loading cdk8s-plus-28 adds to a synth: two apps bundled as scripts/app.js bundles main.ts,
 * one making a ConfigMap with cdk8s-plus-28, one with a plain ApiObject.
 */
function kplusCost(dir: string): { plain: number; kplus: number } {
  // esbuild is a devDependency, needed only here and by scripts/app.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const bundle = (name: string, body: string) => {
    const out = path.join(dir, `${name}.js`);
    esbuild.buildSync({
      stdin: { contents: `const { App, Chart, ApiObject } = require('cdk8s');\nconst app = new App({ outdir: ${JSON.stringify(path.join(dir, name))} });\nconst chart = new Chart(app, 'c');\n${body}\napp.synth();\n`, resolveDir: ROOT, loader: 'js' },
      outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error',
    });
    return out;
  };
  const plain = bundle('plain', `new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } });`);
  const kplus = bundle('kplus', `const kplus = require('cdk8s-plus-28');\nnew kplus.ConfigMap(chart, 'cm', { metadata: { name: 'x' }, data: { a: 'b' } });`);
  return { plain: nodeMedian(plain), kplus: nodeMedian(kplus) };
}

function main(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-bench-'));
  try {
    // The floor: the cdk8s CLI running a plain-node app with one empty chart.
    const floorDir = path.join(tmp, 'floor');
    fs.mkdirSync(floorDir);
    fs.writeFileSync(path.join(floorDir, 'app.js'), `const { App, Chart } = require(${JSON.stringify(require.resolve('cdk8s'))});\nconst app = new App();\nnew Chart(app, 'empty');\napp.synth();\n`);
    fs.writeFileSync(path.join(floorDir, 'cdk8s.yaml'), 'app: node app.js\n');
    const rows: [string, ReturnType<typeof stats>][] = [['CLI floor (empty chart, plain node)', stats(measure(floorDir, {}))]];

    rows.push(['default clusters (clusters/)', stats(measure(ROOT, { DIST_DIR: path.join(tmp, 'dist-default') }))]);
    for (const n of [1, 10, 100]) {
      const dir = path.join(tmp, `fleet-${n}`);
      fs.mkdirSync(dir);
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `fleet-${String(i).padStart(3, '0')}.yaml`), fleetClusterConfig(i));
      rows.push([`fleet: ${n} cluster(s) × 3 pools`, stats(measure(ROOT, { CLUSTERS_DIR: dir, DIST_DIR: path.join(tmp, `dist-${n}`) }))]);
    }

    const floor = rows[0][1].median;
    const f = (x: number) => x.toFixed(2).padStart(6);
    console.log(`\n${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${RUNS} runs each after a warm-up run\n`);
    console.log('| what | median s | min s | max s | × floor | peak RSS MiB |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, s] of rows) {
      console.log(`| ${name} | ${f(s.median)} | ${f(s.min)} | ${f(s.max)} | ${(s.median / floor).toFixed(2)} | ${s.rss?.toFixed(0) ?? 'n/a'} |`);
    }
    const t = (n: number) => rows.find(([name]) => name.startsWith(`fleet: ${n} `))![1].median;
    const per10 = (t(10) - t(1)) / 9;
    const per100 = (t(100) - t(10)) / 90;
    console.log(`\nmarginal cost per cluster: ${(per10 * 1000).toFixed(1)} ms from 1 to 10 clusters, ${(per100 * 1000).toFixed(1)} ms from 10 to 100 (linear or better when the second is not larger)`);
    const k = kplusCost(fs.mkdtempSync(path.join(tmp, 'kplus-')));
    const defaults = rows.find(([name]) => name.startsWith('default clusters'))![1].median;
    console.log(`cdk8s-plus-28 load cost: ${((k.kplus - k.plain) * 1000).toFixed(0)} ms (bundled app with a kplus.ConfigMap ${k.kplus.toFixed(3)} s, with a plain ApiObject ${k.plain.toFixed(3)} s), ${(100 * (k.kplus - k.plain) / defaults).toFixed(1)} % of the default clusters' synth`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
