import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { OutputFile } from '../app/output';
import { UserError } from '../core/errors';
import { compareText } from '../core/naming';
import { StoredTree } from './trees';

function git(cwd: string, args: string[], input?: string): Buffer {
  try {
    return execFileSync('git', args, { cwd, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    const stderr = String(err.stderr ?? '').trim().split('\n')[0];
    throw new UserError(`git ${args[0]} failed in ${cwd}: ${stderr || err.message}`);
  }
}

/**
 * A folder of the project as committed at a git ref: its files relative to that folder, with their
 * blob ids, read only when asked for ({@link StoredTree.read}: one `git cat-file --batch` for all
 * the blobs asked for at once, whatever their number).
 *
 * A ref without the folder (e.g. the commit before the first synth) yields no files, so the plan
 * shows everything as created.
 *
 * @param projectRoot the project (a git work tree, or a folder inside one)
 * @param ref any git revision: `HEAD`, `origin/main`, a commit
 * @param folder the folder inside the project, e.g. `dist`
 * @throws UserError when the project is not in a git repository or the ref does not exist
 */
export function treeAtRef(projectRoot: string, ref: string, folder: string): StoredTree {
  git(projectRoot, ['rev-parse', '--is-inside-work-tree']);
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      throw new UserError(`git ref ${JSON.stringify(ref)} does not name a commit (try HEAD, a branch such as origin/main, or a commit id)`);
    }
  })();
  const prefix = git(projectRoot, ['rev-parse', '--show-prefix']).toString().trim();
  // `<mode> <type> <id>\t<path>` per entry, NUL-terminated; paths from the repository root.
  const listing = git(projectRoot, ['ls-tree', '-r', '-z', '--full-name', commit, '--', `${folder}/`]).toString().split('\0').filter(Boolean);
  const entries = listing.map((line) => {
    const tab = line.indexOf('\t');
    return { name: line.slice(tab + 1), blob: line.slice(0, tab).split(' ')[2] };
  });
  const names = new Map(entries.map((e) => [e.blob, e.name]));
  const files = entries.map((e) => ({ path: path.posix.relative(`${prefix}${folder}`, e.name), blob: e.blob }));
  return { files, read: (blobs) => readBlobs(projectRoot, blobs, names) };
}

/** The texts of blobs (UTF-8), in one `git cat-file --batch`. */
function readBlobs(projectRoot: string, blobs: readonly string[], names: ReadonlyMap<string, string>): string[] {
  if (blobs.length === 0) return [];
  const out = git(projectRoot, ['cat-file', '--batch'], blobs.map((b) => `${b}\n`).join(''));
  const texts: string[] = [];
  let at = 0;
  for (const blob of blobs) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString();
    const size = Number(header.split(' ')[2]);
    if (!/ blob \d+$/.test(header)) {
      throw new UserError(`git cat-file: unexpected answer for ${names.get(blob) ?? blob}: ${header}`);
    }
    texts.push(out.subarray(eol + 1, eol + 1 + size).toString('utf8'));
    at = eol + 1 + size + 1;
  }
  return texts;
}

/** Every file below a directory, relative to it with `/` separators; none when it does not exist. */
export function filesInDir(dir: string): OutputFile[] {
  if (!fs.existsSync(dir)) return [];
  const walk = (rel: string): OutputFile[] => fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? walk(p) : [{ path: p, content: fs.readFileSync(path.join(dir, p), 'utf8') }];
  });
  return walk('').sort((a, b) => compareText(a.path, b.path));
}
