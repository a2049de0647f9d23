/**
 * The structure of a cluster config file (`clusters/<name>.yaml`): types, required fields and
 * unknown keys, checked by zod. The file's keys are the props of TalosCluster, spelled alike; every
 * value rule and default lives in the constructs (lib/constructs), which check the props built from
 * the file. The hints below (`.meta`) only reach the editors' JSON Schema, from the same constants.
 */
import { z } from 'zod';
import { DEFAULT_HUBBLE } from '../../constructs/addons/cilium';
import { CLONE_FORMATS, DEFAULT_FULL_CLONE, DEFAULT_SOCKETS } from '../../constructs/proxmox-machine-template';
import {
  MAX_VM_DESCRIPTION, MAX_VM_ID, MEMORY_MIB_MULTIPLE, MIN_VM_ID, MTU_MAX, MTU_MIN, PROXMOX_POOL_ID, PROXMOX_STORAGE_ID, PROXMOX_TAG, SCHEMATIC_ID,
  TALOS_MIN_DISK_GIB, TALOS_MIN_MEMORY_MIB, VLAN_MAX, VLAN_MIN,
} from '../../constructs/rules';
import { TALOS_CLUSTER_DEFAULTS as CLUSTER, TalosClusterProps } from '../../constructs/talos-cluster';
import { DELETION_ORDERS, PERCENTAGE, WORKER_POOL_DEFAULTS as POOL } from '../../constructs/worker-pool';
import { DNS1123_LABEL, DNS1123_LABEL_MAX } from '../../core/naming';
import { RELEASE_VERSION } from '../../core/versions';
import { TaintEffect } from '../../talos/node-metadata';

const dnsLabel = z.string().meta({ pattern: DNS1123_LABEL.source, maxLength: DNS1123_LABEL_MAX });
const version = z.string().meta({ pattern: RELEASE_VERSION.source, examples: ['v1.35.4'] });
const count = (minimum: number) => z.int().meta({ minimum });

const template = z.strictObject({
  sourceNode: z.string().describe('Proxmox node that holds the Talos template VM'),
  templateId: z.int().meta({ minimum: MIN_VM_ID, maximum: MAX_VM_ID }).describe('VM ID of the Talos template VM'),
  image: z.strictObject({
    talosVersion: version.describe('Talos release of the image the template VM holds'),
    schematic: z.string().meta({ pattern: SCHEMATIC_ID.source }).describe('Image Factory schematic ID of that image (synth prints it)'),
  }).describe('the disk image the template VM holds; every machine cloned from it boots this image'),
  storage: z.strictObject({
    name: z.string().meta({ pattern: PROXMOX_STORAGE_ID.source }).describe('Proxmox storage of the template\'s disk (full clones land there too)'),
    shared: z.boolean().describe('whether every allowed node reaches this storage; a node-local template serves its own node only'),
  }).describe('where the template VM\'s disk is'),
});
/** Talos patches: a partial machine config or config document inline, or a file in a subfolder of the config's folder. */
const patches = (what: string) => z.array(z.union([
  z.strictObject({ file: z.string().describe('YAML file of one or more patch documents, relative to this file\'s folder, in a subfolder (patches/x.yaml)') }),
  z.record(z.string(), z.unknown()).describe('a partial v1alpha1 machine config, or a config document (apiVersion, kind)'),
])).optional().describe(`your own Talos settings for ${what}: strategic patches and config documents, checked against the Talos schema`);
const vlan = z.int().meta({ minimum: VLAN_MIN, maximum: VLAN_MAX });
const mtu = z.int().meta({ minimum: MTU_MIN, maximum: MTU_MAX });
const extraNics = z.array(z.strictObject({
  name: dnsLabel.describe('network name, unique among the machine\'s NICs; names the IPAM pool <cluster>-<name> (<cluster>-<pool>-<name> in a pool)'),
  bridge: z.string().describe('Proxmox bridge of the NIC'),
  vlan: vlan.optional().describe('VLAN tag of the NIC (default: untagged; the bridge must be VLAN-aware)'),
  mtu: mtu.optional().describe('MTU of the NIC; must match the bridge\'s (default: the bridge\'s)'),
  addresses: z.array(z.string()).describe('static addresses of the NIC, one family: ranges a-b, CIDRs or single IPs'),
  prefix: z.int().meta({ minimum: 1, maximum: 128 }).describe('prefix length of the NIC\'s subnet'),
})).describe('more NICs (net1, net2, …), each on its bridge with its own IPAM pool; no gateway: routes, node IP and etcd stay on the primary network');
const vmId = z.int().meta({ minimum: MIN_VM_ID, maximum: MAX_VM_ID });

