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
 *   --json                 print the plan as JSON
 *
 * Exit codes: 0 safe, 1 something destructive, rejected or unsafe (not allowed), 2 an error.
 */
import * as path from 'path';
import { synthesize } from '../lib/app/synth';
import { UserError } from '../lib/core/errors';
import { PROJECT_ROOT } from '../lib/core/paths';
import { blockingFindings, computePlan, FindingKind } from '../lib/plan/plan';
import { formatPlan } from '../lib/plan/report';
import { filesAtRef, filesInDir } from '../lib/plan/sources';

const USAGE = 'usage: npm run plan -- [--ref <git revision>] [--committed <dir>] [--dist <dir>] [--allow-destructive] [--allow-rejected] [--allow-unsafe] [--json]';

function parseArgs(argv: string[]) {
  const opts = { ref: 'HEAD', committed: path.join(PROJECT_ROOT, 'dist'), dist: undefined as string | undefined, json: false, allowed: new Set<FindingKind>() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UserError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    switch (a) {
      case '--ref': opts.ref = value(); break;
      case '--dist': opts.dist = value(); break;
      case '--committed': opts.committed = path.resolve(value()); break;
      case '--json': opts.json = true; break;
      case '--allow-destructive': opts.allowed.add(FindingKind.DESTRUCTIVE); break;
      case '--allow-rejected': opts.allowed.add(FindingKind.REJECTED); break;
      case '--allow-unsafe': opts.allowed.add(FindingKind.UNSAFE); break;
      default: throw new UserError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  return opts;
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  const before = filesAtRef(path.dirname(opts.committed), opts.ref, path.basename(opts.committed));
  let after;
  if (opts.dist) {
    after = filesInDir(path.resolve(opts.dist));
  } else {
    const configDir = path.resolve(process.env.CLUSTERS_DIR ?? path.join(PROJECT_ROOT, 'clusters'));
    const gitopsFile = path.relative(process.cwd(), path.resolve(process.env.GITOPS_CONFIG ?? path.join(PROJECT_ROOT, 'gitops.yaml')));
    const result = synthesize({ configDir, gitopsFile });
    for (const w of result.warnings) console.error(`warning: ${w}`);
    after = result.files;
  }
  const plan = computePlan(before, after);
  const against = `dist/ at ${opts.ref}`;
  process.stdout.write(opts.json ? `${JSON.stringify({ against, ...plan, blocking: blockingFindings(plan, opts.allowed) }, null, 2)}\n` : formatPlan(plan, against, opts.allowed));
  return blockingFindings(plan, opts.allowed).length > 0 ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  console.error(`error: ${e.message.split('\n').join('\nerror: ')}`);
  process.exitCode = 2;
}
