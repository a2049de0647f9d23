import * as YAML from 'yaml';
import { TalosCluster, TalosClusterProps, WorkerPoolOptions } from '../../lib';
import { talosCiliumValues } from '../../lib/constructs/addons/cilium';
import { KubeObject } from '../../lib/core/kube-object';
import { OutputGate } from '../../lib/gate/gate';
import { addon, all, DEFAULT_POOL, homelabProps, newChart, Obj, one, synthWith, validationErrorLines } from '../util';

const base = homelabProps().network;
/** The homelab network with room for a few pools (the VIP stays .30). */
const wide = { ...base, addresses: ['192.168.0.40-192.168.0.79'] };
const IPV6 = { addresses: ['fd00:20::100-fd00:20::1ff'], prefix: 64, gateway: 'fd00:20::1' };
const STORAGE = { name: 'storage', bridge: 'vmbr1', vlan: 30, mtu: 9000, addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 };

function build(network: Partial<TalosClusterProps['network']>, workers: WorkerPoolOptions[] = [DEFAULT_POOL]): Obj[] {
  return synthWith((chart) => new TalosCluster(chart, 'Cluster', homelabProps({ network: { ...wide, ...network }, workers })));
}
function problems(network: Partial<TalosClusterProps['network']>, workers: WorkerPoolOptions[] = [DEFAULT_POOL]): string[] {
  return validationErrorLines(() => new TalosCluster(newChart(), 'Cluster', homelabProps({ network: { ...wide, ...network }, workers })));
}
/** The NICs of a machine template whose name starts with `prefix`. */
function nics(objects: Obj[], prefix: string): Record<string, unknown>[] {
  const t = all(objects, 'ProxmoxMachineTemplate').filter((o) => o.metadata.name.startsWith(`${prefix}-`));
  expect(t).toHaveLength(1);
  return t[0].spec.template.spec.network.networkDevices;
}
function patch(objects: Obj[], kind: 'TalosControlPlane' | 'TalosConfigTemplate', name?: string): Record<string, any> {
  const o = kind === 'TalosControlPlane' ? one(objects, kind)
    : all(objects, kind).filter((x) => name === undefined || x.metadata.name.startsWith(`${name}-`))[0];
  const spec = kind === 'TalosControlPlane' ? o.spec.controlPlaneConfig.controlplane : o.spec.template.spec;
  return YAML.parse(spec.strategicPatches[0]);
}
const gate = (objects: Obj[]) => new OutputGate().violations(objects as KubeObject[]);

