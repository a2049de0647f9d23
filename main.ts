/**
 * The cdk8s app: one chart per `clusters/*.yaml`, published to dist/.
 *
 * `cdk8s synth` wipes its output directory before running the app, so the CLI's output is a
 * scratch directory (`.cdk8s.out`, see cdk8s.yaml) and this app publishes dist/ itself, in one
 * step and only after every cluster synthesized (lib/app/output.ts). Errors a user can cause print
 * as messages.
 *
 * The app runs in the project root whatever the working directory it was started in, so that the
 * file names in the output (headers, runbooks) do not depend on it; paths given in the environment
 * stay relative to where the user started it.
 */
import * as os from 'os';
import * as path from 'path';
import { workerData } from 'worker_threads';
import { isClusterOutputWorker, runClusterOutputWorker } from './lib/app/cluster-output';
import { publish, PublishStep, recoverPublish, scratchManifests } from './lib/app/output';
import { synthesize } from './lib/app/synth';
import { UserError } from './lib/core/errors';
import { PROJECT_ROOT } from './lib/core/paths';

/** Variables holding one path each (a bare HELM_BIN is a command looked up on PATH, left alone). */
const PATH_VARIABLES = ['CLUSTERS_DIR', 'DIST_DIR', 'GITOPS_CONFIG', 'CDK8S_OUTDIR', 'CDK8S_TALOS_CACHE_DIR', 'HELM_BIN'];
/** Variables holding a path list. */
const PATH_LIST_VARIABLES = ['CHARTS_DIR'];

/** Makes the paths of the environment absolute against `cwd`, so that they survive a chdir. */
function anchorEnvironmentPaths(cwd: string): void {
  for (const name of PATH_VARIABLES) {
    const value = process.env[name];
    if (!value || (name === 'HELM_BIN' && !value.includes('/') && !value.includes(path.sep))) continue;
    process.env[name] = path.resolve(cwd, value);
  }
  for (const name of PATH_LIST_VARIABLES) {
    const value = process.env[name];
    if (value) process.env[name] = value.split(path.delimiter).map((d) => (d ? path.resolve(cwd, d) : d)).join(path.delimiter);
  }
}

/** A path for a message: relative to where the user is when that is shorter to read, else absolute. */
function shown(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

function main(): void {
  const root = PROJECT_ROOT;
  const cwd = process.cwd();
  anchorEnvironmentPaths(cwd);
  process.chdir(root);
  const configDir = path.resolve(process.env.CLUSTERS_DIR ?? path.join(root, 'clusters'));
  const distDir = path.resolve(process.env.DIST_DIR ?? path.join(root, 'dist'));
  const gitopsFile = path.relative(root, path.resolve(process.env.GITOPS_CONFIG ?? path.join(root, 'gitops.yaml')));
  // The cdk8s CLI shows the app's stderr only (it reads and drops its stdout).
  const scratch = process.env.CDK8S_OUTDIR;
  const underCli = Boolean(scratch);
  const say = (line: string) => (underCli ? process.stderr : process.stdout).write(`${line}\n`);
  if (scratch && !isCliScratch(scratch)) {
    console.error(`warning: the cdk8s CLI emptied ${shown(cwd, scratch)} before this app ran (\`cdk8s synth -o\`); run \`npm run synth\`, which refuses -o and keeps the scratch output in .cdk8s.out/`);
  }

  // Repair an interrupted publish first, so that a failing synth still leaves a complete dist/.
  const recovered = recoverPublish(distDir);
  if (recovered.restoredFrom) console.error(`note: restored ${shown(cwd, distDir)}/ from an interrupted publish`);

  // scripts/app.js names its bundle: the worker thread of a large synth runs it too.
  const { files, warnings } = synthesize({ configDir, gitopsFile, workerScript: process.env.CDK8S_TALOS_BUNDLE });
  for (const w of warnings) console.error(`warning: ${w}`);
  publish(distDir, files, { onStep: stopHook() });
  if (scratch && path.resolve(scratch) !== distDir) scratchManifests(scratch, files);
  say(`wrote ${files.length} file(s) to ${shown(cwd, distDir)}/${underCli ? ` (the cdk8s CLI lists its scratch copy of the manifests in ${shown(cwd, scratch!)}/)` : ''}`);
}

/**
 * Whether the CLI's output directory is the scratch directory of cdk8s.yaml (`.cdk8s.out`) or the
 * temporary one of `cdk8s synth --stdout`: anything else was named by `-o`/`CDK8S_OUTPUT`, and the
 * CLI emptied it.
 */
function isCliScratch(scratch: string): boolean {
  const abs = path.resolve(scratch);
  return path.basename(abs) === '.cdk8s.out' || (/^cdk8s-/.test(path.basename(abs)) && path.dirname(abs) === path.resolve(os.tmpdir()));
}

/**
 * Test hook: `CDK8S_TALOS_PUBLISH_STOP_AT=<step>` kills this process with SIGKILL at that step of
 * publishing dist/ (lib/app/output.ts), so tests can check what every interruption leaves.
 */
function stopHook(): ((step: PublishStep) => void) | undefined {
  const stopAt = process.env.CDK8S_TALOS_PUBLISH_STOP_AT;
  if (!stopAt) return undefined;
  return (step) => {
    if (step !== stopAt) return;
    process.kill(process.pid, 'SIGKILL');
    // Nothing of the publish may run while the signal is on its way.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  };
}

if (isClusterOutputWorker(workerData)) {
  // This bundle on the worker thread of a large synth (lib/app/cluster-output.ts).
  runClusterOutputWorker(workerData);
} else {
  try {
    main();
  } catch (e) {
    fail(e);
  }
}

/** Prints a user's error as a message and exits 1; anything else is a bug, with its stack. */
function fail(e: unknown): void {
  if (e instanceof UserError) {
    console.error(`error: ${e.message.split('\n').join('\nerror: ')}`);
    process.exit(1);
  }
  throw e;
}
