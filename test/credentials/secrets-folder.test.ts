import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { PROJECT_ROOT } from '../../lib/core/paths';
import { plaintextSecretProblems, secretsFileProblems } from '../../lib/credentials/secret';

const FILE = 'secrets/homelab/proxmox-credentials.sops.yaml';

/** A sops value as sops writes it; the payload here is made up and decrypts to nothing. */
function enc(data: string): string {
  return `ENC[AES256_GCM,data:${Buffer.from(data).toString('base64')},iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]`;
}

/** The credentials Secret as `sops --encrypt` with `encrypted_regex: ^(data|stringData)$` leaves it. */
function encryptedSample(stringData: Record<string, string> = { url: enc('u'), token: enc('t'), secret: enc('s'), insecure: enc('i') }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'homelab-proxmox', namespace: 'default', labels: { 'platform.ionos.com/secret-type': 'proxmox-credentials' } },
    type: 'Opaque',
    stringData,
    sops: {
      age: [{ recipient: 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z', enc: '-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n' }],
      lastmodified: '2026-11-24T12:00:00Z',
      mac: enc('mac'),
      encrypted_regex: '^(data|stringData)$',
      version: '3.10.2',
    },
  };
}

const PLAIN_SAMPLE = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'homelab-proxmox', namespace: 'default' },
  stringData: { url: 'https://pve.example.com:8006', token: 'capmox@pve!capi', secret: '00000000-0000-4000-8000-000000000000' },
};

const FIX = `encrypt it with: sops --encrypt --in-place ${FILE}`;

describe('plaintextSecretProblems', () => {
  test('a SOPS-encrypted Secret has none', () => {
    expect(plaintextSecretProblems(YAML.stringify(encryptedSample()), FILE)).toEqual([]);
    expect(plaintextSecretProblems(YAML.stringify({ ...encryptedSample(), data: { ca: enc('Y2E=') } }), FILE)).toEqual([]);
  });

  test('fails on a plain-text Secret, naming every plain key and never a value', () => {
    const problems = plaintextSecretProblems(YAML.stringify(PLAIN_SAMPLE), FILE);
    expect(problems).toEqual([
      `${FILE} is not SOPS-encrypted (no top-level sops key); ${FIX}`,
      `${FILE}: stringData.url is in plain text (value not shown); ${FIX}`,
      `${FILE}: stringData.token is in plain text (value not shown); ${FIX}`,
      `${FILE}: stringData.secret is in plain text (value not shown); ${FIX}`,
    ]);
    expect(problems.join('\n')).not.toMatch(/00000000-0000|pve\.example\.com/);
  });

  test('fails on one value left in plain text beside sops metadata (an edit after encryption)', () => {
    const sample = encryptedSample({ url: enc('u'), token: 'capmox@pve!capi', secret: enc('s') });
    expect(plaintextSecretProblems(YAML.stringify(sample), FILE)).toEqual([`${FILE}: stringData.token is in plain text (value not shown); ${FIX}`]);
  });

  test('fails on data values that only look encrypted', () => {
    const sample = { ...encryptedSample(), data: { token: 'ENC[not really]', count: 3 } };
    expect(plaintextSecretProblems(YAML.stringify(sample), FILE)).toEqual([
      `${FILE}: data.token is in plain text (value not shown); ${FIX}`,
      `${FILE}: data.count is in plain text (value not shown); ${FIX}`,
    ]);
  });

  test('fails on sops metadata without a mac', () => {
    const sample = encryptedSample();
    delete (sample.sops as Record<string, unknown>).mac;
    expect(plaintextSecretProblems(YAML.stringify(sample), FILE)).toEqual([
      `${FILE} has sops metadata without a mac, so sops did not encrypt it (or it was edited by hand); ${FIX}`,
    ]);
    expect(plaintextSecretProblems(YAML.stringify({ ...encryptedSample(), sops: 'yes' }), FILE)).toHaveLength(1);
  });

  test('checks every document of a multi-document file', () => {
    const text = `${YAML.stringify(encryptedSample())}---\n${YAML.stringify(PLAIN_SAMPLE)}`;
    const problems = plaintextSecretProblems(text, FILE);
    expect(problems[0]).toBe(`${FILE} (document 2) is not SOPS-encrypted (no top-level sops key); ${FIX}`);
    expect(problems).toHaveLength(4);
  });

  test('fails on a file that is not YAML or not a mapping, without quoting it', () => {
    const [problem] = plaintextSecretProblems('token: capmox@pve!capi\n  secret: 00000000-0000-4000-8000-000000000000 : x\n', FILE);
    expect(problem).toMatch(new RegExp(`^${FILE.replace(/[./]/g, '\\$&')} is not valid YAML \\(line \\d+, column \\d+: [^\\n]+\\), so it is not SOPS-encrypted; `));
    expect(problem).not.toContain('00000000');
    expect(plaintextSecretProblems('- a\n- b\n', FILE)).toEqual([`${FILE} is not a YAML mapping, so it is not SOPS-encrypted; ${FIX}`]);
  });

  test('an empty file has none', () => {
    expect(plaintextSecretProblems('', FILE)).toEqual([]);
  });
});

