import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as YAML from 'yaml';
import { isSopsEncrypted, secretsFileProblems } from '../../lib/credentials/secret';
import { main } from '../../scripts/credentials';
import { writeSopsStub } from './sops-stub';

const REPO = path.join(__dirname, '..', '..');
// For the runs as a program: tsx as a loader in this node process (what `npm run credentials`
// runs, minus tsx's extra child process), by path, since the runs happen in temp dirs where `tsx`
// would not resolve.
const TSX_LOADER = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const SCRIPT = path.join(REPO, 'scripts', 'credentials.ts');
const CLUSTERS = path.join(REPO, 'clusters');
// Where the encrypted Secret goes, relative to the project.
const ENCRYPTED = path.join('secrets', 'homelab', 'proxmox-credentials.sops.yaml');

// Obviously fake credentials.
const GOOD_ENV = {
  PROXMOX_URL: 'https://pve.example.com:8006',
  PROXMOX_TOKEN: 'capmox@pve!capi',
  PROXMOX_SECRET: '00000000-0000-4000-8000-000000000000',
};
const AGE_A = 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z';
const AGE_B = 'age1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs0dsc5v';

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let root: string;
// Outside the project: the user's config directory (XDG_CONFIG_HOME), and the stub sops.
let outside: string;
let configHome: string;
let stubDir: string;
/** The default plain-text path: under XDG_CONFIG_HOME, outside the repository. */
let plain: string;

/**
 * Runs the CLI in-process in the temp project root (its working directory too), with only the
 * given environment besides CLUSTERS_DIR and XDG_CONFIG_HOME (so no PATH, hence no sops, unless given).
 */
function run(args: string[], env: Record<string, string> = GOOD_ENV): Run {
  let stdout = '';
  let stderr = '';
  const status = main(args, {
    env: { CLUSTERS_DIR: CLUSTERS, XDG_CONFIG_HOME: configHome, ...env },
    cwd: root,
    projectRoot: root,
    stdout: { write: (t: string) => { stdout += t; } },
    stderr: { write: (t: string) => { stderr += t; } },
  });
  return { status, stdout, stderr };
}

/** Runs the CLI as a program, the same way: what only a process shows (exit code, streams, no stack trace). */
function spawn(args: string[], env: Record<string, string> = GOOD_ENV): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PROXMOX_|SOPS_|DIST_DIR$|CLUSTERS_DIR$|CDK8S_TALOS_|XDG_CONFIG_HOME$)/.test(k)));
  const r = spawnSync(process.execPath, ['--import', TSX_LOADER, SCRIPT, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...base, CDK8S_TALOS_PROJECT_ROOT: root, CLUSTERS_DIR: CLUSTERS, XDG_CONFIG_HOME: configHome, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A failed run: exit 1, every stderr line an `error: ` line, no stack trace, nothing on stdout. */
function expectUserError(r: Run): string[] {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  return r.stderr.trimEnd().split('\n');
}

/** Every file under a directory, recursively (symlinks not followed). */
function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? allFiles(p) : e.isFile() ? [p] : [];
  });
}

/** Files under `dir` whose bytes contain `value`. */
function filesContaining(dir: string, value: string): string[] {
  return allFiles(dir).filter((f) => fs.readFileSync(f).includes(value));
}

