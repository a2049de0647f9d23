import { Construct } from 'constructs';
import { Cluster, MachineHealthCheck } from '../../imports/cluster.x-k8s.io';
import { TalosControlPlane, TalosControlPlaneSpecRolloutStrategyRollingUpdateMaxSurge as MaxSurge } from '../../imports/controlplane.cluster.x-k8s.io';
import { ProxmoxCluster } from '../../imports/infrastructure.cluster.x-k8s.io';
import { Diagnostic, error, joinPath, quote, throwErrors, underPath } from '../core/errors';
import { CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, PATCHES_ANNOTATION } from '../core/naming';
import { IpRange, parseIpRange } from '../core/network';
import { API, apiVersionOf, STACK_VERSIONS } from '../core/stack';
import { controlPlaneStrategicPatches } from '../talos/machine-config';
import { ownedFieldProblems, PatchDocument, patchDocuments, patchesAnnotation, serializePatch, TalosPatch } from '../talos/patches';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';
import { CiliumCRS, CiliumOptions } from './addons/cilium';
import { TalosCcmCRS } from './addons/talos-ccm';
import { ITalosCluster } from './cluster-ref';
import {
  createIpPools, ExtraNicOptions, Ipv6NetworkOptions, MachineNetwork, nodeAddressSubnets, resolveNics,
} from './networks';
import { MachineSize, ProxmoxCloneOptions, ProxmoxMachineTemplate, TemplateStorage, TemplateVm, VmIdRange } from './proxmox-machine-template';
import {
  bridgeNameProblems, capacityProblems, cloneOptionProblems, cloneSetProblems, CloneUser, cloneValues, resolveClone,
  controlPlaneReplicaProblems, dnsLabelProblems, dnsServerProblems, INT32_MAX, MachineDemand,
  machineSizeProblems, nameLengthProblems, NETWORK_FIELDS, networkProblems, nonEmptyListProblems, podCidrCapacityProblems,
  machineNodesProblems, proxmoxNodeProblems, schematicProblems, storageIdProblems, storageKindProblems, templateImageProblems,
  templatePlacementProblems,
  templateVmProblems, TemplateVmUser, templateVmRefProblems, uniquePoolProblems,
  versionProblems, wholeNumberProblems, vlanMtuProblems, addressPoolProblems, extraNicsProblems, CheckedNetwork, primaryNetwork,
  dualStackCidrProblems, networkSetProblems, ipCapacityProblems, addressesNeeded, distinctAddressCount,
} from './rules';
import {
  poolMaxReplicas, poolSchematic, ProxmoxWorkerPool, spreadNodeOptions, workerHealthCheck, WorkerPoolOptions, workerPoolProblems,
} from './worker-pool';

/** Talos Linux of every node: release and Image Factory schematic. */
export interface TalosOptions {
  /**
   * Talos release of every node.
   * @default STACK_VERSIONS.talos
   */
  readonly version?: string;
  /**
   * Official system extensions in the Image Factory schematic (order is part of the schematic).
   * @default ['siderolabs/qemu-guest-agent']
   */
  readonly extensions?: readonly string[];
  /**
   * Extra kernel arguments in the schematic (disk images only).
   * @default - none
   */
  readonly extraKernelArgs?: readonly string[];
  /**
   * Your own Talos settings for every node: strategic patches (partial machine configs) and
   * additional config documents, as objects or YAML text. Validated against the machine-config
   * schema of `version`; fields the project owns are refused with the field to use instead. A
   * change rolls every machine of the cluster.
   * @default - none
   */
  readonly patches?: readonly TalosPatch[];
}

/** The nodes' network. */
export interface ClusterNetworkOptions {
  /** Control-plane VIP: inside the node subnet, outside the node address ranges (STACK.md §1.3). */
  readonly endpoint: string;
  /**
   * API server port behind the VIP.
   * @default 6443
   */
  readonly endpointPort?: number;
  /** Static node addresses handed out by CAPMOX through in-cluster IPAM: ranges `a-b`, CIDRs or single IPs. */
  readonly addresses: readonly string[];
  /** Prefix length of the node subnet. */
  readonly prefix: number;
  /** Default gateway of the nodes. */
  readonly gateway: string;
  /** DNS servers of the nodes (at least one). */
  readonly dnsServers: readonly string[];
  /**
   * Proxmox bridge of the nodes' NIC.
   * @default 'vmbr0'
   */
  readonly bridge?: string;
  /**
   * Pod networks.
   * @default ['10.244.0.0/16']
   */
  readonly podCidrs?: readonly string[];
  /**
   * Service networks.
   * @default ['10.96.0.0/12']
   */
  readonly serviceCidrs?: readonly string[];
  /**
   * VLAN tag of the nodes' primary NIC (`net0`, 1–4094); the bridge must be VLAN-aware on every
   * allowed node (the runbook checks). Pools may override it (`workers[].network.vlan`).
   * @default - untagged
   */
  readonly vlan?: number;
  /**
   * MTU of the primary NIC (576–65520; at least 1280 with IPv6), written to the Proxmox NIC and to
   * the Talos link (CAPMOX `mtu` and `linkMtu`); it must match the bridge's (the runbook checks).
   * Pools may override it (`workers[].network.mtu`).
   * @default - the bridge's; nothing is written
   */
  readonly mtu?: number;
  /**
   * The IPv6 node network on the primary NIC (ProxmoxCluster `ipv6Config`): dual-stack nodes, pod
   * and service networks (an IPv6 entry in `podCidrs` and `serviceCidrs`) and Cilium with IPv6. The
   * VIP, the kubelet node IP's primary family and etcd stay IPv4.
   * @default - IPv4 only
   */
  readonly ipv6?: Ipv6NetworkOptions;
  /**
   * More NICs of every machine (`net1`, `net2`, …), each on its bridge, with its VLAN, MTU and an
   * in-cluster IPAM pool `<cluster>-<name>` that this project emits. The default route, the kubelet
   * node IP and etcd stay on the primary network. Pools may replace the list (`workers[].network.extraNics`).
   * @default - none
   */
  readonly extraNics?: readonly ExtraNicOptions[];
}

