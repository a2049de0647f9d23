import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { TalosCluster, WARNING_METADATA } from '../../lib';
import { configProblems, homelabProps, newChart, ROOT } from '../util';

const HOMELAB = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));

/** What synth says of the homelab config after an edit, one message per line. */
function problems(edit: (d: any) => void): string[] {
  const doc = structuredClone(HOMELAB);
  edit(doc);
  return configProblems(YAML.stringify(doc));
}

describe('cluster rules (config files)', () => {
  test('the homelab config breaks no rule', () => {
    expect(problems(() => {})).toEqual([]);
  });

  describe('worker pool images and node metadata', () => {
    test('fails when a Longhorn pool would clone the cluster\'s template VM (one VM, one image)', () => {
      expect(problems((d) => { d.workers[0].longhorn = true; })).toEqual([
        expect.stringMatching(/^clusters\/homelab\.yaml: workers\[0\]\.template K8S0\/8700 is the template VM of the control plane too, but the pool default needs another image \(siderolabs\/qemu-guest-agent, siderolabs\/iscsi-tools, siderolabs\/util-linux-tools, not siderolabs\/qemu-guest-agent\)/),
      ]);
      expect(problems((d) => { d.workers[0].longhorn = true; d.workers[0].template = { sourceNode: 'K8S0', templateId: 8701 }; })).toEqual([]);
    });
    test('fails on labels a node cannot get, bad taints and malformed extensions', () => {
      expect(problems((d) => {
        d.workers[0].labels = { 'kubernetes.io/role': 'db' };
        d.workers[0].taints = [{ key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }];
        d.workers[0].extensions = ['gpu'];
        d.workers[0].template = { sourceNode: 'K8S0', templateId: 8702 };
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

  describe('Proxmox and names', () => {
    test('fails on an empty bridge, template node or node list, a low VM ID, and a bad Secret name', () => {
      expect(problems((d) => {
        d.network.bridge = ' ';
        d.proxmox.template = { sourceNode: '', templateId: 99 };
        d.proxmox.allowedNodes = [];
        d.proxmox.credentialsSecret = 'Homelab_Proxmox';
      })).toEqual([
        'clusters/homelab.yaml: network.bridge " " must be a Proxmox bridge',
        'clusters/homelab.yaml: proxmox.allowedNodes must list at least one Proxmox node',
        'clusters/homelab.yaml: proxmox.template.sourceNode "" must be a Proxmox node (the one that holds the template VM)',
        'clusters/homelab.yaml: proxmox.template.templateId 99 must be at least 100 (a Proxmox VM ID)',
        'clusters/homelab.yaml: proxmox.credentialsSecret "Homelab_Proxmox" must be a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      ]);
    });
  });

  describe('capacity', () => {
    test('fails when the pool cannot hold every machine plus the rolling-update surge', () => {
      expect(problems((d) => { d.workers[0].replicas = 6; })).toEqual([
        'clusters/homelab.yaml: network.addresses holds 10 address(es) but the cluster needs 11: 3 control-plane + 6 default machines + 2 for rolling updates (maxSurge 1 per control plane and pool); add addresses or shrink the cluster',
      ]);
    });
    test('counts an autoscaled pool at its maximum', () => {
      expect(problems((d) => { d.workers[0] = { name: 'default', autoscaling: { min: 1, max: 6 }, cores: 2, memoryMiB: 8192, diskGiB: 40 }; })).toEqual([
        'clusters/homelab.yaml: network.addresses holds 10 address(es) but the cluster needs 11: 3 control-plane + 6 default (autoscaler max) machines + 2 for rolling updates (maxSurge 1 per control plane and pool); add addresses or shrink the cluster',
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
      expect(problems((d) => { d.talos.version = 'v1.13'; })).toEqual([
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
