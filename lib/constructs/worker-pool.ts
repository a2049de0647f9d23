import { Construct } from 'constructs';
import { ITalosCluster } from './cluster-ref';
import { UserError } from '../core/errors';
import { workerStrategicPatches } from '../talos/machine-config';
import { NodeTaint, nodeLabelProblems, nodeTaintProblems, routeNodeLabels, taintString } from '../talos/node-metadata';
import { CLUSTER_NAME_LABEL, contentAddressedName, DEPLOYMENT_NAME_LABEL, DNS1123_LABEL } from '../core/naming';
import { ProxmoxMachineOptions, ProxmoxMachineTemplate } from './proxmox-machine-template';
import { poolExtensions, Schematic } from '../talos/schematic';
import { API } from '../core/stack';
import { autoscalingProblems, formatProblems, machineSizeProblems, nameLengthProblems, poolVersionProblems } from './rules';
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

/** Annotations the cluster-autoscaler's clusterapi provider reads (STACK.md §5.3). */
export const AUTOSCALER_MIN_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
/** See {@link AUTOSCALER_MIN_ANNOTATION}. */
export const AUTOSCALER_MAX_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';
/**
 * Prefix of the annotations that tell the autoscaler what a node of the pool offers, so that it can
 * scale a pool up from zero: CAPMOX templates publish no capacity (STACK.md §5.3).
 */
export const AUTOSCALER_CAPACITY_PREFIX = 'capacity.cluster-autoscaler.kubernetes.io/';

/** A pool of identical worker machines. */
export interface WorkerPoolOptions extends ProxmoxMachineOptions {
  /** Pool name (DNS-1123 label, unique in the cluster); objects are named `<cluster>-<poolName>`. */
  readonly poolName: string;
  /**
   * Number of machines. Omitted from the output when the autoscaler manages the pool, so GitOps
   * does not fight it; CAPI then starts the pool at the autoscaler minimum.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Smallest size the cluster-autoscaler may scale the pool to; set together with autoscalerMaxReplicas.
   * @default - the pool is not autoscaled
   */
  readonly autoscalerMinReplicas?: number;
  /**
   * Largest size the cluster-autoscaler may scale the pool to; set together with autoscalerMinReplicas.
   * @default - the pool is not autoscaled
   */
  readonly autoscalerMaxReplicas?: number;
  /**
   * Replace machines whose node does not start or stays NotReady (MachineHealthCheck).
   * @default true
   */
  readonly healthCheck?: boolean;
  /**
   * Kubernetes release of the pool's machines. Hold a pool at the current release while the
   * control plane upgrades first, then remove the hold (README, "Upgrades"); never newer than the
   * control plane.
   * @default - the cluster's kubernetesVersion
   */
  readonly kubernetesVersion?: string;
  /**
   * Official system extensions the pool's nodes need on top of the cluster's. The pool then boots
   * its own schematic, so it needs its own template VM (`templateID`).
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
   * Cluster API, the rest by the node itself (lib/node-metadata.ts).
   * @default - none
   */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /**
   * Taints of the pool's nodes, registered by the kubelet.
   * @default - none
   */
  readonly nodeTaints?: readonly NodeTaint[];
}

/** Props of a {@link ProxmoxWorkerPool}. */
export interface ProxmoxWorkerPoolProps extends WorkerPoolOptions {
  /** The cluster the pool's machines join. */
  readonly cluster: ITalosCluster;
}

/**
 * The health-check part of a MachineHealthCheck spec (STACK.md §5.2, as CAPMOX ships it):
 * 15 minutes for a node to start, 5 minutes NotReady/Unknown before remediation, and no
 * remediation when more than 40% of the selected machines are unhealthy at once.
 */
export function workerHealthCheck(clusterName: string, matchLabels: Record<string, string>): MachineHealthCheckSpec {
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
    remediation: { triggerIf: { unhealthyLessThanOrEqualTo: TriggerIf.fromString('40%') } },
  };
}

