import { TalosCluster } from '../../lib';
import { describeTarget, objectReferences, ObjectReference, referencesFrom } from '../../lib/core/object-graph';
import { addon, all, homelabObjects, homelabProps, newChart, one, Obj, synth } from '../util';

/** `Kind name field -> Kind name`, one per resolved target, or `-> (unresolved)`. */
function edges(refs: readonly ObjectReference[]): string[] {
  return refs.flatMap((r) => {
    const from = `${r.from.kind} ${r.from.metadata.name} ${r.field}`;
    return r.resolved.length === 0 ? [`${from} -> (unresolved)`] : r.resolved.map((t) => `${from} -> ${t.kind} ${t.metadata.name}`);
  });
}

/** The one reference of an object field; fails when there is not exactly one. */
function ref(refs: readonly ObjectReference[], kind: string, field: string, name?: string): ObjectReference {
  const found = refs.filter((r) => r.from.kind === kind && r.field === field && (name === undefined || r.from.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${field}, found ${found.length}`);
  return found[0];
}

/** A copy of the objects with the matching ones edited. */
function edit(objects: Obj[], kind: string, fn: (o: Obj) => void, name?: string): Obj[] {
  return objects.map((o) => {
    if (o.kind !== kind || (name !== undefined && o.metadata.name !== name)) return o;
    const copy = structuredClone(o);
    fn(copy);
    return copy;
  });
}

describe('objectReferences', () => {
  const objects = homelabObjects();
  const refs = objectReferences(objects);
  const cpTemplate = objects.find((o) => o.kind === 'ProxmoxMachineTemplate' && o.metadata.name.startsWith('homelab-control-plane-'))!;
  const poolTemplate = objects.find((o) => o.kind === 'ProxmoxMachineTemplate' && o.metadata.name.startsWith('homelab-default-'))!;
  const configTemplate = one(objects, 'TalosConfigTemplate');
  // The shared add-on renders (named after their content), after the cluster's own objects.
  const CCM = addon(objects, 'ClusterResourceSet', 'talos-ccm').metadata.name;
  const CILIUM = addon(objects, 'ClusterResourceSet', 'cilium').metadata.name;
  const JOBS = addon(objects, 'ClusterResourceSet', 'cilium-jobs').metadata.name;

  test('the homelab graph, every reference in object order then field order', () => {
    expect(edges(refs)).toEqual([
      'Cluster homelab spec.infrastructureRef -> ProxmoxCluster homelab',
      'Cluster homelab spec.controlPlaneRef -> TalosControlPlane homelab-control-plane',
      `TalosControlPlane homelab-control-plane spec.infrastructureTemplate -> ProxmoxMachineTemplate ${cpTemplate.metadata.name}`,
      'MachineDeployment homelab-default spec.clusterName -> Cluster homelab',
      `MachineDeployment homelab-default spec.template.spec.infrastructureRef -> ProxmoxMachineTemplate ${poolTemplate.metadata.name}`,
      `MachineDeployment homelab-default spec.template.spec.bootstrap.configRef -> TalosConfigTemplate ${configTemplate.metadata.name}`,
      'MachineHealthCheck homelab-default spec.clusterName -> Cluster homelab',
      'MachineHealthCheck homelab-default spec.selector -> MachineDeployment homelab-default',
      `ClusterResourceSet ${CCM} spec.resources[0] -> ConfigMap ${CCM}`,
      `ClusterResourceSet ${CCM} spec.clusterSelector -> Cluster homelab`,
      `ClusterResourceSet ${CILIUM} spec.resources[0] -> ConfigMap ${CILIUM}`,
      `ClusterResourceSet ${CILIUM} spec.clusterSelector -> Cluster homelab`,
      `ClusterResourceSet ${JOBS} spec.resources[0] -> ConfigMap ${JOBS}`,
      `ClusterResourceSet ${JOBS} spec.clusterSelector -> Cluster homelab`,
    ]);
    expect(cpTemplate.metadata.name).toMatch(/^homelab-control-plane-[0-9a-f]{8}$/);
    expect(poolTemplate.metadata.name).toMatch(/^homelab-default-[0-9a-f]{8}$/);
  });

  test('resolved targets are the output objects themselves, not copies', () => {
    const cluster = one(objects, 'Cluster');
    expect(ref(refs, 'Cluster', 'spec.infrastructureRef').resolved[0]).toBe(one(objects, 'ProxmoxCluster'));
    expect(ref(refs, 'Cluster', 'spec.controlPlaneRef').resolved[0]).toBe(one(objects, 'TalosControlPlane'));
    expect(ref(refs, 'TalosControlPlane', 'spec.infrastructureTemplate').resolved[0]).toBe(cpTemplate);
    expect(ref(refs, 'MachineDeployment', 'spec.template.spec.infrastructureRef').resolved[0]).toBe(poolTemplate);
    expect(ref(refs, 'MachineDeployment', 'spec.template.spec.bootstrap.configRef').resolved[0]).toBe(configTemplate);
    expect(ref(refs, 'MachineHealthCheck', 'spec.selector').resolved).toEqual([one(objects, 'MachineDeployment')]);
    expect(ref(refs, 'ClusterResourceSet', 'spec.resources[0]', CILIUM).resolved[0]).toBe(one(objects, 'ConfigMap', CILIUM));
    expect(ref(refs, 'ClusterResourceSet', 'spec.clusterSelector', CILIUM).resolved[0]).toBe(cluster);
    expect(ref(refs, 'Cluster', 'spec.infrastructureRef').from).toBe(cluster);
  });

  test('targets state what the field says, with the namespace defaulted', () => {
    expect(ref(refs, 'Cluster', 'spec.infrastructureRef').target).toEqual({
      by: 'ref', apiGroup: 'infrastructure.cluster.x-k8s.io', apiVersion: undefined, kind: 'ProxmoxCluster', name: 'homelab', namespace: 'default',
    });
    expect(ref(refs, 'TalosControlPlane', 'spec.infrastructureTemplate').target).toMatchObject({
      by: 'ref', apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha2', kind: 'ProxmoxMachineTemplate', namespace: 'default',
    });
    expect(ref(refs, 'MachineDeployment', 'spec.clusterName').target).toEqual({ by: 'clusterName', name: 'homelab', namespace: 'default' });
    expect(ref(refs, 'ClusterResourceSet', 'spec.resources[0]', CILIUM).target).toEqual({ by: 'resource', kind: 'ConfigMap', name: CILIUM, namespace: 'default' });
    expect(ref(refs, 'MachineHealthCheck', 'spec.selector').target).toMatchObject({ by: 'selector', kind: 'Machine', clusterName: 'homelab' });
    expect(ref(refs, 'ClusterResourceSet', 'spec.clusterSelector', CILIUM).target).toMatchObject({
      by: 'selector', kind: 'Cluster', selector: { matchLabels: { 'addons.cdk8s-talos-proxmox.dev/cilium': CILIUM.slice('cilium-'.length) } },
    });
  });

  test('objects without references contribute none, and referencesFrom gives one object\'s share', () => {
    for (const kind of ['ProxmoxCluster', 'ProxmoxMachineTemplate', 'TalosConfigTemplate', 'ConfigMap']) {
      expect(refs.filter((r) => r.from.kind === kind)).toEqual([]);
    }
    const md = one(objects, 'MachineDeployment');
    expect(referencesFrom(md, objects)).toEqual(refs.filter((r) => r.from === md));
  });

  describe('unresolved references stay in the graph with no target', () => {
    const unresolved = (objs: Obj[]) => objectReferences(objs).filter((r) => r.resolved.length === 0).map((r) => `${r.from.kind} ${r.field}`);

    test('a missing object', () => {
      const objs = edit(objects, 'Cluster', (c) => { c.spec.infrastructureRef.name = 'other'; });
      expect(unresolved(objs)).toEqual(['Cluster spec.infrastructureRef']);
      expect(describeTarget(ref(objectReferences(objs), 'Cluster', 'spec.infrastructureRef').target))
        .toBe('infrastructure.cluster.x-k8s.io ProxmoxCluster default/other');
    });

    test('an unset required reference', () => {
      const objs = edit(objects, 'Cluster', (c) => { delete c.spec.controlPlaneRef; });
      const r = ref(objectReferences(objs), 'Cluster', 'spec.controlPlaneRef');
      expect(r.target).toEqual({ by: 'unset' });
      expect(r.resolved).toEqual([]);
    });

    test('apiGroup must equal the target\'s group; apiVersion must equal it exactly', () => {
      expect(unresolved(edit(objects, 'Cluster', (c) => { c.spec.controlPlaneRef.apiGroup = 'controlplane.cluster.x-k8s.io.example'; })))
        .toEqual(['Cluster spec.controlPlaneRef']);
      expect(unresolved(edit(objects, 'TalosControlPlane', (t) => { t.spec.infrastructureTemplate.apiVersion = 'infrastructure.cluster.x-k8s.io/v1alpha1'; })))
        .toEqual(['TalosControlPlane spec.infrastructureTemplate']);
      expect(unresolved(edit(objects, 'MachineDeployment', (m) => { m.spec.template.spec.bootstrap.configRef.kind = 'TalosConfig'; })))
        .toEqual(['MachineDeployment spec.template.spec.bootstrap.configRef']);
    });

    test('a reference defaults to its own namespace and resolves only there', () => {
      expect(unresolved(edit(objects, 'TalosControlPlane', (t) => { t.spec.infrastructureTemplate.namespace = 'elsewhere'; })))
        .toEqual(['TalosControlPlane spec.infrastructureTemplate']);
      expect(unresolved(edit(objects, 'Cluster', (c) => { c.spec.infrastructureRef.namespace = 'default'; }))).toEqual([]);
      // The whole Cluster moved: its references default to the new namespace, and whatever names it by cluster name loses it.
      expect(unresolved(edit(objects, 'Cluster', (c) => { c.metadata.namespace = 'elsewhere'; }))).toEqual([
        'Cluster spec.infrastructureRef',
        'Cluster spec.controlPlaneRef',
        'MachineDeployment spec.clusterName',
        'MachineHealthCheck spec.clusterName',
        'ClusterResourceSet spec.clusterSelector',
        'ClusterResourceSet spec.clusterSelector',
        'ClusterResourceSet spec.clusterSelector',
      ]);
    });

    test('resource-set resources are core ConfigMaps or Secrets in the set\'s namespace', () => {
      expect(unresolved(edit(objects, 'ConfigMap', (c) => { c.metadata.namespace = 'kube-system'; }, CILIUM)))
        .toEqual(['ClusterResourceSet spec.resources[0]']);
      expect(unresolved(edit(objects, 'ConfigMap', (c) => { c.apiVersion = 'example.com/v1'; }, CILIUM)))
        .toEqual(['ClusterResourceSet spec.resources[0]']);
      const secret: Obj = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'extra', namespace: 'default' } };
      const withSecret = edit(objects, 'ClusterResourceSet', (c) => { c.spec.resources.push({ kind: 'Secret', name: 'extra' }); }, CILIUM);
      expect(edges(objectReferences([...withSecret, secret])).filter((e) => e.startsWith(`ClusterResourceSet ${CILIUM} spec.resources`)))
        .toEqual([`ClusterResourceSet ${CILIUM} spec.resources[0] -> ConfigMap ${CILIUM}`, `ClusterResourceSet ${CILIUM} spec.resources[1] -> Secret extra`]);
      expect(unresolved(withSecret)).toEqual(['ClusterResourceSet spec.resources[1]']);
    });

    test('selectors that select nothing', () => {
      expect(unresolved(edit(objects, 'ClusterResourceSet', (c) => { c.spec.clusterSelector = { matchLabels: { cni: 'cilium' } }; }, CILIUM)))
        .toEqual(['ClusterResourceSet spec.clusterSelector']);
      expect(unresolved(edit(objects, 'MachineHealthCheck', (m) => { m.spec.selector.matchLabels['cluster.x-k8s.io/deployment-name'] = 'nope'; })))
        .toEqual(['MachineHealthCheck spec.selector']);
      // A MachineDeployment of another cluster never counts, even when the labels match.
      expect(unresolved(edit(objects, 'MachineDeployment', (m) => { m.spec.clusterName = 'other'; }))).toEqual([
        'MachineDeployment spec.clusterName',
        'MachineHealthCheck spec.selector',
      ]);
    });
  });

  describe('health-check selectors resolve to what creates the Machines', () => {
    const chart = newChart();
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps({ controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20, healthCheck: true } }));
    cluster.addWorkerPool('Default', { name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 });
    cluster.addWorkerPool('Gpu', { name: 'gpu', replicas: 1, cores: 8, memoryMiB: 32768, diskGiB: 100 });
    const objs = synth(chart);
    const graph = objectReferences(objs);
    const selected = (mhc: string) => ref(graph, 'MachineHealthCheck', 'spec.selector', mhc).resolved.map((t) => `${t.kind} ${t.metadata.name}`);

    test('a pool\'s check selects that pool only', () => {
      expect(all(objs, 'MachineHealthCheck').map((m) => m.metadata.name)).toEqual(['homelab-control-plane', 'homelab-default', 'homelab-gpu']);
      expect(selected('homelab-default')).toEqual(['MachineDeployment homelab-default']);
      expect(selected('homelab-gpu')).toEqual(['MachineDeployment homelab-gpu']);
    });

    test('a control-plane selector selects the TalosControlPlane', () => {
      expect(selected('homelab-control-plane')).toEqual(['TalosControlPlane homelab-control-plane']);
    });

    test('a selector of the whole cluster selects every pool, in output order', () => {
      const wide = edit(objs, 'MachineHealthCheck', (m) => { m.spec.selector = { matchLabels: { 'cluster.x-k8s.io/cluster-name': 'homelab' } }; }, 'homelab-gpu');
      expect(ref(objectReferences(wide), 'MachineHealthCheck', 'spec.selector', 'homelab-gpu').resolved.map((t) => t.metadata.name))
        .toEqual(['homelab-default', 'homelab-gpu']);
    });
  });

  test('describeTarget words every kind of target', () => {
    expect(describeTarget({ by: 'ref', apiVersion: 'a.example/v1', kind: 'K', name: 'n', namespace: 'ns' })).toBe('a.example/v1 K ns/n');
    expect(describeTarget({ by: 'unset' })).toBe('nothing (not set)');
    expect(describeTarget({ by: 'clusterName', name: 'c', namespace: 'ns' })).toBe('Cluster ns/c');
    expect(describeTarget({ by: 'resource', kind: 'Secret', name: 's', namespace: 'ns' })).toBe('Secret ns/s');
    expect(describeTarget({ by: 'selector', kind: 'Machine', clusterName: 'c' })).toBe('Machines of cluster c matching a selector');
    expect(describeTarget({ by: 'selector', kind: 'Cluster' })).toBe('Clusters matching a selector');
  });
});