describe('networks: VLAN tag and MTU of the primary NIC', () => {
  test('the default NIC is untagged and keeps the bridge\'s MTU: net0 exactly as before', () => {
    const out = build({});
    expect(nics(out, 'homelab-control-plane')).toStrictEqual([{ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true }]);
    expect(all(out, 'InClusterIPPool')).toEqual([]);
    expect(patch(out, 'TalosControlPlane').machine.kubelet.nodeIP).toBeUndefined();
    expect(patch(out, 'TalosControlPlane').cluster.etcd).toBeUndefined();
  });

  test('network.vlan and network.mtu tag net0 and set the MTU on the Proxmox NIC (mtu) and the Talos link (linkMtu); the gate passes', () => {
    const out = build({ vlan: 20, mtu: 9000 });
    for (const prefix of ['homelab-control-plane', 'homelab-default']) {
      expect(nics(out, prefix)).toStrictEqual([{ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true, vlan: 20, mtu: 9000, linkMtu: 9000 }]);
    }
    expect(gate(out)).toEqual([]);
  });

  test('a pool overrides the VLAN and MTU of its primary NIC; the control plane keeps the cluster\'s', () => {
    const out = build({ vlan: 20, mtu: 9000 }, [DEFAULT_POOL, { ...DEFAULT_POOL, name: 'dmz', network: { vlan: 21, mtu: 1500 } }]);
    expect(nics(out, 'homelab-control-plane')[0]).toMatchObject({ vlan: 20, mtu: 9000, linkMtu: 9000 });
    expect(nics(out, 'homelab-default')[0]).toMatchObject({ vlan: 20, mtu: 9000 });
    expect(nics(out, 'homelab-dmz')[0]).toStrictEqual({ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true, vlan: 21, mtu: 1500, linkMtu: 1500 });
  });

  test('fails: VLAN tag and MTU outside what Proxmox and CAPMOX take, per cluster and per pool', () => {
    expect(problems({ vlan: 4095, mtu: 500 })).toEqual([
      'network.vlan 4095 must be at most 4094 (VLAN tag)',
      'network.mtu 500 must be at least 576 (MTU in bytes)',
    ]);
    expect(problems({ vlan: 1.5 })).toEqual(['network.vlan 1.5 must be a whole number (VLAN tag)']);
    expect(problems({}, [{ ...DEFAULT_POOL, network: { vlan: 0, mtu: 70000 } }])).toEqual([
      'workers[0].network.vlan 0 must be at least 1 (VLAN tag)',
      'workers[0].network.mtu 70000 must be at most 65520 (MTU in bytes)',
    ]);
  });

  test('fails: an MTU below 1280 on a NIC that carries IPv6', () => {
    expect(problems({ mtu: 1200, ipv6: IPV6 })).toEqual([
      'network.mtu 1200 is below 1280, the smallest MTU IPv6 allows (RFC 8200), and this NIC carries IPv6',
    ]);
    expect(() => build({ mtu: 1200 })).not.toThrow();
  });
});

