/**
 * The networks of a cluster's machines beyond the primary IPv4 one: a VLAN tag and MTU on the
 * primary NIC (`net0`), an IPv6 node network beside the IPv4 one (dual-stack), and more NICs, each
 * on its bridge with its VLAN, MTU and in-cluster IPAM pool (CAPMOX `networkDevices[].ipPoolRef`).
 * The props are declared here; their rules are in rules.ts, beside the other address rules.
 */
import { Construct } from 'constructs';
import { InClusterIpPool } from '../../imports/ipam.cluster.x-k8s.io';
import { CLUSTER_NAME_LABEL } from '../core/naming';
import type { ITalosCluster } from './cluster-ref';

/** The IPv6 node network on the primary NIC (CAPMOX `ipv6Config`): dual-stack nodes. */
export interface Ipv6NetworkOptions {
  /** Static IPv6 node addresses handed out by CAPMOX through in-cluster IPAM: ranges `a-b`, CIDRs or single IPs. */
  readonly addresses: readonly string[];
  /** Prefix length of the IPv6 node subnet (64 on most networks). */
  readonly prefix: number;
  /**
   * IPv6 default gateway of the nodes: a host address of the IPv6 node subnet, or the router's
   * link-local address (`fe80::/10`); the subnet is then that of the first address at `prefix`.
   */
  readonly gateway: string;
}

/**
 * One more NIC of every machine that has it (`net1`, `net2`, … in list order), on its own bridge
 * and subnet, with static addresses from an in-cluster IPAM pool that this project emits
 * (`<cluster>-<name>`, or `<cluster>-<pool>-<name>` for a pool's own NICs). It gets no gateway:
 * the default route stays on the primary network, and so do the node IP and etcd.
 */
export interface ExtraNicOptions {
  /** Name of the network (DNS-1123 label, unique among the NICs of a machine); it names the IPAM pool. */
  readonly name: string;
  /** Proxmox bridge of the NIC (a Linux interface name, e.g. `vmbr1`). */
  readonly bridge: string;
  /**
   * VLAN tag of the NIC (1–4094); the bridge must be VLAN-aware.
   * @default - untagged
   */
  readonly vlan?: number;
  /**
   * MTU of the NIC (576–65520, at least 1280 for IPv6); it must match the bridge's.
   * @default - the bridge's; nothing is written
   */
  readonly mtu?: number;
  /** Static addresses of the NIC, all of one family (IPv4 or IPv6): ranges `a-b`, CIDRs or single IPs. */
  readonly addresses: readonly string[];
  /** Prefix length of the NIC's subnet, which holds all of `addresses`. */
  readonly prefix: number;
}

/** A pool's own network settings, which replace the cluster's for its machines. */
export interface PoolNetworkOptions {
  /**
   * VLAN tag of the pool's primary NIC.
   * @default - the cluster's `network.vlan`
   */
  readonly vlan?: number;
  /**
   * MTU of the pool's primary NIC.
   * @default - the cluster's `network.mtu`
   */
  readonly mtu?: number;
  /**
   * The pool's extra NICs, instead of the cluster's (`[]`: none). Each gets an IPAM pool of its
   * own, `<cluster>-<pool>-<name>`.
   * @default - the cluster's `network.extraNics`
   */
  readonly extraNics?: readonly ExtraNicOptions[];
}

/** An extra NIC as a machine template emits it. */
export interface ResolvedNic {
  /** CAPMOX device name: `net1`, `net2`, … */
  readonly device: string;
  /** The NIC's options. */
  readonly options: ExtraNicOptions;
  /** Name of its InClusterIPPool. */
  readonly ipPoolName: string;
  /** Field path of the NIC (`network.extraNics[0]`, `workers[1].network.extraNics[0]`). */
  readonly field: string;
}

/** The NICs of one machine set, as its ProxmoxMachineTemplate writes them. */
export interface MachineNetwork {
  /** Bridge of the primary NIC. */
  readonly bridge: string;
  /** VLAN tag of the primary NIC, if tagged. */
  readonly vlan?: number;
  /** MTU of the primary NIC, if set. */
  readonly mtu?: number;
  /** Whether the primary NIC also carries the IPv6 node network. */
  readonly ipv6: boolean;
  /** The extra NICs, in device order. */
  readonly extraNics: readonly ResolvedNic[];
}

/** CAPMOX device name of the i-th extra NIC (`net0` is the primary one). */
export function extraNicDevice(index: number): string {
  return `net${index + 1}`;
}

/** Resolves a list of extra NICs: devices, IPAM pool names (`<prefix>-<name>`) and field paths. */
export function resolveNics(nics: readonly ExtraNicOptions[], poolPrefix: string, field: string): ResolvedNic[] {
  return nics.map((options, i) => ({
    device: extraNicDevice(i), options, ipPoolName: `${poolPrefix}-${options.name}`, field: `${field}[${i}]`,
  }));
}

/**
 * What keeps the node address on the primary network when a machine has more than one (STACK.md
 * §1.3 leaves addresses to CAPMOX): the kubelet node IP and the etcd advertised addresses come
 * from the node subnets only (Talos multihoming). Written only for machines with extra NICs or
 * IPv6, so single-NIC IPv4 clusters keep their output.
 */
export function nodeAddressSubnets(cluster: { nodeSubnets: readonly string[] }, network: MachineNetwork): { nodeSubnets?: readonly string[] } {
  return network.ipv6 || network.extraNics.length > 0 ? { nodeSubnets: [...cluster.nodeSubnets] } : {};
}

/** The InClusterIPPool of each extra NIC (in-cluster IPAM v1alpha2), referenced by the machine templates' `ipPoolRef`. */
export function createIpPools(scope: Construct, id: string, cluster: ITalosCluster, nics: readonly ResolvedNic[]): void {
  if (nics.length === 0) return;
  const pools = new Construct(scope, id);
  for (const nic of nics) {
    new InClusterIpPool(pools, nic.options.name, {
      metadata: { name: nic.ipPoolName, namespace: cluster.namespace, labels: { [CLUSTER_NAME_LABEL]: cluster.clusterName } },
      spec: { addresses: [...nic.options.addresses], prefix: nic.options.prefix },
    });
  }
}

