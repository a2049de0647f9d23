import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { synthesize } from '../../lib/app/synth';
import { main } from '../../scripts/plan';

const ROOT = path.resolve(__dirname, '..', '..');
// tsx as a loader in this node process (what `npm run plan` runs, minus tsx's extra child process).
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const SCRIPT = path.join(ROOT, 'scripts', 'plan.ts');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `npm run plan` against a scratch git repository holding a copy of the committed dist/, and the
 * dist/ of the homelab cluster alone, which edits of clusters/homelab.yaml are compared with (so
 * that other clusters of the project do not show up as deleted).
 */
describe('npm run plan (scripts/plan.ts)', () => {
  let work: string;
  const repoDist = () => path.join(work, 'repo', 'dist');
  const homelabDist = () => path.join(work, 'repo', 'homelab-dist');
  /**
   * In-process, with only the given environment; synthesis runs in jest's working directory, the
   * project. `--committed` given in `args` wins (the last one counts).
   */
  const plan = (args: string[], env: Record<string, string> = {}): Run => {
    let stdout = '';
    let stderr = '';
    const status = main(['--committed', repoDist(), ...args], {
      env,
      stdout: { write: (t: string) => { stdout += t; } },
      stderr: { write: (t: string) => { stderr += t; } },
    });
    return { status, stdout, stderr };
  };
  /**
   * As a program, for what only a process shows: its exit code, its streams, no stack trace.
   * Asynchronous, so that the runs overlap with the in-process tests (about a second each).
   */
  const spawnPlan = (args: string[]): Promise<Run> => new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, SCRIPT, '--committed', repoDist(), ...args], { cwd: ROOT, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // Resolves even when node cannot start, so that no rejection goes unhandled before a test awaits it.
    child.on('error', (e) => resolve({ status: null, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  let programRuns: { blocked: Promise<Run>; failed: Promise<Run>; day2: Promise<Run> };
  const homelabYaml = () => fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');
  /** A clusters/ folder holding only homelab.yaml with this text. */
  const clustersWith = (text: string) => {
    const dir = path.join(work, 'clusters');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'homelab.yaml'), text);
    return dir;
  };
  /** Plans an edit of clusters/homelab.yaml against the homelab cluster alone. */
  const planHomelab = (edit: (text: string) => string, args: string[] = []) => {
    const edited = edit(homelabYaml());
    // An edit that misses (clusters/homelab.yaml was changed) would plan nothing and prove nothing.
    expect(edited).not.toBe(homelabYaml());
    return plan(['--committed', homelabDist(), ...args], { CLUSTERS_DIR: clustersWith(edited) });
  };
  /** A new copy of the committed dist/ with the homelab manifests edited by hand (by default, a template's memory). */
  const handEditedDist = (edit = (t: string) => t.replace('memoryMiB: 4096', 'memoryMiB: 6144')) => {
    const edited = fs.mkdtempSync(path.join(work, 'edited-'));
    fs.cpSync(repoDist(), edited, { recursive: true });
    const file = path.join(edited, 'homelab', 'homelab.k8s.yaml');
    const text = fs.readFileSync(file, 'utf8');
    expect(edit(text)).not.toBe(text);
    fs.writeFileSync(file, edit(text));
    return edited;
  };
  /** The committed dist/ with the control plane scaled to 4 by hand (synth refuses an even count). */
  const evenControlPlane = (t: string) => t.replace(/(\nkind: TalosControlPlane\n[\s\S]*?\n {2}replicas: )3\n/, (_m, head: string) => `${head}4\n`);

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-cli-'));
    const repo = path.join(work, 'repo');
    fs.cpSync(path.join(ROOT, 'dist'), path.join(repo, 'dist'), { recursive: true });
    const gitopsFile = path.relative(process.cwd(), path.join(ROOT, 'gitops.yaml'));
    for (const f of synthesize({ configDir: clustersWith(homelabYaml()), gitopsFile }).files) {
      fs.mkdirSync(path.dirname(path.join(homelabDist(), f.path)), { recursive: true });
      fs.writeFileSync(path.join(homelabDist(), f.path), f.content);
    }
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    const commit = (...args: string[]) => git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', ...args);
    // HEAD~1 has no dist/ yet, like a project before its first synth.
    commit('--allow-empty', '-m', 'empty');
    git('add', '.');
    commit('-m', 'dist');
    programRuns = {
      blocked: spawnPlan(['--dist', handEditedDist()]),
      failed: spawnPlan(['--ref', 'no-such-ref']),
      day2: spawnPlan(['--dist', handEditedDist(evenControlPlane)]),
    };
  });
  afterAll(async () => {
    // Let the programs finish before their files go.
    await Promise.all([programRuns?.blocked, programRuns?.failed, programRuns?.day2]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('an unchanged tree: "No changes", exit 0', () => {
    expect(plan([])).toEqual({ status: 0, stdout: 'No changes: a fresh synth equals dist/ at HEAD.\n', stderr: '' });
  });

  test('a renamed cluster: destructive, exit 1; allowed with --allow-destructive', () => {
    const rename = (t: string) => t.replace('name: homelab', 'name: lab');
    const r = planHomelab(rename);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('DESTRUCTIVE: Cluster default/homelab is deleted');
    expect(r.stdout).toContain('+ Cluster default/lab');
    expect(r.stdout).toContain('- Kustomization flux-system/homelab');
    expect(r.stdout).toMatch(/\nNot safe to apply: \d+ destructive \(--allow-destructive to proceed anyway\)\.\n$/);
    const allowed = planHomelab(rename, ['--allow-destructive']);
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toContain('DESTRUCTIVE (allowed by --allow-destructive): Cluster default/homelab is deleted');
  });

  test('a template edited in place by hand in dist/: rejected, exit 1; allowed with --allow-rejected', () => {
    const edited = handEditedDist();
    const r = plan(['--dist', edited]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/REJECTED: ProxmoxMachineTemplate default\/homelab-control-plane-\w+ spec changes under the same name/);
    expect(r.stdout).toContain('Not safe to apply: 1 rejected (--allow-rejected to proceed anyway).');
    expect(plan(['--dist', edited, '--allow-rejected']).status).toBe(0);
    // The other flags allow other kinds only.
    expect(plan(['--dist', edited, '--allow-destructive', '--allow-unsafe']).status).toBe(1);
  });

  // Day 2 (STACK.md §9.6, §7): each change exits 1 with its finding, and --allow-<kind> lets it through.
  test.each([
    { what: 'a moved endpoint host', heading: 'REJECTED', edit: (t: string) => t.replace('endpoint: 192.168.0.30', 'endpoint: 192.168.0.31'),
      finding: 'Cluster default/homelab cluster homelab: the control-plane endpoint moves 192.168.0.30:6443 → 192.168.0.31:6443' },
    { what: 'a moved endpoint port', heading: 'REJECTED', edit: (t: string) => t.replace(/\n {2}addresses: /, '\n  endpointPort: 7443\n  addresses: '),
      finding: 'Cluster default/homelab cluster homelab: the control-plane endpoint moves 192.168.0.30:6443 → 192.168.0.30:7443' },
    { what: 'a changed pod network', heading: 'REJECTED', edit: (t: string) => t.replace('podCidrs: [10.244.0.0/16]', 'podCidrs: [10.245.0.0/16]'),
      finding: 'Cluster default/homelab cluster homelab: the pod network moves 10.244.0.0/16 → 10.245.0.0/16' },
    { what: 'a changed service network', heading: 'REJECTED', edit: (t: string) => t.replace('serviceCidrs: [10.96.0.0/12]', 'serviceCidrs: [10.112.0.0/12]'),
      finding: 'Cluster default/homelab cluster homelab: the service network moves 10.96.0.0/12 → 10.112.0.0/12' },
    { what: 'a shrunk address range', heading: 'UNSAFE', edit: (t: string) => t.replace('192.168.0.20-192.168.0.29', '192.168.0.20-192.168.0.27'),
      finding: 'ProxmoxCluster default/homelab cluster homelab: spec.ipv4Config.addresses 192.168.0.20-192.168.0.29 → 192.168.0.20-192.168.0.27 drops 2 address(es)' },
    { what: 'a control plane scaled 3 → 1', heading: 'UNSAFE', edit: (t: string) => t.replace(/controlPlane: \{ replicas: 3\b/, 'controlPlane: { replicas: 1'),
      finding: 'TalosControlPlane default/homelab-control-plane cluster homelab: the control plane scales 3 → 1 machine(s)' },
    { what: 'a removed credentials Secret reference', heading: 'UNSAFE', edit: (t: string) => t.replace(/\n *credentialsSecret: homelab-proxmox *\n/, '\n'),
      finding: 'ProxmoxCluster default/homelab cluster homelab: spec.credentialsRef homelab-proxmox → (none): CAPMOX then falls back to its global credentials' },
  ])('day 2, $what: $heading, exit 1', ({ edit, heading, finding }) => {
    const r = planHomelab(edit);
    expect(r.stdout).toContain(`\n  ${heading}: ${finding}`);
    expect(r.stdout).toMatch(/\nNot safe to apply: .*\n$/);
    expect(r.status).toBe(1);
    expect(planHomelab(edit, [`--allow-${heading.toLowerCase()}`]).status).toBe(0);
  });

  test('day 2, a control plane scaled to an even count by hand in dist/: unsafe, exit 1', () => {
    const r = plan(['--dist', handEditedDist(evenControlPlane)]);
    expect(r.stdout).toContain('\n  UNSAFE: TalosControlPlane default/homelab-control-plane cluster homelab: the control plane scales 3 → 4 machine(s) (spec.replicas): etcd needs a majority (3 of 4 members)');
    expect(r.stdout).toContain('Not safe to apply: 1 unsafe (--allow-unsafe to proceed anyway).');
    expect(r.status).toBe(1);
  });

  test('day 2 counter-cases: a grown address range, a control plane scaled 3 → 5: safe, exit 0', () => {
    const grown = planHomelab((t) => t.replace('addresses: [192.168.0.20-192.168.0.29]', 'addresses: [192.168.0.10-192.168.0.29]'));
    expect(grown.stdout).toContain('Safe to apply: nothing destructive, rejected or unsafe.');
    expect(grown.status).toBe(0);
    const five = planHomelab((t) => t.replace(/controlPlane: \{ replicas: 3\b/, 'controlPlane: { replicas: 5'));
    expect(five.stdout).toContain('scaling: control plane homelab-control-plane scales 3 → 5 machine(s)');
    expect(five.status).toBe(0);
  });

  test('--json: the same plan for CI tools', () => {
    const r = planHomelab((t) => t.replace('replicas: 2,', 'replicas: 4,'), ['--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.against).toBe('dist/ at HEAD');
    expect(json.folders[0].scaling).toEqual(['pool homelab-default scales 2 → 4 machine(s)']);
    expect(json.blocking).toEqual([]);
  });

  test('--ref: the dist/ of another commit; an unknown ref is an error, exit 2', () => {
    // Before dist/ existed: everything is created, nothing blocks.
    const r = plan(['--ref', 'HEAD~1', '--dist', repoDist()]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Plan against dist\/ at HEAD~1:\n/);
    expect(r.stdout).toMatch(/\ndist\/homelab\/: \d+ to create, 0 to change, 0 to delete\n/);
    expect(r.stdout).toContain('  + Cluster default/homelab\n');
    expect(r.stdout).toMatch(/\nSafe to apply: nothing destructive, rejected or unsafe\.\n$/);
    expect(plan(['--ref', 'no-such-ref'])).toEqual({
      status: 2, stdout: '',
      stderr: 'error: git ref "no-such-ref" does not name a commit (try HEAD, a branch such as origin/main, or a commit id)\n',
    });
  });

  test('clusters that clash with each other (one VIP): the fleet check\'s message naming both files, exit 2', () => {
    const dir = path.join(work, 'fleet');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'homelab.yaml'), homelabYaml());
    const lab2 = homelabYaml().replace('name: homelab\n', 'name: lab2\n').replace('addresses: [192.168.0.20-192.168.0.29]', 'addresses: [192.168.0.40-192.168.0.49]')
      .replace('credentialsSecret: homelab-proxmox', 'credentialsSecret: lab2-proxmox');
    expect(lab2).toContain('credentialsSecret: lab2-proxmox');
    fs.writeFileSync(path.join(dir, 'lab2.yaml'), lab2);
    const shown = (file: string) => path.relative(ROOT, path.join(dir, file)).split(path.sep).join('/');
    expect(plan([], { CLUSTERS_DIR: dir })).toEqual({
      status: 2, stdout: '',
      stderr: `error: ${shown('lab2.yaml')}: network.endpoint "192.168.0.30" is also the VIP of ${shown('homelab.yaml')} (network.endpoint); give each cluster its own VIP: the management cluster must reach every cluster's VIP and control-plane nodes, whatever their bridge or VLAN\n`,
    });
  });

  test('a bad command line: the problem and the usage, exit 2', () => {
    const usage = 'error: usage: npm run plan -- [--ref <git revision>] [--committed <dir>] [--dist <dir>] [--allow-destructive] [--allow-rejected] [--allow-unsafe] [--json]\n';
    const bad = (args: string[], problem: string) => expect(plan(args)).toEqual({ status: 2, stdout: '', stderr: `error: ${problem}\n${usage}` });
    bad(['--bogus'], 'unknown argument "--bogus"');
    bad(['--bogus=1'], 'unknown argument "--bogus"');
    bad(['-x'], 'unknown argument "-x"');
    bad(['stray'], 'unknown argument "stray"');
    bad(['--ref'], '--ref needs a value');
    bad(['--dist', '--json'], '--dist needs a value');
    bad(['--json=yes'], '--json does not take a value');
  });

  describe('as a program', () => {
    test('prints the plan on stdout and exits 1 when it is blocked', async () => {
      const r = await programRuns.blocked;
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Not safe to apply: 1 rejected (--allow-rejected to proceed anyway).\n');
      expect(r.status).toBe(1);
    });

    test('a day-2 finding (a control plane scaled to an even count): the plan on stdout, exit 1', async () => {
      const r = await programRuns.day2;
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('UNSAFE: TalosControlPlane default/homelab-control-plane cluster homelab: the control plane scales 3 → 4 machine(s)');
      expect(r.stdout).toContain('Not safe to apply: 1 unsafe (--allow-unsafe to proceed anyway).\n');
      expect(r.status).toBe(1);
    });

    test('errors: message on stderr, exit 2, no stack trace', async () => {
      const r = await programRuns.failed;
      expect(r.stderr).toBe('error: git ref "no-such-ref" does not name a commit (try HEAD, a branch such as origin/main, or a commit id)\n');
      expect(r.stdout).toBe('');
      expect(r.status).toBe(2);
    });
  });
});
