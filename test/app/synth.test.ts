import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import * as YAML from 'yaml';
import { fleetClusterConfig } from '../../bench/fleet';
import { buildClusters, findClusterSources } from '../../lib/app/clusters';
import { chartObjects, synthesize } from '../../lib/app/synth';
import { describeObject, KubeObject } from '../../lib/core/kube-object';
import { CrdSchemaValidator } from '../../lib/gate/crd-schema';
import { OutputGate } from '../../lib/gate/gate';
import { LONGHORN_EXTENSIONS } from '../../lib/talos/schematic';
import { templateVm } from '../util';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');

function listTree(dir: string, base = ''): string[] {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTree(dir, path.posix.join(base, e.name)) : [path.posix.join(base, e.name)]).sort();
}

describe('chartObjects: chart.toJson() without the app-wide work', () => {
  test('the objects of chart.toJson(), in its order, for each committed cluster and a fleet cluster', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-objects-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), path.join(dir, 'homelab.yaml'));
      fs.writeFileSync(path.join(dir, 'fleet.yaml'), fleetClusterConfig(4));
      const built = [...buildClusters(new App(), findClusterSources(path.join(ROOT, 'clusters'))), ...buildClusters(new App(), findClusterSources(dir))];
      expect(built).toHaveLength(4);
      for (const { chart } of built) {
        const objects = chartObjects(chart);
        expect(objects.length).toBeGreaterThan(5);
        expect(objects).toEqual(chart.toJson());
        expect(JSON.stringify(objects)).toBe(JSON.stringify(chart.toJson()));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a chart with a dependency between its objects, or a nested chart, is ordered by cdk8s', () => {
    const configMap = (scope: Chart, id: string) => new ApiObject(scope, id, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: id } });
    const withDependency = new Chart(new App(), 'deps');
    const first = configMap(withDependency, 'first');
    const second = configMap(withDependency, 'second');
    first.node.addDependency(second);
    expect(chartObjects(withDependency).map((o) => o.metadata.name)).toEqual(['second', 'first']);
    const outer = new Chart(new App(), 'outer');
    configMap(outer, 'outer-object');
    configMap(new Chart(outer, 'inner'), 'inner-object');
    expect(chartObjects(outer)).toEqual(outer.toJson());
    expect(chartObjects(outer).map((o) => o.metadata.name)).toEqual(['outer-object']);
  });
});

