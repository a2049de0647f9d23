import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as YAML from 'yaml';
import { main } from '../../scripts/credentials';

const REPO = path.join(__dirname, '..', '..');
// For the runs as a program: tsx as a loader in this node process (what `npm run credentials`
// runs, minus tsx's extra child process), by path, since the runs happen in temp dirs where `tsx`
// would not resolve.
const TSX_LOADER = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const SCRIPT = path.join(REPO, 'scripts', 'credentials.ts');
const CLUSTERS = path.join(REPO, 'clusters');
const OUT = path.join('secrets', 'homelab', 'proxmox-credentials.yaml');

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

/**
 * Runs the CLI in-process in the temp project root (its working directory too), with only the
 * given environment besides CLUSTERS_DIR.
 */
function run(args: string[], env: Record<string, string> = GOOD_ENV): Run {
  let stdout = '';
  let stderr = '';
  const status = main(args, {
    env: { CLUSTERS_DIR: CLUSTERS, ...env },
    cwd: root,
    projectRoot: root,
    stdout: { write: (t: string) => { stdout += t; } },
    stderr: { write: (t: string) => { stderr += t; } },
  });
  return { status, stdout, stderr };
}

/** Runs the CLI as a program, the same way: what only a process shows (exit code, streams, no stack trace). */
function spawn(args: string[], env: Record<string, string> = GOOD_ENV): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PROXMOX_|SOPS_|DIST_DIR$|CLUSTERS_DIR$|CDK8S_TALOS_)/.test(k)));
  const r = spawnSync(process.execPath, ['--import', TSX_LOADER, SCRIPT, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...base, CDK8S_TALOS_PROJECT_ROOT: root, CLUSTERS_DIR: CLUSTERS, ...env },
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

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-cli-')));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('npm run credentials', () => {
  test('writes the Secret of the cluster to secrets/<cluster>/, mode 0600, and prints the next steps', () => {
    const r = run(['homelab']);
    expect(r.status).toBe(0);
    const file = path.join(root, OUT);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(YAML.parse(fs.readFileSync(file, 'utf8'))).toStrictEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'homelab-proxmox', namespace: 'default', labels: { 'platform.ionos.com/secret-type': 'proxmox-credentials' } },
      type: 'Opaque',
      immutable: false,
      stringData: { ...{ url: GOOD_ENV.PROXMOX_URL, token: GOOD_ENV.PROXMOX_TOKEN, secret: GOOD_ENV.PROXMOX_SECRET }, insecure: 'true' },
    });
    expect(r.stderr).toBe('warning: PROXMOX_ROOT_CA_FILE is not set, so the Secret says insecure: "true" and CAPMOX will not verify the TLS certificate of the Proxmox API; to verify it, set PROXMOX_ROOT_CA_FILE to a PEM CA certificate such as /etc/pve/pve-root-ca.pem from a Proxmox node\n');
    expect(r.stdout).toContain(`wrote ${OUT}: Secret default/homelab-proxmox in plain text (mode 0600)`);
    expect(r.stdout).toContain(`  sops --encrypt --in-place ${OUT}\n`);
    expect(r.stdout).toContain(`  kubectl apply -f ${OUT}\n`);
    // No .sops.yaml and no recipients: say how to create it.
    expect(r.stdout).toContain('.sops.yaml is missing, so sops does not know whom to encrypt for');
    expect(r.stdout).toContain('npm run credentials -- homelab --age <age1… public key>');
    expect(fs.existsSync(path.join(root, '.sops.yaml'))).toBe(false);
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
    expect(YAML.parse(fs.readFileSync(path.join(root, OUT), 'utf8')).stringData).toMatchObject({ insecure: 'false', root_ca: ca });
  });

  test('--out writes elsewhere, creating folders; a plain Secret there is replaced', () => {
    const out = path.join(root, 'elsewhere', 'deep', 'creds.yaml');
    expect(run(['homelab', '--out', out]).status).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const r = run(['homelab', '--out', out], { ...GOOD_ENV, PROXMOX_URL: 'https://pve2.example.com:8006' });
    expect(r.status).toBe(0);
    expect(YAML.parse(fs.readFileSync(out, 'utf8')).stringData.url).toBe('https://pve2.example.com:8006');
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    // Inside the project but outside secrets/: nothing else would catch it, so say so.
    expect(r.stderr).toContain('warning: elsewhere/deep/creds.yaml is inside the project but outside secrets/');
  });

  test('--age writes .sops.yaml; SOPS_AGE_RECIPIENTS updates it', () => {
    let r = run(['homelab', '--age', AGE_A]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote .sops.yaml: files under secrets/ are encrypted for 1 age recipient\n');
    expect(r.stdout).not.toContain('.sops.yaml is missing');
    expect(YAML.parse(fs.readFileSync(path.join(root, '.sops.yaml'), 'utf8'))).toStrictEqual({
      creation_rules: [{ path_regex: '(^|/)secrets/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: AGE_A }],
    });
    r = run(['homelab'], { ...GOOD_ENV, SOPS_AGE_RECIPIENTS: `${AGE_A}, ${AGE_B}` });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('updated .sops.yaml: files under secrets/ are encrypted for 2 age recipients\n');
    expect(r.stdout).toContain('files encrypted before keep their old recipients until you run: sops updatekeys <file>');
    expect(YAML.parse(fs.readFileSync(path.join(root, '.sops.yaml'), 'utf8')).creation_rules[0].age).toBe(`${AGE_A},${AGE_B}`);
    r = run(['homelab', '--age', AGE_A, '--age', AGE_B]);
    expect(r.stdout).toContain('.sops.yaml is up to date\n');
  });

  test('warns when an existing .sops.yaml would not encrypt the file as Flux needs', () => {
    fs.writeFileSync(path.join(root, '.sops.yaml'), `creation_rules:\n  - age: ${AGE_A}\n`);
    const r = run(['homelab']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('warning: the .sops.yaml rule for secrets/homelab/proxmox-credentials.yaml has no encrypted_regex');
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
    });

    test('refuses any path inside dist/, also through a symlink, and DIST_DIR', () => {
      fs.mkdirSync(path.join(root, 'dist', 'homelab'), { recursive: true });
      let lines = expectUserError(run(['homelab', '--out', 'dist/homelab/creds.yaml']));
      expect(lines).toEqual([
        'error: refusing to write dist/homelab/creds.yaml: it is inside dist/, which is committed and applied by the GitOps agent, and the Proxmox token must never be there; use --out outside it (default: secrets/<cluster>/proxmox-credentials.yaml)',
      ]);
      fs.symlinkSync(path.join(root, 'dist'), path.join(root, 'innocent'));
      lines = expectUserError(run(['homelab', '--out', 'innocent/new/creds.yaml']));
      expect(lines[0]).toMatch(/^error: refusing to write innocent\/new\/creds\.yaml: it is inside dist\//);
      // secrets/ itself a symlink into dist/: the default path is refused too.
      fs.symlinkSync(path.join(root, 'dist'), path.join(root, 'secrets'));
      expect(expectUserError(run(['homelab']))[0]).toMatch(/^error: refusing to write secrets\/homelab\/proxmox-credentials\.yaml: it is inside dist\//);
      lines = expectUserError(run(['homelab', '--out', 'out/creds.yaml'], { ...GOOD_ENV, DIST_DIR: path.join(root, 'out') }));
      expect(lines[0]).toMatch(/^error: refusing to write out\/creds\.yaml: it is inside out\//);
      expect(fs.readdirSync(path.join(root, 'dist', 'homelab'))).toEqual([]);
    });

    test('refuses to replace a SOPS-encrypted file unless --force', () => {
      const file = path.join(root, OUT);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const encrypted = 'apiVersion: v1\nkind: Secret\nstringData:\n  token: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n';
      fs.writeFileSync(file, encrypted);
      expect(expectUserError(run(['homelab']))).toEqual([
        `error: ${OUT} is SOPS-encrypted already; to change the token edit it with \`sops ${OUT}\`, or pass --force to replace it with a new plain-text file (then encrypt that again)`,
      ]);
      expect(fs.readFileSync(file, 'utf8')).toBe(encrypted);
      expect(run(['homelab', '--force']).status).toBe(0);
      expect(YAML.parse(fs.readFileSync(file, 'utf8')).sops).toBeUndefined();
    });

    test('refuses to replace a file that is not a Secret unless --force, and a directory', () => {
      fs.writeFileSync(path.join(root, 'notes.yaml'), 'hello: world\n');
      expect(expectUserError(run(['homelab', '--out', 'notes.yaml']))).toEqual([
        'error: notes.yaml exists and is not a Secret; pass --force to replace it, or choose another --out',
      ]);
      expect(run(['homelab', '--out', 'notes.yaml', '--force']).status).toBe(0);
      fs.mkdirSync(path.join(root, 'adir'));
      expect(expectUserError(run(['homelab', '--out', 'adir']))).toEqual([
        `error: --out adir is a directory; give the path of a file, like ${path.join('adir', 'proxmox-credentials.yaml')}`,
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
    test('writes the Secret with mode 0600, exit 0, as in-process', () => {
      const r = spawn(['homelab']);
      expect(r.status).toBe(0);
      const file = path.join(root, OUT);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(YAML.parse(fs.readFileSync(file, 'utf8')).stringData.secret).toBe(GOOD_ENV.PROXMOX_SECRET);
      expect(r.stdout).toContain(`wrote ${OUT}: Secret default/homelab-proxmox in plain text (mode 0600)\n`);
      expect(`${r.stdout}${r.stderr}`).not.toContain(GOOD_ENV.PROXMOX_SECRET);
      fs.rmSync(path.join(root, 'secrets'), { recursive: true });
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
