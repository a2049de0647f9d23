import * as YAML from 'yaml';
import { STACK_VERSIONS } from '../lib/core/stack';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../lib/talos/schematic';

/** The default image (Talos release and schematic) every fleet cluster boots: what template VM 9000 holds. */
const FLEET_IMAGE = {
  talosVersion: STACK_VERSIONS.talos,
  schematic: new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] }).id,
};

/** The `general` pool's memory in a changed fleet cluster (8192 MiB otherwise): what the plan case edits. */
export const CHANGED_POOL_MEMORY_MIB = 12288;

/**
 * Config of fleet cluster `i`: its own name and /24 node subnet, three worker pools. Valid by
 * construction (the benchmark measures synth, not rejection).
 *
 * @param changed the plan case's edit: the `general` pool gets {@link CHANGED_POOL_MEMORY_MIB}
 *   (a new machine template, so the pool rolls), everything else stays as it was
 */
export function fleetClusterConfig(i: number, changed = false): string {
  const b = Math.floor(i / 250) + 1;
  const c = i % 250;
  const net = (d: number) => `10.${b}.${c}.${d}`;
  return YAML.stringify({
    name: `fleet-${String(i).padStart(3, '0')}`,
    namespace: 'fleet',
    network: {
      endpoint: net(250),
      addresses: [`${net(10)}-${net(49)}`],
      prefix: 24,
      gateway: net(1),
      dnsServers: ['10.0.0.53'],
      // the node subnets live in 10.1-10.x.0.0/16; keep pods and services clear of them
      podCidrs: ['172.16.0.0/16'],
      serviceCidrs: ['172.20.0.0/16'],
    },
    proxmox: {
      allowedNodes: ['pve1', 'pve2', 'pve3'],
      // One template VM for the whole fleet, on storage all three nodes reach, so clones may land anywhere.
      template: { sourceNode: 'pve1', templateId: 9000, image: FLEET_IMAGE, storage: { name: 'ceph-vm', shared: true } },
      isoStorage: 'local',
      credentialsSecret: `fleet-${i}-proxmox`,
    },
    controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20 },
    workers: [
      { name: 'general', replicas: 3, cores: 4, memoryMiB: changed ? CHANGED_POOL_MEMORY_MIB : 8192, diskGiB: 40 },
      { name: 'memory', replicas: 2, cores: 4, memoryMiB: 32768, diskGiB: 40 },
      { name: 'burst', autoscaling: { min: 0, max: 5 }, cores: 8, memoryMiB: 16384, diskGiB: 60 },
    ],
  });
}
