import { IConstruct } from 'constructs';
import { PatchDocument } from '../talos/patches';
import { Schematic } from '../talos/schematic';
import { MachineNetwork } from './networks';
import { ProxmoxCloneOptions, TemplateVm } from './proxmox-machine-template';

/**
 * What constructs attached to a Talos cluster need to know about it.
 *
 * Implemented by {@link TalosCluster}; worker pools, add-ons and templates take this interface
 * rather than a name string so that they can only be attached to a real cluster.
 */
export interface ITalosCluster extends IConstruct {
  /** Name of the CAPI Cluster; every object name derives from it. */
  readonly clusterName: string;
  /** Namespace of all the cluster's objects on the management cluster. */
  readonly namespace: string;
  /** Kubernetes release of the workload cluster (`v1.35.4`). */
  readonly kubernetesVersion: string;
  /** Talos release of every node (`v1.13.9`). */
  readonly talosVersion: string;
  /** Image Factory schematic of the cluster's nodes. */
  readonly schematic: Schematic;
  /** Proxmox bridge the nodes' `net0` attaches to. */
  readonly bridge: string;
  /** The NICs of the cluster's machines unless their pool overrides them (VLAN, MTU, IPv6, extra NICs). */
  readonly network: MachineNetwork;
  /** The node subnets (IPv4, then IPv6 when dual-stack) the kubelet node IP and etcd are taken from. */
  readonly nodeSubnets: readonly string[];
  /** Proxmox nodes the cluster's machines may be cloned on (a pool may narrow them). */
  readonly allowedNodes: readonly string[];
  /** The template VM machines are cloned from unless their pool names another. */
  readonly template: TemplateVm;
  /** The users' Talos patches of every node (`talos.patches`): pools put them before their own. */
  readonly clusterPatches: readonly PatchDocument[];
  /** How CAPMOX clones the cluster's machines (`proxmox.pool`, `tags`, …) unless a machine set sets its own. */
  readonly clone: ProxmoxCloneOptions;
  /** Labels that identify the cluster's own objects (`cluster.x-k8s.io/cluster-name`). */
  readonly selectorLabels: Readonly<Record<string, string>>;
  /**
   * Adds a label to the Cluster object: how a shared add-on render's resource set selects the
   * clusters that use it (`addons.cdk8s-talos-proxmox.dev/<addon>: <hash>`).
   */
  addClusterLabel(key: string, value: string): void;
}
