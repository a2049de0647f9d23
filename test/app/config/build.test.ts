import { Testing } from 'cdk8s';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { buildCluster, clusterChart } from '../../../lib/app/config/build';
import { parseClusterConfig } from '../../../lib/app/config/load';
import { OutputGate } from '../../../lib/gate/gate';
import { all, one, Obj } from '../../util';

const HOMELAB = YAML.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'clusters', 'homelab.yaml'), 'utf8'));

function build(edit: (d: any) => void = () => {}): Obj[] {
  const doc = structuredClone(HOMELAB);
  edit(doc);
  const chart = Testing.chart();
  buildCluster(chart, parseClusterConfig(YAML.stringify(doc), 'test.yaml'));
  return Testing.synth(chart) as Obj[];
}

describe('config → constructs', () => {
  test('a Longhorn pool with labels, taints and its own template VM: in the output and through the gate', () => {
    const objs = build((d) => {
      d.workers.push({
        name: 'storage', replicas: 2, cores: 4, memoryMiB: 8192, diskGiB: 200, longhorn: true,
        template: { sourceNode: 'K8S1', templateId: 8701 },
        labels: { 'node-role.kubernetes.io/storage': '', 'example.com/disk': 'ssd' },
        taints: [{ key: 'dedicated', value: 'storage', effect: 'NoSchedule' }],
      });
    });
    const md = one(objs, 'MachineDeployment', 'homelab-storage');
    const patch = YAML.parse(one(objs, 'TalosConfigTemplate', md.spec.template.spec.bootstrap.configRef.name).spec.template.spec.strategicPatches[0]);
    expect(patch.machine.kubelet.extraMounts[0].destination).toBe('/var/lib/longhorn');
    expect(patch.machine.kubelet.extraArgs['register-with-taints']).toBe('dedicated=storage:NoSchedule');
    expect(patch.machine.nodeLabels).toEqual({ 'example.com/disk': 'ssd' });
    expect(md.spec.template.metadata.labels['node-role.kubernetes.io/storage']).toBe('');
    expect(one(objs, 'ProxmoxMachineTemplate', md.spec.template.spec.infrastructureRef.name).spec.template.spec).toMatchObject({ sourceNode: 'K8S1', templateID: 8701 });
    expect(new OutputGate().violations(objs)).toEqual([]);
  });

  test('homelab: one cluster, one pool, Cilium and the Talos CCM', () => {
    const objs = build();
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'Cluster', 'ClusterResourceSet', 'ClusterResourceSet', 'ConfigMap', 'ConfigMap', 'MachineDeployment',
      'MachineHealthCheck', 'ProxmoxCluster', 'ProxmoxMachineTemplate', 'ProxmoxMachineTemplate',
      'TalosConfigTemplate', 'TalosControlPlane',
    ]);
  });

  test('several pools, each with its own objects; autoscaling maps to annotations', () => {
    const objs = build((d) => {
      d.network.addresses = ['192.168.0.10-192.168.0.29'];
      d.workers.push({ name: 'big', autoscaling: { min: 1, max: 4 }, cores: 8, memoryMiB: 32768, diskGiB: 100, template: { sourceNode: 'K8S1', templateId: 8701 } });
    });
    expect(all(objs, 'MachineDeployment').map((m) => m.metadata.name)).toEqual(['homelab-default', 'homelab-big']);
    const big = one(objs, 'MachineDeployment', 'homelab-big');
    expect(big.spec.replicas).toBeUndefined();
    expect(big.metadata.annotations?.['cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size']).toBe('4');
    const tmpl = one(objs, 'ProxmoxMachineTemplate', big.spec.template.spec.infrastructureRef.name);
    expect(tmpl.spec.template.spec).toMatchObject({ sourceNode: 'K8S1', templateID: 8701, numCores: 8 });
  });

  test('extensions and kernel args shape the schematic, and so the installer image', () => {
    const objs = build((d) => { d.talos.extensions = []; });
    expect(one(objs, 'TalosControlPlane').spec.controlPlaneConfig.controlplane.strategicPatches[0])
      .toContain('nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9');
  });

  test('no credentialsSecret: no credentialsRef', () => {
    expect(one(build((d) => { delete d.proxmox.credentialsSecret; }), 'ProxmoxCluster').spec.credentialsRef).toBeUndefined();
  });

  test('fails with file, field, value and expectation before any construct is built', () => {
    const doc = structuredClone(HOMELAB);
    doc.network.endpoint = '192.168.0.25';
    expect(() => parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml'))
      .toThrow('clusters/homelab.yaml: network.endpoint 192.168.0.25 lies inside network.addresses 192.168.0.20-192.168.0.29; the VIP must be outside the node range (CAPMOX rejects it)');
  });

  test('errors raised by constructs are prefixed with the file', () => {
    const config = parseClusterConfig(YAML.stringify(HOMELAB), 'clusters/homelab.yaml');
    const broken = { ...config, kubernetesVersion: 'v1.35' };
    expect(() => clusterChart(Testing.app(), 'clusters/homelab.yaml', broken)).toThrow(/^clusters\/homelab\.yaml: kubernetesVersion /);
  });
});