/** The clone options (ProxmoxCloneOptions), on `proxmox` for every machine set and on `controlPlane` and each pool as overrides. */
const clone = (scope: string) => ({
  pool: z.string().meta({ pattern: PROXMOX_POOL_ID.source }).optional()
    .describe(`Proxmox pool ${scope} VMs join; the runbook grants PVEVMAdmin on /pool/<pool> instead of /vms (default: no pool)`),
  tags: z.array(z.string().meta({ pattern: PROXMOX_TAG.source })).optional().describe(`Proxmox tags of ${scope} VMs (default: none)`),
  full: z.boolean().meta({ default: DEFAULT_FULL_CLONE }).optional()
    .describe(`full clones (true) or linked clones (false, on the template's storage) for ${scope} VMs`),
  cloneStorage: z.strictObject({
    name: z.string().meta({ pattern: PROXMOX_STORAGE_ID.source }).describe('Proxmox storage the full clones are written to'),
    shared: z.boolean().describe('whether every node the clones may land on reaches it; a node-local one serves clones on the template\'s node only'),
  }).optional().describe(`target storage of ${scope} full clones (default: the template's storage)`),
  cloneFormat: z.enum(CLONE_FORMATS).optional().describe(`disk format of ${scope} full clones (default: the storage's)`),
  vmIdRange: z.strictObject({
    start: vmId.describe('first VM ID'),
    end: vmId.describe('last VM ID (included)'),
  }).optional().describe(`VM IDs of ${scope} clones: the lowest free one in the range (default: Proxmox's next free ID)`),
  description: z.string().meta({ maxLength: MAX_VM_DESCRIPTION }).optional().describe(`description of ${scope} VMs in the Proxmox UI`),
});

const nodes = (what: string) => z.array(z.string()).optional().describe(`Proxmox nodes ${what} may be cloned on, some of proxmox.allowedNodes (default: proxmox.allowedNodes)`);

const machine = {
  cores: count(1).describe('vCPU cores per socket (at least 2 vCPUs in all)'),
  sockets: count(1).meta({ default: DEFAULT_SOCKETS }).optional().describe('CPU sockets'),
  memoryMiB: z.int().meta({ minimum: TALOS_MIN_MEMORY_MIB, multipleOf: MEMORY_MIB_MULTIPLE }).describe('memory in MiB'),
  diskGiB: count(TALOS_MIN_DISK_GIB).describe('boot disk size in GiB'),
};