const NO_CA_WARNING = 'warning: PROXMOX_ROOT_CA_FILE is not set, so the Secret says insecure: "true" and CAPMOX will not verify the TLS certificate of the Proxmox API; to verify it, set PROXMOX_ROOT_CA_FILE to a PEM CA certificate such as /etc/pve/pve-root-ca.pem from a Proxmox node\n';

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-cli-')));
  outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-outside-')));
  configHome = path.join(outside, 'config');
  stubDir = path.join(outside, 'bin');
  plain = path.join(configHome, 'cdk8s-talos-proxmox', 'homelab', 'proxmox-credentials.yaml');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('npm run credentials', () => {
  describe('without sops: plain text, outside the repository', () => {
    test('writes the Secret to $XDG_CONFIG_HOME/cdk8s-talos-proxmox/<cluster>/, mode 0600 in 0700 folders, nothing in the project', () => {
      const r = run(['homelab']);
      expect(r.status).toBe(0);
      expect(fs.statSync(plain).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(plain)).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.dirname(path.dirname(plain))).mode & 0o777).toBe(0o700);
      expect(YAML.parse(fs.readFileSync(plain, 'utf8'))).toStrictEqual({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'homelab-proxmox', namespace: 'default', labels: { 'platform.ionos.com/secret-type': 'proxmox-credentials' } },
        type: 'Opaque',
        immutable: false,
        stringData: { ...{ url: GOOD_ENV.PROXMOX_URL, token: GOOD_ENV.PROXMOX_TOKEN, secret: GOOD_ENV.PROXMOX_SECRET }, insecure: 'true' },
      });
      // The project is left as it was: no secrets/, no .sops.yaml.
      expect(fs.readdirSync(root)).toEqual([]);
      expect(r.stderr).toBe(NO_CA_WARNING);
      expect(r.stdout).toBe([
        `wrote ${plain}: Secret default/homelab-proxmox in plain text (mode 0600), outside the repository`,
        '',
        'next steps, with Fleet (no SOPS): apply it, then delete it',
        `  kubectl apply -f ${plain}`,
        `  rm ${plain}`,
        'or with Flux (SOPS): commit it encrypted as secrets/homelab/proxmox-credentials.sops.yaml',
        '  .sops.yaml is missing, so sops does not know whom to encrypt for; create it first with your age public key:',
        '    age-keygen -o age.agekey    # prints "Public key: age1…"; keep age.agekey out of git',
        '    npm run credentials -- homelab --age <age1… public key>',
        '  install sops (3.9 or later), then run this again: it encrypts the Secret into the repository itself',
        '    npm run credentials -- homelab',
        `  git add .sops.yaml ${ENCRYPTED} && git commit && git push`,
        '  (Flux\'s homelab-secrets Kustomization applies secrets/homelab/ before the cluster and decrypts it with',
        '  the age private key in its decryption Secret, flux-system/sops-age by default)',
        `  rm ${plain}`,
        '',
      ].join('\n'));
    });

    test('defaults to ~/.config without XDG_CONFIG_HOME, and keeps an existing folder private', () => {
      const home = path.join(outside, 'home');
      const dir = path.join(home, '.config', 'cdk8s-talos-proxmox', 'homelab');
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      const r = run(['homelab'], { ...GOOD_ENV, XDG_CONFIG_HOME: '', HOME: home });
      expect(r.status).toBe(0);
      expect(fs.statSync(path.join(dir, 'proxmox-credentials.yaml')).mode & 0o777).toBe(0o600);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(r.stdout).toContain(`wrote ${path.join(dir, 'proxmox-credentials.yaml')}: Secret default/homelab-proxmox in plain text (mode 0600), outside the repository\n`);
    });

    test('never prints the token secret', () => {
      const r = run(['homelab']);
      expect(`${r.stdout}${r.stderr}`).not.toContain(GOOD_ENV.PROXMOX_SECRET);
    });

    test('with a CA file: root_ca and insecure "false", no warning', () => {
      const ca = fs.readFileSync(path.join(__dirname, 'secret.test.ts'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/)![0];
      fs.writeFileSync(path.join(root, 'ca.pem'), ca);
      const r = run(['homelab'], { ...GOOD_ENV, PROXMOX_ROOT_CA_FILE: 'ca.pem' });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(YAML.parse(fs.readFileSync(plain, 'utf8')).stringData).toMatchObject({ insecure: 'false', root_ca: ca });
    });

    test('--out outside the repository writes there, creating folders; a plain Secret there is replaced', () => {
      const out = path.join(outside, 'elsewhere', 'deep', 'creds.yaml');
      expect(run(['homelab', '--out', out]).status).toBe(0);
      expect(fs.statSync(out).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(out)).mode & 0o777).toBe(0o700);
      const r = run(['homelab', '--out', out], { ...GOOD_ENV, PROXMOX_URL: 'https://pve2.example.com:8006' });
      expect(r.status).toBe(0);
      expect(YAML.parse(fs.readFileSync(out, 'utf8')).stringData.url).toBe('https://pve2.example.com:8006');
      expect(fs.statSync(out).mode & 0o777).toBe(0o600);
      expect(r.stdout).toContain(`  kubectl apply -f ${out}\n  rm ${out}\n`);
      expect(fs.existsSync(plain)).toBe(false);
      expect(fs.readdirSync(root)).toEqual([]);
    });

    test('--age writes .sops.yaml; SOPS_AGE_RECIPIENTS updates it; without sops the Secret stays outside', () => {
      let r = run(['homelab', '--age', AGE_A]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('wrote .sops.yaml: files under secrets/ are encrypted for 1 age recipient\n');
      expect(r.stdout).not.toContain('.sops.yaml is missing');
      expect(r.stderr).toContain('warning: sops is not on PATH, so the Secret is not encrypted into secrets/homelab/proxmox-credentials.sops.yaml; it goes in plain text outside the repository instead (install sops 3.9 or later and run this again to encrypt it)\n');
      expect(YAML.parse(fs.readFileSync(path.join(root, '.sops.yaml'), 'utf8'))).toStrictEqual({
        creation_rules: [{ path_regex: '(^|/)secrets/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: AGE_A }],
      });
      expect(fs.readdirSync(root)).toEqual(['.sops.yaml']);
      r = run(['homelab'], { ...GOOD_ENV, SOPS_AGE_RECIPIENTS: `${AGE_A}, ${AGE_B}` });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('updated .sops.yaml: files under secrets/ are encrypted for 2 age recipients\n');
      expect(r.stdout).toContain('files encrypted before keep their old recipients until you run: sops updatekeys <file>');
      expect(YAML.parse(fs.readFileSync(path.join(root, '.sops.yaml'), 'utf8')).creation_rules[0].age).toBe(`${AGE_A},${AGE_B}`);
      r = run(['homelab', '--age', AGE_A, '--age', AGE_B]);
      expect(r.stdout).toContain('.sops.yaml is up to date\n');
    });

    test('warns when an existing .sops.yaml would not encrypt the file as Flux needs, and does not encrypt', () => {
      writeSopsStub(stubDir);
      fs.writeFileSync(path.join(root, '.sops.yaml'), `creation_rules:\n  - age: ${AGE_A}\n`);
      const r = run(['homelab'], { ...GOOD_ENV, PATH: stubDir });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('warning: the .sops.yaml rule for secrets/homelab/proxmox-credentials.sops.yaml has no encrypted_regex');
      expect(fs.existsSync(plain)).toBe(true);
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
      expect(fs.existsSync(path.join(stubDir, 'sops-calls.log'))).toBe(false);
    });

    test('warns about a plain-text Secret left in secrets/ by an older version', () => {
      const legacy = path.join(root, 'secrets', 'homelab', 'proxmox-credentials.yaml');
      fs.mkdirSync(path.dirname(legacy), { recursive: true });
      fs.writeFileSync(legacy, 'kind: Secret\n');
      const r = run(['homelab']);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('warning: secrets/homelab/proxmox-credentials.yaml holds the Proxmox token in plain text inside the repository; delete it (rm secrets/homelab/proxmox-credentials.yaml; rotate the token if it was ever committed or pushed)\n');
    });
  });

  describe('with sops on PATH and a .sops.yaml rule: encrypted into secrets/<cluster>/', () => {
    beforeEach(() => writeSopsStub(stubDir));

    test('pipes the Secret through sops and writes only the encrypted output; the secret is in no file of the project', () => {
      const r = run(['homelab', '--age', AGE_A], { ...GOOD_ENV, PATH: stubDir });
      expect(r.stderr).toBe(NO_CA_WARNING);
      expect(r.status).toBe(0);
      const file = path.join(root, ENCRYPTED);
      const text = fs.readFileSync(file, 'utf8');
      expect(isSopsEncrypted(text)).toBe(true);
      expect(secretsFileProblems(text, 'secrets/homelab/proxmox-credentials.sops.yaml')).toEqual([]);
      expect(YAML.parse(text)).toMatchObject({ kind: 'Secret', metadata: { name: 'homelab-proxmox', namespace: 'default' } });
      // The plain text went through a pipe: no file anywhere in the project, nor outside, holds the secret.
      expect(filesContaining(root, GOOD_ENV.PROXMOX_SECRET)).toEqual([]);
      expect(filesContaining(outside, GOOD_ENV.PROXMOX_SECRET)).toEqual([]);
      expect(fs.existsSync(configHome)).toBe(false);
      expect(allFiles(root).map((f) => path.relative(root, f)).sort()).toEqual(['.sops.yaml', ENCRYPTED]);
      // The exact sops command line, from the project root, without recipient variables.
      const calls = fs.readFileSync(path.join(stubDir, 'sops-calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(calls).toEqual([{
        args: ['--config', path.join(root, '.sops.yaml'), '--encrypt', '--input-type', 'yaml', '--output-type', 'yaml', '--filename-override', file, '/dev/stdin'],
        cwd: root,
        recipientEnv: [],
      }]);
      expect(r.stdout).toBe([
        `wrote ${ENCRYPTED}: Secret default/homelab-proxmox, encrypted by sops (the plain text never touched the disk)`,
        'wrote .sops.yaml: files under secrets/ are encrypted for 1 age recipient',
        '',
        'next steps, with Flux (SOPS): commit it',
        `  git add .sops.yaml ${ENCRYPTED} && git commit && git push`,
        '  (Flux\'s homelab-secrets Kustomization applies secrets/homelab/ before the cluster and decrypts it with',
        '  the age private key in its decryption Secret, flux-system/sops-age by default)',
        `  to change it later: sops ${ENCRYPTED}, or run this again with --force`,
        'or with Fleet (no SOPS): do not commit it; write it in plain text outside the repository, apply it, delete it',
        '  npm run credentials -- homelab --out /tmp/homelab-proxmox.yaml',
        '  kubectl apply -f /tmp/homelab-proxmox.yaml && rm /tmp/homelab-proxmox.yaml',
        '',
      ].join('\n'));
    });

    test('sops gets no recipient variables: the .sops.yaml rule alone decides', () => {
      const r = run(['homelab'], { ...GOOD_ENV, PATH: stubDir, SOPS_AGE_RECIPIENTS: AGE_A });
      expect(r.status).toBe(0);
      const [call] = fs.readFileSync(path.join(stubDir, 'sops-calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(call.recipientEnv).toEqual([]);
    });

    test('refuses to replace an encrypted file unless --force', () => {
      expect(run(['homelab', '--age', AGE_A], { ...GOOD_ENV, PATH: stubDir }).status).toBe(0);
      const file = path.join(root, ENCRYPTED);
      const before = fs.readFileSync(file, 'utf8');
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, PATH: stubDir, PROXMOX_URL: 'https://pve2.example.com:8006' }))).toEqual([
        `error: ${ENCRYPTED} is SOPS-encrypted already; to change the token edit it with \`sops ${ENCRYPTED}\`, or pass --force to replace it`,
      ]);
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
      expect(run(['homelab', '--force'], { ...GOOD_ENV, PATH: stubDir, PROXMOX_URL: 'https://pve2.example.com:8006' }).status).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).not.toBe(before);
      expect(isSopsEncrypted(fs.readFileSync(file, 'utf8'))).toBe(true);
    });

    test('when sops fails: exit 1, nothing written, and its message without the secret', () => {
      const lines = expectUserError(run(['homelab', '--age', AGE_A], { ...GOOD_ENV, PATH: stubDir, STUB_SOPS_FAIL: '1' }));
      expect(lines[0]).toBe('error: sops failed to encrypt secrets/homelab/proxmox-credentials.sops.yaml (exit 128); nothing was written. sops said:');
      expect(lines[1]).toBe('error: Could not generate data key for:');
      expect(lines.join('\n')).not.toContain(GOOD_ENV.PROXMOX_SECRET);
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
      expect(filesContaining(root, GOOD_ENV.PROXMOX_SECRET)).toEqual([]);
    });

    test('when sops returns plain text: refused, nothing written', () => {
      const lines = expectUserError(run(['homelab', '--age', AGE_A], { ...GOOD_ENV, PATH: stubDir, STUB_SOPS_PLAIN: '1' }));
      expect(lines).toEqual([
        'error: sops did not return an encrypted Secret for secrets/homelab/proxmox-credentials.sops.yaml (no sops metadata, or a value in plain text); nothing was written. Check the .sops.yaml rule (encrypted_regex: ^(data|stringData)$) and the sops version (3.9 or later)',
      ]);
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
    });

    test('refuses while the Secret also exists under the old name, which Flux would apply as well', () => {
      const legacy = path.join(root, 'secrets', 'homelab', 'proxmox-credentials.yaml');
      fs.mkdirSync(path.dirname(legacy), { recursive: true });
      fs.writeFileSync(legacy, 'kind: Secret\nstringData:\n  token: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n  mac: x\n');
      expect(expectUserError(run(['homelab', '--age', AGE_A], { ...GOOD_ENV, PATH: stubDir }))).toEqual([
        `error: secrets/homelab/proxmox-credentials.yaml is an encrypted Secret under the old name, which .gitignore no longer admits; rename it (git mv secrets/homelab/proxmox-credentials.yaml ${ENCRYPTED}), then edit it with sops ${ENCRYPTED} or run this again with --force to replace it`,
      ]);
      expect(fs.existsSync(path.join(root, ENCRYPTED))).toBe(false);
    });

    test('--out still means plain text, outside the repository only', () => {
      fs.writeFileSync(path.join(root, '.sops.yaml'), YAML.stringify({ creation_rules: [{ path_regex: '(^|/)secrets/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: AGE_A }] }));
      const out = path.join(outside, 'creds.yaml');
      const r = run(['homelab', '--out', out], { ...GOOD_ENV, PATH: stubDir });
      expect(r.status).toBe(0);
      expect(YAML.parse(fs.readFileSync(out, 'utf8')).stringData.secret).toBe(GOOD_ENV.PROXMOX_SECRET);
      expect(r.stdout).toContain(`    sops --encrypt --filename-override ${ENCRYPTED} --output ${ENCRYPTED} ${out}\n`);
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
    });
  });

  describe('fails', () => {
    test('fails on missing and malformed variables, all at once, naming each', () => {
      expect(expectUserError(run(['homelab'], {}))).toEqual([
        'error: PROXMOX_URL is not set; expected the Proxmox API URL https://<host>[:port], like https://pve.example.com:8006',
        'error: PROXMOX_TOKEN is not set; expected the API token ID user@realm!tokenname, like capmox@pve!capi',
        'error: PROXMOX_SECRET is not set; expected the token secret Proxmox showed when the token was created, a UUID like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx',
      ]);
      const lines = expectUserError(run(['homelab'], { PROXMOX_URL: 'http://pve:8006', PROXMOX_TOKEN: 'capmox@pve', PROXMOX_SECRET: 'hunter2-not-a-uuid' }));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^error: PROXMOX_URL "http:\/\/pve:8006" uses http/);
      expect(lines[1]).toMatch(/^error: PROXMOX_TOKEN "capmox@pve" is a user, not an API token ID/);
      expect(lines[2]).toMatch(/^error: PROXMOX_SECRET is malformed \(value not shown\)/);
      expect(lines.join('\n')).not.toContain('hunter2');
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
    });

    test('never echoes a password or query of PROXMOX_URL, nor a secret given as an argument', () => {
      for (const url of ['https://root:hunter2@pve:8006', 'https://pve:8006/?password=hunter2', ' https://root:hunter2@pve:8006', 'https://root:hunter2@pve:bad']) {
        const lines = expectUserError(run(['homelab'], { ...GOOD_ENV, PROXMOX_URL: url }));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^error: PROXMOX_URL "/);
        expect(lines[0]).not.toContain('hunter2');
      }
      const r = run(['homelab', GOOD_ENV.PROXMOX_SECRET]);
      expect(r.stderr).toMatch(/^error: expected one cluster name, got "homelab" \(a value not shown\)\n/);
      expect(r.stderr).not.toContain(GOOD_ENV.PROXMOX_SECRET);
    });

    test('fails on an unreadable CA file', () => {
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, PROXMOX_ROOT_CA_FILE: 'missing.pem' }))).toEqual([
        'error: PROXMOX_ROOT_CA_FILE missing.pem cannot be read (ENOENT); expected the path of a PEM CA certificate such as a copy of /etc/pve/pve-root-ca.pem from a Proxmox node',
      ]);
    });

    test('fails on a malformed age recipient before writing anything', () => {
      expect(expectUserError(run(['homelab', '--age', 'age1nope']))).toEqual([
        'error: --age "age1nope" is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); expected an age public key, age1… (62 characters; age-keygen prints it as "Public key:")',
      ]);
      expect(fs.existsSync(path.join(root, 'secrets'))).toBe(false);
      expect(fs.existsSync(configHome)).toBe(false);
    });

    test('refuses any path inside dist/, also through a symlink, and DIST_DIR', () => {
      fs.mkdirSync(path.join(root, 'dist', 'homelab'), { recursive: true });
      let lines = expectUserError(run(['homelab', '--out', 'dist/homelab/creds.yaml']));
      expect(lines).toEqual([
        'error: refusing to write dist/homelab/creds.yaml: it is inside dist/, which is committed and applied by the GitOps agent, and the Proxmox token must never be there; use --out outside the repository, or let the command encrypt it into secrets/',
      ]);
      fs.symlinkSync(path.join(root, 'dist'), path.join(outside, 'innocent'));
      lines = expectUserError(run(['homelab', '--out', path.join(outside, 'innocent', 'new', 'creds.yaml')]));
      expect(lines[0]).toMatch(/^error: refusing to write .*innocent\/new\/creds\.yaml: it is inside dist\//);
      const out = path.join(outside, 'out');
      lines = expectUserError(run(['homelab', '--out', path.join(out, 'creds.yaml')], { ...GOOD_ENV, DIST_DIR: out }));
      expect(lines[0]).toBe(`error: refusing to write ${path.join(out, 'creds.yaml')}: it is inside ${out}/, which is committed and applied by the GitOps agent, and the Proxmox token must never be there; use --out outside the repository, or let the command encrypt it into secrets/`);
      expect(fs.readdirSync(path.join(root, 'dist', 'homelab'))).toEqual([]);
    });

    test('refuses plain text anywhere in the repository: --out, through a symlink, and a config home inside it', () => {
      const refusal = (shown: string, repo = root) => `error: refusing to write the Proxmox token in plain text to ${shown}: it is inside the repository ${repo}, where one git add publishes it; use --out with a path outside the repository (like /tmp/proxmox-credentials.yaml), or let the command encrypt it into secrets/homelab/proxmox-credentials.sops.yaml: with sops on PATH and a .sops.yaml rule (npm run credentials -- homelab --age <age1… public key>)`;
      for (const out of ['creds.yaml', 'elsewhere/deep/creds.yaml', 'secrets/homelab/proxmox-credentials.yaml', 'secrets/homelab/proxmox-credentials.sops.yaml']) {
        expect(expectUserError(run(['homelab', '--out', out]))).toEqual([refusal(out)]);
      }
      fs.symlinkSync(root, path.join(outside, 'link'));
      expect(expectUserError(run(['homelab', '--out', path.join(outside, 'link', 'creds.yaml')]))).toEqual([refusal(path.join(outside, 'link', 'creds.yaml'))]);
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, XDG_CONFIG_HOME: path.join(root, '.config') }))).toEqual([
        refusal(path.join('.config', 'cdk8s-talos-proxmox', 'homelab', 'proxmox-credentials.yaml')),
      ]);
      expect(allFiles(root)).toEqual([]);
    });

    test('refuses plain text in the git repository around the project, outside the project too', () => {
      fs.mkdirSync(path.join(outside, 'repo', '.git'), { recursive: true });
      const project = path.join(outside, 'repo', 'infra');
      fs.mkdirSync(project);
      let stderr = '';
      const status = main(['homelab', '--out', path.join(outside, 'repo', 'docs', 'creds.yaml')], {
        env: { ...GOOD_ENV, CLUSTERS_DIR: CLUSTERS, XDG_CONFIG_HOME: configHome }, cwd: project, projectRoot: project,
        stdout: { write: () => undefined }, stderr: { write: (t: string) => { stderr += t; } },
      });
      expect(status).toBe(1);
      expect(stderr).toContain(`error: refusing to write the Proxmox token in plain text to ${path.join(outside, 'repo', 'docs', 'creds.yaml')}: it is inside the repository ${path.join(outside, 'repo')}, `);
    });

    test('fails without XDG_CONFIG_HOME and HOME, saying what to do', () => {
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, XDG_CONFIG_HOME: '' }))).toEqual([
        'error: neither XDG_CONFIG_HOME nor HOME is set (as an absolute path), so there is no default place outside the repository for the plain-text Secret; pass --out <path outside the repository>, or let the command encrypt it into secrets/homelab/proxmox-credentials.sops.yaml: with sops on PATH and a .sops.yaml rule (npm run credentials -- homelab --age <age1… public key>)',
      ]);
    });

    test('refuses to replace a SOPS-encrypted file unless --force', () => {
      const file = path.join(outside, 'creds.yaml');
      const encrypted = 'apiVersion: v1\nkind: Secret\nstringData:\n  token: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n';
      fs.writeFileSync(file, encrypted);
      expect(expectUserError(run(['homelab', '--out', file]))).toEqual([
        `error: ${file} is SOPS-encrypted already; to change the token edit it with \`sops ${file}\`, or pass --force to replace it`,
      ]);
      expect(fs.readFileSync(file, 'utf8')).toBe(encrypted);
      expect(run(['homelab', '--out', file, '--force']).status).toBe(0);
      expect(YAML.parse(fs.readFileSync(file, 'utf8')).sops).toBeUndefined();
    });

    test('refuses to replace a file that is not a Secret unless --force, and a directory', () => {
      const notes = path.join(outside, 'notes.yaml');
      fs.writeFileSync(notes, 'hello: world\n');
      expect(expectUserError(run(['homelab', '--out', notes]))).toEqual([
        `error: ${notes} exists and is not a Secret; pass --force to replace it, or choose another --out`,
      ]);
      expect(run(['homelab', '--out', notes, '--force']).status).toBe(0);
      const adir = path.join(outside, 'adir');
      fs.mkdirSync(adir);
      expect(expectUserError(run(['homelab', '--out', adir]))).toEqual([
        `error: --out ${adir} is a directory; give the path of a file, like ${path.join(adir, 'proxmox-credentials.yaml')}`,
      ]);
    });

    test('fails on an unknown cluster, listing the known ones', () => {
      expect(expectUserError(run(['nope']))).toEqual([`error: no cluster named "nope" in ${CLUSTERS}; known: homelab`]);
    });

    test('fails on a broken file named like the cluster with the loader\'s message', () => {
      const dir = path.join(root, 'clusters');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'homelab.yaml'), 'name: homelab\nnetwork: [1, 2\n');
      const [line, ...rest] = expectUserError(run(['homelab'], { ...GOOD_ENV, CLUSTERS_DIR: dir }));
      expect(line).toMatch(/^error: clusters\/homelab\.yaml: YAML syntax error at line \d+, column \d+: /);
      expect(rest).toEqual([]);
    });

    test('other files of clusters/ are read with the config limits: a 50 MB file and an alias bomb neither hang nor stop it', () => {
      const dir = path.join(root, 'clusters');
      fs.mkdirSync(dir);
      fs.copyFileSync(path.join(CLUSTERS, 'homelab.yaml'), path.join(dir, 'homelab.yaml'));
      fs.writeFileSync(path.join(dir, 'big.yaml'), `name: big\nfill: "${'x'.repeat(50 * 1024 * 1024)}"\n`);
      const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
      fs.writeFileSync(path.join(dir, 'bomb.yaml'), `${laughs.join('\n')}\nname: bomb\n`);
      fs.writeFileSync(path.join(dir, '.#homelab.yaml'), 'not a cluster: an editor lock file\n');
      const start = Date.now();
      const r = run(['homelab'], { ...GOOD_ENV, CLUSTERS_DIR: dir });
      expect(r.stderr).not.toMatch(/error:/);
      expect(r.status).toBe(0);
      expect(Date.now() - start).toBeLessThan(20_000);
      // Named like the cluster asked for: the loader says what is wrong with it.
      expect(expectUserError(run(['big'], { ...GOOD_ENV, CLUSTERS_DIR: dir }))).toEqual([
        'error: clusters/big.yaml: is 50 MiB, larger than the 1 MiB a config file may have (a cluster config is a few KiB); is this the right file?',
      ]);
    });

    test('fails on a cluster without proxmox.credentialsSecret, saying how to add it', () => {
      const dir = path.join(root, 'clusters');
      fs.mkdirSync(dir);
      const config = YAML.parse(fs.readFileSync(path.join(CLUSTERS, 'homelab.yaml'), 'utf8'));
      delete config.proxmox.credentialsSecret;
      fs.writeFileSync(path.join(dir, 'homelab.yaml'), YAML.stringify(config));
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, CLUSTERS_DIR: dir }))).toEqual([
        'error: clusters/homelab.yaml has no proxmox.credentialsSecret, so CAPMOX uses the provider\'s global credentials (Secret capmox-manager-credentials); to give homelab its own Secret, add `credentialsSecret: homelab-proxmox` under proxmox: in clusters/homelab.yaml, run npm run synth, then run this again',
      ]);
    });

    test('fails on an invalid config of the cluster with the loader\'s messages', () => {
      const dir = path.join(root, 'clusters');
      fs.mkdirSync(dir);
      const config = YAML.parse(fs.readFileSync(path.join(CLUSTERS, 'homelab.yaml'), 'utf8'));
      config.network.endpont = '1.2.3.4';
      fs.writeFileSync(path.join(dir, 'homelab.yaml'), YAML.stringify(config));
      fs.writeFileSync(path.join(dir, 'broken.yaml'), 'name: [other\n');
      expect(expectUserError(run(['homelab'], { ...GOOD_ENV, CLUSTERS_DIR: dir }))).toEqual([
        'error: clusters/homelab.yaml: network.endpont is not a known field (check the spelling; see schemas/cluster-config.schema.json)',
      ]);
    });

    test('fails on a bad command line with the usage', () => {
      let r = run([]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: expected one cluster name, got none\nusage: npm run credentials -- <cluster>/);
      r = run(['homelab', '--bogus']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: unknown option --bogus\nusage: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });

  test('--help prints the usage and succeeds', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run credentials -- <cluster>/);
  });

  // The cases above call main(); these two prove that the program passes it the real process
  // (arguments, environment, working directory, CDK8S_TALOS_PROJECT_ROOT, streams) and turns its
  // result into the exit code, printing what the in-process run prints.
  describe('as a program', () => {
    test('writes the Secret with mode 0600 outside the repository, exit 0, as in-process', () => {
      const r = spawn(['homelab']);
      expect(r.status).toBe(0);
      expect(fs.statSync(plain).mode & 0o777).toBe(0o600);
      expect(YAML.parse(fs.readFileSync(plain, 'utf8')).stringData.secret).toBe(GOOD_ENV.PROXMOX_SECRET);
      expect(r.stdout).toContain(`wrote ${plain}: Secret default/homelab-proxmox in plain text (mode 0600), outside the repository\n`);
      expect(`${r.stdout}${r.stderr}`).not.toContain(GOOD_ENV.PROXMOX_SECRET);
      expect(fs.readdirSync(root)).toEqual([]);
      fs.rmSync(configHome, { recursive: true });
      expect(run(['homelab'])).toEqual(r);
    });

    test('a bad command line: error and usage on stderr, exit 1, no stack trace', () => {
      const r = spawn(['homelab', '--bogus']);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: unknown option --bogus\nusage: npm run credentials -- <cluster>/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(run(['homelab', '--bogus'])).toEqual(r);
    });
  });
});
