/**
 * `npm run bench`: how long `cdk8s synth` and `npm run plan` take, against the cdk8s CLI's own floor.
 *
 * Generates fleet configs (1, 10, 100 and 1000 clusters × 3 worker pools) in a temporary directory,
 * runs `cdk8s synth` on each several times after one warm-up run (which fills the helm render,
 * validator and bundle caches, as any earlier synth on a workstation would), and the floor: the
 * same CLI running an app that synthesizes one empty chart with plain node. Then the plan case of
 * issue 18: the 1000-cluster fleet's dist/ committed in a throwaway git repository, one pool
 * changed in each of 100 clusters, `npm run plan` against it. Prints median, min, max wall time,
 * peak memory (max RSS of any process, via GNU time when installed) and the bytes of dist/, then
 * one PASS/FAIL line per target of the issue (bench/report.ts). Last, the load cost of
 * cdk8s-plus-28: a bundled app that makes one ConfigMap with it against the same app with a plain
 * ApiObject, each run with plain node.
 *
 * Environment: BENCH_RUNS (default 5) timed runs per row, BENCH_LARGE_RUNS (default 3) for the
 * 1000-cluster and plan rows, BENCH_SKIP_1000=1 leaves those two out (a quick run).
 * Nothing is committed; nothing here is a test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CHANGED_POOL_MEMORY_MIB, fleetClusterConfig } from './fleet';
import { dirBytes, formatTable, Row, Sample, Stats, stats, targetChecks } from './report';

const ROOT = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// The 1000-cluster rows take several seconds per run on 2 cores (a minute each before issue 18): fewer runs by default.
const LARGE_RUNS = Number(process.env.BENCH_LARGE_RUNS ?? 3);
const SKIP_1000 = process.env.BENCH_SKIP_1000 === '1';
const CDK8S = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
/** Fleet clusters whose `general` pool the plan case changes: every tenth, 100 of 1000. */
const PLAN_CHANGED = (i: number) => i % 10 === 0;

/**
 * Runs `command args` in `cwd` and times it; GNU time reports the max RSS of the largest process.
 *
 * @param okStatus exit codes that count as success (the plan exits 1 when it finds something blocking)
 */
function timed(
  command: string, args: string[], cwd: string, env: Record<string, string>, okStatus: readonly number[] = [0],
): Sample & { stdout: string } {
  const start = process.hrtime.bigint();
  const options = { cwd, env: { ...process.env, ...env }, encoding: 'utf8' as const, maxBuffer: 1 << 30 };
  const result = GNU_TIME ? spawnSync(GNU_TIME, ['-f', '%M', command, ...args], options) : spawnSync(command, args, options);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (!okStatus.includes(result.status ?? -1)) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  const rss = GNU_TIME ? Number(result.stderr.trim().split('\n').pop()) : NaN;
  return { seconds, maxRssMiB: Number.isFinite(rss) ? rss / 1024 : undefined, stdout: result.stdout };
}

/** One `cdk8s synth` as `npm run synth` runs it. */
function synth(cwd: string, env: Record<string, string>): Sample {
  return timed(CDK8S, ['synth', '--check-upgrade=false'], cwd, env);
}

/** `runs` timed runs of `once` after a warm-up run. */
function measure(once: () => Sample, runs = RUNS): Sample[] {
  once();
  return Array.from({ length: runs }, once);
}

/**
 * `runs` timed runs of `once`, each right after a run of `floor` (the CLI floor): other processes'
 * load drifts during a long bench, and each row's ratio is taken against floors run at its load.
 *
 * @param warm whether to do a warm-up run of `once` first
 */
function pairedRuns(once: () => Sample, floor: () => Sample, runs: number, warm = true): { samples: Sample[]; floor: number } {
  if (warm) once();
  const floors: Sample[] = [];
  const samples = Array.from({ length: runs }, () => {
    floors.push(floor());
    return once();
  });
  return { samples, floor: stats(floors).median };
}

/** Writes the configs of fleet clusters 0 … n-1 to `dir`. */
function writeFleet(dir: string, n: number, changed: (i: number) => boolean = () => false): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `fleet-${String(i).padStart(3, '0')}.yaml`), fleetClusterConfig(i, changed(i)));
}

