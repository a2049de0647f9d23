import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { LONGHORN_EXTENSIONS, TalosCluster, WARNING_METADATA } from '../../lib';
import { configProblems, homelabProps, imageOf, newChart, ROOT, templateVm } from '../util';

const HOMELAB = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));

/**
 * What synth says of the homelab config after an edit, one message per line. An edit of `talos`
 * that leaves the template alone also declares the matching image on it, as a user who rebuilt the
 * template would (the image rule has tests of its own).
 */
function problems(edit: (d: any) => void): string[] {
  const doc = structuredClone(HOMELAB);
  edit(doc);
  const template = doc.proxmox.template;
  if (JSON.stringify(doc.talos) !== JSON.stringify(HOMELAB.talos) && JSON.stringify(template) === JSON.stringify(HOMELAB.proxmox.template)) {
    template.image = imageOf(doc.talos);
  }
  return configProblems(YAML.stringify(doc));
}

describe('cluster rules (config files)', () => {
  test('the homelab config breaks no rule', () => {
    expect(problems(() => {})).toEqual([]);
  });

  describe('worker pool images and node metadata', () => {
    test('fails when a Longhorn pool would clone the cluster\'s template VM (one VM, one image)', () => {
      expect(problems((d) => { d.workers[0].longhorn = true; })).toEqual([
        expect.stringMatching(/^clusters\/homelab\.yaml: workers\[0\]\.template template VM 8700 holds Talos v1\.13\.9, schematic ce4c980550dd…, but the pool default boots Talos v1\.13\.9 with siderolabs\/qemu-guest-agent, siderolabs\/iscsi-tools, siderolabs\/util-linux-tools \(schematic [0-9a-f]{12}…\): give the pool a template of its own/),
      ]);
      const own = templateVm(8701, { extensions: LONGHORN_EXTENSIONS });
      expect(problems((d) => { d.workers[0].longhorn = true; d.workers[0].template = own; })).toEqual([]);
    });
    test('fails on labels a node cannot get, bad taints and malformed extensions', () => {
      expect(problems((d) => {
        d.workers[0].labels = { 'kubernetes.io/role': 'db' };
        d.workers[0].taints = [{ key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }];
        d.workers[0].extensions = ['gpu'];
        d.workers[0].template = templateVm(8702, { extensions: ['gpu'] });
      })).toEqual([
        expect.stringMatching(/^clusters\/homelab\.yaml: workers\[0\]\.labels\.kubernetes\.io\/role cannot be set: NodeRestriction/),
        'clusters/homelab.yaml: workers[0].taints[1] "a:NoSchedule" repeats key a with effect NoSchedule',
        'clusters/homelab.yaml: workers[0].extensions[0] "gpu" is not an official extension name like siderolabs/qemu-guest-agent',
      ]);
    });
  });

  describe('worker pool Kubernetes holds', () => {
    test('a pool may lag the control plane by up to three minors', () => {
      expect(problems((d) => { d.workers[0].kubernetesVersion = 'v1.34.2'; })).toEqual([]);
      expect(problems((d) => { d.workers[0].kubernetesVersion = 'v1.32.0'; })).toEqual([]);
    });
    test('fails when a pool is newer than the control plane, too far behind, or unsupported by Talos', () => {
      expect(problems((d) => { d.workers[0].kubernetesVersion = 'v1.35.5'; })).toEqual([
        'clusters/homelab.yaml: workers[0].kubernetesVersion v1.35.5 is newer than kubernetesVersion v1.35.4: kubelets must not be newer than the API server, so upgrade the control plane first',
      ]);
      expect(problems((d) => { d.kubernetesVersion = 'v1.36.1'; d.workers[0].kubernetesVersion = 'v1.32.0'; })).toEqual([
        'clusters/homelab.yaml: workers[0].kubernetesVersion v1.32.0 is more than 3 minors behind kubernetesVersion v1.36.1 (Kubernetes version skew policy)',
      ]);
      expect(problems((d) => { d.kubernetesVersion = 'v1.33.0'; d.workers[0].kubernetesVersion = 'v1.30.0'; })).toEqual([
        'clusters/homelab.yaml: workers[0].kubernetesVersion v1.30.0 is outside what Talos v1.13 supports (Kubernetes v1.31 to v1.36)',
      ]);
    });
  });

  describe('IP math', () => {
    test('fails when the VIP lies inside the node range', () => {
      expect(problems((d) => { d.network.endpoint = '192.168.0.25'; })).toEqual([
        'clusters/homelab.yaml: network.endpoint 192.168.0.25 lies inside network.addresses 192.168.0.20-192.168.0.29; the VIP must be outside the node range (CAPMOX rejects it)',
      ]);
    });
    test('fails when the VIP lies outside the node subnet', () => {
      expect(problems((d) => { d.network.endpoint = '192.168.1.30'; })).toEqual([
        'clusters/homelab.yaml: network.endpoint 192.168.1.30 lies outside the node subnet 192.168.0.0/24 (network.gateway 192.168.0.254/24); the VIP must be in the nodes\' L2 subnet',
      ]);
    });
    test('fails when the VIP is the gateway', () => {
      expect(problems((d) => { d.network.endpoint = '192.168.0.254'; })).toEqual([
        'clusters/homelab.yaml: network.endpoint 192.168.0.254 is the gateway; the VIP needs an address of its own',
      ]);
    });
    test('fails when the gateway lies inside the node range', () => {
      expect(problems((d) => { d.network.gateway = '192.168.0.21'; })).toEqual([
        'clusters/homelab.yaml: network.gateway 192.168.0.21 lies inside network.addresses 192.168.0.20-192.168.0.29; the gateway must be outside the node range',
      ]);
    });
    test('fails when a range lies outside the node subnet', () => {
      expect(problems((d) => { d.network.addresses = ['192.168.0.20-192.168.0.29', '192.168.1.10-192.168.1.19']; })).toEqual([
        'clusters/homelab.yaml: network.addresses 192.168.1.10-192.168.1.19 is not inside the node subnet 192.168.0.0/24 (network.gateway 192.168.0.254/24)',
      ]);
    });
    test('fails on a malformed range', () => {
      expect(problems((d) => { d.network.addresses = ['192.168.0.29-192.168.0.20']; })).toEqual([
        'clusters/homelab.yaml: network.addresses[0] "192.168.0.29-192.168.0.20" is not an IPv4 range (a-b with a <= b), CIDR (a/n) or address',
      ]);
    });
    test('fails on overlapping ranges', () => {
      expect(problems((d) => { d.network.addresses = ['192.168.0.20-192.168.0.29', '192.168.0.24/30']; })).toEqual([
        'clusters/homelab.yaml: network.addresses 192.168.0.20-192.168.0.29 and 192.168.0.24/30 overlap; each address must be listed once',
      ]);
    });
    test('fails when a range includes the network or broadcast address', () => {
      expect(problems((d) => { d.network.addresses = ['192.168.0.0-192.168.0.9']; })).toEqual([
        'clusters/homelab.yaml: network.addresses 192.168.0.0-192.168.0.9 includes the network or broadcast address of 192.168.0.0/24; nodes cannot use them',
      ]);
    });
    test('fails when pod, service and node networks overlap', () => {
      expect(problems((d) => { d.network.podCidrs = ['192.168.0.0/16']; })).toEqual([
        'clusters/homelab.yaml: network.podCidrs 192.168.0.0/16 overlaps network.gateway/network.prefix 192.168.0.0/24; pod, service and node networks must be disjoint',
      ]);
      expect(problems((d) => { d.network.serviceCidrs = ['10.240.0.0/12']; })).toEqual([
        'clusters/homelab.yaml: network.serviceCidrs 10.240.0.0/12 overlaps network.podCidrs 10.244.0.0/16; pod, service and node networks must be disjoint',
      ]);
    });
  });

  describe('addresses the API server or Proxmox would refuse (issue 12)', () => {
    test('fails when the VIP or the gateway is the network or broadcast address of the node subnet', () => {
      expect(problems((d) => { d.network.endpoint = '192.168.0.255'; })).toEqual([
        'clusters/homelab.yaml: network.endpoint 192.168.0.255 is the broadcast address of 192.168.0.0/24; the VIP must be a host address of the node subnet (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.endpoint = '192.168.0.0'; })).toEqual([
        'clusters/homelab.yaml: network.endpoint 192.168.0.0 is the network address of 192.168.0.0/24; the VIP must be a host address of the node subnet (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.gateway = '192.168.0.0'; })).toEqual([
        'clusters/homelab.yaml: network.gateway 192.168.0.0 is the network address of 192.168.0.0/24; the gateway must be a host address of the node subnet (STACK.md §9.8)',
      ]);
    });
    test('fails on service networks wider than /12 or narrower than /28, and on host bits', () => {
      expect(problems((d) => { d.network.serviceCidrs = ['10.64.0.0/11']; })).toEqual([
        'clusters/homelab.yaml: network.serviceCidrs 10.64.0.0/11 is wider than /12, which kube-apiserver refuses for a service network (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.serviceCidrs = ['10.96.0.0/29']; })).toEqual([
        'clusters/homelab.yaml: network.serviceCidrs 10.96.0.0/29 is narrower than /28: the service network must hold the kubernetes service (.1) and cluster DNS (.10) (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.serviceCidrs = ['10.96.0.0/28']; })).toEqual([]);
      expect(problems((d) => { d.network.serviceCidrs = ['10.96.0.1/12']; })).toEqual([
        'clusters/homelab.yaml: network.serviceCidrs 10.96.0.1/12 has host bits set; write its network address 10.96.0.0/12',
      ]);
    });
    test('fails on pod networks with host bits, narrower than /24 or too small for one /24 per node', () => {
      expect(problems((d) => { d.network.podCidrs = ['10.244.1.0/16']; })).toEqual([
        'clusters/homelab.yaml: network.podCidrs 10.244.1.0/16 has host bits set; write its network address 10.244.0.0/16',
      ]);
      expect(problems((d) => { d.network.podCidrs = ['10.244.0.0/25']; })).toEqual([
        'clusters/homelab.yaml: network.podCidrs 10.244.0.0/25 is narrower than /24, the pod network kube-controller-manager hands every node (STACK.md §9.8); use a /24 or wider',
      ]);
      // 3 control planes + 2 workers + 2 surge = 7 nodes: a /22 holds 4 node networks, a /21 holds 8.
      expect(problems((d) => { d.network.podCidrs = ['10.244.0.0/22']; })).toEqual([
        'clusters/homelab.yaml: network.podCidrs 10.244.0.0/22 holds 4 node pod network(s) (/24 each, STACK.md §9.8) but the cluster can have 7 nodes at once (every machine at its maximum plus the rolling-update surge); use a wider pod network',
      ]);
      expect(problems((d) => { d.network.podCidrs = ['10.244.0.0/21']; })).toEqual([]);
    });
    test('fails on special-use addresses for nodes, VIP, gateway, DNS servers and pod or service networks', () => {
      expect(problems((d) => {
        d.network.endpoint = '127.0.0.30';
        d.network.gateway = '127.0.0.254';
        d.network.addresses = ['127.0.0.20-127.0.0.29'];
      })).toEqual([
        'clusters/homelab.yaml: network.gateway 127.0.0.254 lies in 127.0.0.0/8 (loopback), a special-use range that cannot be the gateway (STACK.md §9.8)',
        'clusters/homelab.yaml: network.addresses 127.0.0.20-127.0.0.29 lies in 127.0.0.0/8 (loopback), a special-use range that cannot be a node address (STACK.md §9.8)',
        'clusters/homelab.yaml: network.endpoint 127.0.0.30 lies in 127.0.0.0/8 (loopback), a special-use range that cannot be the VIP (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.podCidrs = ['224.0.0.0/16']; d.network.serviceCidrs = ['169.254.0.0/16']; })).toEqual([
        'clusters/homelab.yaml: network.podCidrs 224.0.0.0/16 lies in 224.0.0.0/4 (multicast), a special-use range that cannot be a pod network (STACK.md §9.8)',
        'clusters/homelab.yaml: network.serviceCidrs 169.254.0.0/16 lies in 169.254.0.0/16 (link-local), a special-use range that cannot be a service network (STACK.md §9.8)',
      ]);
      expect(problems((d) => { d.network.dnsServers = ['0.0.0.0', '255.255.255.255', '8.8.8.8', '8.8.8.8']; })).toEqual([
        'clusters/homelab.yaml: network.dnsServers[0] 0.0.0.0 lies in 0.0.0.0/8 ("this network"), a special-use range that cannot be a DNS server (STACK.md §9.8)',
        'clusters/homelab.yaml: network.dnsServers[1] 255.255.255.255 lies in 240.0.0.0/4 (reserved, with the broadcast address 255.255.255.255), a special-use range that cannot be a DNS server (STACK.md §9.8)',
        'clusters/homelab.yaml: network.dnsServers[3] 8.8.8.8 is listed twice',
      ]);
    });
    test('fails on whitespace around addresses instead of copying it', () => {
      expect(problems((d) => {
        d.network.addresses = ['192.168.0.20 - 192.168.0.29'];
        d.network.endpoint = ' 192.168.0.30';
        d.network.dnsServers = ['8.8.8.8 '];
      })).toEqual([
        'clusters/homelab.yaml: network.endpoint " 192.168.0.30" contains whitespace; write the address alone (it is copied verbatim, never trimmed)',
        'clusters/homelab.yaml: network.addresses[0] "192.168.0.20 - 192.168.0.29" contains whitespace; write the address alone (it is copied verbatim, never trimmed)',
        'clusters/homelab.yaml: network.dnsServers[0] "8.8.8.8 " contains whitespace; write the address alone (it is copied verbatim, never trimmed)',
      ]);
      expect(problems((d) => { d.network.gateway = '192.168.0.254 '; })).toEqual([
        'clusters/homelab.yaml: network.gateway "192.168.0.254 " contains whitespace; write the address alone (it is copied verbatim, never trimmed)',
      ]);
    });
    test('fails on bridge names Linux refuses and Proxmox node names that are not DNS labels', () => {
      expect(problems((d) => { d.network.bridge = 'vmbr0123456789ab'; })).toEqual([
        'clusters/homelab.yaml: network.bridge "vmbr0123456789ab" must be a Proxmox bridge: a Linux interface name of 1 to 15 characters without whitespace, "/" or ":" (not "." or "..")',
      ]);
      expect(problems((d) => { d.network.bridge = 'vmbr0123456789a'; })).toEqual([]);
      expect(problems((d) => { d.network.bridge = '..'; })).toHaveLength(1);
      expect(problems((d) => { d.network.bridge = 'vm/br0'; })).toHaveLength(1);
      expect(problems((d) => { d.proxmox.allowedNodes = ['K8S0', 'pve_1']; d.proxmox.template.sourceNode = 'K8S0.lan'; })).toEqual([
        'clusters/homelab.yaml: proxmox.allowedNodes[1] "pve_1" must be a Proxmox node name (a node VMs may be placed on): a DNS label of at most 63 letters, digits and "-", starting and ending with a letter or digit',
        'clusters/homelab.yaml: proxmox.template.sourceNode "K8S0.lan" must be a Proxmox node name (the one that holds the template VM): a DNS label of at most 63 letters, digits and "-", starting and ending with a letter or digit',
      ]);
    });
    test('fails on counts and sizes beyond the int32 CRD fields', () => {
      const big = 2147483648;
      expect(problems((d) => { d.controlPlane.cores = big; d.controlPlane.memoryMiB = 2147483656; d.workers[0].diskGiB = big; })).toEqual([
        'clusters/homelab.yaml: controlPlane.cores 2147483648 must be at most 2147483647 (the ProxmoxMachineTemplate field is int32)',
        'clusters/homelab.yaml: controlPlane.memoryMiB 2147483656 must be at most 2147483647 (the ProxmoxMachineTemplate field is int32)',
        'clusters/homelab.yaml: workers[0].diskGiB 2147483648 must be at most 2147483647 (the ProxmoxMachineTemplate field is int32)',
      ]);
      expect(problems((d) => { d.workers[0] = { name: 'default', autoscaling: { min: 1, max: big }, cores: 2, memoryMiB: 8192, diskGiB: 40 }; })).toEqual(
        expect.arrayContaining(['clusters/homelab.yaml: workers[0].autoscaling.max 2147483648 must be at most 2147483647 (autoscaler maximum)']),
      );
      expect(problems((d) => { d.controlPlane.replicas = big + 1; })).toEqual(
        expect.arrayContaining(['clusters/homelab.yaml: controlPlane.replicas 2147483649 must be at most 2147483647 (control-plane machines)']),
      );
      expect(problems((d) => { d.workers[0].replicas = big; })).toEqual(
        expect.arrayContaining(['clusters/homelab.yaml: workers[0].replicas 2147483648 must be at most 2147483647 (machine count)']),
      );
    });
  });

  describe('Proxmox and names', () => {
    test('fails on an empty bridge, template node or node list, a low VM ID, and a bad Secret name', () => {
      expect(problems((d) => {
        d.network.bridge = ' ';
        Object.assign(d.proxmox.template, { sourceNode: '', templateId: 99 });
        d.proxmox.allowedNodes = [];
        d.proxmox.credentialsSecret = 'Homelab_Proxmox';
      })).toEqual([
        'clusters/homelab.yaml: network.bridge " " must be a Proxmox bridge: a Linux interface name of 1 to 15 characters without whitespace, "/" or ":" (not "." or "..")',
        'clusters/homelab.yaml: proxmox.allowedNodes must list at least one Proxmox node',
        'clusters/homelab.yaml: proxmox.template.sourceNode "" must be a Proxmox node name (the one that holds the template VM): a DNS label of at most 63 letters, digits and "-", starting and ending with a letter or digit',
        'clusters/homelab.yaml: proxmox.template.templateId 99 must be at least 100 (a Proxmox VM ID)',
        'clusters/homelab.yaml: proxmox.credentialsSecret "Homelab_Proxmox" must be a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      ]);
    });
  });

  describe('remediation threshold (workers[].maxUnhealthy)', () => {
    test('a percentage that rounds down to 0 at the pool\'s size is refused with the smallest that works; a count passes', () => {
      expect(problems((d) => { d.workers[0].maxUnhealthy = '40%'; })).toEqual([
        'clusters/homelab.yaml: workers[0].maxUnhealthy 40% of 2 machine(s) is 0 once Cluster API rounds it down, so a failed machine would never be replaced; use a count (1 or more) or at least 50%',
      ]);
      expect(problems((d) => { d.workers[0].maxUnhealthy = '50%'; })).toEqual([]);
      expect(problems((d) => { d.workers[0].maxUnhealthy = 1; })).toEqual([]);
    });
  });

  describe('capacity', () => {
    test('fails when the pool cannot hold every machine plus the rolling-update surge', () => {
      expect(problems((d) => { d.workers[0].replicas = 6; })).toEqual([
        'clusters/homelab.yaml: network.addresses holds 10 address(es) but the cluster needs 11: 3 control-plane + 6 default machines + 2 for rolling updates (maxSurge 1 per control plane and per deployment: one per pool, one per node of a spread pool); add addresses or shrink the cluster',
      ]);
    });
    test('counts an autoscaled pool at its maximum', () => {
      expect(problems((d) => { d.workers[0] = { name: 'default', autoscaling: { min: 1, max: 6 }, cores: 2, memoryMiB: 8192, diskGiB: 40 }; })).toEqual([
        'clusters/homelab.yaml: network.addresses holds 10 address(es) but the cluster needs 11: 3 control-plane + 6 default (autoscaler max) machines + 2 for rolling updates (maxSurge 1 per control plane and per deployment: one per pool, one per node of a spread pool); add addresses or shrink the cluster',
      ]);
    });
  });

  describe('control plane', () => {
    test('fails on an even number of control planes', () => {
      expect(problems((d) => { d.controlPlane.replicas = 2; })).toEqual([
        'clusters/homelab.yaml: controlPlane.replicas 2 must be odd (1, 3, 5, …): etcd needs a majority, and an even count adds no fault tolerance',
      ]);
    });
    test('one control plane is allowed (the construct warns at synth)', () => {
      expect(problems((d) => { d.controlPlane.replicas = 1; })).toEqual([]);
      const cluster = new TalosCluster(newChart(), 'C', homelabProps({ controlPlane: { replicas: 1, cores: 2, memoryMiB: 4096, diskGiB: 20 } }));
      expect(cluster.node.metadata.filter((m) => m.type === WARNING_METADATA).map((m) => m.data)).toEqual([{
        severity: 'warning',
        path: 'controlPlane.replicas',
        message: '1: no high availability, and a rolling update (Kubernetes or Talos upgrade, template change) of a single control plane stalls (STACK.md §3.4); use 3',
      }]);
    });
  });

  describe('versions', () => {
    test('fails when Kubernetes is outside the Talos support matrix', () => {
      expect(problems((d) => { d.kubernetesVersion = 'v1.37.0'; })).toEqual([
        'clusters/homelab.yaml: kubernetesVersion v1.37.0 is outside what Talos v1.13 supports (Kubernetes v1.31 to v1.36)',
      ]);
      expect(problems((d) => { d.talos.version = 'v1.12.11'; d.kubernetesVersion = 'v1.36.0'; })).toEqual([
        'clusters/homelab.yaml: kubernetesVersion v1.36.0 is outside what Talos v1.12 supports (Kubernetes v1.30 to v1.35)',
      ]);
    });
    test('fails on a Talos minor without a shipped machine-config schema', () => {
      expect(problems((d) => { d.talos.version = 'v1.11.5'; })).toEqual([
        'clusters/homelab.yaml: talos.version v1.11.5 is not supported: supported Talos minors are v1.12, v1.13',
      ]);
    });
    test('fails on malformed versions', () => {
      expect(problems((d) => { d.talos.version = 'v1.13'; }).filter((m) => !m.includes('proxmox.template.image'))).toEqual([
        'clusters/homelab.yaml: talos.version "v1.13" must be a release version like v1.13.9',
      ]);
    });
  });

  describe('pools', () => {
    test('fails on duplicate pool names', () => {
      expect(problems((d) => { d.workers.push({ ...d.workers[0], replicas: 1 }); })).toEqual([
        'clusters/homelab.yaml: workers[1].name "default" is used by workers[0].name too; pool names must be unique',
      ]);
    });
    test('fails when autoscaler min exceeds max', () => {
      expect(problems((d) => { d.workers[0] = { name: 'default', autoscaling: { min: 4, max: 2 }, cores: 2, memoryMiB: 8192, diskGiB: 40 }; })).toEqual([
        'clusters/homelab.yaml: workers[0].autoscaling.min 4 is greater than autoscaling.max 2',
      ]);
    });
    test('fails when replicas are fixed beside autoscaler bounds', () => {
      expect(problems((d) => { d.workers[0].autoscaling = { min: 1, max: 3 }; })).toEqual([
        'clusters/homelab.yaml: workers[0].replicas 2 cannot be set together with autoscaler bounds: the autoscaler owns the replica count, and a count in git would be reset on every GitOps sync (new pools start at the minimum)',
      ]);
    });
    test('fails when names make Machine hostnames longer than 63 characters', () => {
      const pool = 'p'.repeat(43); // homelab (7) + '-' + 43 + '-xxxxx-xxxxx' (12) = 63: the longest that fits
      expect(problems((d) => { d.workers[0].name = pool; })).toEqual([]);
      expect(problems((d) => { d.workers[0].name = `${pool}p`; })).toEqual([
        `clusters/homelab.yaml: workers[0].name "${pool}p" makes Machine names (<cluster>-<pool>-xxxxx-xxxxx) 64 characters; hostnames allow 63, so cluster and pool name together may have at most 50`,
      ]);
      expect(problems((d) => { d.name = 'a'.repeat(44); })[0]).toBe(
        `clusters/homelab.yaml: name "${'a'.repeat(44)}" is 44 characters; control-plane Machine names (<name>-control-plane-xxxxx) become hostnames of at most 63, so at most 43`,
      );
    });
  });

  describe('sizes and schematic', () => {
    test('fails below what Talos needs', () => {
      expect(problems((d) => { d.controlPlane.cores = 1; })).toEqual([
        'clusters/homelab.yaml: controlPlane.cores 1 gives 1 vCPU(s); Talos needs at least 2',
      ]);
      expect(problems((d) => { d.controlPlane.cores = 1; d.controlPlane.sockets = 2; })).toEqual([]);
      expect(() => new TalosCluster(newChart(), 'C', homelabProps({ controlPlane: { cores: 1, memoryMiB: 4096, diskGiB: 20 } })))
        .toThrow('controlPlane.cores 1 gives 1 vCPU(s); Talos needs at least 2');
      expect(problems((d) => { d.workers[0].memoryMiB = 1024; })).toEqual([
        'clusters/homelab.yaml: workers[0].memoryMiB 1024 is below the 2048 MiB Talos needs',
      ]);
      expect(problems((d) => { d.workers[0].diskGiB = 8; })).toEqual([
        'clusters/homelab.yaml: workers[0].diskGiB 8 is below the 10 GiB system disk Talos needs',
      ]);
    });
    test('fails on malformed or duplicate extension names', () => {
      expect(problems((d) => { d.talos.extensions = ['qemu-guest-agent', 'siderolabs/iscsi-tools', 'siderolabs/iscsi-tools']; })).toEqual([
        'clusters/homelab.yaml: talos.extensions[0] "qemu-guest-agent" is not an official extension name like siderolabs/qemu-guest-agent',
        'clusters/homelab.yaml: talos.extensions[2] "siderolabs/iscsi-tools" is listed twice',
      ]);
    });
  });
});

describe('official extensions (per Talos minor)', () => {
  // a pool with its own extensions also needs its own template VM; that rule is not this one's
  const extensionProblem = (p: string): boolean => /\.extensions\[\d+\]/.test(p);

  test('an unknown or misspelled extension is refused with the closest official name', () => {
    expect(problems((d) => { d.talos.extensions = ['siderolabs/qemu-guest-agnet']; })).toEqual([
      'clusters/homelab.yaml: talos.extensions[0] "siderolabs/qemu-guest-agnet" is not an official extension of Talos v1.13 (schemas/talos/extensions.v1.13.json); did you mean "siderolabs/qemu-guest-agent"?',
    ]);
    expect(problems((d) => { d.workers[0].extensions = ['siderolabs/iscsi-tools', 'siderolabs/does-not-exist']; }).filter(extensionProblem)).toEqual([
      expect.stringMatching(/^clusters\/homelab\.yaml: workers\[0\]\.extensions\[1\] "siderolabs\/does-not-exist" is not an official extension of Talos v1\.13 \(schemas\/talos\/extensions\.v1\.13\.json\); did you mean "siderolabs\/[a-z0-9-]+"( or "siderolabs\/[a-z0-9-]+")*\?$/),
    ]);
  });

  test('the list is the cluster\'s Talos minor: uhid is official from 1.13 on', () => {
    expect(problems((d) => { d.talos.extensions = ['siderolabs/uhid']; })).toEqual([]);
    expect(problems((d) => { d.talos.version = 'v1.12.11'; d.workers[0].extensions = ['siderolabs/uhid']; }).filter(extensionProblem)).toEqual([
      expect.stringMatching(/^clusters\/homelab\.yaml: workers\[0\]\.extensions\[0\] "siderolabs\/uhid" is not an official extension of Talos v1\.12 \(schemas\/talos\/extensions\.v1\.12\.json\); did you mean /),
    ]);
  });

  test('Longhorn and GPU pools use official extensions in both minors', () => {
    for (const version of ['v1.12.11', 'v1.13.9']) {
      expect(problems((d) => {
        d.talos.version = version;
        d.workers[0].longhorn = true;
        d.workers[0].extensions = ['siderolabs/nvidia-open-gpu-kernel-modules-production', 'siderolabs/nvidia-container-toolkit-production'];
      }).filter(extensionProblem)).toEqual([]);
    }
  });
});
