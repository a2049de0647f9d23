import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** `npm run plan` against a scratch git repository holding a copy of the committed dist/. */
describe('npm run plan (scripts/plan.ts)', () => {
  let work: string;
  const repoDist = () => path.join(work, 'repo', 'dist');
  const plan = (args: string[], env: Record<string, string> = {}) => spawnSync(TSX, [path.join(ROOT, 'scripts', 'plan.ts'), '--committed', repoDist(), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env },
  });
  const clustersWith = (edit: (text: string) => string) => {
    const dir = path.join(work, 'clusters');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'homelab.yaml'), edit(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8')));
    return dir;
  };

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-cli-'));
    const repo = path.join(work, 'repo');
    fs.cpSync(path.join(ROOT, 'dist'), path.join(repo, 'dist'), { recursive: true });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'dist');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('an unchanged tree: "No changes", exit 0', () => {
    const r = plan([]);
    expect(r.stdout).toBe('No changes: a fresh synth equals dist/ at HEAD.\n');
    expect(r.status).toBe(0);
  });

  test('a renamed cluster: destructive, exit 1; allowed with --allow-destructive', () => {
    const env = { CLUSTERS_DIR: clustersWith((t) => t.replace('name: homelab', 'name: lab')) };
    const r = plan([], env);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('DESTRUCTIVE: Cluster default/homelab is deleted');
    expect(r.stdout).toContain('+ Cluster default/lab');
    expect(r.stdout).toContain('- Kustomization flux-system/homelab');
    expect(plan(['--allow-destructive'], env).status).toBe(0);
  });

  test('a template edited in place by hand in dist/: rejected, exit 1', () => {
    const edited = path.join(work, 'edited');
    fs.cpSync(repoDist(), edited, { recursive: true });
    const file = path.join(edited, 'homelab', 'homelab.k8s.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('memoryMiB: 4096', 'memoryMiB: 6144'));
    const r = plan(['--dist', edited]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/REJECTED: ProxmoxMachineTemplate default\/homelab-control-plane-\w+ spec changes under the same name/);
    expect(r.stdout).toContain('Not safe to apply: 1 rejected (--allow-rejected to proceed anyway).');
  });

  test('--json: the same plan for CI tools', () => {
    const r = plan(['--json'], { CLUSTERS_DIR: clustersWith((t) => t.replace('replicas: 2,', 'replicas: 4,')) });
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.folders[0].scaling).toEqual(['pool homelab-default scales 2 → 4 machine(s)']);
    expect(json.blocking).toEqual([]);
  });

  test('errors: message, exit 2, no stack trace', () => {
    const r = plan(['--ref', 'no-such-ref']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error: git ref "no-such-ref" does not name a commit');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(plan(['--bogus']).stderr).toContain('error: unknown argument "--bogus"');
  });
});