/**
 * Where and from what the VMs are made on Proxmox, and with whose token; the clone options
 * (`pool`, `tags`, `full`, `cloneStorage`, `cloneFormat`, `vmIdRange`, `description`) apply to every
 * machine set that does not set its own.
 */
export interface ProxmoxOptions extends ProxmoxCloneOptions {
  /** Proxmox nodes VMs may be placed on. */
  readonly allowedNodes: readonly string[];
  /** The template VM machines are cloned from (pools may name their own). */
  readonly template: TemplateVm;
  /**
   * Storage with `iso` content on every allowed node, where CAPMOX uploads each machine's NoCloud
   * ISO (STACK.md §9.2: the first such storage the token can see on the target node); the runbook
   * grants the token this one only.
   */
  readonly isoStorage: string;
  /**
   * Secret (keys `url`, `token`, `secret`) in the cluster's namespace that CAPMOX reads the Proxmox
   * API token from; only its name is synthesized (`npm run credentials` writes it outside dist/).
   * @default - the provider's global credentials
   */
  readonly credentialsSecret?: string;
}

/** The control plane: machine size and count; its own clone options replace the cluster's (`proxmox`). */
export interface ControlPlaneOptions extends MachineSize, ProxmoxCloneOptions {
  /**
   * Number of control-plane machines; odd, for etcd quorum. One works but cannot finish a rolling
   * update (STACK.md §3.4).
   * @default 3
   */
  readonly replicas?: number;
  /**
   * Add a MachineHealthCheck for control-plane machines. CACPPT has no remediation path, so it
   * only marks machines unhealthy (STACK.md §5.2).
   * @default false
   */
  readonly healthCheck?: boolean;
  /**
   * Proxmox nodes CAPMOX may clone control-plane machines on: some of `proxmox.allowedNodes`, say
   * the template's node when its storage is node-local.
   * @default - `proxmox.allowedNodes`
   */
  readonly allowedNodes?: readonly string[];
  /**
   * Talos patches of the control-plane machines only, after `talos.patches`; a change rolls every
   * control-plane machine.
   * @default - none
   */
  readonly patches?: readonly TalosPatch[];
}

/**
 * Props of a {@link TalosCluster}. A cluster config file (`clusters/<name>.yaml`) has exactly
 * these fields, spelled alike, so a field path names the same thing in YAML and TypeScript.
 */
export interface TalosClusterProps {
  /** Name of the CAPI Cluster (DNS-1123 label); every object name derives from it, never from construct paths. */
  readonly name: string;
  /**
   * Namespace of the cluster's objects on the management cluster.
   * @default 'default'
   */
  readonly namespace?: string;
  /**
   * Kubernetes release of the workload cluster.
   * @default STACK_VERSIONS.kubernetes
   */
  readonly kubernetesVersion?: string;
  /**
   * Talos release and schematic.
   * @default - STACK_VERSIONS.talos with the QEMU guest agent extension
   */
  readonly talos?: TalosOptions;
  /** The nodes' network. */
  readonly network: ClusterNetworkOptions;
  /** Proxmox placement, template VM and credentials. */
  readonly proxmox: ProxmoxOptions;
  /** Control-plane machines. */
  readonly controlPlane: ControlPlaneOptions;
  /**
   * Worker pools (more can be added with {@link TalosCluster.addWorkerPool}).
   * @default - none
   */
  readonly workers?: readonly WorkerPoolOptions[];
  /**
   * Cilium, the CNI every node waits for (the machine configs set `cni: none`).
   * @default - Hubble on, the Talos values only
   */
  readonly cilium?: CiliumOptions;
}

/**
 * Defaults of a cluster: the one place they are written. The constructs apply them; the config
 * files' JSON Schema shows them to editors.
 */
export const TALOS_CLUSTER_DEFAULTS = {
  namespace: 'default',
  kubernetesVersion: STACK_VERSIONS.kubernetes,
  talos: { version: STACK_VERSIONS.talos, extensions: [QEMU_GUEST_AGENT_EXTENSION], extraKernelArgs: [] as string[] },
  network: {
    endpointPort: 6443, bridge: 'vmbr0', podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'],
    // Appended to the defaults above when network.ipv6 is set (dual-stack), unless the lists are given.
    ipv6PodCidr: 'fd00:10:244::/56', ipv6ServiceCidr: 'fd00:10:96::/112',
  },
  controlPlane: { replicas: 3, healthCheck: false },
} as const;

