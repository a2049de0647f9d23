import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gitopsConfigSchema, loadGitopsConfig } from '../../../lib/app/config/gitops';
import { parseYamlConfig } from '../../../lib/app/config/load';
import { validationErrorLines } from '../../util';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const parse = (text: string) => parseYamlConfig(text, 'gitops.yaml', gitopsConfigSchema, 'schemas/gitops-config.schema.json');

function problems(text: string): string[] {
  return validationErrorLines(() => parse(text));
}

describe('gitops.yaml', () => {
  test('the project\'s file configures both agents on the main branch', () => {
    const c = loadGitopsConfig(path.join(ROOT, 'gitops.yaml'))!;
    expect(c.name).toBe('clusters');
    expect(c.repository).toMatchObject({ branch: 'main', path: '' });
    expect(c.flux).toEqual({ namespace: 'flux-system', interval: '5m', decryptionSecret: 'sops-age' });
    expect(c.fleet).toEqual({ namespace: 'fleet-local', interval: '5m' });
  });

  test('defaults: name, branch, folder, agent namespaces', () => {
    const c = parse('repository: { url: "ssh://git@git.example.com/infra.git" }\nflux: {}\n');
    expect(c).toEqual({
      name: 'clusters',
      repository: { url: 'ssh://git@git.example.com/infra.git', branch: 'main', path: '' },
      flux: { namespace: 'flux-system', interval: '5m', decryptionSecret: 'sops-age' },
    });
  });

  test('fails with the file, field, value and what is expected', () => {
    expect(problems('repository: { url: "git@host:x.git", path: "../up" }\nflux: { interval: "5 minutes" }\n')).toEqual([
      'gitops.yaml: repository.url "git@host:x.git" must be a clone URL starting with https://, http:// or ssh://',
      'gitops.yaml: repository.path "../up" must not contain ".."',
      'gitops.yaml: flux.interval "5 minutes" must be a duration like 30s, 5m or 1h',
    ]);
  });

  test('fails without an agent, and on unknown fields', () => {
    expect(problems('repository: { url: "https://h/x.git" }\n')).toEqual([
      expect.stringMatching(/^gitops\.yaml: .*must configure flux, fleet or both$/),
    ]);
    expect(problems('repository: { url: "https://h/x.git" }\nflux: { namspace: x }\n')).toEqual([
      'gitops.yaml: flux.namspace is not a known field (check the spelling; see schemas/gitops-config.schema.json)',
    ]);
  });

  test('a project without gitops.yaml generates no management objects', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-'));
    try {
      expect(loadGitopsConfig(path.join(dir, 'gitops.yaml'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
