/**
 * Which entries of clusters/ are cluster files (findClusterSources), and how synth ends when one
 * is named like a cluster file but is not one: a message per entry, exit 1, no stack trace.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import { buildClusters, findClusterSources } from '../../lib/app/clusters';
import { ROOT, validationErrorLines } from '../util';

const HOMELAB = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-files-')); });
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const at = (...parts: string[]) => path.join(dir, ...parts);
/** How messages name an entry: relative to the working directory. */
const shown = (name: string) => path.relative(process.cwd(), at(name)).split(path.sep).join('/');
const found = () => findClusterSources(dir).map((s) => [path.basename(s.path), s.kind]);
const problems = () => validationErrorLines(() => findClusterSources(dir));

describe('cluster files: regular, non-hidden *.yaml, *.yml and *.ts (not *.d.ts) directly in clusters/', () => {
  test('hidden files, other names and subfolders\' files are not cluster files', () => {
    fs.writeFileSync(at('a.yml'), HOMELAB);
    fs.writeFileSync(at('b.yaml'), HOMELAB);
    fs.writeFileSync(at('c.ts'), 'export {};');
    fs.writeFileSync(at('.hidden.yaml'), 'not: a cluster');
    fs.writeFileSync(at('types.d.ts'), 'export {};');
    fs.writeFileSync(at('notes.txt'), 'ignored');
    fs.writeFileSync(at('b.yaml~'), 'an editor backup');
    fs.mkdirSync(at('lib'));
    fs.writeFileSync(at('lib', 'shared.yaml'), 'not: a cluster');
    fs.writeFileSync(at('lib', 'helpers.ts'), 'export {};');
    expect(found()).toEqual([['a.yml', 'yaml'], ['b.yaml', 'yaml'], ['c.ts', 'typescript']]);
  });

  test('an editor lock file (.#x.yaml, a dangling symbolic link) is skipped, as any hidden entry', () => {
    fs.writeFileSync(at('homelab.yaml'), HOMELAB);
    fs.symlinkSync('user@host.12345:1700000000', at('.#homelab.yaml'));
    fs.symlinkSync('.loop.yaml', at('.loop.yaml'));
    fs.mkdirSync(at('.cache.yaml'));
    expect(found()).toEqual([['homelab.yaml', 'yaml']]);
  });

  test('a config file may be a symbolic link to a regular file; it is read like one', () => {
    fs.mkdirSync(at('shared'));
    fs.writeFileSync(at('shared', 'homelab.yaml'), HOMELAB);
    fs.symlinkSync(path.join('shared', 'homelab.yaml'), at('homelab.yaml'));
    expect(found()).toEqual([['homelab.yaml', 'yaml']]);
    expect(buildClusters(new App(), findClusterSources(dir)).map((b) => b.cluster.clusterName)).toEqual(['homelab']);
  });

  test('an entry named like a cluster file that is not one is an error naming it, with what to do; all are named at once', () => {
    fs.writeFileSync(at('homelab.yaml'), HOMELAB);
    fs.mkdirSync(at('a.yaml'));
    fs.symlinkSync('nowhere.yaml', at('b.yaml'));
    fs.symlinkSync('c.yaml', at('c.yaml'));
    fs.symlinkSync('a.yaml', at('d.yml'));
    expect(spawnSync('mkfifo', [at('e.yaml')]).status).toBe(0);
    fs.writeFileSync(at('real.ts'), 'export {};');
    fs.symlinkSync('real.ts', at('f.ts'));
    expect(problems()).toEqual([
      `${shown('a.yaml')}: is a directory, not a cluster file; rename it so that its name does not end in .yaml, .yml or .ts, or move it (a folder holds files that clusters refer to)`,
      `${shown('b.yaml')}: is a symbolic link to "nowhere.yaml", which does not exist; fix or remove the link`,
      `${shown('c.yaml')}: is a symbolic link that never reaches a file (a loop of links); fix or remove the link`,
      `${shown('d.yml')}: is a symbolic link to a directory, not to a cluster file; rename it so that its name does not end in .yaml, .yml or .ts, or move it`,
      `${shown('e.yaml')}: is a FIFO, not a cluster file; rename it so that its name does not end in .yaml, .yml or .ts, or move it`,
      `${shown('f.ts')}: is a symbolic link; a TypeScript cluster must be the file itself (synth compiles only regular files into its bundle): replace the link with the file`,
    ]);
  });

  test('a clusters "directory" that is a file is named', () => {
    fs.writeFileSync(at('file'), '');
    expect(() => findClusterSources(at('file'))).toThrow(`config directory ${at('file')} is not a directory; it holds one <cluster>.yaml or <cluster>.ts per cluster`);
  });
});

describe('synth (main.ts) ends with one line per problem, exit 1 and no stack trace, in bounded time', () => {
  /** Runs main.ts on a clusters folder, as the synth bundle would (tsx, no bundle to rebuild). */
  function synth(): { status: number | null; lines: string[]; stderr: string } {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'main.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, CLUSTERS_DIR: dir, DIST_DIR: at('dist'), GITOPS_CONFIG: at('gitops.yaml') },
    });
    return { status: result.status, lines: result.stderr.split('\n').filter((l) => l !== ''), stderr: result.stderr };
  }

  test('entries that are not cluster files: a directory, a dangling link, a loop', () => {
    fs.writeFileSync(at('homelab.yaml'), HOMELAB);
    fs.mkdirSync(at('x.yaml'));
    fs.symlinkSync('gone.yaml', at('y.yaml'));
    fs.symlinkSync('z.yaml', at('z.yaml'));
    const { status, lines, stderr } = synth();
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(lines).toEqual([
      expect.stringMatching(/^error: .*x\.yaml: is a directory, not a cluster file; rename it/),
      expect.stringMatching(/^error: .*y\.yaml: is a symbolic link to "gone\.yaml", which does not exist; fix or remove the link$/),
      expect.stringMatching(/^error: .*z\.yaml: is a symbolic link that never reaches a file \(a loop of links\); fix or remove the link$/),
    ]);
    expect(status).toBe(1);
    expect(fs.existsSync(at('dist'))).toBe(false);
  }, 120_000);

  test('files that cannot be clusters: a 50 MB file, a billion laughs, a link to a text file; none echoed', () => {
    const secret = 'the content of some unrelated text file';
    fs.writeFileSync(at('notes.txt'), `${secret}\n`);
    fs.symlinkSync('notes.txt', at('a.yaml'));
    fs.writeFileSync(at('b.yaml'), [
      'lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
      ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n'));
    const line = Buffer.from(`${secret.replace(/ /g, '-')}-0000: 1\n`);
    fs.writeFileSync(at('c.yaml'), Buffer.concat(Array.from({ length: Math.ceil(50 * 1024 * 1024 / line.length) }, () => line)));
    const { status, lines, stderr } = synth();
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain('content of some');
    expect(lines).toEqual([
      expect.stringMatching(/^error: .*a\.yaml: holds a text \(a YAML string\), not a mapping of fields/),
      expect.stringMatching(/^error: .*b\.yaml: has YAML aliases that expand into too many values \(more than 100; a "billion laughs" file\?\): write the values out$/),
      expect.stringMatching(/^error: .*c\.yaml: is 50 MiB, larger than the 1 MiB a config file may have/),
    ]);
    expect(status).toBe(1);
  }, 120_000);
});