/** The node addresses of a cluster at its largest size ({@link TalosCluster.addressDemand}). */
export interface AddressDemand {
  /** Machines at most: the control plane, and every pool at its replicas or autoscaler maximum. */
  readonly machines: number;
  /** Surge machines of a rolling update of everything at once: one per control plane and per deployment. */
  readonly surge: number;
  /** Addresses needed on each primary network: `machines + surge`. */
  readonly needed: number;
  /** Distinct addresses of `network.addresses` and, when dual-stack, of `network.ipv6.addresses`. */
  readonly held: { readonly ipv4: bigint; readonly ipv6?: bigint };
}

/** Construct id of a pool added from `props.workers` (ids never reach object names). */
function poolId(name: string): string {
  return `Pool-${name}`;
}

/**
 * A Talos Linux cluster on Proxmox VE managed by Cluster API: Cluster (its `Resource` child,
 * `node.defaultChild`), ProxmoxCluster, the control-plane ProxmoxMachineTemplate and
 * TalosControlPlane, the worker pools, Cilium, and the Talos cloud controller manager every node
 * needs for its providerID.
 *
 * Every rule of the props is checked in the constructor (and in {@link addWorkerPool}); all
 * problems found are thrown together as one {@link ValidationError} whose diagnostics name the
 * prop paths. Warnings (say, a single control plane) are recorded as construct metadata of type
 * {@link WARNING_METADATA}, which synth prints.
 *
 * @example
 * const cluster = new TalosCluster(chart, 'Cluster', {
 *   name: 'homelab',
 *   network: { endpoint: '192.168.0.30', addresses: ['192.168.0.20-192.168.0.29'], prefix: 24, gateway: '192.168.0.254', dnsServers: ['192.168.0.254'] },
 *   proxmox: { allowedNodes: ['pve1'], template: { sourceNode: 'pve1', templateId: 8700 } },
 *   controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20 },
 *   workers: [{ name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 }],
 * });
 */
export class TalosCluster extends Construct implements ITalosCluster {
  public readonly clusterName: string;
  public readonly namespace: string;
  public readonly kubernetesVersion: string;
  public readonly talosVersion: string;
  public readonly schematic: Schematic;
  public readonly bridge: string;
  public readonly template: TemplateVm;
  public readonly clone: ProxmoxCloneOptions;
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** Name of the TalosControlPlane. */
  public readonly controlPlaneName: string;
  /** Number of control-plane machines. */
  public readonly controlPlaneReplicas: number;
  /** The control-plane machine template. */
  public readonly controlPlaneTemplate: ProxmoxMachineTemplate;
  /** The Talos CCM add-on. */
  public readonly cloudControllerManager: TalosCcmCRS;
  /** The Cilium add-on. */
  public readonly cilium: CiliumCRS;
  /** Pod networks. */
  public readonly podCidrs: readonly string[];
  /** Service networks. */
  public readonly serviceCidrs: readonly string[];
  /** Static node address ranges. */
  public readonly addresses: readonly string[];
  /** Control-plane VIP. */
  public readonly endpoint: string;
  /** API server port behind the VIP. */
  public readonly endpointPort: number;
  /** Proxmox nodes VMs may be placed on. */
  public readonly allowedNodes: readonly string[];
  /** The control plane's NICs; a pool may replace its VLAN, MTU and extra NICs. */
  public readonly network: MachineNetwork;
  /** The subnets the kubelet node IP and etcd are taken from: the IPv4 node subnet, then the IPv6 one. */
  public readonly nodeSubnets: readonly string[];
  /** The IPv6 node network, when the cluster is dual-stack. */
  public readonly ipv6: Ipv6NetworkOptions | undefined;
  /** Storage CAPMOX uploads the machines' NoCloud ISOs to, on every allowed node. */
  public readonly isoStorage: string;
  /** Name of the Secret CAPMOX reads the Proxmox API token from, or undefined for the provider's global credentials. */
  public readonly credentialsSecret: string | undefined;
  /** The users' Talos patches of every node (`talos.patches`), parsed. */
  public readonly clusterPatches: readonly PatchDocument[];
  /** The users' Talos patches of the control plane (`controlPlane.patches`), parsed. */
  public readonly controlPlanePatches: readonly PatchDocument[];
  /** The control plane's own allowed nodes, if it names them. */
  private readonly controlPlaneNodes: readonly string[] | undefined;
  /** The control plane's props (its clone options, for the rules that compare machine sets). */
  private readonly controlPlaneOptions: ControlPlaneOptions;
  private readonly pools: ProxmoxWorkerPool[] = [];
  private readonly nodeGateway: string;
  private readonly nodePrefix: number;
  private readonly poolOptions: WorkerPoolOptions[] = [];