describe('secretsFileProblems', () => {
  test('an encrypted *.sops.yaml file has none', () => {
    expect(secretsFileProblems(YAML.stringify(encryptedSample()), FILE)).toEqual([]);
  });

  test('an encrypted file under another name: git ignores it, so rename it', () => {
    expect(secretsFileProblems(YAML.stringify(encryptedSample()), 'secrets/homelab/proxmox-credentials.yaml')).toEqual([
      'secrets/homelab/proxmox-credentials.yaml is not named *.sops.yaml, so .gitignore keeps it out of git and Flux never gets it; rename it: git mv secrets/homelab/proxmox-credentials.yaml secrets/homelab/proxmox-credentials.sops.yaml',
    ]);
  });

  test('a plain file under another name: delete it', () => {
    const problems = secretsFileProblems(YAML.stringify(PLAIN_SAMPLE), 'secrets/homelab/x.yml');
    expect(problems[0]).toBe('secrets/homelab/x.yml is not named *.sops.yaml, so .gitignore keeps it out of git, but it is in plain text inside the repository; delete it (rotate the token if it was ever committed) and run npm run credentials again, which encrypts with sops');
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).not.toMatch(/00000000-0000|pve\.example\.com/);
  });

  test('a plain file named *.sops.yaml: the plain-text problems', () => {
    expect(secretsFileProblems(YAML.stringify(PLAIN_SAMPLE), FILE)).toEqual(plaintextSecretProblems(YAML.stringify(PLAIN_SAMPLE), FILE));
  });
});

/** Every *.yaml / *.yml under a directory, recursively, relative to the project. */
function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? yamlFiles(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : [])
    .sort();
}

// The guard behind .gitignore: a YAML file under secrets/ that is not an encrypted *.sops.yaml
// fails the test suite. .gitignore keeps any other name out of git, and `npm run credentials`
// never writes plain text into the repository, so this catches a hand-made file, a file renamed
// to *.sops.yaml without encryption, and plain text left by an older version of the command.
describe('secrets/ of the project', () => {
  const secretsDir = path.join(PROJECT_ROOT, 'secrets');
  const files = fs.existsSync(secretsDir) ? yamlFiles(secretsDir).map((f) => path.relative(PROJECT_ROOT, f).split(path.sep).join('/')) : [];

  if (files.length === 0) {
    test('holds no YAML files (nothing to check)', () => {
      expect(files).toEqual([]);
    });
  } else {
    test.each(files)('%s is a SOPS-encrypted *.sops.yaml file', (file) => {
      expect(secretsFileProblems(fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'), file)).toEqual([]);
    });
  }
});
