import { Construct } from 'constructs';
import { TalosConfigTemplate, TalosConfigTemplateSpecTemplateSpec } from '../../imports/bootstrap.cluster.x-k8s.io';
import {
  MachineDeployment,
  MachineDeploymentSpecDeletionOrder,
  MachineDeploymentSpecRolloutStrategyRollingUpdateMaxSurge as MaxSurge,
  MachineDeploymentSpecRolloutStrategyRollingUpdateMaxUnavailable as MaxUnavailable,
  MachineDeploymentSpecRolloutStrategyType,
  MachineHealthCheck,
  MachineHealthCheckSpec,
  MachineHealthCheckSpecRemediationTriggerIfUnhealthyLessThanOrEqualTo as TriggerIf,
} from '../../imports/cluster.x-k8s.io';
import { Diagnostic, error, quote, throwErrors } from '../core/errors';
import { CLUSTER_NAME_LABEL, contentAddressedName, DEPLOYMENT_NAME_LABEL, PATCHES_ANNOTATION } from '../core/naming';
import { API } from '../core/stack';
import { workerStrategicPatches } from '../talos/machine-config';
import { NodeTaint, nodeLabelProblems, nodeTaintProblems, routeNodeLabels, taintString } from '../talos/node-metadata';
import { ownedFieldProblems, PatchDocument, patchDocuments, patchesAnnotation, serializePatch, TalosPatch } from '../talos/patches';
import { poolExtensions, Schematic } from '../talos/schematic';
import { ITalosCluster } from './cluster-ref';
import { createIpPools, MachineNetwork, nodeAddressSubnets, PoolNetworkOptions, resolveNics } from './networks';
import { DEFAULT_SOCKETS, MachineSize, ProxmoxCloneOptions, ProxmoxMachineTemplate, TemplateVm } from './proxmox-machine-template';
import {
  autoscalingProblems, cloneOptionProblems, cloneValues, dnsLabelProblems, extraNicsProblems, INT32_MAX, machineNodesProblems, machineSizeProblems,
  nameLengthProblems, poolVersionProblems, resolveClone, schematicProblems, templateVmRefProblems, vlanMtuProblems, wholeNumberProblems,
} from './rules';

/** Annotations the cluster-autoscaler's clusterapi provider reads (STACK.md §5.3). */
export const AUTOSCALER_MIN_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
/** See {@link AUTOSCALER_MIN_ANNOTATION}. */
export const AUTOSCALER_MAX_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';
/**
 * Prefix of the annotations that tell the autoscaler what a node of the pool offers, so that it can
 * scale a pool up from zero: CAPMOX templates publish no capacity (STACK.md §5.3).
 */
export const AUTOSCALER_CAPACITY_PREFIX = 'capacity.cluster-autoscaler.kubernetes.io/';

/** Bounds of an autoscaled pool (cluster-autoscaler, clusterapi provider). */
export interface AutoscalingBounds {
  /** Smallest size the autoscaler may scale the pool to (0 allows scale to zero). */
  readonly min: number;
  /** Largest size the autoscaler may scale the pool to (at least 1). */
  readonly max: number;
}

/**
 * A pool spread over Proxmox nodes: one MachineDeployment per node, each pinned to its node
 * (`allowedNodes: [node]`), so that no two nodes of the pool share a Proxmox host unless the
 * pool runs more machines than it has nodes.
 */
export interface SpreadOptions {
  /**
   * The Proxmox nodes, some of `proxmox.allowedNodes`, each once. The pool's replicas (or autoscaler
   * bounds) are split over them in this order: each node gets the count divided by the number of
   * nodes, rounded down, and the first nodes one more each until the remainder is used up.
   */
  readonly nodes: readonly string[];
  /**
   * Template VMs of their own for some nodes, each serving the node it is on (its `sourceNode`):
   * with node-local template storage every node needs one. Each must hold the pool's image.
   * @default - every node clones the pool's `template`
   */
  readonly templates?: readonly TemplateVm[];
}

/**
 * A count split over `nodes` nodes: each gets `total / nodes` rounded down, the first
 * `total % nodes` nodes one more. Splitting 5 over 3 nodes gives 2, 2, 1.
 */
