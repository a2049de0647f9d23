import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as semver from 'semver';
import * as YAML from 'yaml';
import { buildConfigCluster } from '../../../lib/app/clusters';
import { parseClusterConfig } from '../../../lib/app/config/load';
import { RENAMED_KEYS } from '../../../lib/app/config/renamed-keys';
import { formatDiagnostic } from '../../../lib/core/errors';
import { OutputGate } from '../../../lib/gate/gate';
import { LONGHORN_EXTENSIONS } from '../../../lib/talos/schematic';
import { all, configProblems, imageOf, one, Obj, ROOT, SHARED_STORAGE, synth, templateVm } from '../../util';

const HOMELAB = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));

function build(edit: (d: any) => void = () => {}): Obj[] {
  const doc = structuredClone(HOMELAB);
  edit(doc);
  const { chart } = buildConfigCluster(Testing.app(), parseClusterConfig(YAML.stringify(doc), 'test.yaml'), 'Cluster');
  return synth(chart);
}

describe('config → constructs', () => {
  test('a Longhorn pool with labels, taints and its own template VM: in the output and through the gate', () => {
    const objs = build((d) => {
      d.workers.push({
        name: 'storage', replicas: 2, cores: 4, memoryMiB: 8192, diskGiB: 200, longhorn: true,
        template: templateVm(8701, { sourceNode: 'K8S1', storage: SHARED_STORAGE, extensions: LONGHORN_EXTENSIONS }),
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
      'Cluster', 'ClusterResourceSet', 'ClusterResourceSet', 'ClusterResourceSet', 'ConfigMap', 'ConfigMap', 'ConfigMap', 'MachineDeployment',
      'MachineHealthCheck', 'ProxmoxCluster', 'ProxmoxMachineTemplate', 'ProxmoxMachineTemplate',
      'TalosConfigTemplate', 'TalosControlPlane',
    ]);
  });

  test('several pools, each with its own objects; autoscaling maps to annotations', () => {
    const objs = build((d) => {
      d.network.addresses = ['192.168.0.10-192.168.0.29'];
      d.workers.push({ name: 'big', autoscaling: { min: 1, max: 4 }, cores: 8, memoryMiB: 32768, diskGiB: 100, template: templateVm(8701, { sourceNode: 'K8S1', storage: SHARED_STORAGE }) });
    });
    expect(all(objs, 'MachineDeployment').map((m) => m.metadata.name)).toEqual(['homelab-default', 'homelab-big']);
    const big = one(objs, 'MachineDeployment', 'homelab-big');
    expect(big.spec.replicas).toBeUndefined();
    expect(big.metadata.annotations?.['cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size']).toBe('4');
    const tmpl = one(objs, 'ProxmoxMachineTemplate', big.spec.template.spec.infrastructureRef.name);
    expect(tmpl.spec.template.spec).toMatchObject({ sourceNode: 'K8S1', templateID: 8701, numCores: 8 });
  });

  test('extensions and kernel args shape the schematic, and so the installer image', () => {
    const objs = build((d) => {
      d.talos.extensions = [];
      d.proxmox.template.image = imageOf(d.talos);
    });
    expect(one(objs, 'TalosControlPlane').spec.controlPlaneConfig.controlplane.strategicPatches[0])
      .toContain('nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9');
  });

  test('a pool\'s deletionOrder reaches its MachineDeployment, and a wrong one is refused with the config path', () => {
    expect(one(build((d) => { d.workers[0].deletionOrder = 'Newest'; }), 'MachineDeployment').spec.deletion).toEqual({ order: 'Newest' });
    const doc = structuredClone(HOMELAB);
    doc.workers[0].deletionOrder = 'newest';
    expect(() => parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml'))
      .toThrow('clusters/homelab.yaml: workers[0].deletionOrder "newest" expected one of "Random"|"Newest"|"Oldest"');
  });

  test('network keys reach the NICs and pools; a wrong type or unknown key is refused with the config path', () => {
    const objs = build((d) => {
      Object.assign(d.network, { vlan: 20, mtu: 9000, extraNics: [{ name: 'storage', bridge: 'vmbr1', addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 }] });
      d.workers[0].network = { mtu: 1500 };
    });
    const pool = all(objs, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-default-'))!;
    expect(pool.spec.template.spec.network.networkDevices[0]).toMatchObject({ vlan: 20, mtu: 1500, linkMtu: 1500 });
    expect(one(objs, 'InClusterIPPool', 'homelab-storage').spec).toEqual({ addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 });
    const doc = structuredClone(HOMELAB);
    doc.network.vlan = '20';
    doc.workers[0].network = { extraNics: [{ name: 'x', bridge: 'vmbr1', addresses: [], prefix: 24, gateway: '10.0.0.1' }] };
    expect(() => parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml')).toThrow(
      'clusters/homelab.yaml: network.vlan "20" expected number, received string\n'
      + 'clusters/homelab.yaml: workers[0].network.extraNics[0].gateway is not a known field (check the spelling; see schemas/cluster-config.schema.json)',
    );
  });

  test('clone options and a spread pool from YAML: keys spelled like the props, through the gate', () => {
    const objs = build((d) => {
      d.network.addresses = ['192.168.0.40-192.168.0.59'];
      d.proxmox.allowedNodes = ['K8S0', 'K8S1', 'K8S2'];
      d.proxmox.template.storage = SHARED_STORAGE;
      Object.assign(d.proxmox, { pool: 'k8s', tags: ['k8s'], cloneStorage: { name: 'ceph-fast', shared: true }, cloneFormat: 'raw', vmIdRange: { start: 1000, end: 1099 } });
      d.workers[0] = { ...d.workers[0], replicas: 3, description: 'spread worker', spread: { nodes: ['K8S0', 'K8S1', 'K8S2'] } };
    });
    expect(all(objs, 'MachineDeployment').map((o) => o.metadata.name)).toEqual(['homelab-default-k8s0', 'homelab-default-k8s1', 'homelab-default-k8s2']);
    expect(one(objs, 'MachineDeployment', 'homelab-default-k8s1').spec.replicas).toBe(1);
    const spec = one(objs, 'ProxmoxMachineTemplate', one(objs, 'MachineDeployment', 'homelab-default-k8s2').spec.template.spec.infrastructureRef.name).spec.template.spec;
    expect(spec).toMatchObject({
      allowedNodes: ['K8S2'], pool: 'k8s', tags: ['k8s'], storage: 'ceph-fast', format: 'raw', vmIDRange: { start: 1000, end: 1099 }, description: 'spread worker',
    });
    expect(new OutputGate().violations(objs)).toEqual([]);
  });

  test('fails on the structure of the clone and spread keys, with the config path', () => {
    const doc = structuredClone(HOMELAB);
    Object.assign(doc.proxmox, { cloneFormat: 'vdi', vmIdRange: { start: 1000 } });
    doc.workers[0] = { ...doc.workers[0], tags: 'k8s', spread: { nodes: ['K8S0'], node: 'K8S1' } };
    expect(configProblems(YAML.stringify(doc), 'test.yaml')).toEqual([
      'test.yaml: proxmox.cloneFormat "vdi" expected one of "raw"|"qcow2"|"vmdk"',
      'test.yaml: proxmox.vmIdRange.end is required (expected number)',
      'test.yaml: workers[0].tags "k8s" expected array, received string',
      'test.yaml: workers[0].spread.node is not a known field (check the spelling; see schemas/cluster-config.schema.json)',
    ]);
  });

  test('no credentialsSecret: no credentialsRef', () => {
    expect(one(build((d) => { delete d.proxmox.credentialsSecret; }), 'ProxmoxCluster').spec.credentialsRef).toBeUndefined();
  });

  test('fails with file, field, value and expectation: the constructs\' rule, named by the config path', () => {
    const doc = structuredClone(HOMELAB);
    doc.network.endpoint = '192.168.0.25';
    expect(() => buildConfigCluster(Testing.app(), parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml'), 'Cluster'))
      .toThrow('clusters/homelab.yaml: network.endpoint 192.168.0.25 lies inside network.addresses 192.168.0.20-192.168.0.29; the VIP must be outside the node range (CAPMOX rejects it)');
  });

  test('a renamed key keeps working, with a warning naming the new key; its errors name the key the file uses', () => {
    const doc = structuredClone(HOMELAB);
    delete doc.network.podCidrs;
    doc.network.podCidr = '10.244.0.0/16';
    const config = parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml');
    const { chart, warnings } = buildConfigCluster(Testing.app(), config, 'Cluster');
    expect(one(Testing.synth(chart) as Obj[], 'Cluster').spec.clusterNetwork.pods.cidrBlocks).toEqual(['10.244.0.0/16']);
    expect(warnings.map(formatDiagnostic)).toEqual([
      'clusters/homelab.yaml: network.podCidr is renamed to network.podCidrs (a list of CIDRs); rename it in this file: the old key is refused from version 0.2.0 on',
    ]);
    doc.network.podCidr = '192.168.0.0/16';
    expect(() => buildConfigCluster(Testing.app(), parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml'), 'Cluster'))
      .toThrow('clusters/homelab.yaml: network.podCidr 192.168.0.0/16 overlaps network.gateway/network.prefix 192.168.0.0/24; pod, service and node networks must be disjoint');
  });

  test('the old and the new key together are refused', () => {
    const doc = structuredClone(HOMELAB);
    doc.network.podCidr = '10.244.0.0/16';
    expect(() => parseClusterConfig(YAML.stringify(doc), 'clusters/homelab.yaml'))
      .toThrow('clusters/homelab.yaml: network.podCidr is the old name of network.podCidrs, which is set too; keep network.podCidrs only');
  });

  test('renamed keys are refused from the version their entry names: drop the entry when the version is bumped', () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    for (const r of RENAMED_KEYS) expect(semver.lt(version, r.removeIn)).toBe(true);
  });
});
