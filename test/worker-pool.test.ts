import * as YAML from 'yaml';
import { TalosCluster, WorkerPoolOptions } from '../lib';
import { all, homelabProps, newChart, one, synth, Obj } from './util';

function clusterWithPools(pools: WorkerPoolOptions[]): Obj[] {
  const chart = newChart();
  const cluster = new TalosCluster(chart, 'Cluster', homelabProps());
  pools.forEach((p) => cluster.addWorkerPool(p.poolName, p));
  return synth(chart);
}

const DEFAULT: WorkerPoolOptions = { poolName: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 };
const GPU: WorkerPoolOptions = { poolName: 'gpu', replicas: 1, cores: 8, memoryMiB: 32768, diskGiB: 100 };

describe('ProxmoxWorkerPool', () => {
  const objects = clusterWithPools([DEFAULT]);
  const md = one(objects, 'MachineDeployment');

  test('MachineDeployment named <cluster>-<pool> with explicit replicas, rollout and deletion order', () => {
    expect(md.apiVersion).toBe('cluster.x-k8s.io/v1beta2');
    expect(md.metadata.name).toBe('homelab-default');
    expect(md.spec.clusterName).toBe('homelab');
    expect(md.spec.replicas).toBe(2);
    expect(md.spec.rollout).toEqual({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    expect(md.spec.deletion).toEqual({ order: 'Random' });
    expect(md.spec.template.spec.version).toBe('v1.35.4');
  });

  test('selector and machine labels are written as the CAPI webhook would default them', () => {
    const labels = { 'cluster.x-k8s.io/cluster-name': 'homelab', 'cluster.x-k8s.io/deployment-name': 'homelab-default' };
    expect(md.spec.selector).toEqual({ matchLabels: labels });
    expect(md.spec.template.metadata.labels).toEqual(labels);
  });

  test('references its own TalosConfigTemplate and ProxmoxMachineTemplate by apiGroup', () => {
    const tct = one(objects, 'TalosConfigTemplate');
    const pmt = all(objects, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-default-'))!;
    expect(md.spec.template.spec.bootstrap.configRef).toEqual({ apiGroup: 'bootstrap.cluster.x-k8s.io', kind: 'TalosConfigTemplate', name: tct.metadata.name });
    expect(md.spec.template.spec.infrastructureRef).toEqual({ apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'ProxmoxMachineTemplate', name: pmt.metadata.name });
    expect(tct.metadata.name).toMatch(/^homelab-default-[0-9a-f]{8}$/);
  });

  test('TalosConfigTemplate: worker config, explicit talosVersion, strategic patches only', () => {
    const spec = one(objects, 'TalosConfigTemplate').spec.template.spec;
    expect(spec.generateType).toBe('worker');
    expect(spec.talosVersion).toBe('v1.13.9');
    expect(spec.configPatches).toBeUndefined();
    const patch = YAML.parse(spec.strategicPatches[0]);
    expect(patch.cluster.externalCloudProvider.enabled).toBe(true);
    expect(patch.machine.install.image).toMatch(/^factory\.talos\.dev\/nocloud-installer\/[0-9a-f]{64}:v1\.13\.9$/);
  });

  test('worker MachineHealthCheck on by default, selecting exactly this pool\'s machines', () => {
    const mhc = one(objects, 'MachineHealthCheck');
    expect(mhc.metadata.name).toBe('homelab-default');
    expect(mhc.spec.clusterName).toBe('homelab');
    expect(mhc.spec.selector.matchLabels).toEqual(md.spec.template.metadata.labels);
    expect(mhc.spec.checks).toEqual({
      nodeStartupTimeoutSeconds: 900,
      unhealthyNodeConditions: [
        { type: 'Ready', status: 'Unknown', timeoutSeconds: 300 },
        { type: 'Ready', status: 'False', timeoutSeconds: 300 },
      ],
    });
    expect(mhc.spec.remediation.triggerIf.unhealthyLessThanOrEqualTo).toBe('40%');
    expect(all(clusterWithPools([{ ...DEFAULT, healthCheck: false }]), 'MachineHealthCheck')).toHaveLength(0);
  });

  test('autoscaled pool: min/max annotations, replicas omitted so GitOps does not fight the autoscaler', () => {
    const auto = one(clusterWithPools([{ ...DEFAULT, replicas: undefined, autoscalerMinReplicas: 1, autoscalerMaxReplicas: 5 }]), 'MachineDeployment');
    expect(auto.metadata.annotations).toEqual({
      'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '1',
      'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size': '5',
    });
    expect('replicas' in auto.spec).toBe(false);
    expect(md.metadata.annotations).toBeUndefined();
  });

  test('a pool can use its own template VM', () => {
    const out = clusterWithPools([{ ...DEFAULT, sourceNode: 'K8S2', templateID: 8701 }]);
    const pmt = all(out, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-default-'))!;
    expect(pmt.spec.template.spec).toMatchObject({ sourceNode: 'K8S2', templateID: 8701 });
  });

  test('changing one pool\'s memory renames exactly that pool\'s machine template and the reference to it', () => {
    const before = clusterWithPools([DEFAULT, GPU]);
    const after = clusterWithPools([{ ...DEFAULT, memoryMiB: 16384 }, GPU]);
    const names = (objs: Obj[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`);
    const removed = names(before).filter((n) => !names(after).includes(n));
    const added = names(after).filter((n) => !names(before).includes(n));
    expect(removed).toHaveLength(1);
    expect(added).toHaveLength(1);
    expect(removed[0]).toMatch(/^ProxmoxMachineTemplate\/homelab-default-[0-9a-f]{8}$/);
    expect(added[0]).toMatch(/^ProxmoxMachineTemplate\/homelab-default-[0-9a-f]{8}$/);

    const changed = after.filter((o) => {
      const b = before.find((x) => x.kind === o.kind && x.metadata.name === o.metadata.name);
      return b !== undefined && JSON.stringify(b) !== JSON.stringify(o);
    });
    expect(changed.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['MachineDeployment/homelab-default']);
    const mdAfter = one(after, 'MachineDeployment', 'homelab-default');
    expect(`ProxmoxMachineTemplate/${mdAfter.spec.template.spec.infrastructureRef.name}`).toBe(added[0]);
  });

  test('a Talos version bump renames the TalosConfigTemplate (templates are immutable)', () => {
    const chart = newChart();
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps({ talosVersion: 'v1.13.10' }));
    cluster.addWorkerPool('Default', DEFAULT);
    const bumped = one(synth(chart), 'TalosConfigTemplate');
    expect(bumped.metadata.name).not.toBe(one(objects, 'TalosConfigTemplate').metadata.name);
  });

  test('a pool held at an older Kubernetes release while the control plane upgrades first', () => {
    const held = one(clusterWithPools([{ ...DEFAULT, kubernetesVersion: 'v1.34.2' }]), 'MachineDeployment');
    expect(held.spec.template.spec.version).toBe('v1.34.2');
    expect(md.spec.template.spec.version).toBe('v1.35.4');
  });

  describe('fails', () => {
    test('fails when a pool would run a newer Kubernetes than the control plane', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, kubernetesVersion: 'v1.36.0' }]))
        .toThrow('worker pool default: kubernetesVersion v1.36.0 is newer than the cluster\'s kubernetesVersion v1.35.4: kubelets must not be newer than the API server, so upgrade the control plane first');
    });
    test('fails when only one autoscaler bound is set', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, replicas: undefined, autoscalerMinReplicas: 1 }]))
        .toThrow('worker pool default: autoscalerMaxReplicas is required: set both autoscaler bounds, or neither');
    });
    test('fails when replicas and autoscaler bounds are both set', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, autoscalerMinReplicas: 1, autoscalerMaxReplicas: 3 }]))
        .toThrow('worker pool default: replicas 2 cannot be set together with autoscaler bounds: the autoscaler owns the replica count');
    });
  });
});