  constructor(scope: Construct, id: string, props: TalosClusterProps) {
    super(scope, id);
    const d = TALOS_CLUSTER_DEFAULTS;
    const network = props.network;
    this.clusterName = props.name;
    this.namespace = props.namespace ?? d.namespace;
    this.kubernetesVersion = props.kubernetesVersion ?? d.kubernetesVersion;
    this.talosVersion = props.talos?.version ?? d.talos.version;
    const extensions = props.talos?.extensions ?? d.talos.extensions;
    const kernelArgs = props.talos?.extraKernelArgs ?? d.talos.extraKernelArgs;
    this.schematic = new Schematic({ officialExtensions: extensions, extraKernelArgs: kernelArgs });
    this.bridge = network.bridge ?? d.network.bridge;
    this.template = { ...props.proxmox.template };
    this.clone = cloneValues(resolveClone([{ options: props.proxmox, prefix: 'proxmox' }]));
    this.controlPlaneOptions = props.controlPlane;
    this.selectorLabels = { [CLUSTER_NAME_LABEL]: this.clusterName };
    this.controlPlaneName = `${this.clusterName}-control-plane`;
    this.nodeGateway = network.gateway;
    this.nodePrefix = network.prefix;
    this.ipv6 = network.ipv6;
    const dual = this.ipv6 !== undefined;
    this.podCidrs = [...(network.podCidrs ?? [...d.network.podCidrs, ...(dual ? [d.network.ipv6PodCidr] : [])])];
    this.serviceCidrs = [...(network.serviceCidrs ?? [...d.network.serviceCidrs, ...(dual ? [d.network.ipv6ServiceCidr] : [])])];
    this.network = {
      bridge: this.bridge, vlan: network.vlan, mtu: network.mtu, ipv6: dual,
      extraNics: resolveNics(network.extraNics ?? [], this.clusterName, 'network.extraNics'),
    };
    const v4Subnet = primaryNetwork(network.addresses, network.gateway, network.prefix).subnet;
    const v6Subnet = this.ipv6 ? addressPoolProblems({ family: 6, ...this.ipv6 }, IPV6_FIELDS).subnet : undefined;
    this.nodeSubnets = [v4Subnet, v6Subnet].flatMap((x) => (x ? [x.spec] : []));
    this.addresses = [...network.addresses];
    this.endpoint = network.endpoint;
    this.endpointPort = network.endpointPort ?? d.network.endpointPort;
    this.allowedNodes = [...props.proxmox.allowedNodes];
    this.isoStorage = props.proxmox.isoStorage;
    this.controlPlaneNodes = props.controlPlane.allowedNodes;
    this.credentialsSecret = props.proxmox.credentialsSecret;
    this.controlPlaneReplicas = props.controlPlane.replicas ?? d.controlPlane.replicas;
    const workers = props.workers ?? [];
    const clusterPatches = patchDocuments(props.talos?.patches ?? [], 'talos.patches');
    const controlPlanePatches = patchDocuments(props.controlPlane.patches ?? [], 'controlPlane.patches');
    this.clusterPatches = clusterPatches.documents;
    this.controlPlanePatches = controlPlanePatches.documents;

    const warnings = throwErrors([
      ...dnsLabelProblems(this.clusterName, 'name'),
      ...dnsLabelProblems(this.namespace, 'namespace'),
      ...versionProblems(this.talosVersion, this.kubernetesVersion, { talos: 'talos.version', kubernetes: 'kubernetesVersion' }),
      ...schematicProblems(extensions, kernelArgs, { extensions: 'talos.extensions', kernelArgs: 'talos.extraKernelArgs' }, this.talosVersion),
      ...networkProblems({
        endpoint: this.endpoint, addresses: this.addresses, prefix: network.prefix, gateway: network.gateway,
        podCidrs: this.podCidrs, serviceCidrs: this.serviceCidrs,
      }, NETWORK_FIELDS),
      ...nonEmptyListProblems(this.addresses, 'network.addresses', 'address range'),
      ...wholeNumberProblems(this.endpointPort, 'network.endpointPort', 'TCP port', 1, 65535),
      ...wholeNumberProblems(network.prefix, 'network.prefix', 'prefix length', 1, 32),
      ...nonEmptyListProblems(network.dnsServers, 'network.dnsServers', 'DNS server'),
      ...dnsServerProblems(network.dnsServers, 'network.dnsServers'),
      ...bridgeNameProblems(this.bridge, 'network.bridge'),
      ...vlanMtuProblems(network, 'network', dual),
      ...(this.ipv6 ? addressPoolProblems({ family: 6, ...this.ipv6 }, IPV6_FIELDS).problems : []),
      ...extraNicsProblems(network.extraNics ?? [], 'network.extraNics').problems,
      ...(this.allowedNodes.length === 0
        ? nonEmptyListProblems(this.allowedNodes, 'proxmox.allowedNodes', 'Proxmox node')
        : this.allowedNodes.flatMap((n, i) => proxmoxNodeProblems(n, `proxmox.allowedNodes[${i}]`, 'a node VMs may be placed on'))),
      ...templateVmRefProblems(this.template, 'proxmox.template'),
      ...storageIdProblems(this.isoStorage, 'proxmox.isoStorage', 'the one with ISO content on every allowed node'),
      ...(props.controlPlane.allowedNodes === undefined ? []
        : machineNodesProblems(props.controlPlane.allowedNodes, this.allowedNodes, 'controlPlane.allowedNodes')),
      ...(this.credentialsSecret === undefined ? [] : dnsLabelProblems(this.credentialsSecret, 'proxmox.credentialsSecret')),
      ...cloneOptionProblems(props.proxmox, 'proxmox'),
      ...cloneOptionProblems(props.controlPlane, 'controlPlane'),
      ...wholeNumberProblems(this.controlPlaneReplicas, 'controlPlane.replicas', 'control-plane machines', 1, INT32_MAX),
      ...controlPlaneReplicaProblems(this.controlPlaneReplicas, 'controlPlane.replicas'),
      ...machineSizeProblems(props.controlPlane, 'controlPlane'),
      ...nameLengthProblems(this.clusterName, [], 'name'),
      ...clusterPatches.problems,
      ...controlPlanePatches.problems,
      ...[...this.clusterPatches, ...this.controlPlanePatches].flatMap(ownedFieldProblems),
      ...workers.flatMap((w, i) => underPath(`workers[${i}]`, workerPoolProblems(this, w))),
      ...this.poolSetProblems(workers),
    ]);
    for (const w of warnings) this.node.addMetadata(WARNING_METADATA, w);

    const port = this.endpointPort;
    const labels = { ...this.selectorLabels };

    new Cluster(this, 'Resource', {
      metadata: { name: this.clusterName, namespace: this.namespace, labels },
      spec: {
        clusterNetwork: {
          pods: { cidrBlocks: [...this.podCidrs] },
          services: { cidrBlocks: [...this.serviceCidrs] },
          serviceDomain: 'cluster.local',
        },
        controlPlaneEndpoint: { host: this.endpoint, port },
        infrastructureRef: { apiGroup: API.ProxmoxCluster.group, kind: 'ProxmoxCluster', name: this.clusterName },
        controlPlaneRef: { apiGroup: API.TalosControlPlane.group, kind: 'TalosControlPlane', name: this.controlPlaneName },
      },
    });

    new ProxmoxCluster(this, 'ProxmoxCluster', {
      metadata: { name: this.clusterName, namespace: this.namespace, labels },
      spec: {
        controlPlaneEndpoint: { host: this.endpoint, port },
        ipv4Config: { addresses: [...this.addresses], prefix: network.prefix, gateway: network.gateway, metric: 100 },
        // Dual-stack: CAPMOX claims each machine's IPv6 address on net0 (defaultIPv6) from this pool.
        ...(this.ipv6 ? {
          ipv6Config: { addresses: [...this.ipv6.addresses], prefix: this.ipv6.prefix, gateway: this.ipv6.gateway, metric: 100 },
        } : {}),
        dnsServers: [...network.dnsServers],
        allowedNodes: [...this.allowedNodes],
        externalManagedControlPlane: false,
        ...(this.credentialsSecret !== undefined ? { credentialsRef: { name: this.credentialsSecret, namespace: this.namespace } } : {}),
      },
    });

    const cp = props.controlPlane;
    this.controlPlaneTemplate = new ProxmoxMachineTemplate(this, 'ControlPlaneTemplate', {
      cores: cp.cores,
      sockets: cp.sockets,
      memoryMiB: cp.memoryMiB,
      diskGiB: cp.diskGiB,
      cluster: this,
      namePrefix: this.controlPlaneName,
      allowedNodes: cp.allowedNodes,
      clone: cloneValues(this.controlPlaneClone()),
    });

    const cpPatches = [...this.clusterPatches, ...this.controlPlanePatches];
    const cpAnnotation = patchesAnnotation(cpPatches);
    new TalosControlPlane(this, 'ControlPlane', {
      metadata: {
        name: this.controlPlaneName, namespace: this.namespace, labels,
        ...(cpAnnotation ? { annotations: { [PATCHES_ANNOTATION]: cpAnnotation } } : {}),
      },
      spec: {
        version: this.kubernetesVersion,
        replicas: this.controlPlaneReplicas,
        infrastructureTemplate: {
          apiVersion: apiVersionOf(API.ProxmoxMachineTemplate),
          kind: 'ProxmoxMachineTemplate',
          name: this.controlPlaneTemplate.name,
          namespace: this.namespace,
        },
        controlPlaneConfig: {
          controlplane: {
            generateType: 'controlplane',
            talosVersion: this.talosVersion,
            strategicPatches: controlPlaneStrategicPatches({
              talosVersion: this.talosVersion,
              installImage: this.schematic.installerImage(this.talosVersion),
              vip: this.endpoint,
              apiServerPort: this.endpointPort,
              ...nodeAddressSubnets(this, this.network),
            }).concat(cpPatches.map(serializePatch)),
          },
        },
        rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: MaxSurge.fromNumber(1) } },
      },
    });

    if (cp.healthCheck ?? d.controlPlane.healthCheck) {
      new MachineHealthCheck(this, 'ControlPlaneHealthCheck', {
        metadata: { name: this.controlPlaneName, namespace: this.namespace, labels },
        spec: {
          // Never short-circuit: CACPPT does not remediate, the check only reports.
          ...workerHealthCheck(this.clusterName, { [CONTROL_PLANE_LABEL]: '' }, '100%'),
        },
      });
    }

    createIpPools(this, 'IpPools', this, this.network.extraNics);
    this.cloudControllerManager = new TalosCcmCRS(this, 'CloudControllerManager', { cluster: this });
    for (const w of workers) this.createPool(poolId(w.name), w);
    this.cilium = new CiliumCRS(this, 'Cilium', { ...props.cilium, cluster: this, ipv6: dual });
  }

  /**
   * Adds a pool of worker machines (MachineDeployment + templates + health check), checked like
   * the pools of `props.workers`; its diagnostics are numbered after them (`workers[<n>]`).
   *
   * @throws ValidationError when the pool breaks a rule, alone or together with the other pools
   */
  public addWorkerPool(id: string, options: WorkerPoolOptions): ProxmoxWorkerPool {
    const all = [...this.poolOptions, options];
    throwErrors([
      ...underPath(`workers[${this.poolOptions.length}]`, workerPoolProblems(this, options)),
      ...this.poolSetProblems(all),
    ]);
    return this.createPool(id, options);
  }

  /**
   * Every static address range of the cluster's machines, on every network, with its field: the
   * node ranges (`network.addresses[i]`, `network.ipv6.addresses[i]`) and the extra NICs' pools
   * (`network.extraNics[k].addresses[i]`, `workers[p].network.extraNics[k].addresses[i]`). The
   * fleet-wide checks compare them between clusters.
   */
  public get addressRanges(): readonly { readonly field: string; readonly range: IpRange; readonly primary: boolean }[] {
    const of = (addresses: readonly string[], field: string, primary: boolean) => addresses.flatMap((spec, i) => {
      const range = parseIpRange(spec);
      return range ? [{ field: `${field}[${i}]`, range, primary }] : [];
    });
    return [
      ...of(this.addresses, 'network.addresses', true),
      ...of(this.ipv6?.addresses ?? [], 'network.ipv6.addresses', true),
      ...this.network.extraNics.flatMap((n) => of(n.options.addresses, `${n.field}.addresses`, false)),
      ...this.poolOptions.flatMap((w, p) => (w.network?.extraNics ?? []).flatMap((n, k) => of(n.addresses, `workers[${p}].network.extraNics[${k}].addresses`, false))),
    ];
  }

  /**
   * The VM ID ranges the machine sets clone into, each once with the field that sets it
   * (`proxmox.vmIdRange`, `controlPlane.vmIdRange`, `workers[<n>].vmIdRange`), control plane first.
   */
  public get vmIdRanges(): readonly { readonly field: string; readonly range: VmIdRange }[] {
    const used = this.machineSetClones().flatMap((c) => (c.vmIdRange !== undefined ? [{ field: c.vmIdRange.field, range: c.vmIdRange.value }] : []));
    return used.filter((u, i) => used.findIndex((o) => o.field === u.field) === i);
  }

  /** The clone storages the machine sets write full clones to, each once with the field that names it (`proxmox.cloneStorage`, …). */
  public get cloneStorages(): readonly { readonly field: string; readonly storage: TemplateStorage }[] {
    const used = this.machineSetClones().flatMap((c) => (c.cloneStorage !== undefined && c.full?.value !== false
      ? [{ field: c.cloneStorage.field, storage: c.cloneStorage.value }] : []));
    return used.filter((u, i) => used.findIndex((o) => o.field === u.field) === i);
  }

  /** The clone options of the control plane and of each pool, with their fields. */
  private machineSetClones() {
    return [this.controlPlaneClone(), ...this.poolOptions.map((w, i) => resolveClone([{ options: w, prefix: `workers[${i}]` }, { options: this.clone, prefix: 'proxmox' }]))];
  }

  /**
   * Names of the shared add-on renders the cluster uses (resource sets in its namespace, in
   * dist/_addons/): the Talos CCM's, then Cilium's, each followed by its one-shot Jobs' if any.
   */
  public get addonRenders(): readonly string[] {
    return [this.cloudControllerManager, this.cilium].flatMap((a) => [a.name, ...(a.jobs ? [a.jobs.name] : [])]);
  }

  /** Adds a label to the Cluster object (add-on renders select their clusters by label). */
  public addClusterLabel(key: string, value: string): void {
    (this.node.findChild('Resource') as Cluster).metadata.addLabel(key, value);
  }

  /** The worker pools, in the order they were added. */
  public get workerPools(): readonly ProxmoxWorkerPool[] {
    return [...this.pools];
  }

  /**
   * Every Talos patch document of the users, with its prop path (`talos.patches[0]`,
   * `controlPlane.patches[1]`, `workers[2].patches[0]`): what synth validates against the Talos
   * machine-config schema of {@link talosVersion}.
   */
  public get userPatches(): readonly PatchDocument[] {
    return [
      ...this.clusterPatches, ...this.controlPlanePatches,
      ...this.pools.flatMap((p, i) => p.patches.map((d) => ({ ...d, path: joinPath(`workers[${i}]`, d.path) }))),
    ];
  }

  private createPool(id: string, options: WorkerPoolOptions): ProxmoxWorkerPool {
    const pool = new ProxmoxWorkerPool(this, id, { ...options, cluster: this });
    this.pools.push(pool);
    this.poolOptions.push(options);
    return pool;
  }

  /** The control plane's clone options: its own, else the cluster's. */
  private controlPlaneClone() {
    return resolveClone([{ options: this.controlPlaneOptions, prefix: 'controlPlane' }, { options: this.clone, prefix: 'proxmox' }]);
  }

  /**
   * The machine sets' demands on every network of all machines: the control plane, then each pool
   * at its maximum (autoscaler maximum) with one rolling-update surge per deployment (a spread pool
   * rolls each node's deployment at once). What the capacity rules and {@link addressDemand} count.
   */
  private machineDemands(pools: readonly WorkerPoolOptions[]): MachineDemand[] {
    const deployments = (w: WorkerPoolOptions) => Math.max(1, w.spread?.nodes?.length ?? 1);
    return [
      { what: 'control-plane', machines: this.controlPlaneReplicas, surge: 1 },
      ...pools.map((w) => ({ what: `${w.name}${w.autoscaling ? ' (autoscaler max)' : ''}`, machines: poolMaxReplicas(w), surge: deployments(w) })),
    ];
  }

  /**
   * The node addresses the cluster needs at its largest size against those its ranges hold, on the
   * primary network (and its IPv6 network when dual-stack): counted exactly as the capacity rule
   * counts them ({@link addressesNeeded}, {@link distinctAddressCount}), so the fleet page shows
   * the numbers synth checked.
   */
  public get addressDemand(): AddressDemand {
    const { machines, surge, total } = addressesNeeded(this.machineDemands(this.poolOptions));
    const held = (specs: readonly string[], family: number) => distinctAddressCount(
      specs.map((a) => parseIpRange(a)).filter((r): r is IpRange => r?.family === family));
    return {
      machines, surge, needed: total,
      held: { ipv4: held(this.addresses, 4), ...(this.ipv6 ? { ipv6: held(this.ipv6.addresses, 6) } : {}) },
    };
  }

  /**
   * The rules that compare the pools with each other and with the control plane: unique names,
   * address and pod-network capacity for every machine plus the rollout surge (one per deployment:
   * a spread pool rolls each node's deployment at once), one image per template VM, node-local
   * templates and clone storages serving their own node only, and VM ID ranges.
   */
  private poolSetProblems(pools: readonly WorkerPoolOptions[]): Diagnostic[] {
    const at = (i: number) => `workers[${i}]`;
    const demands = this.machineDemands(pools);
    const controlPlane: TemplateVmUser & CloneUser = {
      what: 'control plane', field: 'proxmox.template', declared: true, vm: this.template, talosVersion: this.talosVersion,
      schematic: this.schematic, ...machineNodes(this.allowedNodes, this.controlPlaneNodes, 'controlPlane.allowedNodes'),
      group: 'control plane', clone: this.controlPlaneClone(), machines: this.controlPlaneReplicas, surge: 1,
    };
    const sets: (TemplateVmUser & CloneUser)[] = [controlPlane, ...pools.flatMap((w, i) => {
      const clone = resolveClone([{ options: w, prefix: at(i) }, { options: this.clone, prefix: 'proxmox' }]);
      const base = { talosVersion: this.talosVersion, schematic: poolSchematic(this, w), clone, group: `pool ${w.name}` };
      const own = { field: `${at(i)}.template`, declared: w.template !== undefined, vm: w.template ?? this.template };
      const nodes = w.spread?.nodes;
      if (nodes === undefined) {
        return [{ ...base, ...own, what: `pool ${w.name}`, ...machineNodes(this.allowedNodes, w.allowedNodes, `${at(i)}.allowedNodes`), machines: poolMaxReplicas(w), surge: 1 }];
      }
      // One machine set per node, cloned from the node's own template when it has one.
      const templates = w.spread?.templates ?? [];
      return nodes.map((node, n) => {
        const j = templates.findIndex((t) => t.sourceNode === node);
        const vm = j >= 0 ? { field: `${at(i)}.spread.templates[${j}]`, declared: true, vm: templates[j] } : own;
        return {
          ...base, ...vm, what: `pool ${w.name} on ${node}`, nodes: this.allowedNodes.includes(node) ? [node] : [], nodesField: `${at(i)}.spread.nodes[${n}]`,
          spreadTemplatesField: `${at(i)}.spread.templates`,
          machines: poolMaxReplicas(spreadNodeOptions(w, n, nodes.length)), surge: 1,
        };
      });
    })];
    // Template VM IDs for the VM ID range rule, each once, with the first field that names it.
    const templateIds = sets.filter((u, k) => sets.findIndex((o) => o.vm.templateId === u.vm.templateId) === k)
      .map((u) => ({ id: u.vm.templateId, field: u.declared ? u.field : 'proxmox.template' }));
    return [
      ...uniquePoolProblems(pools.map((w, i) => ({ name: w.name, path: `${at(i)}.name` }))),
      ...capacityProblems(this.addresses, demands, 'network.addresses'),
      ...podCidrCapacityProblems(this.podCidrs, demands, 'network.podCidrs'),
      ...this.networkProblemsOf(pools, demands),
      ...templateRules(sets),
      ...storageKindProblems([
        ...sets.filter((u) => u.declared).map((u) => ({ ...u.vm.storage, field: `${u.field}.storage` })),
        ...sets.flatMap((u) => (u.clone.cloneStorage ? [{ ...u.clone.cloneStorage.value, field: u.clone.cloneStorage.field }] : [])),
      ].filter((d, i, all) => all.findIndex((o) => o.field === d.field) === i)),
      ...cloneSetProblems(sets.filter((u) => templateVmRefProblems(u.vm, '').length === 0), templateIds),
    ];
  }

  /**
   * The rules over all networks of the cluster's machines: the IPv6 pod and service networks, the
   * addresses of every network apart, the NICs of each machine on subnets of their own, and each
   * network's pool holding the machines on it.
   */
  private networkProblemsOf(pools: readonly WorkerPoolOptions[], demands: readonly MachineDemand[]): Diagnostic[] {
    const [cpDemand, ...poolDemands] = demands;
    const v4 = primaryNetwork(this.addresses, this.nodeGateway, this.nodePrefix);
    const v6 = this.ipv6 ? { field: IPV6_FIELDS.addresses, ...addressPoolProblems({ family: 6, ...this.ipv6 }, IPV6_FIELDS) } : undefined;
    const primary: CheckedNetwork[] = [v4, ...(v6 ? [v6] : [])];
    const clusterNics = extraNicsProblems(this.network.extraNics.map((n) => n.options), 'network.extraNics').networks;
    const own = pools.map((w, i) => (w.network?.extraNics === undefined ? undefined
      : extraNicsProblems(w.network.extraNics, `workers[${i}].network.extraNics`).networks));
    const clusterNicUsers = [cpDemand, ...poolDemands.filter((_, i) => own[i] === undefined)];
    const ipPools = [
      ...this.network.extraNics.map((n) => ({ name: n.ipPoolName, field: `${n.field}.name` })),
      ...pools.flatMap((w, i) => resolveNics(w.network?.extraNics ?? [], `${this.clusterName}-${w.name}`, `workers[${i}].network.extraNics`)
        .map((n) => ({ name: n.ipPoolName, field: `${n.field}.name` }))),
    ];
    return [
      // Object names join cluster, pool and NIC names with "-", so two of them can meet.
      ...ipPools.flatMap((p, i) => {
        const first = ipPools.findIndex((q) => q.name === p.name);
        // Within one list, the duplicate NIC name is reported already (nicNameProblems).
        const sameList = (f: string) => f.slice(0, f.lastIndexOf('['));
        return first < i && sameList(ipPools[first].field) !== sameList(p.field) ? [error(p.field, `makes the IPAM pool ${quote(p.name)}, which ${ipPools[first].field} makes too; rename one of the NICs`)] : [];
      }),
      ...dualStackCidrProblems(
        { podCidrs: this.podCidrs, serviceCidrs: this.serviceCidrs, ipv6Subnet: v6?.subnet, hasIpv6: v6 !== undefined },
        { podCidrs: 'network.podCidrs', serviceCidrs: 'network.serviceCidrs', ipv6: 'network.ipv6' }, demands,
      ),
      ...networkSetProblems(
        [...primary, ...clusterNics, ...own.flatMap((o) => o ?? [])],
        [
          { what: 'control-plane', networks: [...primary, ...clusterNics] },
          ...pools.map((w, i) => ({ what: `${w.name} pool`, networks: [...primary, ...(own[i] ?? clusterNics)] })),
        ],
        [
          ...this.podCidrs.map((c, i) => ({ field: `network.podCidrs[${i}]`, cidr: c })),
          ...this.serviceCidrs.map((c, i) => ({ field: `network.serviceCidrs[${i}]`, cidr: c })),
        ],
      ),
      ...(v6 ? ipCapacityProblems(v6.ranges, demands, IPV6_FIELDS.addresses) : []),
      ...clusterNics.flatMap((n) => ipCapacityProblems(n.ranges, clusterNicUsers, n.field)),
      ...own.flatMap((o, i) => (o ?? []).flatMap((n) => ipCapacityProblems(n.ranges, [poolDemands[i]], n.field))),
    ];
  }
}

