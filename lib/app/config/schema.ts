import { z } from 'zod';
import { DNS1123_LABEL, MANAGEMENT_OUTPUT } from '../../core/naming';
import { QEMU_GUEST_AGENT_EXTENSION } from '../../talos/schematic';
import { STACK_VERSIONS } from '../../core/stack';

const dnsLabel = z.string()
  .max(63, 'must be at most 63 characters (DNS-1123 label)')
  .regex(DNS1123_LABEL, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');
const version = z.string().regex(/^v\d+\.\d+\.\d+$/, 'must be a release version like v1.2.3');
const ipv4 = z.ipv4({ error: 'must be an IPv4 address like 192.168.0.1' });
const cidr = z.cidrv4({ error: 'must be an IPv4 CIDR like 10.244.0.0/16' });
const int = (min: number, what: string) => z.int({ error: `must be a whole number ${what}` }).min(min, `must be at least ${min} (${what})`);

const template = z.strictObject({
  sourceNode: z.string().min(1).describe('Proxmox node that holds the Talos template VM'),
  templateId: int(100, 'Proxmox VM IDs start at 100').describe('VM ID of the Talos template VM'),
});

const machine = {
  cores: int(1, 'vCPU cores per socket').describe('vCPU cores per socket'),
  sockets: int(1, 'CPU sockets').optional().describe('CPU sockets (default 1)'),
  memoryMiB: int(2048, 'Talos needs at least 2 GiB').multipleOf(8, 'must be a multiple of 8 (CAPMOX)').describe('memory in MiB'),
  diskGiB: int(10, 'Talos needs at least 10 GiB of system disk').describe('boot disk size in GiB'),
};

/** Schema of a worker pool in a cluster config file. */
export const workerPoolSchema = z.strictObject({
  name: dnsLabel.describe('pool name, unique in the cluster; objects are named <cluster>-<pool>'),
  replicas: int(0, 'machine count').optional().describe('machine count (default 1); leave out when autoscaling is set'),
  autoscaling: z.strictObject({
    min: int(0, 'autoscaler minimum'),
    max: int(1, 'autoscaler maximum'),
  }).optional().describe('cluster-autoscaler bounds; replicas is then owned by the autoscaler'),
  ...machine,
  template: template.optional().describe('template VM of this pool (default: proxmox.template)'),
  healthCheck: z.boolean().default(true).describe('replace machines whose node never becomes Ready (MachineHealthCheck)'),
  kubernetesVersion: version.optional().describe('hold this pool at an older Kubernetes release while the control plane upgrades first (default: the cluster\'s kubernetesVersion)'),
  extensions: z.array(z.string()).optional().describe('official system extensions on top of talos.extensions; the pool then needs its own template VM (template)'),
  longhorn: z.boolean().optional().describe('prepare the nodes for Longhorn: iscsi-tools and util-linux-tools extensions (own template VM), /var/lib/longhorn bind-mounted into the kubelet'),
  labels: z.record(z.string(), z.string()).optional().describe('labels of the pool\'s nodes; node-role.kubernetes.io/<role> labels are set through Cluster API'),
  taints: z.array(z.strictObject({
    key: z.string().describe('taint key'),
    value: z.string().optional().describe('taint value'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).describe('what the taint keeps away'),
  })).optional().describe('taints the pool\'s nodes register with'),
});

/** Schema of a cluster config file (`clusters/*.yaml`): the contract with users. */
export const clusterConfigSchema = z.strictObject({
  name: dnsLabel
    .refine((n) => n !== MANAGEMENT_OUTPUT, `is reserved: dist/${MANAGEMENT_OUTPUT}/ holds the GitOps objects of the management cluster; choose another cluster name`)
    .describe('cluster name; every object name derives from it'),
  namespace: dnsLabel.default('default').describe('namespace on the management cluster'),
  kubernetesVersion: version.default(STACK_VERSIONS.kubernetes).describe('Kubernetes release of the workload cluster'),
  talos: z.strictObject({
    version: version.default(STACK_VERSIONS.talos).describe('Talos release of every node'),
    extensions: z.array(z.string()).default([QEMU_GUEST_AGENT_EXTENSION]).describe('official system extensions in the Image Factory schematic'),
    extraKernelArgs: z.array(z.string()).default([]).describe('extra kernel arguments in the schematic (disk images only)'),
  }).prefault({}),
  network: z.strictObject({
    endpoint: ipv4.describe('control-plane VIP, inside the node subnet and outside addresses'),
    endpointPort: int(1, 'TCP port').max(65535, 'must be at most 65535').default(6443).describe('API server port'),
    addresses: z.array(z.string()).min(1, 'must list at least one address range').describe('static node addresses: ranges a-b, CIDRs or single IPs'),
    prefix: int(1, 'prefix length').max(32, 'must be at most 32').describe('prefix length of the node subnet'),
    gateway: ipv4.describe('default gateway of the nodes'),
    dnsServers: z.array(ipv4).min(1, 'must list at least one DNS server').describe('DNS servers of the nodes'),
    bridge: z.string().min(1).default('vmbr0').describe('Proxmox bridge of the nodes\' NIC'),
    podCidr: cidr.default('10.244.0.0/16').describe('pod network'),
    serviceCidr: cidr.default('10.96.0.0/12').describe('service network'),
  }),
  proxmox: z.strictObject({
    allowedNodes: z.array(z.string().min(1)).min(1, 'must list at least one Proxmox node').describe('Proxmox nodes VMs may run on'),
    template: template.describe('Talos template VM the machines are cloned from'),
    credentialsSecret: dnsLabel.optional().describe('Secret (keys url, token, secret) in the cluster namespace; default: the provider\'s global credentials'),
  }),
  controlPlane: z.strictObject({
    replicas: int(1, 'control-plane machines').default(3).describe('control-plane machines (odd)'),
    ...machine,
    healthCheck: z.boolean().default(false).describe('MachineHealthCheck for control planes (reports only: CACPPT does not remediate)'),
  }),
  workers: z.array(workerPoolSchema).default([]).describe('worker pools'),
  cilium: z.strictObject({
    hubble: z.boolean().default(true).describe('deploy Hubble relay and UI'),
  }).prefault({}),
});

/** A cluster config file after defaults are applied. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
/** A worker pool of a cluster config after defaults are applied. */
export type WorkerPoolConfig = z.output<typeof workerPoolSchema>;
