import { Construct } from 'constructs';
import { CiliumCRS, CiliumCRSProps } from './addons/cilium';
import { ITalosCluster } from './cluster-ref';
import { ProxmoxCredentials } from './credentials';
import { UserError } from '../core/errors';
import { controlPlaneStrategicPatches } from '../talos/machine-config';
import { CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, DNS1123_LABEL } from '../core/naming';
import { ProxmoxMachineOptions, ProxmoxMachineTemplate } from './proxmox-machine-template';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';
import { API, apiVersionOf, STACK_VERSIONS } from '../core/stack';
import { TalosCcmCRS } from './addons/talos-ccm';
import { workerHealthCheck, ProxmoxWorkerPool, WorkerPoolOptions } from './worker-pool';
import {
  capacityProblems, controlPlaneReplicaProblems, formatProblems, MachineDemand, machineSizeProblems,
  nameLengthProblems, networkProblems, Problem, PROPS_NETWORK_FIELDS, schematicProblems, templateVmProblems, templateVmUser, versionProblems,
} from './rules';
import { Cluster, MachineHealthCheck, MachineHealthCheckSpecRemediationTriggerIfUnhealthyLessThanOrEqualTo as TriggerIf } from '../../imports/cluster.x-k8s.io';
import { TalosControlPlane, TalosControlPlaneSpecRolloutStrategyRollingUpdateMaxSurge as MaxSurge } from '../../imports/controlplane.cluster.x-k8s.io';
import { ProxmoxCluster } from '../../imports/infrastructure.cluster.x-k8s.io';

/** The control plane: machine size and count. */
export interface ControlPlaneOptions extends ProxmoxMachineOptions {
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
}

/** Props of a {@link TalosCluster}. */
export interface TalosClusterProps {
  /** Name of the CAPI Cluster (DNS-1123 label); every object name derives from it, never from construct paths. */
  readonly clusterName: string;
  /**
   * Namespace of the cluster's objects on the management cluster.
   * @default 'default'
   */
  readonly namespace?: string;
  /**
   * Kubernetes release.
   * @default STACK_VERSIONS.kubernetes
   */
  readonly kubernetesVersion?: string;
  /**
   * Talos release of every node.
   * @default STACK_VERSIONS.talos
   */
  readonly talosVersion?: string;
  /**
   * Image Factory schematic of the nodes' images.
   * @default - official extension siderolabs/qemu-guest-agent only
   */
  readonly schematic?: Schematic;
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
   * Proxmox bridge for the nodes' NIC.
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
  /** Proxmox nodes VMs may be placed on. */
  readonly allowedNodes: readonly string[];
  /** Proxmox node that holds the Talos template VM. */
  readonly sourceNode: string;
  /** VM ID of the Talos template VM. */
  readonly templateID: number;
  /**
   * Proxmox API credentials.
   * @default ProxmoxCredentials.providerDefault()
   */
  readonly credentials?: ProxmoxCredentials;
  /** Control-plane machines. */
  readonly controlPlane: ControlPlaneOptions;
}

/**
 * A Talos Linux cluster on Proxmox VE managed by Cluster API: Cluster, ProxmoxCluster, the
 * control-plane ProxmoxMachineTemplate and TalosControlPlane, plus the Talos cloud controller
 * manager every node needs for its providerID.
 *
 * Add worker pools with {@link addWorkerPool} and the CNI with {@link addCilium}.
 *
 * @example
 * const cluster = new TalosCluster(chart, 'Homelab', {
 *   clusterName: 'homelab', endpoint: '192.168.0.30', addresses: ['192.168.0.20-192.168.0.29'],
 *   prefix: 24, gateway: '192.168.0.254', dnsServers: ['8.8.8.8'], allowedNodes: ['pve1'],
 *   sourceNode: 'pve1', templateID: 8700, controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20 },
 * });
 * cluster.addWorkerPool('Default', { poolName: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 });
 * cluster.addCilium();
 */