export function spreadCounts(total: number, nodes: number): number[] {
  return Array.from({ length: nodes }, (_, i) => Math.floor(total / nodes) + (i < total % nodes ? 1 : 0));
}

/** The suffix of a spread node's objects: `-<node in lower case>` (Proxmox node names may have capitals, object names may not). */
export function spreadSuffix(node: string): string {
  return `-${node.toLowerCase()}`;
}

/** Which machines a pool removes first when it scales down (CAPI `spec.deletion.order`). */
export const DELETION_ORDERS = ['Random', 'Newest', 'Oldest'] as const;
/** See {@link DELETION_ORDERS}. */
export type DeletionOrder = typeof DELETION_ORDERS[number];

/** Defaults of a worker pool: the one place they are written (config files and constructs alike). */
export const WORKER_POOL_DEFAULTS = {
  replicas: 1,
  healthCheck: true,
  longhorn: false,
  deletionOrder: 'Random' as DeletionOrder,
} as const;

/** A pool of identical worker machines; config files spell each field alike (`workers[]`). */
export interface WorkerPoolOptions extends MachineSize, ProxmoxCloneOptions {
  /** Pool name (DNS-1123 label, unique in the cluster); objects are named `<cluster>-<name>`. */
  readonly name: string;
  /**
   * Number of machines; leave it out when `autoscaling` is set.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Let the cluster-autoscaler size the pool between these bounds. The replica count is then left
   * out of the output, so GitOps does not fight the autoscaler; CAPI starts the pool at the minimum.
   * @default - the pool is not autoscaled
   */
  readonly autoscaling?: AutoscalingBounds;
  /**
   * The template VM the pool's machines are cloned from (it must hold the pool's image).
   * @default - the cluster's `proxmox.template`
   */
  readonly template?: TemplateVm;
  /**
   * Proxmox nodes CAPMOX may clone this pool's machines on, some of `proxmox.allowedNodes`: one
   * node per pool pins machines to the node of a node-local template.
   * @default - `proxmox.allowedNodes`
   */
  readonly allowedNodes?: readonly string[];
  /**
   * Talos patches of this pool's machines only, after `talos.patches` (objects or YAML text). A
   * change renames the pool's TalosConfigTemplate (content-addressed) and rolls this pool only.
   * @default - none
   */
  readonly patches?: readonly TalosPatch[];
  /**
   * Spread the pool over Proxmox nodes: one MachineDeployment, ProxmoxMachineTemplate and health
   * check per node, named `<cluster>-<pool>-<node>`, each pinned to its node, with the replicas or
   * autoscaler bounds split over the nodes ({@link spreadCounts}). Not with `allowedNodes`.
   * @default - one MachineDeployment `<cluster>-<pool>`, whose machines CAPMOX places on the allowed nodes
   */
  readonly spread?: SpreadOptions;
  /**
   * Replace machines whose node does not start or stays NotReady (MachineHealthCheck).
   * @default true
   */
  readonly healthCheck?: boolean;
  /**
   * Most machines of the pool that may be unhealthy at once for the health check to still replace
   * them (`remediation.triggerIf.unhealthyLessThanOrEqualTo`): a count, or a percentage of the
   * pool's size at run time, which Cluster API rounds down (STACK.md §9.3). More unhealthy machines
   * than that means a wider outage, which replacing machines would not fix.
   * @default - 40% of the pool's largest size (autoscaler maximum), rounded down, at least 1
   */
  readonly maxUnhealthy?: number | string;
  /**
   * Which machines go first when the pool scales down: `Random`, `Newest` or `Oldest`.
   * @default 'Random'
   */
  readonly deletionOrder?: DeletionOrder;
  /**
   * Kubernetes release of the pool's machines. Hold a pool at the current release while the
   * control plane upgrades first, then remove the hold (README, "Upgrades"); never newer than the
   * control plane.
   * @default - the cluster's kubernetesVersion
   */
  readonly kubernetesVersion?: string;
  /**
   * Official system extensions the pool's nodes need on top of the cluster's. The pool then boots
   * its own schematic, so it needs its own template VM (`template`).
   * @default - the cluster's extensions only
   */
  readonly extensions?: readonly string[];
  /**
   * Prepare the nodes for Longhorn (STACK.md §6): the extensions siderolabs/iscsi-tools and
   * siderolabs/util-linux-tools in the pool's schematic (its own template VM), and Longhorn's data
   * path `/var/lib/longhorn` (on the system disk, sized by `diskGiB`) bind-mounted into the kubelet
   * with shared propagation.
   * @default false
   */
  readonly longhorn?: boolean;
  /**
   * Labels of the pool's nodes. Role labels (`node-role.kubernetes.io/<role>`) are set through
   * Cluster API, the rest by the node itself (lib/talos/node-metadata.ts).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Taints of the pool's nodes, registered by the kubelet.
   * @default - none
   */
  readonly taints?: readonly NodeTaint[];
  /**
   * The pool's own VLAN tag and MTU of the primary NIC, and its own extra NICs (which replace the
   * cluster's); the node addresses stay those of the cluster's `network`.
   * @default - the cluster's `network`
   */
  readonly network?: PoolNetworkOptions;
}

