import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetClusterConfig } from '../../bench/fleet';
import { clusterOutput, outputState, ThreadedClusterOutputs, useWorkerThread, WORKER_MIN_CLUSTERS } from '../../lib/app/cluster-output';
import { synthesize } from '../../lib/app/synth';
import { OutputGate } from '../../lib/gate/gate';
import { GatePasses } from '../../lib/gate/passes';

const ROOT = path.resolve(__dirname, '..', '..');

describe('useWorkerThread', () => {
  test('a worker for fleets of WORKER_MIN_CLUSTERS or more on two cores; CDK8S_TALOS_THREADS decides when set', () => {
    const cores = os.availableParallelism() >= 2;
    expect(useWorkerThread(WORKER_MIN_CLUSTERS, {})).toBe(cores);
    expect(useWorkerThread(WORKER_MIN_CLUSTERS - 1, {})).toBe(false);
    expect(useWorkerThread(1, { CDK8S_TALOS_THREADS: '1' })).toBe(true);
    expect(useWorkerThread(1000, { CDK8S_TALOS_THREADS: '0' })).toBe(false);
  });
});

describe('synthesize with the cluster outputs on a worker thread', () => {
  let dir: string;
  let worker: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-output-'));
    // The worker runs a script, not TypeScript: the entry the app's bundle has, bundled here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a devDependency, loaded only here
    const esbuild = require('esbuild') as typeof import('esbuild');
    worker = path.join(dir, 'worker.js');
    esbuild.buildSync({
      stdin: {
        contents: `require(${JSON.stringify(path.join(ROOT, 'lib', 'app', 'cluster-output.ts'))}).runClusterOutputWorker(require('worker_threads').workerData);`,
        resolveDir: ROOT, loader: 'js',
      },
      outfile: worker, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error',
    });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every file is the same as in line, in the same order; the renders of the fleet are checked and drawn for each cluster', () => {
    const clusters = path.join(dir, 'clusters');
    fs.mkdirSync(clusters);
    // Three clusters of the bench's fleet and one of another namespace: fresh and known renders alike.
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(clusters, `fleet-${i}.yaml`), fleetClusterConfig(i));
    fs.writeFileSync(path.join(clusters, 'other.yaml'), fleetClusterConfig(3).replace('namespace: fleet', 'namespace: other'));
    const inline = synthesize({ configDir: clusters });
    const results = jest.spyOn(ThreadedClusterOutputs.prototype, 'results');
    const threaded = synthesize({ configDir: clusters, workerScript: worker });
    // Below WORKER_MIN_CLUSTERS the worker is not used unless asked for.
    expect(results).not.toHaveBeenCalled();
    process.env.CDK8S_TALOS_THREADS = '1';
    // Where the bundled worker finds schemas and caches, as scripts/app.js tells the app's bundle.
    process.env.CDK8S_TALOS_PROJECT_ROOT = ROOT;
    try {
      const forced = synthesize({ configDir: clusters, workerScript: worker });
      expect(results).toHaveBeenCalledTimes(1);
      expect(forced.files.map((f) => f.path)).toEqual(inline.files.map((f) => f.path));
      expect(forced.files).toEqual(inline.files);
      expect(forced.warnings).toEqual(inline.warnings);
    } finally {
      delete process.env.CDK8S_TALOS_THREADS;
      delete process.env.CDK8S_TALOS_PROJECT_ROOT;
      results.mockRestore();
    }
    expect(threaded.files).toEqual(inline.files);
    expect(inline.files.filter((f) => f.path.endsWith('/README.md')).every((f) => f.content.includes('cilium-'))).toBe(true);
  });

  test('a re-synth checks only output the gate has not passed: the worker\'s passes are stored and found in line, an edited cluster is checked again', () => {
    const clusters = path.join(dir, 'passes');
    fs.mkdirSync(clusters);
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(clusters, `fleet-${i}.yaml`), fleetClusterConfig(i));
    const env = { CDK8S_TALOS_BUNDLE: path.join(dir, 'main-0123.js'), CDK8S_TALOS_CACHE_DIR: path.join(dir, 'cache'), CDK8S_TALOS_PROJECT_ROOT: ROOT };
    Object.assign(process.env, env);
    const violations = jest.spyOn(OutputGate.prototype, 'violations');
    try {
      const checked = synthesize({ configDir: clusters });
      // Three clusters: each checked once.
      expect(violations).toHaveBeenCalledTimes(3);
      fs.rmSync(env.CDK8S_TALOS_CACHE_DIR, { recursive: true, force: true });
      violations.mockClear();
      // The worker thread checks and stores its passes (the main thread writes them).
      process.env.CDK8S_TALOS_THREADS = '1';
      expect(synthesize({ configDir: clusters, workerScript: worker }).files).toEqual(checked.files);
      delete process.env.CDK8S_TALOS_THREADS;
      const store = fs.readdirSync(path.join(env.CDK8S_TALOS_CACHE_DIR, 'gate'));
      expect(store).toHaveLength(1);
      // In line, the same keys: nothing is checked again, and the files are the same.
      expect(synthesize({ configDir: clusters }).files).toEqual(checked.files);
      expect(violations).not.toHaveBeenCalled();
      // One cluster edited: it alone is checked.
      fs.writeFileSync(path.join(clusters, 'fleet-1.yaml'), fleetClusterConfig(1, true));
      synthesize({ configDir: clusters });
      expect(violations).toHaveBeenCalledTimes(1);
      expect(violations.mock.calls[0][0].some((o) => o.metadata?.name === 'fleet-001')).toBe(true);
      // A gate of the caller's own is never skipped.
      violations.mockClear();
      synthesize({ configDir: clusters, gate: new OutputGate() });
      expect(violations).toHaveBeenCalledTimes(3);
    } finally {
      violations.mockRestore();
      delete process.env.CDK8S_TALOS_THREADS;
      for (const k of Object.keys(env)) delete process.env[k];
    }
  });
});

describe('clusterOutput and the gate\'s stored passes', () => {
  test('a violation is never remembered: the same output is checked again, and passes once fixed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-output-passes-'));
    try {
      const gate = new OutputGate();
      const refuse = jest.spyOn(gate, 'violations').mockReturnValueOnce([{ object: 'ConfigMap x', field: 'data', message: 'no' }]);
      const state = outputState(gate, new GatePasses('id', path.join(dir, 'passes.txt')));
      const job = { file: 'gitops.yaml', path: 'management/flux/gitops.k8s.yaml', objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }] };
      const refused = clusterOutput(state, job);
      expect(refused).toEqual({ violations: [{ object: 'ConfigMap x', field: 'data', message: 'no' }], files: [] });
      const passed = clusterOutput(state, job);
      expect(refuse).toHaveBeenCalledTimes(2);
      expect(passed.newPass).toBe(true);
      expect(passed.files.map((f) => f.path)).toEqual(['management/flux/gitops.k8s.yaml']);
      expect(clusterOutput(state, job)).toEqual({ ...passed, newPass: false });
      expect(refuse).toHaveBeenCalledTimes(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
