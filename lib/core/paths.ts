import * as fs from 'fs';
import * as path from 'path';

/**
 * The project root: `$CDK8S_TALOS_PROJECT_ROOT` (set by scripts/app.js, which runs a bundle from
 * the cache), else the nearest directory above this module with a package.json.
 */
export const PROJECT_ROOT = process.env.CDK8S_TALOS_PROJECT_ROOT ?? findRoot(__dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..');
  }
}

/**
 * Whether this code runs as a package inside another project's node_modules, rather than in this
 * repository: caches and chart folders then belong to that project, not to the installed package.
 */
export const INSTALLED_AS_DEPENDENCY = PROJECT_ROOT.split(path.sep).includes('node_modules');

/** Generated schemas (`npm run import`). */
export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');

/**
 * Cache directory for downloaded charts, renders, compiled validators and the bundled app:
 * `$CDK8S_TALOS_CACHE_DIR` (relative to the working directory), else `.cache/` in this repository,
 * or `node_modules/.cache/cdk8s-talos-proxmox/` of the project that installed the package (an
 * installed package's own folder may be read-only and is wiped by every install). Safe to delete.
 */
export function cacheDir(): string {
  if (process.env.CDK8S_TALOS_CACHE_DIR) return path.resolve(process.env.CDK8S_TALOS_CACHE_DIR);
  return INSTALLED_AS_DEPENDENCY
    ? path.resolve('node_modules', '.cache', 'cdk8s-talos-proxmox')
    : path.join(PROJECT_ROOT, '.cache');
}