/** `git` in `cwd`, failing loudly; no user config or signing needed. */
function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}:\n${r.stderr}`);
  return r.stdout;
}

/**
 * The plan case: the 1000-cluster fleet synthesized and its dist/ committed in a throwaway git
 * repository, then the `general` pool of every tenth cluster given more memory, and
 * `npm run plan -- --committed <repo>/dist` timed (a fresh synth of all 1000 clusters, the
 * committed dist/ read from git, the two compared). The clusters folder stays where it was
 * committed from, so the file names in the headers match and only the 100 pools differ.
 */
function planCase(tmp: string, floor: () => Sample): { samples: Sample[]; floor: number; changedFolders: number } {
  const repo = path.join(tmp, 'plan');
  const clusters = path.join(repo, 'clusters');
  const dist = path.join(repo, 'dist');
  writeFleet(clusters, 1000);
  git(repo, 'init', '-q');
  synth(ROOT, { CLUSTERS_DIR: clusters, DIST_DIR: dist });
  git(repo, 'add', 'dist');
  git(repo, 'commit', '-q', '-m', 'fleet of 1000');
  writeFleet(clusters, 1000, PLAN_CHANGED);
  const args = ['run', '-s', 'plan', '--', '--committed', dist];
  const env = { CLUSTERS_DIR: clusters };
  // The warm-up run asks for JSON, to check that the plan sees the 100 changed clusters and nothing else.
  const warm = timed('npm', [...args, '--json'], ROOT, env, [0, 1]);
  const changedFolders = (JSON.parse(warm.stdout) as { folders: unknown[] }).folders.length;
  return { ...pairedRuns(() => timed('npm', args, ROOT, env, [0, 1]), floor, LARGE_RUNS, false), changedFolders };
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
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(', ');
  const loads = [`start ${load()}`];
  // Progress on stderr: the large rows take minutes, and a killed bench still shows what it measured.
  const progress = (name: string, s: Stats, floor?: number) => process.stderr.write(`${name}: median ${s.median.toFixed(2)} s, min ${s.min.toFixed(2)}, `
    + `max ${s.max.toFixed(2)}, peak ${s.rss?.toFixed(0) ?? 'n/a'} MiB${floor ? `, paired floor ${floor.toFixed(2)} s` : ''} (load ${load()})\n`);
  try {
    // The floor: the cdk8s CLI running a plain-node app with one empty chart.
    const floorDir = path.join(tmp, 'floor');
    fs.mkdirSync(floorDir);
    fs.writeFileSync(path.join(floorDir, 'app.js'), `const { App, Chart } = require(${JSON.stringify(require.resolve('cdk8s'))});\nconst app = new App();\nnew Chart(app, 'empty');\napp.synth();\n`);
    fs.writeFileSync(path.join(floorDir, 'cdk8s.yaml'), 'app: node app.js\n');
    const floorRun = () => synth(floorDir, {});
    const rows: Row[] = [{ name: 'CLI floor (empty chart, plain node)', stats: stats(measure(floorRun)) }];
    progress(rows[0].name, rows[0].stats);

    const synthRow = (name: string, env: Record<string, string>, runs = RUNS): Row => {
      const measured = pairedRuns(() => synth(ROOT, env), floorRun, runs);
      const row = { name, stats: stats(measured.samples), floor: measured.floor, distBytes: dirBytes(env.DIST_DIR) };
      loads.push(`after ${name}: ${load()}`);
      progress(name, row.stats, row.floor);
      return row;
    };
    rows.push(synthRow('default clusters (clusters/)', { DIST_DIR: path.join(tmp, 'dist-default') }));
    for (const n of SKIP_1000 ? [1, 10, 100] : [1, 10, 100, 1000]) {
      const dir = path.join(tmp, `fleet-${n}`);
      writeFleet(dir, n);
      rows.push(synthRow(`fleet: ${n} cluster(s) × 3 pools`, { CLUSTERS_DIR: dir, DIST_DIR: path.join(tmp, `dist-${n}`) }, n >= 1000 ? LARGE_RUNS : RUNS));
      // Each dist/ of 1000 clusters is 100 MB or more; only its size is needed.
      fs.rmSync(path.join(tmp, `dist-${n}`), { recursive: true, force: true });
    }
    let changedFolders: number | undefined;
    if (!SKIP_1000) {
      const plan = planCase(tmp, floorRun);
      changedFolders = plan.changedFolders;
      rows.push({ name: `npm run plan: 1000 clusters, 1 pool changed in 100 (${CHANGED_POOL_MEMORY_MIB} MiB)`, stats: stats(plan.samples), floor: plan.floor });
      loads.push(`after the plan case: ${load()}`);
      progress(`plan case (${changedFolders} folders changed)`, rows[rows.length - 1].stats, plan.floor);
    }

    const floor = rows[0].stats.median;
    console.log(`\n${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${new Date().toISOString()}, `
      + `${RUNS} runs each after a warm-up run (${LARGE_RUNS} for the 1000-cluster and plan rows)`);
    console.log(`load average (1, 5, 15 min): ${loads.join('; ')}\n`);
    console.log(formatTable(rows, floor));
    const row = (n: number) => rows.find(({ name }) => name.startsWith(`fleet: ${n} `));
    const t = (n: number) => row(n)!.stats.median;
    const perCluster = (a: number, b: number) => `${((t(b) - t(a)) / (b - a) * 1000).toFixed(1)} ms from ${a} to ${b} clusters`;
    console.log(`\nmarginal cost per cluster: ${perCluster(1, 10)}, ${perCluster(10, 100)}${SKIP_1000 ? '' : `, ${perCluster(100, 1000)}`} `
      + '(linear or better when the later ones are not larger)');
    const perClusterBytes = (n: number) => `${(row(n)!.distBytes! / n / 1e3).toFixed(1)} kB per cluster`;
    console.log(`dist/ size: ${perClusterBytes(100)} at 100 clusters${SKIP_1000 ? '' : `, ${perClusterBytes(1000)} at 1000`}`);
    if (changedFolders !== undefined) console.log(`plan case: ${changedFolders} dist/ folder(s) with a change (100 expected)`);
    const defaultsRow = rows.find(({ name }) => name.startsWith('default clusters'))!;
    const defaults = defaultsRow.stats;
    console.log(`\ntargets of issue 18 (each row against the floor runs paired with it):\n${targetChecks({
      floor, defaults: defaultsRow, fleet1000: row(1000), plan: rows.find(({ name }) => name.startsWith('npm run plan')),
    }).join('\n')}`);
    const k = kplusCost(fs.mkdtempSync(path.join(tmp, 'kplus-')));
    console.log(`\ncdk8s-plus-28 load cost: ${((k.kplus - k.plain) * 1000).toFixed(0)} ms (bundled app with a kplus.ConfigMap ${k.kplus.toFixed(3)} s, `
      + `with a plain ApiObject ${k.plain.toFixed(3)} s), ${(100 * (k.kplus - k.plain) / defaults.median).toFixed(1)} % of the default clusters' synth`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