/** Props of a {@link ProxmoxWorkerPool}. */
export interface ProxmoxWorkerPoolProps extends WorkerPoolOptions {
  /** The cluster the pool's machines join. */
  readonly cluster: ITalosCluster;
}

/** Most machines a pool runs: its replicas, or its autoscaler maximum. */
export function poolMaxReplicas(options: WorkerPoolOptions): number {
  return options.autoscaling ? options.autoscaling.max : options.replicas ?? WORKER_POOL_DEFAULTS.replicas;
}

/** Share of a pool that may be unhealthy at once by default: CAPMOX's shipped 40% (STACK.md §5.2). */
export const DEFAULT_MAX_UNHEALTHY_PERCENT = 40;

/**
 * The default remediation threshold of a pool: 40% of its largest size, rounded down, but at least 1,
 * as a count. A percentage would be scaled down at run time (40% of 2 machines is 0, STACK.md §9.3), so
 * a small pool, or an autoscaled one scaled down, would never be remediated; a count of at least 1
 * always lets one machine be replaced.
 */
export function defaultMaxUnhealthy(maxMachines: number): number {
  return Math.max(1, Math.floor((maxMachines * DEFAULT_MAX_UNHEALTHY_PERCENT) / 100));
}

/**
 * How many unhealthy machines Cluster API still remediates in a pool of `machines` with this
 * threshold: a count as is, a percentage scaled and rounded down
 * (`GetScaledValueFromIntOrPercent(…, expectedMachines, false)`, STACK.md §9.3).
 */
export function remediationAllowance(threshold: number | string, machines: number): number {
  if (typeof threshold === 'number') return threshold;
  return Math.floor((Number(threshold.slice(0, -1)) * machines) / 100);
}

/** Sizes a pool runs at: its replicas, or every size between the autoscaler bounds (at least 1 machine). */
function poolSizes(options: WorkerPoolOptions): number[] {
  const min = Math.max(1, options.autoscaling ? options.autoscaling.min : poolMaxReplicas(options));
  const max = poolMaxReplicas(options);
  return Array.from({ length: Math.max(0, max - min + 1) }, (_, i) => min + i);
}

/** The options of one node of a spread pool: its share of the replicas or autoscaler bounds. */
export function spreadNodeOptions(options: WorkerPoolOptions, index: number, nodes: number): WorkerPoolOptions {
  const share = (n: number) => spreadCounts(n, nodes)[index];
  return options.autoscaling
    ? { ...options, autoscaling: { min: share(options.autoscaling.min), max: share(options.autoscaling.max) } }
    : { ...options, replicas: share(options.replicas ?? WORKER_POOL_DEFAULTS.replicas) };
}

/**
 * A spread pool: nodes listed once (case-insensitively, since object names take them in lower case),
 * each one of the cluster's, not beside `allowedNodes`; at least one autoscaler maximum per node; node
 * templates on nodes of the spread, one per node; names short enough for every node.
 */
