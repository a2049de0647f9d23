import { execFile, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { OutputFile, publish, PublishStep, recoverPublish } from '../../lib/app/output';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const APP = path.join(ROOT, 'scripts', 'app.js');
const STEPS: PublishStep[] = ['writing', 'written', 'ready', 'aside', 'carrying', 'installed'];

/** Every file of a tree, `/`-separated path to content; undefined when the tree does not exist. */
function readTree(dir: string): Record<string, string> | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else out[p] = fs.readFileSync(path.join(dir, p), 'utf8');
    }
  };
  walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function writeFiles(dir: string, tree: Record<string, string>): void {
  for (const [p, content] of Object.entries(tree)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), content);
  }
}

/** A pid no process has: that of a child that already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

const files = (tree: Record<string, string>): OutputFile[] => Object.entries(tree).map(([p, content]) => ({ path: p, content }));

describe('publish and recoverPublish (lib/app/output.ts)', () => {
  let work: string;
  let dist: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-'));
    dist = path.join(work, 'dist');
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));
  const OLD = { 'a/a.yaml': 'old a\n', 'gone/gone.yaml': 'gone\n' };
  const NEW = { 'a/a.yaml': 'new a\n', 'b/b.yaml': 'new b\n' };

  test('replaces the tree with exactly the files, leaves nothing beside it, and calls every step in order', () => {
    writeFiles(dist, OLD);
    const steps: PublishStep[] = [];
    publish(dist, files(NEW), { onStep: (s) => steps.push(s) });
    expect(readTree(dist)).toEqual(NEW);
    expect(fs.readdirSync(work)).toEqual(['dist']);
    expect(steps).toEqual(STEPS);
  });

  test('a large tree (a fleet\'s thousands of files, deleted with rm -rf) is replaced just the same', () => {
    const tree = (version: string) => Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`c${i}/c${i}.yaml`, `${version} ${i}\n`]));
    writeFiles(dist, tree('old'));
    publish(dist, files(tree('new')));
    expect(readTree(dist)).toEqual(tree('new'));
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('a file the old tree holds unchanged is hard-linked from it (inode and time kept); a changed, new or linked one is written', () => {
    const before = { 'a/same.yaml': 'same\n', 'a/changed.yaml': 'old text\n', 'b/link.yaml': 'target\n' };
    writeFiles(dist, before);
    // A symbolic link in the old tree that points at a file with the new bytes: never reused.
    fs.writeFileSync(path.join(work, 'outside.yaml'), 'linked\n');
    fs.rmSync(path.join(dist, 'b', 'link.yaml'));
    fs.symlinkSync(path.join(work, 'outside.yaml'), path.join(dist, 'b', 'link.yaml'));
    const old = (f: string) => fs.lstatSync(path.join(dist, f));
    const same = old('a/same.yaml');
    const after = { 'a/same.yaml': 'same\n', 'a/changed.yaml': 'new text\n', 'b/link.yaml': 'linked\n', 'c/new.yaml': 'new\n' };
    publish(dist, files(after));
    expect(readTree(dist)).toEqual(after);
    const now = (f: string) => fs.lstatSync(path.join(dist, f));
    expect(now('a/same.yaml').ino).toBe(same.ino);
    expect(now('a/same.yaml').mtimeMs).toBe(same.mtimeMs);
    expect(now('a/same.yaml').nlink).toBe(1);
    expect(now('b/link.yaml').isFile()).toBe(true);
    expect(fs.readFileSync(path.join(work, 'outside.yaml'), 'utf8')).toBe('linked\n');
    expect(fs.readdirSync(work).sort()).toEqual(['dist', 'outside.yaml']);
    // A cluster folder that is a symbolic link to a folder elsewhere: its files are not tied to the new tree.
    const elsewhere = path.join(work, 'elsewhere');
    writeFiles(elsewhere, { 'same.yaml': 'same\n' });
    fs.rmSync(path.join(dist, 'a'), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(dist, 'a'));
    publish(dist, files(after));
    expect(readTree(dist)).toEqual(after);
    expect(now('a/same.yaml').ino).not.toBe(fs.statSync(path.join(elsewhere, 'same.yaml')).ino);
    expect(fs.statSync(path.join(elsewhere, 'same.yaml')).nlink).toBe(1);
    fs.rmSync(elsewhere, { recursive: true });
    // Same length, other bytes (a hand edit): written afresh.
    fs.writeFileSync(path.join(dist, 'c', 'new.yaml'), 'NEW\n');
    publish(dist, files(after));
    expect(readTree(dist)).toEqual(after);
  });

  test('a top folder the old tree holds exactly is moved into the new tree whole; one with any difference is written', () => {
    const before = {
      'same/a.yaml': 'a\n', 'same/deep/b.yaml': 'b\n', 'changed/a.yaml': 'old\n', 'changed/b.yaml': 'b\n',
      'extra/a.yaml': 'a\n', 'emptyfolder/a.yaml': 'a\n', 'longer/a.yaml': 'a\n', 'gone/a.yaml': 'a\n', 'README.md': 'fleet\n',
    };
    writeFiles(dist, before);
    // A file and an empty folder the new tree does not have; a file with the new bytes and more.
    fs.writeFileSync(path.join(dist, 'extra', 'hand-edit.yaml'), 'x\n');
    fs.mkdirSync(path.join(dist, 'emptyfolder', 'empty'));
    fs.appendFileSync(path.join(dist, 'longer', 'a.yaml'), 'more\n');
    const folder = (f: string) => fs.lstatSync(path.join(dist, f)).ino;
    const inodes = Object.fromEntries(['same', 'same/deep', 'changed', 'extra', 'emptyfolder', 'longer'].map((f) => [f, folder(f)]));
    const sameFile = fs.lstatSync(path.join(dist, 'same', 'deep', 'b.yaml'));
    const after = { ...before, 'changed/a.yaml': 'new\n', 'new/a.yaml': 'a\n' };
    delete (after as Record<string, string>)['gone/a.yaml'];
    const steps: PublishStep[] = [];
    publish(dist, files(after), { onStep: (s) => steps.push(s) });
    expect(readTree(dist)).toEqual(after);
    expect(steps).toEqual(STEPS);
    // Moved whole: the same folders and files (inode, time, one link).
    expect(folder('same')).toBe(inodes.same);
    expect(folder('same/deep')).toBe(inodes['same/deep']);
    const movedFile = fs.lstatSync(path.join(dist, 'same', 'deep', 'b.yaml'));
    expect([movedFile.ino, movedFile.mtimeMs, movedFile.nlink]).toEqual([sameFile.ino, sameFile.mtimeMs, 1]);
    // A changed or longer file, an extra file or an extra folder: a new folder.
    for (const f of ['changed', 'extra', 'emptyfolder', 'longer']) expect(folder(f)).not.toBe(inodes[f]);
    expect(fs.readdirSync(work)).toEqual(['dist']);
    // Nothing changed: every folder moved, nothing beside the tree afterwards.
    const all = folder('same');
    publish(dist, files(after));
    expect(readTree(dist)).toEqual(after);
    expect(folder('same')).toBe(all);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('a tree that is itself a symbolic link keeps its target whole: nothing is moved or linked out of it', () => {
    const target = path.join(work, 'target');
    const tree = { 'a/a.yaml': 'a\n', 'b/b.yaml': 'b\n' };
    writeFiles(target, tree);
    fs.symlinkSync(target, dist);
    publish(dist, files(tree));
    expect(fs.lstatSync(dist).isDirectory()).toBe(true);
    expect(readTree(dist)).toEqual(tree);
    expect(readTree(target)).toEqual(tree);
    expect(fs.statSync(path.join(target, 'a', 'a.yaml')).nlink).toBe(1);
    expect(fs.readdirSync(work).sort()).toEqual(['dist', 'target']);
  });

  test('a folder that cannot be moved (here: gone from the old tree meanwhile): the old tree is put back and every file written instead', () => {
    const tree = { 'a/a.yaml': 'a\n', 'b/b.yaml': 'b\n' };
    writeFiles(dist, tree);
    const steps: PublishStep[] = [];
    publish(dist, files({ ...tree, 'c/c.yaml': 'c\n' }), {
      onStep: (s) => {
        steps.push(s);
        if (s === 'aside' && steps.filter((x) => x === 'aside').length === 1) fs.rmSync(path.join(work, `.dist.prev-${process.pid}`, 'b'), { recursive: true });
      },
    });
    expect(readTree(dist)).toEqual({ ...tree, 'c/c.yaml': 'c\n' });
    // The second of the two folders failed: the first attempt got halfway through the moves.
    expect(steps).toEqual(['writing', 'written', 'ready', 'aside', 'carrying', ...STEPS]);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('killed while moving folders: the staged tree takes the rest of its journal\'s folders from the old one', () => {
    const pid = deadPid();
    const ready = path.join(work, `.dist.ready-${pid}`);
    const prev = path.join(work, `.dist.prev-${pid}`);
    writeFiles(ready, { 'a/a.yaml': 'new a\n', 'kept1/k.yaml': 'k1\n', '.carried-folders.json': '["kept1","kept2"]' });
    writeFiles(prev, { 'a/a.yaml': 'old a\n', 'kept2/k.yaml': 'k2\n', 'gone/g.yaml': 'g\n' });
    expect(recoverPublish(dist).restoredFrom).toBe(ready);
    expect(readTree(dist)).toEqual({ 'a/a.yaml': 'new a\n', 'kept1/k.yaml': 'k1\n', 'kept2/k.yaml': 'k2\n' });
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('a journal that cannot be completed (a folder in neither tree, or not a list of folder names): the old tree is restored whole', () => {
    for (const journal of ['["kept1","lost"]', '["../outside"]', '{"kept1":true}', '["kept1"']) {
      const pid = deadPid();
      writeFiles(path.join(work, `.dist.ready-${pid}`), { 'a/a.yaml': 'new a\n', '.carried-folders.json': journal });
      writeFiles(path.join(work, `.dist.prev-${pid}`), { 'a/a.yaml': 'old a\n', 'kept1/k.yaml': 'k1\n' });
      expect(recoverPublish(dist).restoredFrom).toBe(path.join(work, `.dist.prev-${pid}`));
      expect(readTree(dist)).toEqual({ 'a/a.yaml': 'old a\n', 'kept1/k.yaml': 'k1\n' });
      expect(fs.readdirSync(work)).toEqual(['dist']);
      fs.rmSync(dist, { recursive: true });
    }
  });

  test('staging folders named by this process\'s pid when it is not publishing are an earlier process\'s (pids repeat): not merged into', () => {
    writeFiles(dist, OLD);
    writeFiles(path.join(work, `.dist.next-${process.pid}`), { 'stale/stale.yaml': 'stale\n' });
    publish(dist, files(NEW));
    expect(readTree(dist)).toEqual(NEW);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('a missing dir is restored from a complete staged tree (killed between the renames), the old one deleted', () => {
    const pid = deadPid();
    writeFiles(path.join(work, `.dist.ready-${pid}`), NEW);
    writeFiles(path.join(work, `.dist.prev-${pid}`), OLD);
    const r = recoverPublish(dist);
    expect(r.restoredFrom).toBe(path.join(work, `.dist.ready-${pid}`));
    expect(readTree(dist)).toEqual(NEW);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('a missing dir without a staged tree comes back from the previous one, also of the earlier undotted naming', () => {
    const pid = deadPid();
    writeFiles(path.join(work, `dist.prev-${pid}`), OLD);
    writeFiles(path.join(work, `dist.next-${pid}`), { 'a/a.yaml': 'incomplete' });
    recoverPublish(dist);
    expect(readTree(dist)).toEqual(OLD);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });

  test('incomplete, superseded and half-deleted trees are deleted and never restored; a running process\'s are left alone', () => {
    const pid = deadPid();
    writeFiles(dist, OLD);
    for (const state of ['next', 'ready', 'prev', 'trash']) writeFiles(path.join(work, `.dist.${state}-${pid}`), NEW);
    writeFiles(path.join(work, `.dist.trash-${pid}.3`), NEW);
    // A process that is alive: its folders belong to a publish in progress.
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFiles(path.join(work, `.dist.next-${alive.pid}`), NEW);
      writeFiles(path.join(work, 'dist.next-notapid'), NEW);
      expect(recoverPublish(dist).removed).toHaveLength(5);
      expect(readTree(dist)).toEqual(OLD);
      expect(fs.readdirSync(work).sort()).toEqual([`.dist.next-${alive.pid}`, 'dist', 'dist.next-notapid']);
    } finally {
      alive.kill();
    }

    fs.rmSync(dist, { recursive: true });
    writeFiles(path.join(work, `.dist.trash-${pid}`), NEW);
    recoverPublish(dist);
    expect(fs.existsSync(dist)).toBe(false);
  });

  test('a publish after an interrupted one cleans up and ends with the complete new tree', () => {
    const pid = deadPid();
    writeFiles(path.join(work, `.dist.prev-${pid}`), OLD);
    writeFiles(path.join(work, `.dist.next-${pid}`), { 'a/a.yaml': 'incomplete' });
    publish(dist, files(NEW));
    expect(readTree(dist)).toEqual(NEW);
    expect(fs.readdirSync(work)).toEqual(['dist']);
  });
});

describe('the synth app killed at each step of publishing dist/ (CDK8S_TALOS_PUBLISH_STOP_AT)', () => {
  const run = promisify(execFile);
  const git = (cwd: string, ...args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8' });
  let work: string;
  beforeAll(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-kill-')); });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('every interruption leaves nothing untracked in git, dist/ whole (old, new or missing), and the next synth the complete new tree', async () => {
    const expected = readTree(DIST)!;
    // An old tree: the next synth changes a file and deletes a folder.
    const old = { ...expected, 'homelab/homelab.k8s.yaml': `${expected['homelab/homelab.k8s.yaml']}# old\n`, 'gone/gone.k8s.yaml': 'gone\n' };
    // One run first, so that the parallel runs below find the app's bundle built (scripts/app.js
    // builds it on the first run after a source changed).
    await run(process.execPath, [APP], { cwd: work, env: { ...process.env, DIST_DIR: path.join(work, 'warm-up'), CDK8S_OUTDIR: '' } });
    await Promise.all(STEPS.map(async (step) => {
      const repo = path.join(work, step);
      const dist = path.join(repo, 'dist');
      fs.mkdirSync(repo);
      fs.copyFileSync(path.join(ROOT, '.gitignore'), path.join(repo, '.gitignore'));
      writeFiles(dist, old);
      git(repo, 'init', '-q');
      git(repo, 'add', '.');
      expect(git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'old').status).toBe(0);

      const env = { ...process.env, DIST_DIR: dist, CDK8S_OUTDIR: '' };
      const killed = await run(process.execPath, [APP], { cwd: repo, env: { ...env, CDK8S_TALOS_PUBLISH_STOP_AT: step } })
        .then(() => 'exit 0', (e: { signal?: string; code?: number; stderr?: string }) => e.signal ?? `exit ${e.code}: ${e.stderr}`);
      expect(killed).toBe('SIGKILL');
      const status = git(repo, 'status', '--porcelain', '--untracked-files=all');
      expect(status.status).toBe(0);
      expect(status.stdout.split('\n').filter((l) => l.startsWith('??'))).toEqual([]);
      // No half-written file: dist/ is one whole tree, or missing for a moment.
      expect([undefined, old, expected]).toContainEqual(readTree(dist));

      await run(process.execPath, [APP], { cwd: repo, env });
      expect(readTree(dist)).toEqual(expected);
      expect(fs.readdirSync(repo).sort()).toEqual(['.git', '.gitignore', 'dist']);
    }));
  });
});

describe('the output does not depend on where and how the app runs', () => {
  let work: string;
  beforeAll(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-env-')); });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('another working directory, time zone, locale and umask, with a fresh cache: byte for byte the committed dist/', () => {
    const dist = path.join(work, 'dist');
    const result = spawnSync('sh', ['-c', 'umask 077; exec "$0" "$@"', process.execPath, APP], {
      cwd: work,
      encoding: 'utf8',
      env: {
        ...process.env, DIST_DIR: 'dist', CDK8S_OUTDIR: '', CDK8S_TALOS_CACHE_DIR: 'cache',
        TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8',
      },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // Relative paths of the environment are the caller's, not the project root's.
    expect(fs.existsSync(path.join(work, 'cache'))).toBe(true);
    expect(result.stdout).toBe(`wrote ${Object.keys(readTree(DIST)!).length} file(s) to dist/\n`);
    const written = readTree(dist)!;
    expect(Object.keys(written)).toEqual(Object.keys(readTree(DIST)!));
    for (const f of Object.keys(written)) {
      expect(fs.readFileSync(path.join(dist, f)).equals(fs.readFileSync(path.join(DIST, f)))).toBe(true);
    }
  });
});
