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

/** Generated schemas (`npm run import`). */
export const SCHEMAS_DIR = path.join(PROJECT_ROOT, 'schemas');

/**
 * Cache directory for downloaded charts, renders, compiled validators and the bundled app:
 * `$CDK8S_TALOS_CACHE_DIR`, else `.cache/` in the project. Safe to delete.
 */
export function cacheDir(): string {
  return path.resolve(PROJECT_ROOT, process.env.CDK8S_TALOS_CACHE_DIR ?? '.cache');
}
