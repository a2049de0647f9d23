import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { OutputFile } from '../../lib/app/output';
import { synthesize } from '../../lib/app/synth';
import { blockingFindings, changedFields, computePlan, droppedAddresses, FindingKind, Plan } from '../../lib/plan/plan';
import { formatPlan } from '../../lib/plan/report';
import { Schematic } from '../../lib/talos/schematic';

const ROOT = path.resolve(__dirname, '..', '..');
const HOMELAB = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));

/** dist/ of the homelab config after an edit, synthesized in memory. */
function distOf(edit: (config: any) => void = () => {}): OutputFile[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-'));
  try {
    const config = structuredClone(HOMELAB);
    edit(config);
    fs.writeFileSync(path.join(dir, `${config.name}.yaml`), YAML.stringify(config));
    return synthesize({ configDir: dir }).files;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The same files with one object edited by hand (as someone might edit dist/ or use a JSON patch). */
function handEdit(files: OutputFile[], kind: string, edit: (o: any) => void): OutputFile[] {
  return files.map((f) => {
    if (!f.path.endsWith('.yaml')) return f;
    const docs = YAML.parseAllDocuments(f.content).map((d) => d.toJS());
    const target = docs.find((o) => o?.kind === kind);
    if (!target) return f;
    edit(target);
    return { path: f.path, content: docs.map((o) => YAML.stringify(o, { lineWidth: 0 })).join('---\n') };
  });
}

const base = distOf();
/** The image of clusters/homelab.yaml's nodes. */
const guestAgent = new Schematic({ officialExtensions: ['siderolabs/qemu-guest-agent'] });
const findings = (plan: Plan, kind?: FindingKind) => plan.folders.flatMap((f) => f.findings).filter((f) => kind === undefined || f.kind === kind);
const only = (plan: Plan) => {
  expect(plan.folders.map((f) => f.folder)).toEqual(['homelab']);
  return plan.folders[0];
};

describe('plan', () => {
  test('an unchanged tree: nothing changes, safe', () => {
    const plan = computePlan(base, distOf());
    expect(plan.folders).toEqual([]);
    expect(formatPlan(plan, 'dist/ at HEAD')).toBe('No changes: a fresh synth equals dist/ at HEAD.\n');
  });

  describe('a spread pool', () => {
    /** The homelab with its default pool spread over `nodes` (template on shared storage, so every node may clone it). */
    const spread = (nodes: string[], replicas: number) => (c: any) => {
      c.network.addresses = ['192.168.0.40-192.168.0.59'];
      c.proxmox.allowedNodes = ['K8S0', 'K8S1', 'K8S2'];
      c.proxmox.template.storage = { name: 'ceph-vm', shared: true };
      c.workers[0] = { ...c.workers[0], replicas, spread: { nodes } };
    };
    const two = distOf(spread(['K8S0', 'K8S1'], 4));

    test('more replicas: only the nodes\' MachineDeployments change their replicas, and one line shows the redistribution', () => {
      const f = only(computePlan(two, distOf(spread(['K8S0', 'K8S1'], 5))));
      expect([f.created, f.deleted, f.rollouts]).toEqual([[], [], []]);
      expect(f.changed).toEqual([{ object: 'MachineDeployment default/homelab-default-k8s0', fields: ['spec.replicas: 2 → 3'] }]);
      expect(f.scaling).toEqual([
        'spread pool homelab-default: 4 → 5 machine(s) over 2 node(s); K8S0 2 → 3, K8S1 2 → 2',
        'pool homelab-default-k8s0 scales 2 → 3 machine(s)',
      ]);
    });

    test('a node added: its deployment, template and health check are created, the others keep their names and only rescale; safe', () => {
      // The same 4 machines over 3 nodes: K8S1 hands one to the new node.
      const plan = computePlan(two, distOf(spread(['K8S0', 'K8S1', 'K8S2'], 4)));
      const f = only(plan);
      expect(f.created.map((o) => o.replace(/-[0-9a-f]{8}$/, '-<hash>'))).toEqual([
        'ProxmoxMachineTemplate default/homelab-default-k8s2-<hash>', 'MachineDeployment default/homelab-default-k8s2', 'MachineHealthCheck default/homelab-default-k8s2',
      ]);
      expect(f.deleted).toEqual([]);
      expect(f.changed).toEqual([{ object: 'MachineDeployment default/homelab-default-k8s1', fields: ['spec.replicas: 2 → 1'] }]);
      expect(f.scaling[0]).toBe('spread pool homelab-default: 4 → 4 machine(s) over 3 node(s); K8S0 2 → 2, K8S1 2 → 1, K8S2 (new) 1');
      expect(blockingFindings(plan)).toEqual([]);
      expect(formatPlan(plan, 'dist/ at HEAD')).toContain('  scaling: spread pool homelab-default: 4 → 4 machine(s) over 3 node(s); K8S0 2 → 2, K8S1 2 → 1, K8S2 (new) 1\n');
    });

    test('a pool pinned to one node by allowedNodes, named like a node\'s deployment, gets no spread line', () => {
      const pinned = (replicas: number) => (c: any) => { c.workers[0] = { ...c.workers[0], name: 'db-k8s0', replicas, allowedNodes: ['K8S0'] }; };
      expect(only(computePlan(distOf(pinned(1)), distOf(pinned(2)))).scaling).toEqual(['pool homelab-db-k8s0 scales 1 → 2 machine(s)']);
    });

    test('a hand-edited dist/ whose MachineDeployment name is not a string (name: 0x7) is planned, not a crash', () => {
      const edited = handEdit(two, 'MachineDeployment', (md) => { md.metadata.name = 7; });
      expect(() => computePlan(two, edited)).not.toThrow();
    });

    test('a node removed: its MachineDeployment is deleted, which is DESTRUCTIVE', () => {
      const plan = computePlan(distOf(spread(['K8S0', 'K8S1', 'K8S2'], 6)), two);
      expect(only(plan).scaling[0]).toBe('spread pool homelab-default: 6 → 4 machine(s) over 2 node(s); K8S0 2 → 2, K8S1 2 → 2, K8S2 (removed) 2 → 0');
      expect(findings(plan, FindingKind.DESTRUCTIVE).map((x) => x.object)).toEqual(['MachineDeployment default/homelab-default-k8s2']);
    });
  });

  test('scaling a pool: one MachineDeployment changes, nothing rolls, safe', () => {
    const plan = computePlan(base, distOf((c) => { c.workers[0].replicas = 3; }));
    const f = only(plan);
    expect(f.scaling).toEqual(['pool homelab-default scales 2 → 3 machine(s)']);
    expect(f.rollouts).toEqual([]);
    expect(f.changed).toEqual([{ object: 'MachineDeployment default/homelab-default', fields: ['spec.replicas: 2 → 3'] }]);
    expect(f.created).toEqual([]);
    expect(f.deleted).toEqual([]);
    expect(blockingFindings(plan)).toEqual([]);
  });

  test('autoscaler bounds and handing a pool to the autoscaler are scaling, not rollouts', () => {
    const auto = (min: number, max: number) => distOf((c) => { delete c.workers[0].replicas; c.workers[0].autoscaling = { min, max }; });
    const handOver = only(computePlan(base, auto(1, 5)));
    expect(handOver.scaling).toEqual(['pool homelab-default: replicas 2 → owned by the cluster-autoscaler', 'pool homelab-default: autoscaler bounds not autoscaled → 1–5']);
    expect(handOver.rollouts).toEqual([]);
    expect(only(computePlan(auto(1, 5), auto(0, 4))).scaling).toEqual(['pool homelab-default: autoscaler bounds 1–5 → 0–4']);
  });

  test('renaming a cluster deletes it: destructive, blocking unless allowed', () => {
    const plan = computePlan(base, distOf((c) => { c.name = 'homelab2'; c.proxmox.credentialsSecret = 'homelab2-proxmox'; }));
    expect(plan.folders.map((f) => f.folder)).toEqual(['homelab', 'homelab2']);
    const destructive = findings(plan, FindingKind.DESTRUCTIVE);
    expect(destructive.map((d) => d.object)).toEqual([
      'Cluster default/homelab',
      'ProxmoxCluster default/homelab',
      'TalosControlPlane default/homelab-control-plane',
      'MachineDeployment default/homelab-default',
    ]);
    expect(destructive[0].message).toBe('is deleted: deleting the Cluster deletes every Machine and VM of the cluster; if this is a rename, a new name is a new object: the old one and its machines are deleted, not moved');
    expect(plan.folders[1].created).toContain('Cluster default/homelab2');
    expect(blockingFindings(plan)).toHaveLength(4);
    expect(blockingFindings(plan, new Set([FindingKind.DESTRUCTIVE]))).toEqual([]);
    expect(formatPlan(plan, 'dist/ at HEAD')).toContain('Not safe to apply: 4 destructive (--allow-destructive to proceed anyway).');
  });

  test('a template edited in place (same name) is rejected by the provider webhooks', () => {
    const after = handEdit(base, 'ProxmoxMachineTemplate', (o) => { o.spec.template.spec.memoryMiB = 8192; });
    const rejected = findings(computePlan(base, after), FindingKind.REJECTED);
    expect(rejected).toEqual([{
      kind: FindingKind.REJECTED,
      object: expect.stringMatching(/^ProxmoxMachineTemplate default\/homelab-control-plane-[0-9a-f]{8}$/),
      message: expect.stringContaining('CAPMOX rejects any change of a ProxmoxMachineTemplate ("ProxmoxMachineTemplate is immutable")'),
    }]);
    const tct = findings(computePlan(base, handEdit(base, 'TalosConfigTemplate', (o) => { o.spec.template.spec.talosVersion = 'v1.13.10'; })), FindingKind.REJECTED);
    // The hand edit also moves the pool to another Talos release behind the same template VM.
    expect(tct.map((r) => r.message)).toEqual([
      expect.stringContaining('CABPT rejects any change of a TalosConfigTemplate'),
      expect.stringContaining('still clones template VM K8S0/8700'),
    ]);
  });

  test('an immutable field with a CEL transition rule: the CRD\'s own rule is evaluated with oldSelf', () => {
    const after = handEdit(base, 'ProxmoxMachineTemplate', (o) => { o.spec.template.spec.disks.bootVolume.sizeGb = 30; });
    const messages = findings(computePlan(base, after), FindingKind.REJECTED).map((r) => r.message);
    expect(messages).toContain('spec.template.spec.disks.bootVolume: Value is immutable [CEL: self == oldSelf] (rule on updates)');
  });

  test('changing a ClusterResourceSet strategy or selector is rejected (immutable)', () => {
    const after = handEdit(base, 'ClusterResourceSet', (o) => { o.spec.strategy = 'ApplyOnce'; });
    const rejected = findings(computePlan(base, after), FindingKind.REJECTED);
    // handEdit edits the first resource set of each file: each shared render's own file, the Reconcile ones change.
    const finding = (render: string) => ({
      kind: FindingKind.REJECTED,
      object: expect.stringMatching(new RegExp(`^ClusterResourceSet default/${render}-[0-9a-f]{10}$`)),
      message: 'spec.strategy is immutable (STACK.md §4.2): delete the ClusterResourceSet and create it anew (resources it applied stay in the workload cluster)',
    });
    expect(rejected).toEqual([finding('cilium'), finding('talos-ccm')]);
    const selector = handEdit(base, 'ClusterResourceSet', (o) => { o.spec.clusterSelector = { matchLabels: { env: 'lab' } }; });
    const messages = findings(computePlan(base, selector), FindingKind.REJECTED).map((r) => r.message);
    expect(messages).toHaveLength(3);
    for (const m of messages) expect(m).toMatch(/^spec\.clusterSelector is immutable/);
  });

  test('skipping a Kubernetes minor is rejected for the control plane and the pools', () => {
    const before = distOf((c) => { c.kubernetesVersion = 'v1.34.3'; });
    const plan = computePlan(before, distOf((c) => { c.kubernetesVersion = 'v1.36.1'; }));
    const rejected = findings(plan, FindingKind.REJECTED).map((r) => `${r.object}: ${r.message}`);
    expect(rejected).toEqual([
      'TalosControlPlane default/homelab-control-plane: control plane Kubernetes v1.34.3 → v1.36.1 skips 1 minor(s): Cluster API upgrades one minor at a time; go through v1.35 first',
      'MachineDeployment default/homelab-default: pool homelab-default Kubernetes v1.34.3 → v1.36.1 skips 1 minor(s): Cluster API upgrades one minor at a time; go through v1.35 first',
    ]);
  });

  test('a Kubernetes downgrade is rejected', () => {
    const plan = computePlan(base, distOf((c) => { c.kubernetesVersion = 'v1.34.3'; }));
    expect(findings(plan, FindingKind.REJECTED).map((r) => r.message)[0]).toBe('control plane Kubernetes v1.35.4 → v1.34.3 is a downgrade, which Kubernetes and Cluster API do not support');
  });

  test('a minor upgrade of workers together with the control plane is unsafe; holding the pool makes it safe', () => {
    const both = computePlan(base, distOf((c) => { c.kubernetesVersion = 'v1.36.1'; }));
    expect(findings(both, FindingKind.UNSAFE).map((u) => u.object)).toEqual(['MachineDeployment default/homelab-default']);
    expect(findings(both, FindingKind.UNSAFE)[0].message).toContain('Upgrade in two commits: first hold the pool (workers[].kubernetesVersion: v1.35.4)');

    const step1 = distOf((c) => { c.kubernetesVersion = 'v1.36.1'; c.workers[0].kubernetesVersion = 'v1.35.4'; });
    const first = computePlan(base, step1);
    expect(blockingFindings(first)).toEqual([]);
    expect(only(first).rollouts.map((r) => r.what)).toEqual(['control plane homelab-control-plane (3 machines, one at a time)']);
    expect(only(first).rollouts[0].reasons).toEqual(['Kubernetes v1.35.4 → v1.36.1']);

    const second = computePlan(step1, distOf((c) => { c.kubernetesVersion = 'v1.36.1'; }));
    expect(blockingFindings(second)).toEqual([]);
    expect(only(second).rollouts).toEqual([{ what: 'pool homelab-default (one new machine at a time, maxSurge 1)', reasons: ['Kubernetes v1.35.4 → v1.36.1'] }]);
  });

  test('a patch upgrade rolls the control plane first, then the pools, and is safe', () => {
    const plan = computePlan(base, distOf((c) => { c.kubernetesVersion = 'v1.35.5'; }));
    expect(blockingFindings(plan)).toEqual([]);
    expect(only(plan).rollouts.map((r) => [r.what.split(' (')[0], r.reasons])).toEqual([
      ['control plane homelab-control-plane', ['Kubernetes v1.35.4 → v1.35.5']],
      ['pool homelab-default', ['Kubernetes v1.35.4 → v1.35.5']],
    ]);
  });

  test('bumping Talos rolls the control plane, then the pool; rejected while the template VM ID stays the same', () => {
    // Synth refuses the bump alone (the template declares the old image); declaring the new image on
    // the same VM ID says "rebuilt in place", which only the plan, comparing commits, can see.
    const plan = computePlan(base, distOf((c) => { c.talos.version = 'v1.13.10'; c.proxmox.template.image.talosVersion = 'v1.13.10'; }));
    const f = only(plan);
    expect(f.rollouts.map((r) => r.what.split(' (')[0])).toEqual(['control plane homelab-control-plane', 'pool homelab-default']);
    expect(f.rollouts[0].reasons).toEqual(['Talos config: Talos v1.13.9 → v1.13.10 (a control-plane config edit replaces every control-plane machine)']);
    expect(f.rollouts[1].reasons).toEqual([expect.stringMatching(/^Talos config: Talos v1\.13\.9 → v1\.13\.10 \(TalosConfigTemplate homelab-default-[0-9a-f]{8} → homelab-default-[0-9a-f]{8}\)$/)]);
    // New machines would boot the old disk of template VM 8700: rejected, blocking unless --allow-rejected.
    const id = guestAgent.id.slice(0, 8);
    const url = guestAgent.diskImageUrl('v1.13.10');
    const images = `from Talos v1.13.9 (schematic ${id}) to Talos v1.13.10 (schematic ${id}) but still clones template VM K8S0/8700, which holds the old image: new machines would boot the old disk (STACK.md §9.1). Build a template VM from ${url} under a new VM ID`;
    expect(findings(plan, FindingKind.WARNING)).toEqual([]);
    expect(findings(plan, FindingKind.REJECTED)).toEqual([
      { kind: FindingKind.REJECTED, object: 'TalosControlPlane default/homelab-control-plane', message: `the control plane moves ${images} and point the config at it (proxmox.template.templateId)` },
      { kind: FindingKind.REJECTED, object: 'MachineDeployment default/homelab-default', message: `pool homelab-default moves ${images} and point the config at it (the pool's template.templateId, or proxmox.template.templateId if it has none)` },
    ]);
    expect(blockingFindings(plan)).toHaveLength(2);
    expect(blockingFindings(plan, new Set([FindingKind.REJECTED]))).toEqual([]);
    expect(formatPlan(plan, 'dist/ at HEAD')).toContain(`  REJECTED: TalosControlPlane default/homelab-control-plane the control plane moves ${images}`);

    // With a template VM built from the new image, the machine templates change too and nothing is left.
    const withTemplate = computePlan(base, distOf((c) => {
      c.talos.version = 'v1.13.10';
      c.proxmox.template.templateId = 8710;
      c.proxmox.template.image.talosVersion = 'v1.13.10';
    }));
    expect(findings(withTemplate)).toEqual([]);
    expect(only(withTemplate).rollouts[1].reasons).toEqual([
      expect.stringMatching(/^machine template: ProxmoxMachineTemplate homelab-default-\w+ → homelab-default-\w+ \(spec\.template\.spec\.templateID: 8700 → 8710\)$/),
      expect.stringMatching(/^Talos config: Talos v1\.13\.9 → v1\.13\.10/),
    ]);
  });

  test('a new schematic (another extension) behind the same template VM is rejected, naming both schematics', () => {
    const extended = new Schematic({ officialExtensions: ['siderolabs/qemu-guest-agent', 'siderolabs/iscsi-tools'] });
    const plan = computePlan(base, distOf((c) => {
      c.talos.extensions.push('siderolabs/iscsi-tools');
      c.proxmox.template.image.schematic = extended.id;
    }));
    expect(findings(plan, FindingKind.REJECTED).map((r) => r.message)).toEqual([
      `the control plane moves from Talos v1.13.9 (schematic ${guestAgent.id.slice(0, 8)}) to Talos v1.13.9 (schematic ${extended.id.slice(0, 8)}) but still clones template VM K8S0/8700, which holds the old image: new machines would boot the old disk (STACK.md §9.1). Build a template VM from ${extended.diskImageUrl('v1.13.9')} under a new VM ID and point the config at it (proxmox.template.templateId)`,
      expect.stringMatching(/^pool homelab-default moves from .* but still clones template VM K8S0\/8700/),
    ]);
  });

  describe('users\' Talos patches: the plan says which patch rolls which machines', () => {
    const SYSCTL = { machine: { sysctls: { 'vm.max_map_count': '262144' } } };
    const withPatches = (cluster: object[], controlPlane: object[], pool: object[]) => distOf((c) => {
      c.talos.patches = cluster;
      c.controlPlane = { ...c.controlPlane, patches: controlPlane };
      c.workers[0].patches = pool;
    });
    const before = withPatches([SYSCTL], [SYSCTL], [SYSCTL]);
    const other = { machine: { sysctls: { 'vm.max_map_count': '524288' } } };
    const rollouts = (after: OutputFile[]) => only(computePlan(before, after)).rollouts.map((r) => [r.what.split(' (')[0], r.reasons]);

    test('a pool patch rolls that pool only', () => {
      expect(rollouts(withPatches([SYSCTL], [SYSCTL], [other]))).toEqual([
        ['pool homelab-default', [expect.stringMatching(/^Talos config: patch pool default patches\[0\] changed \(pool level: this pool rolls\) \(TalosConfigTemplate /)]],
      ]);
    });

    test('a control-plane patch rolls the control plane only', () => {
      expect(rollouts(withPatches([SYSCTL], [other], [SYSCTL]))).toEqual([
        ['control plane homelab-control-plane', ['Talos config: patch controlPlane.patches[0] changed (control-plane level: the control plane rolls) (a control-plane config edit replaces every control-plane machine)']],
      ]);
    });

    test('a cluster patch rolls everything, and an added one says so', () => {
      const reason = 'patch talos.patches[0] changed (cluster level: every machine of the cluster rolls)';
      expect(rollouts(withPatches([other], [SYSCTL], [SYSCTL]))).toEqual([
        ['control plane homelab-control-plane', [`Talos config: ${reason} (a control-plane config edit replaces every control-plane machine)`]],
        ['pool homelab-default', [expect.stringContaining(`Talos config: ${reason} (TalosConfigTemplate `)]],
      ]);
      expect(rollouts(withPatches([SYSCTL, other], [SYSCTL], [SYSCTL]))[0][1]).toEqual([
        'Talos config: patch talos.patches[1] added (cluster level: every machine of the cluster rolls) (a control-plane config edit replaces every control-plane machine)',
      ]);
    });
  });

  test('skipping a Talos minor is unsafe', () => {
    const before = handEdit(base, 'TalosControlPlane', (o) => { o.spec.controlPlaneConfig.controlplane.talosVersion = 'v1.11.5'; });
    const unsafe = findings(computePlan(before, base), FindingKind.UNSAFE);
    expect(unsafe.map((u) => u.message)).toEqual(['control plane Talos v1.11.5 → v1.13.9 skips 1 minor(s): upgrade Talos one minor at a time (v1.12 first)']);
  });

  test('memory of a pool: the pool rolls onto a new template; the old one is deleted, not edited', () => {
    const plan = computePlan(base, distOf((c) => { c.workers[0].memoryMiB = 16384; }));
    const f = only(plan);
    expect(blockingFindings(plan)).toEqual([]);
    expect(f.rollouts).toEqual([{
      what: 'pool homelab-default (one new machine at a time, maxSurge 1)',
      reasons: [expect.stringMatching(/\(spec\.template\.spec\.memoryMiB: 8192 → 16384\)$/)],
    }]);
    expect(f.created).toEqual([expect.stringMatching(/^ProxmoxMachineTemplate default\/homelab-default-/)]);
    expect(f.deleted).toEqual([expect.stringMatching(/^ProxmoxMachineTemplate default\/homelab-default-/)]);
  });

  test('changed fields name the path and both values; long values are abbreviated', () => {
    expect(changedFields({ a: { b: 1, c: 'x' } }, { a: { b: 2, c: 'x', d: true } })).toEqual(['a.b: 1 → 2', 'a.d: (none) → true']);
    expect(changedFields({ data: 'x'.repeat(100) }, { data: 'y'.repeat(100) })).toEqual(['data changed']);
  });

  test('key order is no change; array order is', () => {
    expect(changedFields({ a: 1, b: { c: 2, d: [{ e: 1, f: 2 }] } }, { b: { d: [{ f: 2, e: 1 }], c: 2 }, a: 1 })).toEqual([]);
    expect(changedFields({ a: [1, 2] }, { a: [2, 1] })).toEqual(['a: [1,2] → [2,1]']);
    // The whole dist/ written back with every map's keys reversed: nothing to apply.
    const reversed = (v: unknown): unknown => Array.isArray(v) ? v.map(reversed)
      : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const reordered = base.map((f) => !f.path.endsWith('.yaml') ? f : {
      path: f.path,
      content: YAML.parseAllDocuments(f.content).map((d) => YAML.stringify(reversed(d.toJS()), { lineWidth: 0 })).join('---\n'),
    });
    expect(reordered).not.toEqual(base);
    expect(computePlan(base, reordered).folders).toEqual([]);
  });
});

/**
 * Day 2: edits the webhooks accept but the running cluster cannot follow (REJECTED) or that the plan
 * cannot prove harmless (UNSAFE), STACK.md §9.6, §7. Each is planned before → after, with a counter-case.
 */
describe('plan: day 2', () => {
  const kinds = (plan: Plan) => findings(plan).map((f) => `${f.kind} ${f.object}`);
  const notSafe = (plan: Plan) => expect(formatPlan(plan, 'dist/ at HEAD')).toMatch(/\nNot safe to apply: .*\n$/);

  test('a moved control-plane endpoint host is rejected once, on the Cluster', () => {
    const plan = computePlan(base, distOf((c) => { c.network.endpoint = '192.168.0.31'; }));
    expect(findings(plan)).toEqual([{
      kind: FindingKind.REJECTED, object: 'Cluster default/homelab',
      message: 'cluster homelab: the control-plane endpoint moves 192.168.0.30:6443 → 192.168.0.31:6443 (spec.controlPlaneEndpoint of the Cluster and the ProxmoxCluster): '
        + 'the Cluster API and CAPMOX webhooks accept it, but the control plane does not roll on the endpoint itself and the running nodes keep the old one (STACK.md §9.6). '
        + 'Move it back (network.endpoint: 192.168.0.30, network.endpointPort: 6443), or build a new cluster under a new name on the new endpoint and move the workloads to it',
    }]);
    notSafe(plan);
  });

  test('a moved control-plane endpoint port is rejected', () => {
    const plan = computePlan(base, distOf((c) => { c.network.endpointPort = 7443; }));
    expect(findings(plan, FindingKind.REJECTED).map((f) => `${f.object}: ${f.message}`)).toEqual([
      expect.stringMatching(/^Cluster default\/homelab: cluster homelab: the control-plane endpoint moves 192\.168\.0\.30:6443 → 192\.168\.0\.30:7443 \(/),
    ]);
  });

  test('an endpoint edited by hand in the ProxmoxCluster alone is reported there', () => {
    const after = handEdit(base, 'ProxmoxCluster', (o) => { o.spec.controlPlaneEndpoint.host = 'api.example.org'; });
    expect(findings(computePlan(base, after)).map((f) => `${f.kind} ${f.object}: ${f.message.split(': ').slice(0, 2).join(': ')}`)).toEqual([
      'rejected ProxmoxCluster default/homelab: cluster homelab: the control-plane endpoint moves 192.168.0.30:6443 → api.example.org:6443 (spec.controlPlaneEndpoint)',
    ]);
  });

  test('a changed pod or service network is rejected: the running cluster keeps its networks', () => {
    const pods = computePlan(base, distOf((c) => { c.network.podCidrs = ['10.245.0.0/16']; }));
    expect(findings(pods)).toEqual([{
      kind: FindingKind.REJECTED, object: 'Cluster default/homelab',
      message: 'cluster homelab: the pod network moves 10.244.0.0/16 → 10.245.0.0/16 (spec.clusterNetwork.pods.cidrBlocks): a running cluster keeps its pod network, '
        + 'so the edit only changes the Cluster object, not the cluster (STACK.md §9.6). Revert to 10.244.0.0/16 (network.podCidrs); another pod network needs a new cluster under a new name',
    }]);
    const services = computePlan(base, distOf((c) => { c.network.serviceCidrs = ['10.112.0.0/12']; }));
    expect(findings(services).map((f) => `${f.kind} ${f.object}: ${f.message}`)).toEqual([
      expect.stringMatching(/^rejected Cluster default\/homelab: cluster homelab: the service network moves 10\.96\.0\.0\/12 → 10\.112\.0\.0\/12 \(spec\.clusterNetwork\.services\.cidrBlocks\): .* Revert to 10\.96\.0\.0\/12 \(network\.serviceCidrs\)/),
    ]);
    notSafe(services);
  });

  test('a node address range shrunk or moved is unsafe, with the kubectl command to check first', () => {
    const shrunk = computePlan(base, distOf((c) => { c.network.addresses = ['192.168.0.20-192.168.0.27']; }));
    expect(findings(shrunk)).toEqual([{
      kind: FindingKind.UNSAFE, object: 'ProxmoxCluster default/homelab',
      message: 'cluster homelab: spec.ipv4Config.addresses 192.168.0.20-192.168.0.29 → 192.168.0.20-192.168.0.27 drops 2 address(es) (192.168.0.28-192.168.0.29): '
        + 'CAPMOX hands addresses to machines at run time, so the plan cannot tell whether a machine holds one of them, and such a machine keeps an address outside the new range. '
        + 'Before shrinking, list the addresses in use: kubectl get ipaddresses.ipam.cluster.x-k8s.io -n default -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,POOL:.spec.poolRef.name; '
        + 'keep every address in use in network.addresses, then proceed with --allow-unsafe',
    }]);
    notSafe(shrunk);
    const moved = computePlan(base, distOf((c) => { c.network.addresses = ['192.168.0.40-192.168.0.49']; }));
    expect(findings(moved).map((f) => f.message)).toEqual([
      expect.stringContaining('192.168.0.20-192.168.0.29 → 192.168.0.40-192.168.0.49 drops 10 address(es) (192.168.0.20-192.168.0.29)'),
    ]);
    expect(blockingFindings(moved, new Set([FindingKind.UNSAFE]))).toEqual([]);
  });

  test('a range grown or written another way drops no address: safe', () => {
    const grown = computePlan(base, distOf((c) => { c.network.addresses = ['192.168.0.10-192.168.0.29', '192.168.0.40/29']; }));
    expect(only(grown).changed.map((c) => c.object)).toContain('ProxmoxCluster default/homelab');
    expect(findings(grown)).toEqual([]);
    const rewritten = computePlan(base, distOf((c) => { c.network.addresses = ['192.168.0.24/30', '192.168.0.20-192.168.0.23', '192.168.0.28', '192.168.0.29']; }));
    expect(findings(rewritten)).toEqual([]);
  });

  test('a changed prefix or gateway is unsafe: the running machines keep theirs', () => {
    const plan = computePlan(base, distOf((c) => { c.network.prefix = 23; c.network.gateway = '192.168.1.254'; }));
    expect(findings(plan)).toEqual([{
      kind: FindingKind.UNSAFE, object: 'ProxmoxCluster default/homelab',
      message: 'cluster homelab: spec.ipv4Config prefix 24 → 23, gateway 192.168.0.254 → 192.168.1.254: the running machines keep the prefix and gateway they were created with '
        + '(CAPMOX writes them into each machine\'s network config once, and Talos keeps it: STACK.md §1.3, §9.1), and this change rolls no machine; only machines created later get the new values. '
        + 'Revert (network.prefix, network.gateway), or replace every machine of the cluster right after applying (a rolling update of the control plane and of each pool)',
    }]);
  });

  test('a control plane scaled to 1 is unsafe (etcd quorum); 1 → 3 and 3 → 5 are safe', () => {
    const single = distOf((c) => { c.controlPlane.replicas = 1; });
    const down = computePlan(base, single);
    expect(only(down).scaling).toEqual(['control plane homelab-control-plane scales 3 → 1 machine(s)']);
    expect(findings(down)).toEqual([{
      kind: FindingKind.UNSAFE, object: 'TalosControlPlane default/homelab-control-plane',
      message: 'cluster homelab: the control plane scales 3 → 1 machine(s) (spec.replicas): etcd is left with one member, so losing that machine loses the cluster\'s state, '
        + 'and a single control-plane machine cannot finish a rolling update (STACK.md §3.4). Keep an odd count of 3 or more (controlPlane.replicas: 3)',
    }]);
    notSafe(down);
    expect(findings(computePlan(single, base))).toEqual([]);
    expect(findings(computePlan(base, distOf((c) => { c.controlPlane.replicas = 5; })))).toEqual([]);
  });

  test('a control plane scaled to an even count is unsafe (synth refuses it, a hand edit of dist/ does not)', () => {
    const to = (n: number) => handEdit(base, 'TalosControlPlane', (o) => { o.spec.replicas = n; });
    expect(findings(computePlan(base, to(4)))).toEqual([{
      kind: FindingKind.UNSAFE, object: 'TalosControlPlane default/homelab-control-plane',
      message: 'cluster homelab: the control plane scales 3 → 4 machine(s) (spec.replicas): etcd needs a majority (3 of 4 members), so 4 machines survive 1 failure(s), '
        + 'no more than 3 do, with more members to agree on every write. Use an odd count (controlPlane.replicas: 3 or 5)',
    }]);
    expect(findings(computePlan(base, to(2))).map((f) => f.message)).toEqual([
      expect.stringMatching(/3 → 2 machine\(s\) \(spec\.replicas\): etcd needs a majority \(2 of 2 members\), so 2 machines survive 0 failure\(s\), .* \(controlPlane\.replicas: 3\)$/),
    ]);
    expect(findings(computePlan(base, to(0))).map((f) => f.message)).toEqual([expect.stringContaining('3 → 0 machine(s) (spec.replicas): no control-plane machine, and so no etcd member, is left')]);
    // A control plane left alone is no finding, whatever its count.
    expect(findings(computePlan(to(4), handEdit(to(4), 'TalosControlPlane', (o) => { o.metadata.annotations = { note: 'x' }; })))).toEqual([]);
  });

  test('a removed credentials Secret reference is unsafe: CAPMOX falls back to its global credentials', () => {
    const plan = computePlan(base, distOf((c) => { delete c.proxmox.credentialsSecret; }));
    expect(findings(plan)).toEqual([{
      kind: FindingKind.UNSAFE, object: 'ProxmoxCluster default/homelab',
      message: 'cluster homelab: spec.credentialsRef homelab-proxmox → (none): CAPMOX then falls back to its global credentials (Secret capmox-manager-credentials of the provider, STACK.md §7) '
        + 'for this cluster: another Proxmox token, perhaps another Proxmox, and without global credentials the ProxmoxCluster fails ("No credentials found, ProxmoxCluster missing credentialsRef"). '
        + 'Keep proxmox.credentialsSecret: homelab-proxmox, or proceed with --allow-unsafe if the global credentials are meant for this cluster',
    }]);
    notSafe(plan);
    // Another Secret (a rotation) is no finding.
    expect(findings(computePlan(base, distOf((c) => { c.proxmox.credentialsSecret = 'homelab-proxmox-2'; })))).toEqual([]);
  });

  test('long hand-edited values are cut in messages', () => {
    const after = handEdit(base, 'Cluster', (o) => { o.spec.clusterNetwork.pods.cidrBlocks = ['10.245.0.0/16', 'x'.repeat(500)]; });
    const [f] = findings(computePlan(base, after));
    expect(f.message.length).toBeLessThan(500);
    expect(f.message).toContain('10.244.0.0/16 → "10.245.0.0/16, xxx');
    expect(kinds(computePlan(base, after))).toEqual(['rejected Cluster default/homelab']);
  });

  test('droppedAddresses: ranges, CIDRs and single addresses, merged in address order', () => {
    const specs = (r: ReturnType<typeof droppedAddresses>) => [...r.ranges.map((x) => x.spec), ...r.unparsed];
    expect(specs(droppedAddresses(['10.0.0.1-10.0.0.10'], ['10.0.0.4/31', '10.0.0.8']))).toEqual(['10.0.0.1-10.0.0.3', '10.0.0.6-10.0.0.7', '10.0.0.9-10.0.0.10']);
    expect(specs(droppedAddresses(['10.0.0.0/30', '10.0.0.2-10.0.0.5'], ['10.0.0.0-10.0.0.1']))).toEqual(['10.0.0.2-10.0.0.5']);
    expect(specs(droppedAddresses(['10.0.0.0/24'], ['10.0.0.0/23']))).toEqual([]);
    expect(specs(droppedAddresses(['10.0.0.7'], []))).toEqual(['10.0.0.7']);
    expect(specs(droppedAddresses(['bogus', 'kept?'], ['kept?']))).toEqual(['bogus']);
  });
});

describe('plan: networks', () => {
  const nic = { name: 'storage', bridge: 'vmbr1', addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 };
  const ipv6 = { addresses: ['fd00:20::100-fd00:20::1ff'], prefix: 64, gateway: 'fd00:20::1' };
  const dual = (c: any) => {
    c.network.ipv6 = ipv6;
    c.network.podCidrs = ['10.244.0.0/16', 'fd00:10:244::/56'];
    c.network.serviceCidrs = ['10.96.0.0/12', 'fd00:10:96::/112'];
    c.network.extraNics = [nic];
  };
  const before = distOf(dual);

  test('turning a running cluster dual-stack is rejected: its pod and service networks cannot move', () => {
    expect(findings(computePlan(base, before)).map((f) => `${f.kind} ${f.object}`)).toEqual([
      'rejected Cluster default/homelab', 'rejected Cluster default/homelab',
    ]);
  });

  test('an IPv6 node range or an extra NIC\'s pool shrunk is unsafe, with the kubectl command to check first', () => {
    const plan = computePlan(before, distOf((c) => {
      dual(c);
      c.network.ipv6 = { ...ipv6, addresses: ['fd00:20::100-fd00:20::17f'] };
      c.network.extraNics = [{ ...nic, addresses: ['10.30.0.10-10.30.0.30'] }];
    }));
    const check = 'kubectl get ipaddresses.ipam.cluster.x-k8s.io -n default -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,POOL:.spec.poolRef.name';
    expect(findings(plan)).toEqual([
      {
        kind: FindingKind.UNSAFE, object: 'ProxmoxCluster default/homelab',
        message: 'cluster homelab: spec.ipv6Config.addresses fd00:20::100-fd00:20::1ff → fd00:20::100-fd00:20::17f drops 128 address(es) (fd00:20::180-fd00:20::1ff): '
          + 'CAPMOX hands addresses to machines at run time, so the plan cannot tell whether a machine holds one of them, and such a machine keeps an address outside the new range. '
          + `Before shrinking, list the addresses in use: ${check}; keep every address in use in network.ipv6.addresses, then proceed with --allow-unsafe`,
      },
      {
        kind: FindingKind.UNSAFE, object: 'InClusterIPPool default/homelab-storage',
        message: 'cluster homelab: spec.addresses 10.30.0.10-10.30.0.40 → 10.30.0.10-10.30.0.30 drops 10 address(es) (10.30.0.31-10.30.0.40): '
          + 'in-cluster IPAM refuses an update of the pool that drops an address a machine holds ("pool addresses does not contain allocated addresses"), and the plan cannot tell which are in use. '
          + `Before shrinking, list the addresses in use: ${check}; keep every address in use in the extra NIC's addresses (network.extraNics or workers[].network.extraNics), then proceed with --allow-unsafe`,
      },
    ]);
  });

  test('a changed IPv6 gateway is unsafe: the running machines keep theirs', () => {
    const plan = computePlan(before, distOf((c) => { dual(c); c.network.ipv6 = { ...ipv6, gateway: 'fe80::1' }; }));
    expect(findings(plan).map((f) => f.message)).toEqual([
      'cluster homelab: spec.ipv6Config gateway fd00:20::1 → fe80::1: the running machines keep the prefix and gateway they were created with (CAPMOX writes them into each machine\'s network config once), '
        + 'and this change rolls no machine. Revert (network.ipv6.prefix, network.ipv6.gateway), or replace every machine of the cluster right after applying',
    ]);
  });
});
