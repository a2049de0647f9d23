import { isMultiDocTalos } from '../core/versions';
import { toYaml } from '../core/yaml';

/** The link CAPMOX's nocloud network-config names the first NIC (Talos nocloud sets net.ifnames=0). */
export const NOCLOUD_PRIMARY_LINK = 'eth0';

/** KubePrism's default port: Cilium reaches the API server through it (STACK.md §3.5, §4.1). */
export const KUBEPRISM_PORT = 7445;

/** What every node's machine config needs, whatever its role. */
export interface MachineConfigOptions {
  /** Talos release the config is generated for (`v1.13.9`). */
  readonly talosVersion: string;
  /** `machine.install.image`: the nocloud installer of the cluster's schematic. */
  readonly installImage: string;
  /**
   * The node subnets (IPv4, then IPv6 when dual-stack) the kubelet takes its node IP from
   * (`machine.kubelet.nodeIP.validSubnets`); on control planes etcd advertises its IPv4 address
   * from the first (`cluster.etcd.advertisedSubnets`). Needed once a machine has more than one
   * address, so that a second NIC never becomes the node address (Talos multihoming).
   * @default - not written: Talos picks the node's only address
   */
  readonly nodeSubnets?: readonly string[];
}

/** Where Longhorn keeps its data on a storage-ready node: its default path, on the system disk. */
export const LONGHORN_DATA_PATH = '/var/lib/longhorn';

/** What a worker node's machine config can add to {@link MachineConfigOptions}. */
export interface WorkerConfigOptions extends MachineConfigOptions {
  /**
   * Labels the node sets on itself (`machine.nodeLabels`); only labels NodeRestriction lets a
   * kubelet set (lib/node-metadata.ts routes the others through Cluster API).
   * @default - none
   */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /**
   * Taints the kubelet registers the node with (`register-with-taints`, `key=value:Effect`):
   * NodeRestriction forbids a node to change its taints later, so Talos `nodeTaints` would fail.
   * @default - none
   */
  readonly registerWithTaints?: readonly string[];
  /**
   * Bind-mount Longhorn's data path into the kubelet with shared propagation (STACK.md §6).
   * @default false
   */
  readonly longhorn?: boolean;
}

/** What a control-plane node's machine config needs on top of {@link MachineConfigOptions}. */
export interface ControlPlaneConfigOptions extends MachineConfigOptions {
  /** The control-plane VIP, bound by Talos on {@link NOCLOUD_PRIMARY_LINK}. */
  readonly vip: string;
  /**
   * Port of the API server behind the VIP (the cluster's endpoint port). Talos serves the API
   * server on `cluster.controlPlane.localAPIServerPort`, 6443 by default, so another endpoint port
   * needs that setting too, or the VIP would point at a port nothing listens on (STACK.md §9.6).
   * @default 6443
   */
  readonly apiServerPort?: number;
}

/** Talos' default `cluster.controlPlane.localAPIServerPort`. */
export const DEFAULT_API_SERVER_PORT = 6443;

/** The fields of a `v1alpha1` machine config that the patches below set. */
interface MachineConfigPatch {
  machine: {
    install: { image: string };
    kubelet: {
      extraArgs: Record<string, string>;
      nodeIP?: { validSubnets: string[] };
      extraMounts?: { destination: string; type: string; source: string; options: string[] }[];
    };
    nodeLabels?: Record<string, string>;
    features?: {
      kubernetesTalosAPIAccess: { enabled: boolean; allowedRoles: string[]; allowedKubernetesNamespaces: string[] };
    };
    network?: { interfaces: { interface: string; vip: { ip: string } }[] };
  };
  cluster: {
    network: { cni: { name: string } };
    proxy: { disabled: boolean };
    externalCloudProvider: { enabled: boolean };
    controlPlane?: { localAPIServerPort: number };
    etcd?: { advertisedSubnets: string[] };
  };
}