function spreadProblems(cluster: ITalosCluster, options: WorkerPoolOptions): Diagnostic[] {
  const spread = options.spread;
  if (spread === undefined) return [];
  const problems: Diagnostic[] = [];
  const nodes = spread.nodes ?? [];
  if (options.allowedNodes !== undefined) {
    problems.push(error('allowedNodes', 'cannot be set together with spread: spread.nodes names the nodes, one deployment on each; leave allowedNodes out'));
  }
  problems.push(...machineNodesProblems(nodes, cluster.allowedNodes, 'spread.nodes'));
  nodes.forEach((n, i) => {
    const first = nodes.findIndex((m) => typeof m === 'string' && typeof n === 'string' && m.toLowerCase() === n.toLowerCase());
    if (first < i) problems.push(error(`spread.nodes[${i}]`, `${quote(n)} is listed twice (object names take node names in lower case); list each node once`));
  });
  if (options.autoscaling !== undefined && Number.isInteger(options.autoscaling.max) && options.autoscaling.max < nodes.length) {
    problems.push(error('autoscaling.max', `${options.autoscaling.max} is below the ${nodes.length} nodes of spread.nodes: each node's deployment needs a maximum of at least 1; raise the maximum or spread over fewer nodes`));
  }
  problems.push(...nameLengthProblems(cluster.clusterName, nodes.map((n, i) => ({ name: `${options.name}${spreadSuffix(String(n))}`, path: `spread.nodes[${i}]` })), '')
    .filter((d) => d.path !== ''));
  (spread.templates ?? []).forEach((t, j) => {
    const path = `spread.templates[${j}]`;
    const ref = templateVmRefProblems(t, path);
    problems.push(...ref);
    if (ref.length > 0) return;
    if (!nodes.includes(t.sourceNode)) {
      problems.push(error(`${path}.sourceNode`, `${quote(t.sourceNode)} is not in spread.nodes (${nodes.join(', ')}): a node template serves the node it is on; add the node or remove the template`));
    } else if ((spread.templates ?? []).findIndex((o) => o.sourceNode === t.sourceNode) < j) {
      problems.push(error(`${path}.sourceNode`, `${quote(t.sourceNode)} already has a template in spread.templates: one template VM per node`));
    }
  });
  return problems;
}

/** A percentage as Kubernetes IntOrString writes it, 0% to 100%: `40%`. */
export const PERCENTAGE = /^(100|[1-9]?[0-9])%$/;

/**
 * A pool's remediation threshold lets at least one machine be replaced at every size the pool runs
 * at; a percentage is checked at the smallest, where rounding down bites.
 */
function maxUnhealthyProblems(options: WorkerPoolOptions): Diagnostic[] {
  const value = options.maxUnhealthy;
  if (value === undefined) return [];
  // A spread pool has one health check per node, each over that node's share.
  const nodes = options.spread?.nodes;
  if (nodes !== undefined && nodes.length > 0 && typeof value === 'string') {
    for (let i = 0; i < nodes.length; i++) {
      const found = maxUnhealthyProblems({ ...spreadNodeOptions(options, i, nodes.length), spread: undefined });
      if (found.length > 0) return found.map((d) => ({ ...d, message: `${d.message} (health check of spread node ${nodes[i]})` }));
    }
    return [];
  }
  if (typeof value === 'number') return wholeNumberProblems(value, 'maxUnhealthy', 'unhealthy machines remediated at once', 1, INT32_MAX);
  if (typeof value !== 'string' || !PERCENTAGE.test(value)) {
    return [error('maxUnhealthy', `${quote(value)} must be a count of machines (1 or more) or a percentage like 40%`)];
  }
  const starved = poolSizes(options).find((n) => remediationAllowance(value, n) < 1);
  if (starved === undefined) return [];
  const least = Math.ceil(100 / starved);
  return [error('maxUnhealthy', `${value} of ${starved} machine(s) is 0 once Cluster API rounds it down, so a failed machine would never be replaced; `
    + `use a count (1 or more) or at least ${least}%`)];
}