describe('the default clusters (clusters/*.yaml → dist/)', () => {
  const { files, warnings } = synthesize({ configDir: path.join(ROOT, 'clusters'), gitopsFile: 'gitops.yaml' });
  const parse = (content: string) => YAML.parseAllDocuments(content).map((d) => d.toJS());
  const manifests = files.filter((f) => f.path.endsWith('.yaml'));
  const objects = manifests.flatMap((f) => parse(f.content));
  const clusterObjects = parse(files.find((f) => f.path === 'homelab/homelab.k8s.yaml')!.content);

  test('one folder per cluster and one per GitOps agent under management/, no warnings', () => {
    expect(manifests.map((f) => f.path)).toEqual([
      'edge/edge.k8s.yaml',
      'homelab/homelab.k8s.yaml',
      // Both clusters render their add-ons alike: one shared copy of each render for the namespace.
      expect.stringMatching(/^_addons\/default\/talos-ccm-[0-9a-f]{10}\.k8s\.yaml$/),
      expect.stringMatching(/^_addons\/default\/cilium-[0-9a-f]{10}\.k8s\.yaml$/),
      expect.stringMatching(/^_addons\/default\/cilium-jobs-[0-9a-f]{10}\.k8s\.yaml$/),
      'management/flux/gitops.k8s.yaml',
      'management/fleet/gitops.k8s.yaml',
    ]);
    expect(warnings).toEqual([]);
  });

  test('every object passes the output gate (schema, CEL, Talos patches, built-ins, references)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });

  test('a gate violation in the GitOps objects names gitops.yaml and the object; one in a cluster comes first', () => {
    /** A gate that refuses, besides what it finds itself, the objects of the given kinds. */
    const refusing = (...kinds: string[]) => new (class extends OutputGate {
      public override objectViolations(list: readonly KubeObject[]) {
        return [...super.objectViolations(list), ...list.filter((o) => kinds.includes(o.kind)).map((o) => ({ object: describeObject(o), field: 'spec', message: 'refused' }))];
      }
    })();
    const options = { configDir: path.join(ROOT, 'clusters'), gitopsFile: 'gitops.yaml' };
    expect(() => synthesize({ ...options, gate: refusing('GitRepo') })).toThrow(/^gitops\.yaml: GitRepo fleet-local\/clusters-management: spec: refused$/m);
    const both = refusing('Cluster', 'Kustomization');
    expect(() => synthesize({ ...options, gate: both })).toThrow(/^clusters\/edge\.ts: Cluster default\/edge: spec: refused$/);
  });

  test('each cluster folder has a generated README.md with the Mermaid diagram of its objects', () => {
    const readme = files.find((f) => f.path === 'homelab/README.md')!.content;
    expect(readme).toContain('Generated by `cdk8s synth` from `clusters/homelab.yaml`; do not edit.');
    expect(readme).toContain('```mermaid\nflowchart');
    // Every object is named: in a node of its own, or (a pool's health check) as `+ <kind>` in the node of its namesake.
    for (const o of clusterObjects) {
      expect(readme).toMatch(new RegExp(`\\["(${o.kind}<br>${o.metadata.name}(<br>|")|[A-Za-z]+<br>${o.metadata.name}<br>[^"]*\\+ ${o.kind}(<br>|"))`));
    }
  });

  test('each cluster folder has its day-0 RUNBOOK.md with that cluster\'s values; the management runbook is written once', () => {
    const management = files.find((f) => f.path === 'management/RUNBOOK.md')!.content;
    expect(management).toContain('- [homelab](../homelab/RUNBOOK.md), from `clusters/homelab.yaml`');
    expect(management).toContain('- [edge](../edge/RUNBOOK.md), from `clusters/edge.ts`');
    expect(management).toContain('clusterctl init \\\n  --core cluster-api:v1.12.11 \\\n  --bootstrap talos:v0.6.12 \\\n  --control-plane talos:v0.5.13 \\\n  --infrastructure proxmox:v0.9.0 \\\n  --ipam in-cluster:v1.1.0');
    const runbook = files.find((f) => f.path === 'homelab/RUNBOOK.md')!.content;
    expect(runbook).toContain('[the management runbook](../management/RUNBOOK.md)');
    // The template VM is built in the fleet's template VM builds, which the runbook links to.
    expect(runbook).toContain('[VM 8700 on K8S0](../management/TEMPLATES.md#template-vm-8700-on-k8s0)');
    const templates = files.find((f) => f.path === 'management/TEMPLATES.md')!.content;
    expect(templates).toContain('## Template VM 8700 on K8S0');
    expect(templates).toContain('https://factory.talos.dev/image/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515/v1.13.9/nocloud-amd64.raw.xz');
    expect(templates).toContain('qm create 8700 --name talos-v1-13-9-ce4c9805 --ostype l26 --machine q35 --cpu host \\\n  --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb \\\n  --scsihw virtio-scsi-pci --net0 virtio,bridge=vmbr0 --agent enabled=1');
  });

  test('the TypeScript example of the repository (clusters/edge.ts) is in dist/ with its runbook and diagram, like a config file\'s cluster', () => {
    const edge = files.filter((f) => f.path.startsWith('edge/')).map((f) => f.path);
    expect(edge).toEqual(['edge/edge.k8s.yaml', 'edge/README.md', 'edge/RUNBOOK.md']);
    expect(files.find((f) => f.path === 'edge/edge.k8s.yaml')!.content.split('\n')[0]).toBe('# Generated by cdk8s synth from clusters/edge.ts; do not edit.');
  });

  test('the committed dist/ is exactly what synth produces, the fleet page at its root included', () => {
    expect(listTree(DIST)).toEqual(files.map((f) => f.path).sort());
    expect(listTree(DIST)).toContain('README.md');
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
    // Once for the namespace, shared by both clusters: Cilium's payload, its one-shot Jobs (ApplyOnce) and the Talos CCM's.
    expect(builtin.map((o) => o.kind)).toEqual(Array(3).fill('ConfigMap'));
    for (const cm of builtin) expect(Buffer.byteLength(YAML.stringify(cm))).toBeLessThan(1024 * 1024);
  });

  test('nothing secret, in the synthesized output and in every file of the committed dist/', () => {
    const committed = listTree(DIST).map((f) => fs.readFileSync(path.join(DIST, f), 'utf8'));
    for (const text of [...files.map((f) => f.content), ...committed]) {
      expect(text).not.toMatch(/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/);
    }
    // The runbook names the variables and a token ID (neither is secret); manifests never do.
    for (const text of [...manifests.map((f) => f.content), ...listTree(DIST).filter((f) => f.endsWith('.yaml')).map((f) => fs.readFileSync(path.join(DIST, f), 'utf8'))]) {
      expect(text).not.toMatch(/capmox(-[a-z0-9-]+)?@pve!|PROXMOX_(TOKEN|SECRET)/);
    }
    const runbook = files.find((f) => f.path === 'homelab/RUNBOOK.md')!.content;
    expect(runbook).not.toMatch(/PROXMOX_SECRET=(?!'<token secret>')/);
    const committedObjects = listTree(DIST).filter((f) => /\.ya?ml$/.test(f)).flatMap((f) => parse(fs.readFileSync(path.join(DIST, f), 'utf8')));
    for (const o of [...objects, ...committedObjects]) {
      // Not even an empty Secret: a Secret in dist/ is one edit away from a committed token.
      expect(o.kind).not.toBe('Secret');
    }
  });

  test('every cluster object carries the cluster\'s namespace; the GitOps objects their agent\'s', () => {
    for (const o of clusterObjects) expect(o.metadata.namespace).toBe('default');
    const edgeObjects = parse(files.find((f) => f.path === 'edge/edge.k8s.yaml')!.content);
    for (const o of edgeObjects) expect(o.metadata.namespace).toBe('default');
    const renders = manifests.filter((f) => f.path.startsWith('_addons/')).flatMap((f) => parse(f.content));
    // The shared renders are in the clusters' namespace, as a resource set must be to select them.
    for (const o of renders) expect(o.metadata.namespace).toBe('default');
    const management = objects.filter((o) => ![...clusterObjects, ...edgeObjects, ...renders]
      .some((c: any) => c.kind === o.kind && c.metadata.name === o.metadata.name));
    expect(management.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'GitRepository flux-system/clusters',
      'Kustomization flux-system/edge-secrets',
      'Kustomization flux-system/edge',
      'Kustomization flux-system/homelab-secrets',
      'Kustomization flux-system/homelab',
      'Kustomization flux-system/clusters-addons',
      'Kustomization flux-system/clusters-management',
      'GitRepo fleet-local/edge',
      'GitRepo fleet-local/homelab',
      'GitRepo fleet-local/clusters-addons',
      'GitRepo fleet-local/clusters-management',
    ]);
  });
});