export class TalosCluster extends Construct implements ITalosCluster {
  public readonly clusterName: string;
  public readonly namespace: string;
  public readonly kubernetesVersion: string;
  public readonly talosVersion: string;
  public readonly schematic: Schematic;
  public readonly bridge: string;
  public readonly sourceNode: string;
  public readonly templateID: number;
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** Name of the TalosControlPlane. */
  public readonly controlPlaneName: string;
  /** The control-plane machine template. */
  public readonly controlPlaneTemplate: ProxmoxMachineTemplate;
  /** The Talos CCM add-on. */
  public readonly cloudControllerManager: TalosCcmCRS;
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
  /** Where CAPMOX finds the Proxmox API token. */
  public readonly credentials: ProxmoxCredentials;
  private readonly pools: ProxmoxWorkerPool[] = [];

  constructor(scope: Construct, id: string, props: TalosClusterProps) {
    super(scope, id);
    this.clusterName = props.clusterName;
    this.namespace = props.namespace ?? 'default';
    this.kubernetesVersion = props.kubernetesVersion ?? STACK_VERSIONS.kubernetes;
    this.talosVersion = props.talosVersion ?? STACK_VERSIONS.talos;
    this.schematic = props.schematic ?? new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] });
    this.bridge = props.bridge ?? 'vmbr0';
    this.sourceNode = props.sourceNode;
    this.templateID = props.templateID;
    this.selectorLabels = { [CLUSTER_NAME_LABEL]: this.clusterName };
    this.controlPlaneName = `${this.clusterName}-control-plane`;
    this.podCidrs = props.podCidrs ?? ['10.244.0.0/16'];
    this.serviceCidrs = props.serviceCidrs ?? ['10.96.0.0/12'];
    const cp = props.controlPlane;
    this.check([
      ...(DNS1123_LABEL.test(this.clusterName) ? [] : [{ field: 'clusterName', message: `${JSON.stringify(this.clusterName)} must be a DNS-1123 label`, severity: 'error' as const }]),
      ...networkProblems({
        endpoint: props.endpoint, addresses: props.addresses, prefix: props.prefix, gateway: props.gateway,
        podCidrs: this.podCidrs, serviceCidrs: this.serviceCidrs,
      }, PROPS_NETWORK_FIELDS),
      ...versionProblems(this.talosVersion, this.kubernetesVersion, { talos: 'talosVersion', kubernetes: 'kubernetesVersion' }),
      ...controlPlaneReplicaProblems(cp.replicas ?? 3, 'controlPlane.replicas'),
      ...machineSizeProblems(cp, 'controlPlane'),
      ...schematicProblems(this.schematic.officialExtensions, this.schematic.extraKernelArgs, { extensions: 'schematic.officialExtensions', kernelArgs: 'schematic.extraKernelArgs' }),
      ...nameLengthProblems(this.clusterName, [], 'clusterName'),
    ]);
    this.addresses = [...props.addresses];
    // Pools are added after construction: capacity is checked when the tree is complete.
    this.node.addValidation({
      validate: () => capacityProblems(this.addresses, this.machineDemands(cp.replicas ?? 3), 'addresses')
        .map((p) => `${this.clusterName}: ${p.field} ${p.message}`),
    });

    const port = props.endpointPort ?? 6443;
    const labels = { ...this.selectorLabels };
    const credentials = props.credentials ?? ProxmoxCredentials.providerDefault();
    this.endpoint = props.endpoint;
    this.endpointPort = port;
    this.allowedNodes = [...props.allowedNodes];
    this.credentials = credentials;

    new Cluster(this, 'Resource', {
      metadata: { name: this.clusterName, namespace: this.namespace, labels },
      spec: {
        clusterNetwork: {
          pods: { cidrBlocks: [...this.podCidrs] },
          services: { cidrBlocks: [...this.serviceCidrs] },
          serviceDomain: 'cluster.local',
        },
        controlPlaneEndpoint: { host: props.endpoint, port },
        infrastructureRef: { apiGroup: API.ProxmoxCluster.group, kind: 'ProxmoxCluster', name: this.clusterName },
        controlPlaneRef: { apiGroup: API.TalosControlPlane.group, kind: 'TalosControlPlane', name: this.controlPlaneName },
      },
    });

    new ProxmoxCluster(this, 'ProxmoxCluster', {
      metadata: { name: this.clusterName, namespace: this.namespace, labels },
      spec: {
        controlPlaneEndpoint: { host: props.endpoint, port },
        ipv4Config: { addresses: [...props.addresses], prefix: props.prefix, gateway: props.gateway, metric: 100 },
        dnsServers: [...props.dnsServers],
        allowedNodes: [...props.allowedNodes],
        externalManagedControlPlane: false,
        ...(credentials.secretName !== undefined ? {
          credentialsRef: { name: credentials.secretName, namespace: credentials.namespace ?? this.namespace },
        } : {}),
      },
    });

    this.controlPlaneTemplate = new ProxmoxMachineTemplate(this, 'ControlPlaneTemplate', {
      ...cp,
      cluster: this,
      namePrefix: this.controlPlaneName,
    });

    new TalosControlPlane(this, 'ControlPlane', {
      metadata: { name: this.controlPlaneName, namespace: this.namespace, labels },
      spec: {
        version: this.kubernetesVersion,
        replicas: cp.replicas ?? 3,
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
              vip: props.endpoint,
            }),
          },
        },
        rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: MaxSurge.fromNumber(1) } },
      },
    });

    if (cp.healthCheck ?? false) {
      new MachineHealthCheck(this, 'ControlPlaneHealthCheck', {
        metadata: { name: this.controlPlaneName, namespace: this.namespace, labels },
        spec: {
          ...workerHealthCheck(this.clusterName, { [CONTROL_PLANE_LABEL]: '' }),
          // Never short-circuit: CACPPT does not remediate, the check only reports.
          remediation: { triggerIf: { unhealthyLessThanOrEqualTo: TriggerIf.fromString('100%') } },
        },
      });
    }

    this.cloudControllerManager = new TalosCcmCRS(this, 'CloudControllerManager', { cluster: this });
  }

  /** Adds a pool of worker machines (MachineDeployment + templates + health check). */
  public addWorkerPool(id: string, options: WorkerPoolOptions): ProxmoxWorkerPool {
    if (this.pools.some((p) => p.poolName === options.poolName)) {
      throw new UserError(`worker pool ${JSON.stringify(options.poolName)} is defined twice in cluster ${this.clusterName}; pool names must be unique`);
    }
    const pool = new ProxmoxWorkerPool(this, id, { ...options, cluster: this });
    // One disk image per template VM: the new pool may not share one with a machine set of another image.
    const vm = (what: string, field: string, t: ProxmoxMachineTemplate, schematic: Schematic) =>
      templateVmUser(what, field, { sourceNode: t.sourceNode, templateId: t.templateID }, schematic, this.talosVersion);
    const field = `worker pool ${pool.poolName}: templateID`;
    const problems = templateVmProblems([
      vm('control plane', 'controlPlane.templateID', this.controlPlaneTemplate, this.schematic),
      ...[...this.pools, pool].map((p) => vm(`pool ${p.poolName}`, p === pool ? field : p.poolName, p.machineTemplate, p.schematic)),
    ]).filter((p) => p.field === field);
    if (problems.length > 0) throw new UserError(formatProblems(problems));
    this.pools.push(pool);
    return pool;
  }

  /** The worker pools added so far. */
  public get workerPools(): readonly ProxmoxWorkerPool[] {
    return [...this.pools];
  }

  /**
   * Throws the errors among `problems` as one UserError; records warnings as construct metadata
   * of type `warning`, which synth prints.
   */
  private check(problems: Problem[]): void {
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new UserError(formatProblems(errors));
    for (const w of problems) this.node.addMetadata('warning', `${w.field} ${w.message}`);
  }

  private machineDemands(controlPlaneReplicas: number): MachineDemand[] {
    return [
      { what: 'control-plane', machines: controlPlaneReplicas, surge: 1 },
      ...this.pools.map((p) => ({ what: p.poolName, machines: p.maxReplicas, surge: 1 })),
    ];
  }

  /** Adds Cilium as the CNI, delivered by a ClusterResourceSet. */
  public addCilium(options: Omit<CiliumCRSProps, 'cluster'> = {}): CiliumCRS {
    return new CiliumCRS(this, 'Cilium', { ...options, cluster: this });
  }
}