/** Schema of a worker pool in a cluster config file (WorkerPoolOptions). */
export const workerPoolSchema = z.strictObject({
  name: dnsLabel.describe('pool name, unique in the cluster; objects are named <cluster>-<pool>'),
  replicas: count(0).meta({ default: POOL.replicas }).optional().describe('machine count; leave out when autoscaling is set'),
  autoscaling: z.strictObject({
    min: count(0).describe('autoscaler minimum (0: scale from zero)'),
    max: count(1).describe('autoscaler maximum'),
  }).optional().describe('cluster-autoscaler bounds; replicas is then owned by the autoscaler'),
  ...machine,
  template: template.optional().describe('template VM of this pool (default: proxmox.template)'),
  allowedNodes: nodes('the pool\'s machines'),
  patches: patches('this pool (rolls this pool only)'),
  ...clone('the pool\'s (default: proxmox.<key>)'),
  spread: z.strictObject({
    nodes: z.array(z.string()).describe('Proxmox nodes, some of proxmox.allowedNodes: one MachineDeployment <cluster>-<pool>-<node> pinned to each'),
    templates: z.array(template).optional().describe('template VMs of single nodes, each serving the node it is on (sourceNode); default: the pool\'s template'),
  }).optional().describe('spread the pool over Proxmox nodes: replicas and autoscaler bounds split over them, the first nodes taking the remainder'),
  healthCheck: z.boolean().meta({ default: POOL.healthCheck }).optional().describe('replace machines whose node never becomes Ready (MachineHealthCheck)'),
  maxUnhealthy: z.union([z.int(), z.string().meta({ pattern: PERCENTAGE.source })]).optional()
    .describe('most unhealthy machines still replaced at once: a count, or a percentage of the pool (rounded down); default 40% of the largest size, at least 1'),
  deletionOrder: z.enum(DELETION_ORDERS).meta({ default: POOL.deletionOrder }).optional().describe('which machines go first when the pool scales down'),
  kubernetesVersion: version.optional().describe('hold this pool at an older Kubernetes release while the control plane upgrades first (default: the cluster\'s kubernetesVersion)'),
  extensions: z.array(z.string()).optional().describe('official system extensions on top of talos.extensions; the pool then needs its own template VM (template)'),
  longhorn: z.boolean().meta({ default: POOL.longhorn }).optional().describe('prepare the nodes for Longhorn: iscsi-tools and util-linux-tools extensions (own template VM), /var/lib/longhorn bind-mounted into the kubelet'),
  labels: z.record(z.string(), z.string()).optional().describe('labels of the pool\'s nodes; node-role.kubernetes.io/<role> labels are set through Cluster API'),
  taints: z.array(z.strictObject({
    key: z.string().describe('taint key'),
    value: z.string().optional().describe('taint value'),
    effect: z.enum(TaintEffect).describe('what the taint keeps away'),
  })).optional().describe('taints the pool\'s nodes register with'),
  network: z.strictObject({
    vlan: vlan.optional().describe('VLAN tag of the pool\'s primary NIC (default: network.vlan)'),
    mtu: mtu.optional().describe('MTU of the pool\'s primary NIC (default: network.mtu)'),
    extraNics: extraNics.optional().describe('the pool\'s extra NICs, instead of network.extraNics ([]: none)'),
  }).optional().describe('the pool\'s own VLAN, MTU and extra NICs (default: the cluster\'s network)'),
});

