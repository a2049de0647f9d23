import * as YAML from 'yaml';
import { LONGHORN_EXTENSIONS, TalosCluster, WorkerPoolOptions } from '../../lib';
import { TaintEffect } from '../../lib/talos/node-metadata';
import { all, homelabProps, newChart, one, SHARED_STORAGE, synth, templateVm, Obj } from '../util';

function clusterWithPools(pools: WorkerPoolOptions[]): Obj[] {
  const chart = newChart();
  const cluster = new TalosCluster(chart, 'Cluster', homelabProps());
  pools.forEach((p) => cluster.addWorkerPool(p.name, p));
  return synth(chart);
}

const DEFAULT: WorkerPoolOptions = { name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 };
const GPU: WorkerPoolOptions = { name: 'gpu', replicas: 1, cores: 8, memoryMiB: 32768, diskGiB: 100 };

describe('ProxmoxWorkerPool', () => {
  const objects = clusterWithPools([DEFAULT]);
  const md = one(objects, 'MachineDeployment');

  test('snapshot of a pool\'s objects', () => {
    expect(objects.filter((o) => ['MachineDeployment', 'MachineHealthCheck', 'TalosConfigTemplate'].includes(o.kind)
      || (o.kind === 'ProxmoxMachineTemplate' && o.metadata.name.startsWith('homelab-default-')))).toMatchSnapshot();
  });

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
    // 2 machines: a count of 1, since 40% of 2 rounds down to 0 (STACK.md §9.3).
    expect(mhc.spec.remediation.triggerIf.unhealthyLessThanOrEqualTo).toBe(1);
    expect(all(clusterWithPools([{ ...DEFAULT, healthCheck: false }]), 'MachineHealthCheck')).toHaveLength(0);
  });

  describe('remediation at every pool size (STACK.md §9.3: CAPI rounds a percentage down)', () => {
    /** The emitted threshold of a pool, in a cluster whose node range holds the largest pools. */
    const threshold = (pool: Partial<WorkerPoolOptions>): number | string => {
      const chart = newChart();
      const cluster = new TalosCluster(chart, 'Cluster', homelabProps({
        network: { ...homelabProps().network, endpoint: '192.168.0.5', addresses: ['192.168.0.10-192.168.0.200'] },
      }));
      cluster.addWorkerPool('P', { ...DEFAULT, ...pool } as WorkerPoolOptions);
      return one(synth(chart), 'MachineHealthCheck').spec.remediation.triggerIf.unhealthyLessThanOrEqualTo;
    };
    /** What CAPI does with it for `machines` expected machines: scale a percentage and round down. */
    const allowed = (t: number | string, machines: number) => (typeof t === 'number' ? t : Math.floor((parseInt(t, 10) * machines) / 100));

    test.each(Array.from({ length: 20 }, (_, i) => i + 1))('%i machines: one failed machine is always replaced, and 40%% still caps an outage', (n) => {
      const t = threshold({ replicas: n });
      expect(allowed(t, n)).toBeGreaterThanOrEqual(1);
      expect(allowed(t, n)).toBe(Math.max(1, Math.floor(n * 0.4)));
    });

    test.each([0, 1, 2, 3])('autoscaled from %i to 10: one machine is replaced at every size the autoscaler picks', (min) => {
      const t = threshold({ replicas: undefined, autoscaling: { min, max: 10 } });
      expect(t).toBe(4);
      for (let size = Math.max(1, min); size <= 10; size++) expect(allowed(t, size)).toBeGreaterThanOrEqual(1);
    });

    test('configurable per pool: a count or a percentage that allows one machine at the pool\'s smallest size', () => {
      expect(threshold({ replicas: 5, maxUnhealthy: 2 })).toBe(2);
      expect(threshold({ replicas: 5, maxUnhealthy: '20%' })).toBe('20%');
      expect(() => threshold({ replicas: 2, maxUnhealthy: '40%' })).toThrow(
        'workers[0].maxUnhealthy 40% of 2 machine(s) is 0 once Cluster API rounds it down, so a failed machine would never be replaced; use a count (1 or more) or at least 50%');
      expect(() => threshold({ replicas: undefined, autoscaling: { min: 0, max: 10 }, maxUnhealthy: '50%' })).toThrow(
        'workers[0].maxUnhealthy 50% of 1 machine(s) is 0 once Cluster API rounds it down, so a failed machine would never be replaced; use a count (1 or more) or at least 100%');
      expect(() => threshold({ maxUnhealthy: 0 })).toThrow('workers[0].maxUnhealthy 0 must be at least 1');
      expect(() => threshold({ maxUnhealthy: 'half' })).toThrow('workers[0].maxUnhealthy "half" must be a count of machines (1 or more) or a percentage like 40%');
    });
  });

  test('deletion order: Random unless the pool says which machines go first', () => {
    expect(md.spec.deletion).toEqual({ order: 'Random' });
    expect(one(clusterWithPools([{ ...DEFAULT, deletionOrder: 'Oldest' }]), 'MachineDeployment').spec.deletion).toEqual({ order: 'Oldest' });
    expect(() => clusterWithPools([{ ...DEFAULT, deletionOrder: 'First' as 'Oldest' }]))
      .toThrow('workers[0].deletionOrder "First" must be one of Random, Newest, Oldest');
  });

  test('autoscaled pool: min/max annotations, replicas omitted so GitOps does not fight the autoscaler', () => {
    const auto = one(clusterWithPools([{ ...DEFAULT, replicas: undefined, autoscaling: { min: 1, max: 5 } }]), 'MachineDeployment');
    expect(auto.metadata.annotations).toEqual({
      'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '1',
      'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size': '5',
      // What a node offers, so the autoscaler can scale the pool up from zero (STACK.md §5.3).
      'capacity.cluster-autoscaler.kubernetes.io/cpu': '2',
      'capacity.cluster-autoscaler.kubernetes.io/memory': '8192Mi',
      'capacity.cluster-autoscaler.kubernetes.io/ephemeral-disk': '40Gi',
    });
    expect('replicas' in auto.spec).toBe(false);
    expect(md.metadata.annotations).toBeUndefined();
  });

  test('a pool can use its own template VM', () => {
    const out = clusterWithPools([{ ...DEFAULT, template: templateVm(8701, { sourceNode: 'K8S2', storage: SHARED_STORAGE }) }]);
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
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps({ talos: { version: 'v1.13.10' } }));
    cluster.addWorkerPool('Default', DEFAULT);
    const bumped = one(synth(chart), 'TalosConfigTemplate');
    expect(bumped.metadata.name).not.toBe(one(objects, 'TalosConfigTemplate').metadata.name);
  });

  test('a pool held at an older Kubernetes release while the control plane upgrades first', () => {
    const held = one(clusterWithPools([{ ...DEFAULT, kubernetesVersion: 'v1.34.2' }]), 'MachineDeployment');
    expect(held.spec.template.spec.version).toBe('v1.34.2');
    expect(md.spec.template.spec.version).toBe('v1.35.4');
  });

  describe('a Longhorn pool with labels and taints', () => {
    const STORAGE: WorkerPoolOptions = {
      ...DEFAULT, name: 'storage', longhorn: true, template: templateVm(8701, { extensions: LONGHORN_EXTENSIONS }),
      labels: { 'node-role.kubernetes.io/storage': '', 'example.com/disk': 'ssd' },
      taints: [{ key: 'dedicated', value: 'storage', effect: TaintEffect.NO_SCHEDULE }],
    };
    const objects = clusterWithPools([DEFAULT, STORAGE]);
    const md = one(objects, 'MachineDeployment', 'homelab-storage');
    const tct = one(objects, 'TalosConfigTemplate', md.spec.template.spec.bootstrap.configRef.name);
    const patch = YAML.parse(tct.spec.template.spec.strategicPatches[0]);

    test('its own schematic with iscsi-tools and util-linux-tools: its own installer image', () => {
      const image: string = patch.machine.install.image;
      const defaultImage = YAML.parse(one(objects, 'TalosConfigTemplate', one(objects, 'MachineDeployment', 'homelab-default').spec.template.spec.bootstrap.configRef.name).spec.template.spec.strategicPatches[0]).machine.install.image;
      expect(image).toMatch(/^factory\.talos\.dev\/nocloud-installer\/[0-9a-f]{64}:v1\.13\.9$/);
      expect(image).not.toBe(defaultImage);
    });

    test('its own template VM, and Longhorn\'s data path bind-mounted into the kubelet with rshared', () => {
      expect(one(objects, 'ProxmoxMachineTemplate', md.spec.template.spec.infrastructureRef.name).spec.template.spec.templateID).toBe(8701);
      expect(patch.machine.kubelet.extraMounts).toEqual([
        { destination: '/var/lib/longhorn', type: 'bind', source: '/var/lib/longhorn', options: ['bind', 'rshared', 'rw'] },
      ]);
    });

    test('role labels on the Machines (Cluster API copies them), other labels and taints set by the node', () => {
      expect(md.spec.template.metadata.labels['node-role.kubernetes.io/storage']).toBe('');
      expect(md.spec.selector.matchLabels['node-role.kubernetes.io/storage']).toBeUndefined();
      expect(patch.machine.nodeLabels).toEqual({ 'example.com/disk': 'ssd' });
      expect(patch.machine.kubelet.extraArgs['register-with-taints']).toBe('dedicated=storage:NoSchedule');
    });

    test('autoscaled from zero: capacity annotations carry the labels and taints', () => {
      const auto = one(clusterWithPools([{ ...STORAGE, replicas: undefined, autoscaling: { min: 0, max: 3 } }]), 'MachineDeployment');
      expect(auto.metadata.annotations).toMatchObject({
        'capacity.cluster-autoscaler.kubernetes.io/labels': 'node-role.kubernetes.io/storage=,example.com/disk=ssd',
        'capacity.cluster-autoscaler.kubernetes.io/taints': 'dedicated=storage:NoSchedule',
      });
    });

    test('fails when the pool would share the cluster\'s template VM with another image', () => {
      expect(() => clusterWithPools([{ ...STORAGE, template: undefined }]))
        .toThrow(/^workers\[0\]\.template template VM 8700 holds Talos v1\.13\.9, schematic ce4c980550dd…, but the pool storage boots Talos v1\.13\.9 with siderolabs\/qemu-guest-agent, siderolabs\/iscsi-tools, siderolabs\/util-linux-tools \(schematic [0-9a-f]{12}…\): give the pool a template of its own: build a template VM from https:\/\/factory\.talos\.dev\/image\/[0-9a-f]{64}\/v1\.13\.9\/nocloud-amd64\.raw\.xz under a free VM ID \(8701 is free in this cluster\) and name it here, with image \{ talosVersion: v1\.13\.9, schematic: [0-9a-f]{64} \}$/);
    });
  });

  describe('fails', () => {
    test('fails when a pool would run a newer Kubernetes than the control plane', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, kubernetesVersion: 'v1.36.0' }]))
        .toThrow('workers[0].kubernetesVersion v1.36.0 is newer than kubernetesVersion v1.35.4: kubelets must not be newer than the API server, so upgrade the control plane first');
    });
    test('fails when only one autoscaler bound is set', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, replicas: undefined, autoscaling: { min: 1 } as { min: number; max: number } }]))
        .toThrow('workers[0].autoscaling.max is required: set both autoscaler bounds, or neither');
    });
    test('fails when replicas and autoscaler bounds are both set', () => {
      expect(() => clusterWithPools([{ ...DEFAULT, autoscaling: { min: 1, max: 3 } }]))
        .toThrow('workers[0].replicas 2 cannot be set together with autoscaler bounds: the autoscaler owns the replica count');
    });
  });
});