describe('networks: extra NICs with their IPAM pools', () => {
  const out = build({ extraNics: [STORAGE] });

  test('net1 on its bridge, with its VLAN, MTU and ipPoolRef to the cluster\'s InClusterIPPool, on every machine', () => {
    for (const prefix of ['homelab-control-plane', 'homelab-default']) {
      expect(nics(out, prefix)).toStrictEqual([
        { name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true },
        {
          name: 'net1', bridge: 'vmbr1', model: 'virtio', vlan: 30, mtu: 9000, linkMtu: 9000,
          ipPoolRef: [{ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'homelab-storage' }],
        },
      ]);
    }
    const pool = one(out, 'InClusterIPPool', 'homelab-storage');
    expect(pool.apiVersion).toBe('ipam.cluster.x-k8s.io/v1alpha2');
    expect(pool.metadata).toEqual({ name: 'homelab-storage', namespace: 'default', labels: { 'cluster.x-k8s.io/cluster-name': 'homelab' } });
    // No gateway: the default route stays on the primary network.
    expect(pool.spec).toStrictEqual({ addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 });
  });

  test('the node IP and etcd stay on the node subnet (Talos validSubnets, advertisedSubnets)', () => {
    expect(patch(out, 'TalosControlPlane').machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.0.0/24'] });
    expect(patch(out, 'TalosControlPlane').cluster.etcd).toEqual({ advertisedSubnets: ['192.168.0.0/24'] });
    expect(patch(out, 'TalosConfigTemplate', 'homelab-default').machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.0.0/24'] });
    expect(patch(out, 'TalosConfigTemplate', 'homelab-default').cluster.etcd).toBeUndefined();
  });

  test('the output gate passes: InClusterIPPool schema, ipPoolRef CEL, and the reference resolves', () => {
    expect(gate(out)).toEqual([]);
  });

  test('fails at the gate: an ipPoolRef whose pool is not in the output', () => {
    const withoutPool = out.filter((o) => o.kind !== 'InClusterIPPool');
    const cp = all(withoutPool, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-control-plane-'))!;
    expect(gate(withoutPool)).toContainEqual({
      object: `ProxmoxMachineTemplate default/${cp.metadata.name}`,
      field: 'spec.template.spec.network.networkDevices[1].ipPoolRef[0]',
      message: 'references ipam.cluster.x-k8s.io InClusterIPPool default/homelab-storage, which is not in the output',
    });
  });

  test('a pool\'s own NICs replace the cluster\'s, with IPAM pools of their own; [] leaves the pool with net0 only', () => {
    const own = { ...STORAGE, name: 'repl', bridge: 'vmbr2', vlan: undefined, mtu: undefined, addresses: ['fd00:99::10-fd00:99::20'], prefix: 64 };
    const objects = build({ extraNics: [STORAGE] }, [
      DEFAULT_POOL, { ...DEFAULT_POOL, name: 'db', network: { extraNics: [own] } }, { ...DEFAULT_POOL, name: 'edge', network: { extraNics: [] } },
    ]);
    expect(nics(objects, 'homelab-db')[1]).toStrictEqual({
      name: 'net1', bridge: 'vmbr2', model: 'virtio', ipPoolRef: [{ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'homelab-db-repl' }],
    });
    expect(one(objects, 'InClusterIPPool', 'homelab-db-repl').spec).toStrictEqual({ addresses: ['fd00:99::10-fd00:99::20'], prefix: 64 });
    expect(nics(objects, 'homelab-edge')).toHaveLength(1);
    expect(patch(objects, 'TalosConfigTemplate', 'homelab-edge').machine.kubelet.nodeIP).toBeUndefined();
    expect(all(objects, 'InClusterIPPool').map((p) => p.metadata.name)).toEqual(['homelab-storage', 'homelab-db-repl']);
    expect(gate(objects)).toEqual([]);
  });

  test('fails: names, bridges, VLANs and families of extra NICs', () => {
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['10.30.0.10-10.30.0.20', 'fd00::5'] }, { ...STORAGE, bridge: 'vmbr 1', vlan: 0, addresses: ['10.31.0.10-10.31.0.20'] }] })).toEqual([
      'network.extraNics[1].name "storage" is used by network.extraNics[0].name too; NIC names must be unique',
      'network.extraNics[0].addresses[1] "fd00::5" is IPv6, but this network\'s addresses are IPv4: one pool holds one family (in-cluster IPAM refuses mixed families)',
      'network.extraNics[1].bridge "vmbr 1" must be a Proxmox bridge: a Linux interface name of 1 to 15 characters without whitespace, "/" or ":" (not "." or "..")',
      'network.extraNics[1].vlan 0 must be at least 1 (VLAN tag)',
    ]);
  });

  test('fails: addresses outside the subnet in-cluster IPAM infers, or on its broadcast address', () => {
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['10.30.0.10-10.30.0.20', '10.30.1.10'] }] })).toEqual([
      'network.extraNics[0].addresses 10.30.1.10 is not inside the subnet 10.30.0.0/24 (network.extraNics[0].prefix 24 from the first address, as in-cluster IPAM infers it)',
    ]);
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['10.30.0.200-10.30.0.255'] }] })).toEqual([
      'network.extraNics[0].addresses 10.30.0.200-10.30.0.255 includes the broadcast address of 10.30.0.0/24; nodes cannot use it',
    ]);
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['169.254.0.10-169.254.0.40'], prefix: 24 }] })).toEqual([
      'network.extraNics[0].addresses 169.254.0.10-169.254.0.40 lies in 169.254.0.0/16 (link-local), a special-use range that cannot be a node address (STACK.md §9.8)',
    ]);
  });

  test('fails: an extra NIC on the node subnet, on the node addresses, or on the pod network', () => {
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['192.168.0.45'] }] }, [])).toEqual([
      'network.extraNics[0].addresses 192.168.0.45 overlaps network.addresses 192.168.0.40-192.168.0.79; every network of a cluster needs addresses of its own',
      'network.extraNics[0].addresses the subnet 192.168.0.0/24 overlaps the subnet 192.168.0.0/24 of network.addresses, and the control-plane machines have a NIC on both: give each NIC a subnet of its own',
      'network.extraNics[0].addresses holds 1 address(es) but the machines on this network need 4: 3 control-plane machines + 1 for rolling updates (maxSurge 1 per machine set); add addresses or shrink the cluster',
    ]);
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['10.244.1.10-10.244.1.40'] }] })).toEqual([
      'network.extraNics[0].addresses the subnet 10.244.1.0/24 overlaps network.podCidrs[0] 10.244.0.0/16; pod, service and node networks must be disjoint',
    ]);
  });

  test('fails: each pool holds the machines that have a NIC on it (the cluster\'s: the control plane and inheriting pools)', () => {
    expect(problems({ extraNics: [{ ...STORAGE, addresses: ['10.30.0.10-10.30.0.15'] }] }, [DEFAULT_POOL, { ...DEFAULT_POOL, name: 'db', network: { extraNics: [{ ...STORAGE, addresses: ['10.30.0.50-10.30.0.51'] }] } }])).toEqual([
      'network.extraNics[0].addresses holds 6 address(es) but the machines on this network need 7: 3 control-plane + 2 default machines + 2 for rolling updates (maxSurge 1 per machine set); add addresses or shrink the cluster',
      'workers[1].network.extraNics[0].addresses holds 2 address(es) but the machines on this network need 3: 2 db machines + 1 for rolling updates (maxSurge 1 per machine set); add addresses or shrink the cluster',
    ]);
  });

  test('fails: two NICs whose IPAM pools would have one name (cluster, pool and NIC names are joined with "-")', () => {
    expect(problems({ extraNics: [{ ...STORAGE, name: 'db-storage' }] }, [{ ...DEFAULT_POOL, name: 'db', network: { extraNics: [{ ...STORAGE, addresses: ['10.31.0.10-10.31.0.40'] }] } }])).toEqual([
      'workers[0].network.extraNics[0].name makes the IPAM pool "homelab-db-storage", which network.extraNics[0].name makes too; rename one of the NICs',
    ]);
  });

  test('fails: a pool\'s NIC handing out addresses of the cluster\'s NIC pool', () => {
    expect(problems({ extraNics: [STORAGE] }, [{ ...DEFAULT_POOL, network: { extraNics: [{ ...STORAGE, addresses: ['10.30.0.40-10.30.0.45'] }] } }])).toEqual([
      'workers[0].network.extraNics[0].addresses 10.30.0.40-10.30.0.45 overlaps network.extraNics[0].addresses 10.30.0.10-10.30.0.40; every network of a cluster needs addresses of its own',
    ]);
  });
});