/**
 * A pool of Talos worker machines: MachineDeployment + ProxmoxMachineTemplate +
 * TalosConfigTemplate + MachineHealthCheck.
 *
 * Both templates are named by content, so any edit rolls the pool instead of being rejected by
 * the providers' immutability webhooks (STACK.md §5.1).
 */
export class ProxmoxWorkerPool extends Construct {
  /** Pool name. */
  public readonly poolName: string;
  /** Name of the MachineDeployment (`<cluster>-<pool>`). */
  public readonly name: string;
  /** The machine template. */
  public readonly machineTemplate: ProxmoxMachineTemplate;
  /** Name of the TalosConfigTemplate (content-addressed). */
  public readonly configTemplateName: string;
  /** Most machines the pool runs: its replicas, or its autoscaler maximum. */
  public readonly maxReplicas: number;
  /** Kubernetes release of the pool's machines. */
  public readonly kubernetesVersion: string;
  /** Image Factory schematic of the pool's nodes: the cluster's, plus the pool's extensions. */
  public readonly schematic: Schematic;
  /** Proxmox node holding the pool's template VM. */
  public readonly sourceNode: string;
  /** VM ID of the pool's template VM. */
  public readonly templateID: number;
  /** Whether the nodes are prepared for Longhorn. */
  public readonly longhorn: boolean;
  /** Labels of the pool's nodes. */
  public readonly nodeLabels: Readonly<Record<string, string>>;
  /** Taints of the pool's nodes. */
  public readonly nodeTaints: readonly NodeTaint[];