/** A pool's patches: YAML that parses into mappings, and no field the project owns. */
function patchProblems(patches: readonly TalosPatch[]): Diagnostic[] {
  const { documents, problems } = patchDocuments(patches, 'patches');
  return [...problems, ...documents.flatMap(ownedFieldProblems)];
}

/** The Image Factory schematic a pool's nodes boot: the cluster's, plus the pool's extensions. */
export function poolSchematic(cluster: ITalosCluster, options: WorkerPoolOptions): Schematic {
  return cluster.schematic.withExtensions(poolExtensions(options.extensions ?? [], options.longhorn ?? WORKER_POOL_DEFAULTS.longhorn));
}

/**
 * The rules of one pool's options, with paths relative to the pool (`cores`, `labels.x`); the
 * rules that compare pools (unique names, capacity, template VMs) are the cluster's.
 */
export function workerPoolProblems(cluster: ITalosCluster, options: WorkerPoolOptions): Diagnostic[] {
  const autoscaling = options.autoscaling;
  return [
    ...dnsLabelProblems(options.name, 'name'),
    ...nameLengthProblems(cluster.clusterName, [{ name: options.name, path: 'name' }], '').filter((d) => d.path === 'name'),
    ...(options.replicas === undefined ? [] : wholeNumberProblems(options.replicas, 'replicas', 'machine count', 0, INT32_MAX)),
    ...(autoscaling === undefined ? [] : [
      ...wholeNumberProblems(autoscaling.min, 'autoscaling.min', 'autoscaler minimum', 0, INT32_MAX),
      ...wholeNumberProblems(autoscaling.max, 'autoscaling.max', 'autoscaler maximum', 1, INT32_MAX),
    ]),
    ...autoscalingProblems(
      { replicas: options.replicas, min: autoscaling?.min, max: autoscaling?.max },
      { replicas: 'replicas', min: 'autoscaling.min', max: 'autoscaling.max' },
    ),
    ...machineSizeProblems(options, ''),
    ...(options.template === undefined ? [] : templateVmRefProblems(options.template, 'template')),
    ...(options.allowedNodes === undefined ? [] : machineNodesProblems(options.allowedNodes, cluster.allowedNodes, 'allowedNodes')),
    ...cloneOptionProblems(options, ''),
    ...spreadProblems(cluster, options),
    ...(options.kubernetesVersion === undefined ? [] : poolVersionProblems(
      cluster.talosVersion, cluster.kubernetesVersion, options.kubernetesVersion,
      { talos: 'talos.version', kubernetes: 'kubernetesVersion', pool: 'kubernetesVersion' },
    )),
    ...nodeLabelProblems(options.labels ?? {}, 'labels'),
    ...nodeTaintProblems(options.taints ?? [], 'taints'),
    ...schematicProblems(options.extensions ?? [], [], { extensions: 'extensions', kernelArgs: '' }, cluster.talosVersion),
    ...maxUnhealthyProblems(options),
    ...patchProblems(options.patches ?? []),
    ...vlanMtuProblems(options.network ?? {}, 'network', cluster.network.ipv6),
    ...(options.network?.extraNics === undefined ? [] : extraNicsProblems(options.network.extraNics, 'network.extraNics').problems),
    ...(options.deletionOrder === undefined || DELETION_ORDERS.includes(options.deletionOrder) ? []
      : [error('deletionOrder', `${quote(options.deletionOrder)} must be one of ${DELETION_ORDERS.join(', ')}`)]),
  ];
}

/**
 * The NICs of a pool's machines: the cluster's, with the pool's VLAN, MTU and extra NICs in place
 * of the cluster's where it names them (its NICs' IPAM pools are `<cluster>-<pool>-<name>`).
 */
export function poolNetwork(cluster: ITalosCluster, options: WorkerPoolOptions): MachineNetwork {
  const own = options.network;
  const base = cluster.network;
  return {
    ...base,
    vlan: own?.vlan ?? base.vlan,
    mtu: own?.mtu ?? base.mtu,
    extraNics: own?.extraNics === undefined ? base.extraNics
      : resolveNics(own.extraNics, `${cluster.clusterName}-${options.name}`, 'network.extraNics'),
  };
}

