import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../scripts/credentials';
import { writeSopsStub } from './sops-stub';

const REPO = path.join(__dirname, '..', '..');
const CLUSTERS = path.join(REPO, 'clusters');
const GOOD_ENV = {
  PROXMOX_URL: 'https://pve.example.com:8006',
  PROXMOX_TOKEN: 'capmox@pve!capi',
  PROXMOX_SECRET: '00000000-0000-4000-8000-000000000000',
};
const AGE_A = 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z';

let repo: string;
let outside: string;

/** Runs git in the temp repository, without the user's or the system's git config (excludes, hooks). */
function git(...args: string[]): string {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What `git add -A` stages: the paths in the index, sorted. */
function addAll(): string[] {
  git('add', '-A');
  return git('ls-files', '--cached').split('\n').filter((l) => l !== '').sort();
}

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
  fs.writeFileSync(path.join(repo, rel), text);
}

function credentials(args: string[], env: Record<string, string>): number {
  return main(args, {
    env: { CLUSTERS_DIR: CLUSTERS, XDG_CONFIG_HOME: path.join(outside, 'config'), ...GOOD_ENV, ...env },
    cwd: repo,
    projectRoot: repo,
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
  });
}

beforeEach(() => {
  repo = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-git-')));
  outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-git-outside-')));
  git('init', '--quiet');
  // The project's own .gitignore: what is tested is the file that ships.
  fs.copyFileSync(path.join(REPO, '.gitignore'), path.join(repo, '.gitignore'));
});
afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('.gitignore for secrets/', () => {
  test('git add -A takes *.sops.yaml files under secrets/ (any depth) and nothing else there', () => {
    write('secrets/homelab/proxmox-credentials.yaml', 'kind: Secret\nstringData:\n  secret: plain\n');
    write('secrets/homelab/proxmox-credentials.sops.yaml', 'kind: Secret\nsops:\n  mac: x\n');
    write('secrets/homelab/notes.txt', 'plain\n');
    write('secrets/top.yaml', 'plain\n');
    write('secrets/top.sops.yaml', 'sops: {}\n');
    write('secrets/a/b/c/deep.sops.yaml', 'sops: {}\n');
    write('secrets/a/b/c/deep.yml', 'plain\n');
    write('secrets/homelab/.proxmox-credentials.sops.yaml.123.tmp', 'plain\n');
    write('clusters/homelab.yaml', 'name: homelab\n');
    expect(addAll()).toEqual([
      '.gitignore',
      'clusters/homelab.yaml',
      'secrets/a/b/c/deep.sops.yaml',
      'secrets/homelab/proxmox-credentials.sops.yaml',
      'secrets/top.sops.yaml',
    ]);
  });

  test('after npm run credentials without sops, git add -A stages nothing of it', () => {
    expect(credentials(['homelab'], {})).toBe(0);
    // A plain file from an older version, too.
    write('secrets/homelab/proxmox-credentials.yaml', `kind: Secret\nstringData:\n  secret: ${GOOD_ENV.PROXMOX_SECRET}\n`);
    expect(addAll()).toEqual(['.gitignore']);
  });

  test('after npm run credentials with sops, git add -A stages .sops.yaml and the encrypted file, and no plain text', () => {
    const stub = writeSopsStub(path.join(outside, 'bin'));
    expect(credentials(['homelab', '--age', AGE_A], { PATH: stub })).toBe(0);
    const staged = addAll();
    expect(staged).toEqual(['.gitignore', '.sops.yaml', 'secrets/homelab/proxmox-credentials.sops.yaml']);
    for (const file of staged) expect(git('show', `:${file}`)).not.toContain(GOOD_ENV.PROXMOX_SECRET);
  });
});
