import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { OutputFile } from '../app/output';
import { UserError } from '../core/errors';
import { compareText } from '../core/naming';

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
 * The files of a folder of the project as committed at a git ref, relative to that folder.
 *
 * A ref without the folder (e.g. the commit before the first synth) yields no files, so the plan
 * shows everything as created.
 *
 * @param projectRoot the project (a git work tree, or a folder inside one)
 * @param ref any git revision: `HEAD`, `origin/main`, a commit
 * @param folder the folder inside the project, e.g. `dist`
 * @throws UserError when the project is not in a git repository or the ref does not exist
 */
export function filesAtRef(projectRoot: string, ref: string, folder: string): OutputFile[] {
  git(projectRoot, ['rev-parse', '--is-inside-work-tree']);
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      throw new UserError(`git ref ${JSON.stringify(ref)} does not name a commit (try HEAD, a branch such as origin/main, or a commit id)`);
    }
  })();
  const prefix = git(projectRoot, ['rev-parse', '--show-prefix']).toString().trim();
  const names = git(projectRoot, ['ls-tree', '-r', '-z', '--full-name', '--name-only', commit, '--', `${folder}/`])
    .toString().split('\0').filter(Boolean);
  if (names.length === 0) return [];
  // One `git cat-file --batch` for all files: one process, whatever the fleet size.
  const out = git(projectRoot, ['cat-file', '--batch'], names.map((n) => `${commit}:${n}`).join('\n') + '\n');
  const files: OutputFile[] = [];
  let at = 0;
  for (const name of names) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString();
    const size = Number(header.split(' ')[2]);
    if (!/ blob \d+$/.test(header)) throw new UserError(`git cat-file: unexpected answer for ${name}: ${header}`);
    files.push({ path: path.posix.relative(`${prefix}${folder}`, name), content: out.subarray(eol + 1, eol + 1 + size).toString('utf8') });
    at = eol + 1 + size + 1;
  }
  return files;
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