/**
 * The health-check part of a MachineHealthCheck spec (STACK.md §5.2, as CAPMOX ships it):
 * 15 minutes for a node to start, 5 minutes NotReady/Unknown before remediation, and no
 * remediation when more than `maxUnhealthy` of the selected machines are unhealthy at once.
 */
export function workerHealthCheck(clusterName: string, matchLabels: Record<string, string>, maxUnhealthy: number | string): MachineHealthCheckSpec {
  return {
    clusterName,
    selector: { matchLabels: { [CLUSTER_NAME_LABEL]: clusterName, ...matchLabels } },
    checks: {
      nodeStartupTimeoutSeconds: 900,
      unhealthyNodeConditions: [
        { type: 'Ready', status: 'Unknown', timeoutSeconds: 300 },
        { type: 'Ready', status: 'False', timeoutSeconds: 300 },
      ],
    },
    remediation: {
      triggerIf: {
        unhealthyLessThanOrEqualTo: typeof maxUnhealthy === 'number' ? TriggerIf.fromNumber(maxUnhealthy) : TriggerIf.fromString(maxUnhealthy),
      },
    },
  };
}

/** One MachineDeployment of a pool: the pool's only one, or one node's of a spread pool. */
export interface PoolDeployment {
  /** The Proxmox node it is pinned to (spread pools), or undefined. */
  readonly node: string | undefined;
  /** Name of the MachineDeployment and its health check: `<cluster>-<pool>`, or `<cluster>-<pool>-<node>` when spread. */
  readonly name: string;
  /** Its replicas (undefined when autoscaled). */
  readonly replicas: number | undefined;
  /** Its autoscaler bounds (undefined when not autoscaled). */
  readonly autoscaling: AutoscalingBounds | undefined;
  /** Its machine template. */
  readonly machineTemplate: ProxmoxMachineTemplate;
}

/**
 * A pool of Talos worker machines: MachineDeployment (its `Resource` child, `node.defaultChild`) +
 * ProxmoxMachineTemplate + TalosConfigTemplate + MachineHealthCheck.
 *
 * A spread pool (`spread`) has one TalosConfigTemplate and, per node, a construct `Node-<node>`
 * holding its ProxmoxMachineTemplate, MachineDeployment (`Resource`) and MachineHealthCheck,
 * named `<cluster>-<pool>-<node>`; the pool itself then has no default child.
 *
 * Both templates are named by content, so any edit rolls the pool instead of being rejected by
 * the providers' immutability webhooks (STACK.md §5.1). Usually created by {@link TalosCluster}
 * (`workers` or `addWorkerPool`), which also checks the rules that compare pools.
 */
export class ProxmoxWorkerPool extends Construct {
  /** Pool name. */
  public readonly poolName: string;
  /** Name of the MachineDeployment (`<cluster>-<pool>`); the prefix of the nodes' deployments when spread. */
  public readonly name: string;
  /** The machine template (the first node's when spread; see {@link deployments}). */
  public readonly machineTemplate: ProxmoxMachineTemplate;
  /** The MachineDeployments: one, or one per node of `spread.nodes`, in that order. */
  public readonly deployments: readonly PoolDeployment[];
  /** Name of the TalosConfigTemplate (content-addressed). */
  public readonly configTemplateName: string;
  /** Most machines the pool runs: its replicas, or its autoscaler maximum. */
  public readonly maxReplicas: number;
  /** Kubernetes release of the pool's machines. */
  public readonly kubernetesVersion: string;
  /** Image Factory schematic of the pool's nodes: the cluster's, plus the pool's extensions. */
  public readonly schematic: Schematic;
  /** The template VM the pool's machines are cloned from (a spread node may have its own, see {@link spreadTemplates}). */
  public readonly template: TemplateVm;
  /** The template VMs of single nodes of a spread pool, as declared. */
  public readonly spreadTemplates: readonly TemplateVm[];
  /** Whether the nodes are prepared for Longhorn. */
  public readonly longhorn: boolean;
  /** Labels of the pool's nodes. */
  public readonly labels: Readonly<Record<string, string>>;
  /** Taints of the pool's nodes. */
  public readonly taints: readonly NodeTaint[];
  /** The pool's own Talos patches, parsed, with paths relative to the pool (`patches[0]`). */
  public readonly patches: readonly PatchDocument[];
  /** The NICs of the pool's machines. */
  public readonly network: MachineNetwork;