/** Schema of a cluster config file (`clusters/*.yaml`): the contract with users, shaped like TalosClusterProps. */
export const clusterConfigSchema = z.strictObject({
  name: dnsLabel.describe('cluster name; every object name derives from it'),
  namespace: dnsLabel.meta({ default: CLUSTER.namespace }).optional().describe('namespace on the management cluster'),
  kubernetesVersion: version.meta({ default: CLUSTER.kubernetesVersion }).optional().describe('Kubernetes release of the workload cluster'),
  talos: z.strictObject({
    version: version.meta({ default: CLUSTER.talos.version }).optional().describe('Talos release of every node'),
    extensions: z.array(z.string()).meta({ default: [...CLUSTER.talos.extensions] }).optional().describe('official system extensions in the Image Factory schematic'),
    extraKernelArgs: z.array(z.string()).optional().describe('extra kernel arguments in the schematic (disk images only)'),
    patches: patches('every node (rolls every machine)'),
  }).optional().describe('Talos release and schematic'),
  network: z.strictObject({
    endpoint: z.string().meta({ format: 'ipv4' }).describe('control-plane VIP, inside the node subnet and outside addresses'),
    endpointPort: z.int().meta({ default: CLUSTER.network.endpointPort, minimum: 1, maximum: 65535 }).optional().describe('API server port'),
    addresses: z.array(z.string()).describe('static node addresses: ranges a-b, CIDRs or single IPs'),
    prefix: z.int().meta({ minimum: 1, maximum: 32 }).describe('prefix length of the node subnet'),
    gateway: z.string().meta({ format: 'ipv4' }).describe('default gateway of the nodes'),
    dnsServers: z.array(z.string().meta({ format: 'ipv4' })).describe('DNS servers of the nodes'),
    bridge: z.string().meta({ default: CLUSTER.network.bridge }).optional().describe('Proxmox bridge of the nodes\' NIC'),
    podCidrs: z.array(z.string()).meta({ default: [...CLUSTER.network.podCidrs] }).optional()
      .describe(`pod networks: one IPv4, then one IPv6 when dual-stack (with network.ipv6 the default adds ${CLUSTER.network.ipv6PodCidr})`),
    serviceCidrs: z.array(z.string()).meta({ default: [...CLUSTER.network.serviceCidrs] }).optional()
      .describe(`service networks: one IPv4, then one IPv6 when dual-stack (with network.ipv6 the default adds ${CLUSTER.network.ipv6ServiceCidr})`),
    vlan: vlan.optional().describe('VLAN tag of the primary NIC (default: untagged; the bridge must be VLAN-aware)'),
    mtu: mtu.optional().describe('MTU of the primary NIC, on the Proxmox NIC and the Talos link; must match the bridge\'s (default: the bridge\'s)'),
    ipv6: z.strictObject({
      addresses: z.array(z.string()).describe('static IPv6 node addresses: ranges a-b, CIDRs or single IPs'),
      prefix: z.int().meta({ minimum: 1, maximum: 128 }).describe('prefix length of the IPv6 node subnet'),
      gateway: z.string().meta({ format: 'ipv6' }).describe('IPv6 default gateway of the nodes: in the IPv6 node subnet, or the router\'s link-local address'),
    }).optional().describe('IPv6 node network on the primary NIC: dual-stack (default: IPv4 only; the VIP stays IPv4)'),
    extraNics: extraNics.optional(),
  }).describe('the nodes\' network'),
  proxmox: z.strictObject({
    allowedNodes: z.array(z.string()).describe('Proxmox nodes VMs may run on'),
    template: template.describe('Talos template VM the machines are cloned from'),
    isoStorage: z.string().meta({ pattern: PROXMOX_STORAGE_ID.source, examples: ['local'] }).describe('storage with ISO content on every allowed node; CAPMOX uploads the machines\' NoCloud ISOs there'),
    credentialsSecret: dnsLabel.optional().describe('Secret (keys url, token, secret) in the cluster namespace; default: the provider\'s global credentials'),
    ...clone('every machine set\'s'),
  }),
  controlPlane: z.strictObject({
    replicas: count(1).meta({ default: CLUSTER.controlPlane.replicas }).optional().describe('control-plane machines (odd)'),
    ...machine,
    healthCheck: z.boolean().meta({ default: CLUSTER.controlPlane.healthCheck }).optional().describe('MachineHealthCheck for control planes (reports only: CACPPT does not remediate)'),
    allowedNodes: nodes('control-plane machines'),
    patches: patches('control-plane machines (rolls the control plane)'),
    ...clone('the control plane\'s (default: proxmox.<key>)'),
  }),
  workers: z.array(workerPoolSchema).optional().describe('worker pools'),
  cilium: z.strictObject({
    hubble: z.boolean().meta({ default: DEFAULT_HUBBLE }).optional().describe('deploy Hubble relay and UI'),
  }).optional().describe('the CNI'),
});

/** A cluster config file after parsing. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
/** A worker pool of a cluster config. */
export type WorkerPoolConfig = z.output<typeof workerPoolSchema>;

/**
 * The props of a cluster config: the file is shaped like the props, so this is the file itself;
 * the assignment fails to compile the day the two drift apart.
 */
export function clusterProps(config: ClusterConfig): TalosClusterProps {
  return config;
}
