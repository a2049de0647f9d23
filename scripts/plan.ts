/**
 * `npm run plan [-- options]`: synthesizes (or reads a dist/ directory) and explains what
 * applying it would change compared with the dist/ committed at a git ref.
 *
 *   --ref <rev>            compare with dist/ at this git revision (default HEAD)
 *   --committed <dir>      the committed dist/ to compare with (default the project's dist/)
 *   --dist <dir>           compare this directory (e.g. a hand-edited dist/) instead of a fresh synth
 *   --allow-destructive    exit 0 even when clusters, control planes or pools are deleted
 *   --allow-rejected       exit 0 even when a change will be refused by the API server or a webhook
 *   --allow-unsafe         exit 0 even when an upgrade breaks the version rules
 *   --json                 print the plan as JSON (under npm: `npm run -s plan -- --json`; without
 *                          -s npm prints its banner line on stdout first)
 *
 * Exit codes: 0 safe, 1 something destructive, rejected or unsafe (not allowed), 2 an error.
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { workerData } from 'worker_threads';
import { isClusterOutputWorker, runClusterOutputWorker } from '../lib/app/cluster-output';
import { synthesize } from '../lib/app/synth';
import { UserError } from '../lib/core/errors';
import { PROJECT_ROOT } from '../lib/core/paths';
import { blockingFindings, computePlan, FindingKind } from '../lib/plan/plan';
import { formatPlan } from '../lib/plan/report';
import { filesInDir, treeAtRef } from '../lib/plan/sources';

const USAGE = 'usage: npm run plan -- [--ref <git revision>] [--committed <dir>] [--dist <dir>] [--allow-destructive] [--allow-rejected] [--allow-unsafe] [--json]';

/**
 * What the command reads and writes besides its arguments, so that tests can run it in-process.
 *
 * There is no working directory here: synthesis names source files relative to the process's
 * working directory (they appear in the generated headers), so relative paths must resolve against
 * that same directory for a fresh synth to equal the committed dist/.
 */
export interface PlanIo {
  /**
   * Environment: CLUSTERS_DIR, GITOPS_CONFIG; CDK8S_TALOS_BUNDLE (set by scripts/app.js: the bundle
   * this runs from, which a large synth also runs on a worker thread, as main.ts's does).
   */
  readonly env: NodeJS.ProcessEnv;
  /** The plan (text or JSON). */
  readonly stdout: { write(text: string): unknown };
  /** Warnings and errors. */
  readonly stderr: { write(text: string): unknown };
}

interface Options {
  readonly ref: string;
  readonly committed: string;
  readonly dist?: string;
  readonly json: boolean;
  readonly allowed: ReadonlySet<FindingKind>;
}

function parseCommandLine(argv: readonly string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'ref': { type: 'string', default: 'HEAD' },
        'committed': { type: 'string' },
        'dist': { type: 'string' },
        'json': { type: 'boolean', default: false },
        'allow-destructive': { type: 'boolean', default: false },
        'allow-rejected': { type: 'boolean', default: false },
        'allow-unsafe': { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new UserError(`${commandLineProblem(e as NodeJS.ErrnoException)}\n${USAGE}`);
  }
  const allowed = new Set<FindingKind>();
  if (values['allow-destructive']) allowed.add(FindingKind.DESTRUCTIVE);
  if (values['allow-rejected']) allowed.add(FindingKind.REJECTED);
  if (values['allow-unsafe']) allowed.add(FindingKind.UNSAFE);
  return {
    ref: values.ref,
    committed: path.resolve(values.committed ?? path.join(PROJECT_ROOT, 'dist')),
    dist: values.dist,
    json: values.json,
    allowed,
  };
}

/**
 * parseArgs' messages explain its own syntax ("argument is ambiguous … use '--ref=-XYZ'"); print
 * the short ones this command has always printed instead, naming the argument as typed.
 */
function commandLineProblem(err: NodeJS.ErrnoException): string {
  // The argument or option appears quoted in the message, e.g. "Unknown option '--bogus'".
  const quoted = /'([^']*)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return quoted !== undefined ? `unknown argument ${JSON.stringify(quoted)}` : err.message;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--ref <value>' argument missing", "... argument is ambiguous" (value starts with -),
      // "Option '--json' does not take an argument".
      const option = quoted?.split(' ')[0];
      if (option === undefined) return err.message;
      return /does not take an argument/.test(err.message) ? `${option} does not take a value` : `${option} needs a value`;
    }
    default:
      return err.message;
  }
}

/**
 * Runs `npm run plan` with the arguments after `--`.
 *
 * @returns the exit code: 0 safe, 1 blocked by a finding that is not allowed, 2 a user error
 *   (bad command line, unknown ref, invalid config), whose message went to `io.stderr`
 * @throws anything that is not a {@link UserError}: a bug, which keeps its stack trace
 */
export function main(argv: readonly string[], io: PlanIo): number {
  try {
    return run(argv, io);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    io.stderr.write(`error: ${e.message.split('\n').join('\nerror: ')}\n`);
    return 2;
  }
}

function run(argv: readonly string[], io: PlanIo): number {
  const opts = parseCommandLine(argv);
  const before = treeAtRef(path.dirname(opts.committed), opts.ref, path.basename(opts.committed));
  let after;
  if (opts.dist) {
    after = filesInDir(path.resolve(opts.dist));
  } else {
    const configDir = path.resolve(io.env.CLUSTERS_DIR ?? path.join(PROJECT_ROOT, 'clusters'));
    const gitopsFile = path.resolve(io.env.GITOPS_CONFIG ?? path.join(PROJECT_ROOT, 'gitops.yaml'));
    const result = synthesize({ configDir, gitopsFile, workerScript: io.env.CDK8S_TALOS_BUNDLE });
    for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
    after = result.files;
  }
  const plan = computePlan(before, after);
  const against = `dist/ at ${opts.ref}`;
  const blocking = blockingFindings(plan, opts.allowed);
  io.stdout.write(opts.json ? `${JSON.stringify({ against, ...plan, blocking }, null, 2)}\n` : formatPlan(plan, against, opts.allowed));
  return blocking.length > 0 ? 1 : 0;
}

/**
 * Runs the command in this process with its streams and environment, setting the exit code.
 * `npm run plan` runs it from the bundle scripts/app.js builds (`node scripts/app.js plan`).
 */
export function cli(argv: readonly string[] = process.argv.slice(2)): void {
  if (isClusterOutputWorker(workerData)) {
    // This bundle on the worker thread of a large synth (lib/app/cluster-output.ts).
    runClusterOutputWorker(workerData);
    return;
  }
  // As with console.error, which wrote warnings and errors before: a closed stderr is ignored.
  process.stderr.on('error', () => {});
  process.exitCode = main(argv, { env: process.env, stdout: process.stdout, stderr: process.stderr });
}

// Run as TypeScript (tsx scripts/plan.ts). In a bundle (scripts/app.js), whose entry calls cli(),
// `module` is the bundle's own, which is the main module of the synth's worker thread.
if (require.main === module && __filename.endsWith('.ts')) cli();