/**
 * The `v1alpha1` machine-config patch shared by all nodes.
 *
 * - cluster.network.cni none + proxy disabled: Cilium arrives through a ClusterResourceSet and
 *   replaces kube-proxy (STACK.md §3.5);
 * - cluster.externalCloudProvider: kubelets start with `--cloud-provider=external` so the Talos CCM
 *   sets `proxmox://<uuid>` providerIDs, without which no Machine gets a nodeRef (STACK.md §2);
 * - rotate-server-certificates: kubelet serving certificates signed via CSRs that the Talos CCM's
 *   node-csr-approval controller approves (STACK.md §2, §3.5).
 *
 * Node addresses never appear here: they come from CAPMOX's nocloud network-config, and a patch
 * would override them for every machine (STACK.md §1.2, §1.3).
 */
function commonPatch(opts: MachineConfigOptions): MachineConfigPatch {
  return {
    machine: {
      install: { image: opts.installImage },
      kubelet: {
        extraArgs: { 'rotate-server-certificates': 'true' },
        ...(opts.nodeSubnets && opts.nodeSubnets.length > 0 ? { nodeIP: { validSubnets: [...opts.nodeSubnets] } } : {}),
      },
    },
    cluster: {
      network: { cni: { name: 'none' } },
      proxy: { disabled: true },
      externalCloudProvider: { enabled: true },
    },
  };
}

/** Serializes patches the way CABPT expects `strategicPatches`: one YAML document per string. */
function serialize(patches: object[]): string[] {
  return patches.map((p) => toYaml(p));
}

/** Strategic patches of a worker node (`TalosConfigTemplate`). */
export function workerStrategicPatches(opts: WorkerConfigOptions): string[] {
  const patch = commonPatch(opts);
  if (opts.nodeLabels && Object.keys(opts.nodeLabels).length > 0) patch.machine.nodeLabels = { ...opts.nodeLabels };
  if (opts.registerWithTaints && opts.registerWithTaints.length > 0) {
    patch.machine.kubelet.extraArgs['register-with-taints'] = opts.registerWithTaints.join(',');
  }
  if (opts.longhorn) {
    patch.machine.kubelet.extraMounts = [{
      destination: LONGHORN_DATA_PATH, type: 'bind', source: LONGHORN_DATA_PATH, options: ['bind', 'rshared', 'rw'],
    }];
  }
  return serialize([patch]);
}

/**
 * Strategic patches of a control-plane node (`TalosControlPlane`).
 *
 * Adds Talos API access for the CCM (os:reader in kube-system, STACK.md §2), the API server port
 * when it is not 6443 (STACK.md §9.6) and the VIP: a
 * `Layer2VIPConfig` document on Talos ≥ 1.12, the deprecated interface `vip` before (STACK.md §3.3).
 */
export function controlPlaneStrategicPatches(opts: ControlPlaneConfigOptions): string[] {
  const base = commonPatch(opts);
  base.machine.features = {
    kubernetesTalosAPIAccess: {
      enabled: true,
      allowedRoles: ['os:reader'],
      allowedKubernetesNamespaces: ['kube-system'],
    },
  };
  // Left out at the default so that existing output does not change (STACK.md §9.6).
  if (opts.apiServerPort !== undefined && opts.apiServerPort !== DEFAULT_API_SERVER_PORT) {
    base.cluster.controlPlane = { localAPIServerPort: opts.apiServerPort };
  }
  // etcd peers talk over the IPv4 node subnet, whatever other addresses a control plane has.
  if (opts.nodeSubnets && opts.nodeSubnets.length > 0) base.cluster.etcd = { advertisedSubnets: [opts.nodeSubnets[0]] };
  if (!isMultiDocTalos(opts.talosVersion)) {
    base.machine.network = { interfaces: [{ interface: NOCLOUD_PRIMARY_LINK, vip: { ip: opts.vip } }] };
    return serialize([base]);
  }
  const vip = { apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: opts.vip, link: NOCLOUD_PRIMARY_LINK };
  return serialize([base, vip]);
}