describe('networks: dual-stack', () => {
  const out = build({ ipv6: IPV6 });

  test('ProxmoxCluster ipv6Config, net0 defaultIPv6, IPv6 pod and service networks by default', () => {
    expect(one(out, 'ProxmoxCluster').spec.ipv6Config).toStrictEqual({ addresses: ['fd00:20::100-fd00:20::1ff'], prefix: 64, gateway: 'fd00:20::1', metric: 100 });
    expect(one(out, 'ProxmoxCluster').spec.controlPlaneEndpoint).toEqual({ host: '192.168.0.30', port: 6443 });
    expect(one(out, 'Cluster').spec.clusterNetwork).toEqual({
      pods: { cidrBlocks: ['10.244.0.0/16', 'fd00:10:244::/56'] },
      services: { cidrBlocks: ['10.96.0.0/12', 'fd00:10:96::/112'] },
      serviceDomain: 'cluster.local',
    });
    expect(nics(out, 'homelab-default')).toStrictEqual([{ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true, defaultIPv6: true }]);
  });

  test('Talos: the node IP from both node subnets, etcd on IPv4; the VIP stays IPv4', () => {
    const cp = patch(out, 'TalosControlPlane');
    expect(cp.machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.0.0/24', 'fd00:20::/64'] });
    expect(cp.cluster.etcd).toEqual({ advertisedSubnets: ['192.168.0.0/24'] });
    expect(patch(out, 'TalosConfigTemplate').machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.0.0/24', 'fd00:20::/64'] });
    const vip = YAML.parse(one(out, 'TalosControlPlane').spec.controlPlaneConfig.controlplane.strategicPatches[1]);
    expect(vip).toEqual({ apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: '192.168.0.30', link: 'eth0' });
  });

  test('Cilium runs IPv6 (ipv6.enabled; the render says enable-ipv6 "true"); IPv4 clusters keep the chart default', () => {
    expect(talosCiliumValues(true, true).ipv6).toEqual({ enabled: true });
    expect(talosCiliumValues(true)).not.toHaveProperty('ipv6');
    const render = (objects: Obj[]) => JSON.stringify(addon(objects, 'ConfigMap', 'cilium').data);
    expect(render(out)).toContain('enable-ipv6: \\"true\\"');
    expect(render(build({}))).toContain('enable-ipv6: \\"false\\"');
  });

  test('the output gate passes', () => {
    expect(gate(out)).toEqual([]);
  });

  test('a link-local IPv6 gateway (as router advertisements announce it) is a valid next hop; the subnet then comes from the addresses', () => {
    const linkLocal = build({ ipv6: { ...IPV6, gateway: 'fe80::1' } });
    expect(one(linkLocal, 'ProxmoxCluster').spec.ipv6Config.gateway).toBe('fe80::1');
    expect(patch(linkLocal, 'TalosControlPlane').machine.kubelet.nodeIP).toEqual({ validSubnets: ['192.168.0.0/24', 'fd00:20::/64'] });
    expect(problems({ ipv6: { ...IPV6, gateway: 'fe80::1', addresses: ['fd00:20::100-fd00:20::1ff', 'fd00:21::5'] } })).toEqual([
      'network.ipv6.addresses fd00:21::5 is not inside the subnet fd00:20::/64 (network.ipv6.prefix 64 from the first address, as in-cluster IPAM infers it)',
    ]);
  });

  test('fails: IPv6 node addresses by the rules of their family', () => {
    expect(problems({ ipv6: { addresses: ['192.168.0.1', 'fd00:21::1-fd00:21::5', 'fd00:20::-fd00:20::5', 'fd00:20::1f-fd00:20::30', 'x'], prefix: 64, gateway: 'fd00:20::20' } })).toEqual([
      'network.ipv6.addresses[0] "192.168.0.1" is IPv4, but this network\'s addresses are IPv6: one pool holds one family (in-cluster IPAM refuses mixed families)',
      'network.ipv6.addresses[4] "x" is not an IPv6 range (a-b with a <= b), CIDR (a/n) or address',
      'network.ipv6.addresses fd00:21::1-fd00:21::5 is not inside the subnet fd00:20::/64 (network.ipv6.gateway fd00:20::20/64)',
      'network.ipv6.addresses fd00:20::-fd00:20::5 includes the subnet-router anycast address of fd00:20::/64; nodes cannot use it',
      'network.ipv6.gateway fd00:20::20 lies inside network.ipv6.addresses fd00:20::1f-fd00:20::30; the gateway must be outside the node range',
    ]);
    expect(problems({ ipv6: { ...IPV6, gateway: '10.0.0.1' } })).toEqual(['network.ipv6.gateway "10.0.0.1" must be an IPv6 address (the nodes\' gateway on this network)']);
    expect(problems({ ipv6: { ...IPV6, gateway: 'fd00:20::' } })).toEqual([
      'network.ipv6.gateway fd00:20:: is the subnet-router anycast address of fd00:20::/64; the gateway must be a host address of the subnet',
    ]);
    expect(problems({ ipv6: { addresses: ['fe80::10-fe80::20'], prefix: 64, gateway: 'fd00:20::1' } })).toEqual([
      'network.ipv6.addresses fe80::10-fe80::20 lies in fe80::/10 (link-local), a special-use range that cannot be a node address',
      'network.ipv6.addresses fe80::10-fe80::20 is not inside the subnet fd00:20::/64 (network.ipv6.gateway fd00:20::1/64)',
    ]);
    expect(problems({ ipv6: { ...IPV6, gateway: 'ff02::1' } })).toEqual([
      'network.ipv6.addresses fd00:20::100-fd00:20::1ff is not inside the subnet ff02::/64 (network.ipv6.gateway ff02::1/64)',
      'network.ipv6.gateway ff02::1 lies in ff00::/8 (multicast), a special-use range that cannot be the gateway',
    ]);
    expect(problems({ ipv6: { ...IPV6, addresses: ['fd00:20::100-fd00:20::102'] } })).toEqual([
      'network.ipv6.addresses holds 3 address(es) but the machines on this network need 7: 3 control-plane + 2 default machines + 2 for rolling updates (maxSurge 1 per machine set); add addresses or shrink the cluster',
    ]);
  });

  test('fails: IPv6 pod and service networks Kubernetes would refuse', () => {
    expect(problems({ ipv6: IPV6, podCidrs: ['10.244.0.0/16'] })).toEqual([
      'network.podCidrs lists no IPv6 pod network, but network.ipv6 is set: a dual-stack cluster needs one (e.g. fd00:10:244::/56)',
    ]);
    expect(problems({ podCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] })).toEqual([
      'network.podCidrs[1] fd00:10:244::/56 is IPv6, but network.ipv6 is not set: a dual-stack cluster needs an IPv6 node network too',
    ]);
    expect(problems({ ipv6: IPV6, podCidrs: ['fd00:10:244::/40', '10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12', 'fd00:10:96::1/100', 'fd00:10:97::/112'] })).toEqual([
      'network.podCidrs[0] fd00:10:244::/40 must come after the IPv4 pod network: IPv4 stays the primary family (the VIP, node IP and etcd are IPv4)',
      'network.podCidrs[0] fd00:10:244::/40 has host bits set; write its network address fd00:10:200::/40',
      'network.podCidrs[0] fd00:10:244::/40 must be from /48 to /64: kube-controller-manager hands every node a /64 and refuses a pod network more than 16 bits wider',
      'network.serviceCidrs[1] fd00:10:96::1/100 has host bits set; write its network address fd00:10:96::/100',
      'network.serviceCidrs[1] fd00:10:96::1/100 must be from /108 (the widest IPv6 service network kube-apiserver takes) to /124 (it must hold ::1 and ::a)',
      'network.serviceCidrs[2] fd00:10:97::/112 is a second IPv6 service network; Kubernetes takes one per family',
    ]);
    expect(problems({ ipv6: IPV6, podCidrs: ['10.244.0.0/16', 'fd00:10:244::/64'] })).toEqual([
      'network.podCidrs[1] fd00:10:244::/64 holds 1 node pod network(s) (/64 each) but the cluster can have 7 nodes at once (every machine at its maximum plus the rolling-update surge); use a wider pod network',
    ]);
    expect(problems({ ipv6: IPV6, podCidrs: ['10.244.0.0/16', 'fd00:20::/56'] })).toEqual([
      'network.podCidrs[1] fd00:20::/56 overlaps the IPv6 node subnet fd00:20::/64; pod, service and node networks must be disjoint',
    ]);
  });
});

describe('networks: a tagged VLAN with MTU, a second NIC with its own pool, and dual-stack together', () => {
  test('synthesizes and passes the gate', () => {
    const out = build({ vlan: 20, mtu: 9000, ipv6: IPV6, extraNics: [STORAGE] });
    expect(nics(out, 'homelab-default')).toStrictEqual([
      { name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true, defaultIPv6: true, vlan: 20, mtu: 9000, linkMtu: 9000 },
      {
        name: 'net1', bridge: 'vmbr1', model: 'virtio', vlan: 30, mtu: 9000, linkMtu: 9000,
        ipPoolRef: [{ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'homelab-storage' }],
      },
    ]);
    expect(gate(out)).toEqual([]);
  });
});