  constructor(scope: Construct, id: string, props: ProxmoxWorkerPoolProps) {
    super(scope, id);
    const cluster = props.cluster;
    throwErrors(workerPoolProblems(cluster, props));
    this.poolName = props.name;
    this.name = `${cluster.clusterName}-${props.name}`;
    this.longhorn = props.longhorn ?? WORKER_POOL_DEFAULTS.longhorn;
    this.schematic = poolSchematic(cluster, props);
    this.template = { ...(props.template ?? cluster.template) };
    this.spreadTemplates = (props.spread?.templates ?? []).map((t) => ({ ...t }));
    this.labels = { ...props.labels };
    this.taints = [...(props.taints ?? [])];
    this.maxReplicas = poolMaxReplicas(props);
    this.kubernetesVersion = props.kubernetesVersion ?? cluster.kubernetesVersion;
    this.patches = patchDocuments(props.patches ?? [], 'patches').documents;
    const labels = { [CLUSTER_NAME_LABEL]: cluster.clusterName };
    const routed = routeNodeLabels(this.labels);
    this.network = poolNetwork(cluster, props);
    // Only the pool's own NICs: the cluster's IPAM pools are the cluster's objects.
    if (props.network?.extraNics !== undefined) createIpPools(this, 'IpPools', cluster, this.network.extraNics);
    const clone = cloneValues(resolveClone([{ options: props, prefix: '' }, { options: cluster.clone, prefix: 'proxmox' }]));

    const configSpec: TalosConfigTemplateSpecTemplateSpec = {
      generateType: 'worker',
      talosVersion: cluster.talosVersion,
      strategicPatches: workerStrategicPatches({
        talosVersion: cluster.talosVersion,
        installImage: this.schematic.installerImage(cluster.talosVersion),
        nodeLabels: routed.node,
        registerWithTaints: this.taints.map(taintString),
        longhorn: this.longhorn,
        ...nodeAddressSubnets(cluster, this.network),
      }).concat([...cluster.clusterPatches, ...this.patches].map(serializePatch)),
    };
    this.configTemplateName = contentAddressedName(this.name, configSpec);
    // The pool's own patches are named in the pool's words, `workers[<i>]` being unknown here.
    const annotation = patchesAnnotation([...cluster.clusterPatches, ...this.patches.map((d) => ({ ...d, path: `pool ${props.name} ${d.path}` }))]);
    const configTemplate = () => new TalosConfigTemplate(this, 'ConfigTemplate', {
      metadata: {
        name: this.configTemplateName, namespace: cluster.namespace, labels,
        ...(annotation ? { annotations: { [PATCHES_ANNOTATION]: annotation } } : {}),
      },
      spec: { template: { spec: configSpec } },
    });

    const deployment = (at: Construct, node: string | undefined, options: WorkerPoolOptions, afterTemplate?: () => void): PoolDeployment => {
      const name = node === undefined ? this.name : `${this.name}${spreadSuffix(node)}`;
      const template = node === undefined ? this.template : this.spreadTemplates.find((t) => t.sourceNode === node) ?? this.template;
      const machineTemplate = new ProxmoxMachineTemplate(at, 'MachineTemplate', {
        cores: props.cores,
        sockets: props.sockets,
        memoryMiB: props.memoryMiB,
        diskGiB: props.diskGiB,
        template,
        allowedNodes: node === undefined ? props.allowedNodes : [node],
        cluster,
        namePrefix: name,
        schematic: this.schematic,
        network: this.network,
        clone,
      });
      afterTemplate?.();
      const autoscaling = options.autoscaling;
      const replicas = autoscaling ? undefined : options.replicas ?? WORKER_POOL_DEFAULTS.replicas;
      const machineLabels = { ...labels, [DEPLOYMENT_NAME_LABEL]: name };
      new MachineDeployment(at, 'Resource', {
        metadata: {
          name,
          namespace: cluster.namespace,
          labels,
          ...(autoscaling ? {
            annotations: {
              [AUTOSCALER_MIN_ANNOTATION]: String(autoscaling.min),
              [AUTOSCALER_MAX_ANNOTATION]: String(autoscaling.max),
              ...this.capacityAnnotations(props),
            },
          } : {}),
        },
        spec: {
          clusterName: cluster.clusterName,
          ...(replicas !== undefined ? { replicas } : {}),
          selector: { matchLabels: machineLabels },
          rollout: {
            strategy: {
              type: MachineDeploymentSpecRolloutStrategyType.ROLLING_UPDATE,
              rollingUpdate: { maxSurge: MaxSurge.fromNumber(1), maxUnavailable: MaxUnavailable.fromNumber(0) },
            },
          },
          deletion: { order: (props.deletionOrder ?? WORKER_POOL_DEFAULTS.deletionOrder) as MachineDeploymentSpecDeletionOrder },
          template: {
            metadata: { labels: { ...routed.machine, ...machineLabels } },
            spec: {
              clusterName: cluster.clusterName,
              version: this.kubernetesVersion,
              bootstrap: {
                configRef: { apiGroup: API.TalosConfigTemplate.group, kind: 'TalosConfigTemplate', name: this.configTemplateName },
              },
              infrastructureRef: machineTemplate.ref,
            },
          },
        },
      });
      if (props.healthCheck ?? WORKER_POOL_DEFAULTS.healthCheck) {
        const maxUnhealthy = props.maxUnhealthy ?? defaultMaxUnhealthy(poolMaxReplicas(options));
        new MachineHealthCheck(at, 'HealthCheck', {
          metadata: { name, namespace: cluster.namespace, labels },
          spec: workerHealthCheck(cluster.clusterName, { [DEPLOYMENT_NAME_LABEL]: name }, maxUnhealthy),
        });
      }
      return { node, name, replicas, autoscaling, machineTemplate };
    };

    const spread = props.spread;
    if (spread === undefined) {
      // The order of the objects in the output: machine template, config template, deployment, health check.
      this.deployments = [deployment(this, undefined, props, configTemplate)];
    } else {
      configTemplate();
      // Construct ids and object names come from the node, never from its position, so adding or
      // removing a node leaves the other nodes' objects alone.
      this.deployments = spread.nodes.map((node, i) => deployment(new Construct(this, `Node-${node}`), node, spreadNodeOptions(props, i, spread.nodes.length)));
    }
    this.machineTemplate = this.deployments[0].machineTemplate;
  }

