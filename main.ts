/**
 * The cdk8s app: one chart per `clusters/*.yaml`, published to dist/.
 *
 * `cdk8s synth` wipes its output directory before running the app, so the CLI's output is a
 * scratch directory (`.cdk8s.out`, see cdk8s.yaml) and this app publishes dist/ itself, in one
 * step and only after every cluster synthesized. Errors a user can cause print as messages.
 */
import * as path from 'path';
import { publish } from './lib/app/output';
import { synthesize } from './lib/app/synth';
import { UserError } from './lib/core/errors';
import { PROJECT_ROOT } from './lib/core/paths';

function main(): void {
  const root = PROJECT_ROOT;
  const configDir = path.resolve(process.env.CLUSTERS_DIR ?? path.join(root, 'clusters'));
  const distDir = path.resolve(process.env.DIST_DIR ?? path.join(root, 'dist'));
  const gitopsFile = path.relative(process.cwd(), path.resolve(process.env.GITOPS_CONFIG ?? path.join(root, 'gitops.yaml')));
  const { files, warnings } = synthesize({ configDir, gitopsFile });
  for (const w of warnings) console.error(`warning: ${w}`);
  publish(distDir, files);
  const scratch = process.env.CDK8S_OUTDIR;
  if (scratch && path.resolve(scratch) !== distDir) publish(scratch, files);
  console.log(`wrote ${files.length} file(s) to ${path.relative(process.cwd(), distDir) || '.'}/`);
}

try {
  main();
} catch (e) {
  if (e instanceof UserError) {
    console.error(`error: ${e.message.split('\n').join('\nerror: ')}`);
    process.exit(1);
  }
  throw e;
}