describe('a cluster with a Longhorn pool, labels and taints, through the whole synth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longhorn-'));
  const config = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));
  config.name = 'lab';
  config.workers.push({
    name: 'storage', replicas: 2, cores: 4, memoryMiB: 8192, diskGiB: 200, longhorn: true,
    template: templateVm(8701, { extensions: LONGHORN_EXTENSIONS }),
    labels: { 'node-role.kubernetes.io/storage': '' },
    taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }],
  });
  fs.writeFileSync(path.join(dir, 'lab.yaml'), YAML.stringify(config));
  // synthesize() runs the output gate: it throws on any schema, CEL, Talos-patch or reference violation.
  const { files } = synthesize({ configDir: dir });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runbook = files.find((f) => f.path === 'lab/RUNBOOK.md')!.content;
  const templates = files.find((f) => f.path === 'management/TEMPLATES.md')!.content;

  test('the template VM builds have both template VMs, each from its own schematic; the runbook links to both and prepares Longhorn', () => {
    expect(templates).toContain('## Template VM 8700 on K8S0');
    expect(templates).toContain('## Template VM 8701 on K8S0');
    expect(new Set(templates.match(/https:\/\/factory\.talos\.dev\/image\/([0-9a-f]{64})\/v1\.13\.9\/nocloud-amd64\.raw\.xz/g)).size).toBe(2);
    expect(templates).toContain('siderolabs/iscsi-tools');
    expect(runbook).toContain('(../management/TEMPLATES.md#template-vm-8700-on-k8s0)');
    expect(runbook).toContain('(../management/TEMPLATES.md#template-vm-8701-on-k8s0)');
    expect(runbook).toContain('pod-security.kubernetes.io/enforce=privileged');
  });

  test('the manifests carry the pool options', () => {
    const objects = YAML.parseAllDocuments(files.find((f) => f.path === 'lab/lab.k8s.yaml')!.content).map((d) => d.toJS());
    const md = objects.find((o) => o.kind === 'MachineDeployment' && o.metadata.name === 'lab-storage');
    expect(md.spec.template.metadata.labels['node-role.kubernetes.io/storage']).toBe('');
    const tct = objects.find((o) => o.kind === 'TalosConfigTemplate' && o.metadata.name === md.spec.template.spec.bootstrap.configRef.name);
    const patch = YAML.parse(tct.spec.template.spec.strategicPatches[0]);
    expect(patch.machine.kubelet.extraArgs['register-with-taints']).toBe('dedicated=storage:NoSchedule');
    expect(patch.machine.kubelet.extraMounts[0]).toEqual({ destination: '/var/lib/longhorn', type: 'bind', source: '/var/lib/longhorn', options: ['bind', 'rshared', 'rw'] });
  });
});