  /** The machine templates, one per deployment. */
  public get machineTemplates(): readonly ProxmoxMachineTemplate[] {
    return this.deployments.map((d) => d.machineTemplate);
  }

  /**
   * What one node of the pool offers, for the autoscaler's scale-from-zero (STACK.md §5.3): CPUs,
   * memory and disk of the VM, and the node's labels and taints.
   */
  private capacityAnnotations(props: ProxmoxWorkerPoolProps): Record<string, string> {
    const out: Record<string, string> = {
      [`${AUTOSCALER_CAPACITY_PREFIX}cpu`]: String(props.cores * (props.sockets ?? DEFAULT_SOCKETS)),
      [`${AUTOSCALER_CAPACITY_PREFIX}memory`]: `${props.memoryMiB}Mi`,
      [`${AUTOSCALER_CAPACITY_PREFIX}ephemeral-disk`]: `${props.diskGiB}Gi`,
    };
    const labels = Object.entries(this.labels).map(([k, v]) => `${k}=${v}`);
    if (labels.length > 0) out[`${AUTOSCALER_CAPACITY_PREFIX}labels`] = labels.join(',');
    if (this.taints.length > 0) out[`${AUTOSCALER_CAPACITY_PREFIX}taints`] = this.taints.map(taintString).join(',');
    return out;
  }
}
