import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetClusterConfig } from '../../bench/fleet';
import { ThreadedClusterOutputs, useWorkerThread, WORKER_MIN_CLUSTERS } from '../../lib/app/cluster-output';
import { synthesize } from '../../lib/app/synth';

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
});