describe('a fleet sharing one template VM (the benchmark\'s clusters), through the whole synth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
  const names = ['fleet-000', 'fleet-001', 'fleet-002'];
  names.forEach((name, i) => fs.writeFileSync(path.join(dir, `${name}.yaml`), fleetClusterConfig(i)));
  const { files } = synthesize({ configDir: dir });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const templates = files.find((f) => f.path === 'management/TEMPLATES.md')!.content;

  test('one build of template VM 9000, listing each cluster that clones it once', () => {
    expect(templates.match(/^## .*$/gm)).toEqual(['## Template VM 9000 on pve1']);
    expect(templates.match(/^- \[fleet-\d+\]\(.*$/gm)).toEqual(names.map((n) => `- [${n}](../${n}/RUNBOOK.md)`));
    const all = files.map((f) => f.content).join('\n');
    expect(all.match(/^qm create 9000 /gm)).toHaveLength(1);
    expect(all.match(/^curl -fsS -X POST --data-binary @- https:\/\/factory\.talos\.dev\/schematics/gm)).toHaveLength(1);
  });

  test('each cluster runbook lists the template VM with a link to its build and builds nothing', () => {
    for (const name of names) {
      const runbook = files.find((f) => f.path === `${name}/RUNBOOK.md`)!.content;
      expect(runbook).toContain('- [VM 9000 on pve1](../management/TEMPLATES.md#template-vm-9000-on-pve1) `talos-v1-13-9-ce4c9805`, shared storage `ceph-vm`: '
        + 'the control plane, pool `general`, pool `memory` and pool `burst`');
      expect(runbook).not.toMatch(/^qm /m);
    }
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

  test('a removed cluster config removes its folder from dist/', () => {
    const dist = path.join(work, 'dist');
    fs.mkdirSync(path.join(dist, 'gone'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'gone', 'gone.k8s.yaml'), 'x');
    expect(run({ DIST_DIR: dist }).status).toBe(0);
    expect(listTree(dist).filter((f) => !f.startsWith('management/') && !f.startsWith('_addons/'))).toEqual([
      'README.md', 'edge/README.md', 'edge/RUNBOOK.md', 'edge/edge.k8s.yaml', 'homelab/README.md', 'homelab/RUNBOOK.md', 'homelab/homelab.k8s.yaml',
    ]);
    expect(listTree(dist).filter((f) => f.startsWith('_addons/'))).toHaveLength(3);
  });

  // A cache of its own (a bundle with these clusters would replace the project's), kept across
  // runs so that only the bundle is rebuilt, not every render and validator.
  const TS_CACHE = path.join(ROOT, '.cache', 'test-typescript-cluster');

  test('a TypeScript cluster in a clusters folder of its own goes through the bundle, the gate and the publish path', () => {
    // A fixed folder (outside git, under .cache/): the bundles of both versions of the file below
    // stay valid from one test run to the next.
    const clusters = path.join(TS_CACHE, 'clusters');
    fs.rmSync(clusters, { recursive: true, force: true });
    const dist = path.join(work, 'dist');
    fs.mkdirSync(clusters, { recursive: true });
    // The repository's example, with its import pointed at this project's lib/.
    const lib = path.relative(clusters, path.join(ROOT, 'lib')).split(path.sep).join('/');
    fs.writeFileSync(path.join(clusters, 'edge.ts'), fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8').replace("from '../lib'", `from '${lib}'`));
    const ok = run({ CLUSTERS_DIR: clusters, DIST_DIR: dist, CDK8S_TALOS_CACHE_DIR: TS_CACHE });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(listTree(dist).filter((f) => !f.startsWith('management/') && !f.startsWith('_addons/'))).toEqual(['README.md', 'edge/README.md', 'edge/RUNBOOK.md', 'edge/edge.k8s.yaml']);
    expect(listTree(dist).filter((f) => f.startsWith('_addons/default/'))).toHaveLength(3);
    // The same objects as the repository's dist/edge/ (only the header names another source file).
    const body = (file: string) => fs.readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
    expect(body(path.join(dist, 'edge', 'edge.k8s.yaml'))).toBe(body(path.join(DIST, 'edge', 'edge.k8s.yaml')));

    // An edit of the TypeScript file rebuilds the bundle, and its props are checked like a config file's.
    fs.writeFileSync(path.join(clusters, 'edge.ts'), fs.readFileSync(path.join(clusters, 'edge.ts'), 'utf8').replace("endpoint: '192.168.10.30'", "endpoint: '192.168.10.25'"));
    const bad = run({ CLUSTERS_DIR: clusters, DIST_DIR: dist, CDK8S_TALOS_CACHE_DIR: TS_CACHE });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual([
      `error: ${path.relative(ROOT, path.join(clusters, 'edge.ts'))}: network.endpoint 192.168.10.25 lies inside network.addresses 192.168.10.20-192.168.10.29; the VIP must be outside the node range (CAPMOX rejects it)`,
    ]);
    expect(body(path.join(dist, 'edge', 'edge.k8s.yaml'))).toBe(body(path.join(DIST, 'edge', 'edge.k8s.yaml')));
  });

  test('on the worker thread of a large synth (CDK8S_TALOS_THREADS=1 forces it) the output is the same, byte for byte', () => {
    const dist = path.join(work, 'dist');
    const threaded = run({ DIST_DIR: dist, CDK8S_TALOS_THREADS: '1' });
    expect(threaded.stderr).toBe('');
    expect(threaded.status).toBe(0);
    expect(listTree(dist)).toEqual(listTree(DIST));
    for (const f of listTree(DIST)) expect(fs.readFileSync(path.join(dist, f), 'utf8')).toBe(fs.readFileSync(path.join(DIST, f), 'utf8'));
  });

  test('a gate violation found on the worker thread is reported as in line: the same message, exit 1, dist/ untouched', () => {
    const clusters = path.join(TS_CACHE, 'clusters-gate');
    fs.rmSync(clusters, { recursive: true, force: true });
    fs.mkdirSync(clusters, { recursive: true });
    const lib = path.relative(clusters, path.join(ROOT, 'lib')).split(path.sep).join('/');
    // The example with an escape-hatch edit the API server would refuse (spec.paused is a boolean).
    const source = fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8').replace("from '../lib'", `from '${lib}'`)
      .replace('export default edge;', [
        "import { ApiObject, JsonPatch } from 'cdk8s';",
        'export default ((scope) => {',
        '  const c = edge(scope);',
        "  (c.node.defaultChild as ApiObject).addJsonPatch(JsonPatch.add('/spec/paused', 'yes'));",
        '  return c;',
        '}) as ClusterDefinition;',
      ].join('\n'));
    fs.writeFileSync(path.join(clusters, 'edge.ts'), source);
    const dist = path.join(work, 'dist');
    const results = ['0', '1'].map((threads) => run({ CLUSTERS_DIR: clusters, DIST_DIR: dist, CDK8S_TALOS_CACHE_DIR: TS_CACHE, CDK8S_TALOS_THREADS: threads }));
    for (const r of results) {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('edge.ts: Cluster default/edge: spec.paused:');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(results[1].stderr).toBe(results[0].stderr);
    expect(fs.existsSync(dist)).toBe(false);

    // A file with a problem of its own, after the one the gate refuses: its message comes first
    // and alone, though the worker took the earlier cluster as soon as it was built.
    fs.writeFileSync(path.join(clusters, 'zz.yaml'), `${fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8')}\nunknownKey: 1\n`);
    const both = ['0', '1'].map((threads) => run({ CLUSTERS_DIR: clusters, DIST_DIR: dist, CDK8S_TALOS_CACHE_DIR: TS_CACHE, CDK8S_TALOS_THREADS: threads }));
    for (const r of both) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/zz\.yaml: unknownKey is not a known field/);
      expect(r.stderr).not.toContain('spec.paused');
    }
    expect(both[1].stderr).toBe(both[0].stderr);
    expect(fs.existsSync(dist)).toBe(false);
  });
});

describe('TypeScript cluster files (clusters/<name>.ts)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(ROOT, '.cache', 'ts-clusters-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const lib = () => path.relative(dir, path.join(ROOT, 'lib')).split(path.sep).join('/');

  test('a file without a default function is refused with a message', () => {
    write('x.ts', 'export const x = 1;\n');
    expect(() => synthesize({ configDir: dir })).toThrow(/x\.ts: must export a default function \(scope\) => TalosCluster/);
  });

  test('a file that returns something else than the TalosCluster it built is refused', () => {
    write('y.ts', `import { Construct } from 'constructs';\nexport default (scope: Construct) => { void scope; return 42; };\n`);
    expect(() => synthesize({ configDir: dir })).toThrow(/y\.ts: its default export must create a TalosCluster in the scope it is given and return it; it returned "number"/);
  });

  test('a YAML and a TypeScript cluster of one name collide, named by both files', () => {
    write('a.yaml', fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));
    write('b.ts', fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8').replace("from '../lib'", `from '${lib()}'`).replace("name: 'edge'", "name: 'homelab'"));
    expect(() => synthesize({ configDir: dir })).toThrow(/b\.ts: name "homelab" is already used by .*a\.yaml; cluster names must be unique/);
  });
});