/** Field paths of `network.ipv6`. */
const IPV6_FIELDS = { addresses: 'network.ipv6.addresses', prefix: 'network.ipv6.prefix', gateway: 'network.ipv6.gateway' };

/** Where a machine set's clones may land: its own nodes when it names them, else the cluster's. */
function machineNodes(
  clusterNodes: readonly string[], own: readonly string[] | undefined, ownField: string,
): { nodes: readonly string[]; nodesField: string } {
  // Nodes outside the cluster's list are refused on their own field.
  return own !== undefined ? { nodes: own.filter((n) => clusterNodes.includes(n)), nodesField: ownField } : { nodes: clusterNodes, nodesField: 'proxmox.allowedNodes' };
}

/**
 * The template rules of a cluster's machine sets: one VM ID is one template VM; each set boots the
 * image its template declares; a node-local template serves its own node only. A pool that clones
 * the cluster's template is checked for its image, not again for the template itself.
 */
function templateRules(all: readonly TemplateVmUser[]): Diagnostic[] {
  // A malformed declaration (JavaScript callers skip the types) is reported on its own fields.
  const users = all.filter((u) => templateVmRefProblems(u.vm, '').length === 0);
  const taken = new Set(users.map((u) => u.vm.templateId));
  const declared = users.filter((u) => u.declared);
  const placementChecked = new Set<string>();
  return [
    ...templateVmProblems(declared),
    ...users.flatMap((u) => templateImageProblems(u, taken)),
    ...users.flatMap((u) => {
      // One finding per template VM and set of nodes: pools that inherit the cluster's template
      // and its nodes would repeat the control plane's.
      const key = `${u.vm.templateId}|${u.nodes.join(',')}`;
      if (placementChecked.has(key)) return [];
      placementChecked.add(key);
      return templatePlacementProblems(u);
    }),
  ];
}

/**
 * What a TypeScript cluster file (`clusters/<name>.ts`) exports as its default: a function that
 * builds one TalosCluster in the scope it is given (a chart of its own) and returns it. Synth
 * picks such files up beside the config files (README, "From TypeScript").
 */
export type ClusterDefinition = (scope: Construct) => TalosCluster;

/** Metadata type of the warnings constructs record (data: a {@link Diagnostic}); synth prints them. */
export const WARNING_METADATA = 'cdk8s-talos-proxmox/warning';