  constructor(scope: Construct, id: string, props: ProxmoxWorkerPoolProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.poolName = props.poolName;
    this.name = `${cluster.clusterName}-${props.poolName}`;
    const autoscaled = props.autoscalerMinReplicas !== undefined || props.autoscalerMaxReplicas !== undefined;
    this.longhorn = props.longhorn ?? false;
    this.schematic = cluster.schematic.withExtensions(poolExtensions(props.extensions ?? [], this.longhorn));
    this.sourceNode = props.sourceNode ?? cluster.sourceNode;
    this.templateID = props.templateID ?? cluster.templateID;
    this.nodeLabels = { ...props.nodeLabels };
    this.nodeTaints = [...(props.nodeTaints ?? [])];
    const errors = [
      ...nodeLabelProblems(this.nodeLabels, 'nodeLabels'),
      ...nodeTaintProblems(this.nodeTaints, 'nodeTaints'),
      ...(DNS1123_LABEL.test(props.poolName) ? [] : [{ field: 'poolName', message: `${JSON.stringify(props.poolName)} must be a DNS-1123 label`, severity: 'error' as const }]),
      ...machineSizeProblems(props, ''),
      ...autoscalingProblems(
        { replicas: props.replicas, min: props.autoscalerMinReplicas, max: props.autoscalerMaxReplicas },
        { replicas: 'replicas', min: 'autoscalerMinReplicas', max: 'autoscalerMaxReplicas' },
      ),
      ...nameLengthProblems(cluster.clusterName, [{ name: props.poolName, field: 'poolName' }], 'clusterName')
        .filter((p) => p.field === 'poolName'),
      ...(props.kubernetesVersion === undefined ? [] : poolVersionProblems(
        cluster.talosVersion, cluster.kubernetesVersion, props.kubernetesVersion,
        { talos: 'talosVersion', kubernetes: 'the cluster\'s kubernetesVersion', pool: 'kubernetesVersion' },
      )),
    ].filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new UserError(formatProblems(errors, `worker pool ${props.poolName}: `));
    this.maxReplicas = autoscaled ? props.autoscalerMaxReplicas! : props.replicas ?? 1;
    this.kubernetesVersion = props.kubernetesVersion ?? cluster.kubernetesVersion;
    const labels = { [CLUSTER_NAME_LABEL]: cluster.clusterName };
    const machineLabels = { ...labels, [DEPLOYMENT_NAME_LABEL]: this.name };
    const routed = routeNodeLabels(this.nodeLabels);

    this.machineTemplate = new ProxmoxMachineTemplate(this, 'MachineTemplate', {
      ...props,
      cluster,
      namePrefix: this.name,
      schematic: this.schematic,
    });

    const configSpec: TalosConfigTemplateSpecTemplateSpec = {
      generateType: 'worker',
      talosVersion: cluster.talosVersion,
      strategicPatches: workerStrategicPatches({
        talosVersion: cluster.talosVersion,
        installImage: this.schematic.installerImage(cluster.talosVersion),
        nodeLabels: routed.node,
        registerWithTaints: this.nodeTaints.map(taintString),
        longhorn: this.longhorn,
      }),
    };
    this.configTemplateName = contentAddressedName(this.name, configSpec);
    new TalosConfigTemplate(this, 'ConfigTemplate', {
      metadata: { name: this.configTemplateName, namespace: cluster.namespace, labels },
      spec: { template: { spec: configSpec } },
    });

    new MachineDeployment(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: cluster.namespace,
        labels,
        ...(autoscaled ? {
          annotations: {
            [AUTOSCALER_MIN_ANNOTATION]: String(props.autoscalerMinReplicas),
            [AUTOSCALER_MAX_ANNOTATION]: String(props.autoscalerMaxReplicas),
            ...this.capacityAnnotations(props),
          },
        } : {}),
      },
      spec: {
        clusterName: cluster.clusterName,
        ...(autoscaled ? {} : { replicas: props.replicas ?? 1 }),
        selector: { matchLabels: machineLabels },
        rollout: {
          strategy: {
            type: MachineDeploymentSpecRolloutStrategyType.ROLLING_UPDATE,
            rollingUpdate: { maxSurge: MaxSurge.fromNumber(1), maxUnavailable: MaxUnavailable.fromNumber(0) },
          },
        },
        deletion: { order: MachineDeploymentSpecDeletionOrder.RANDOM },
        template: {
          metadata: { labels: { ...routed.machine, ...machineLabels } },
          spec: {
            clusterName: cluster.clusterName,
            version: this.kubernetesVersion,
            bootstrap: {
              configRef: { apiGroup: API.TalosConfigTemplate.group, kind: 'TalosConfigTemplate', name: this.configTemplateName },
            },
            infrastructureRef: this.machineTemplate.ref,
          },
        },
      },
    });

    if (props.healthCheck ?? true) {
      new MachineHealthCheck(this, 'HealthCheck', {
        metadata: { name: this.name, namespace: cluster.namespace, labels },
        spec: workerHealthCheck(cluster.clusterName, { [DEPLOYMENT_NAME_LABEL]: this.name }),
      });
    }
  }

  /**
   * What one node of the pool offers, for the autoscaler's scale-from-zero (STACK.md §5.3): CPUs,
   * memory and disk of the VM, and the node's labels and taints.
   */
  private capacityAnnotations(props: ProxmoxWorkerPoolProps): Record<string, string> {
    const out: Record<string, string> = {
      [`${AUTOSCALER_CAPACITY_PREFIX}cpu`]: String(props.cores * (props.sockets ?? 1)),
      [`${AUTOSCALER_CAPACITY_PREFIX}memory`]: `${props.memoryMiB}Mi`,
      [`${AUTOSCALER_CAPACITY_PREFIX}ephemeral-disk`]: `${props.diskGiB}Gi`,
    };
    const labels = Object.entries(this.nodeLabels).map(([k, v]) => `${k}=${v}`);
    if (labels.length > 0) out[`${AUTOSCALER_CAPACITY_PREFIX}labels`] = labels.join(',');
    if (this.nodeTaints.length > 0) out[`${AUTOSCALER_CAPACITY_PREFIX}taints`] = this.nodeTaints.map(taintString).join(',');
    return out;
  }
}
