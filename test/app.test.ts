import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { synthesize } from '../lib/app';
import { CrdSchemaValidator } from '../lib/validation/crd-schema';
import { OutputGate } from '../lib/validation/gate';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

function listTree(dir: string, base = ''): string[] {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTree(dir, path.posix.join(base, e.name)) : [path.posix.join(base, e.name)]).sort();
}

describe('the default clusters (clusters/*.yaml → dist/)', () => {
  const { files, warnings } = synthesize({ configDir: path.join(ROOT, 'clusters'), gitopsFile: 'gitops.yaml' });
  const parse = (content: string) => YAML.parseAllDocuments(content).map((d) => d.toJS());
  const manifests = files.filter((f) => f.path.endsWith('.yaml'));
  const objects = manifests.flatMap((f) => parse(f.content));
  const clusterObjects = parse(files.find((f) => f.path === 'homelab/homelab.k8s.yaml')!.content);

  test('one folder per cluster and one per GitOps agent under management/, no warnings', () => {
    expect(manifests.map((f) => f.path)).toEqual([
      'homelab/homelab.k8s.yaml',
      'management/flux/gitops.k8s.yaml',
      'management/fleet/gitops.k8s.yaml',
    ]);
    expect(warnings).toEqual([]);
  });

  test('every object passes the output gate (schema, CEL, Talos patches, built-ins, references)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });

  test('snapshot of dist/', () => {
    for (const f of files) expect(f.content).toMatchSnapshot(f.path);
  });

  test('the committed dist/ is exactly what synth produces', () => {
    expect(listTree(DIST)).toEqual(files.map((f) => f.path).sort());
    for (const f of files) expect(fs.readFileSync(path.join(DIST, f.path), 'utf8')).toBe(f.content);
  });

  test('every custom resource validates against its CRD schema, unknown fields rejected', () => {
    const validator = new CrdSchemaValidator();
    const custom = objects.filter((o) => o.apiVersion !== 'v1');
    expect(custom.length).toBeGreaterThanOrEqual(10);
    expect(custom.flatMap((o) => validator.validate(o))).toEqual([]);
  });

  test('built-in objects: ConfigMaps only, each under the 1 MiB object limit', () => {
    const builtin = objects.filter((o) => o.apiVersion === 'v1');
    expect(builtin.map((o) => o.kind)).toEqual(['ConfigMap', 'ConfigMap']);
    for (const cm of builtin) expect(Buffer.byteLength(YAML.stringify(cm))).toBeLessThan(1024 * 1024);
  });

  test('nothing secret, in the synthesized output and in every file of the committed dist/', () => {
    const committed = listTree(DIST).map((f) => fs.readFileSync(path.join(DIST, f), 'utf8'));
    for (const text of [...files.map((f) => f.content), ...committed]) {
      expect(text).not.toMatch(/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/);
      expect(text).not.toMatch(/capmox@pve!|PROXMOX_(TOKEN|SECRET)/);
    }
    const committedObjects = listTree(DIST).filter((f) => /\.ya?ml$/.test(f)).flatMap((f) => parse(fs.readFileSync(path.join(DIST, f), 'utf8')));
    for (const o of [...objects, ...committedObjects]) {
      // Not even an empty Secret: a Secret in dist/ is one edit away from a committed token.
      expect(o.kind).not.toBe('Secret');
    }
  });

  test('every cluster object carries the cluster\'s namespace; the GitOps objects their agent\'s', () => {
    for (const o of clusterObjects) expect(o.metadata.namespace).toBe('default');
    const management = objects.filter((o) => !clusterObjects.some((c: any) => c.kind === o.kind && c.metadata.name === o.metadata.name));
    expect(management.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'GitRepository flux-system/clusters',
      'Kustomization flux-system/homelab-secrets',
      'Kustomization flux-system/homelab',
      'Kustomization flux-system/clusters-management',
      'GitRepo fleet-local/homelab',
      'GitRepo fleet-local/clusters-management',
    ]);
  });
});

describe('cdk8s synth (main.ts)', () => {
  let work: string;
  // scripts/app.js is the app command of cdk8s.yaml: main.ts from a cached esbuild bundle
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app.js')], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env, CDK8S_OUTDIR: '' },
  });
  beforeEach(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-')); });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  test('writes dist/ and is byte-identical across runs', () => {
    const dist = path.join(work, 'dist');
    const first = run({ DIST_DIR: dist });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const snapshot = listTree(dist).map((f) => fs.readFileSync(path.join(dist, f), 'utf8'));
    expect(run({ DIST_DIR: dist }).status).toBe(0);
    expect(listTree(dist).map((f) => fs.readFileSync(path.join(dist, f), 'utf8'))).toEqual(snapshot);
  });

  test('a bad config: message, non-zero exit, no stack trace, dist/ untouched', () => {
    const clusters = path.join(work, 'clusters');
    const dist = path.join(work, 'dist');
    fs.mkdirSync(clusters);
    fs.mkdirSync(path.join(dist, 'homelab'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'homelab', 'homelab.k8s.yaml'), 'previous output\n');
    const bad = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8').replace('endpoint: 192.168.0.30', 'endpoint: 192.168.0.25');
    fs.writeFileSync(path.join(clusters, 'homelab.yaml'), bad);

    const result = run({ CLUSTERS_DIR: clusters, DIST_DIR: dist });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('homelab.yaml: network.endpoint 192.168.0.25 lies inside network.addresses 192.168.0.20-192.168.0.29; the VIP must be outside the node range (CAPMOX rejects it)');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(listTree(dist)).toEqual(['homelab/homelab.k8s.yaml']);
    expect(fs.readFileSync(path.join(dist, 'homelab', 'homelab.k8s.yaml'), 'utf8')).toBe('previous output\n');
  });

  test('npm run synth (the README command) shows only the messages: no stack trace from the cdk8s CLI', () => {
    const clusters = path.join(work, 'clusters');
    fs.mkdirSync(clusters);
    const bad = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8').replace('replicas: 3,', 'replicas: 2,');
    fs.writeFileSync(path.join(clusters, 'homelab.yaml'), bad);
    const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'synth.js'), '--output', path.join(work, 'out')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, CLUSTERS_DIR: clusters, DIST_DIR: path.join(work, 'dist') },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error: ');
    expect(result.stderr).toContain('controlPlane.replicas 2 must be odd');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(fs.existsSync(path.join(work, 'dist'))).toBe(false);
  });

  test('a removed cluster config removes its folder from dist/', () => {
    const dist = path.join(work, 'dist');
    fs.mkdirSync(path.join(dist, 'gone'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'gone', 'gone.k8s.yaml'), 'x');
    expect(run({ DIST_DIR: dist }).status).toBe(0);
    expect(listTree(dist).filter((f) => !f.startsWith('management/'))).toEqual(['homelab/homelab.k8s.yaml']);
  });
});
