import { Construct } from 'constructs';
import { ITalosCluster } from './cluster-ref';
import { UserError } from './errors';
import { workerStrategicPatches } from './machine-config';
import { CLUSTER_NAME_LABEL, contentAddressedName, DEPLOYMENT_NAME_LABEL, DNS1123_LABEL } from './naming';
import { ProxmoxMachineOptions, ProxmoxMachineTemplate } from './proxmox-machine-template';
import { API } from './stack';
import { autoscalingProblems, formatProblems, machineSizeProblems, nameLengthProblems, poolVersionProblems } from './validation/cluster-rules';
import { TalosConfigTemplate, TalosConfigTemplateSpecTemplateSpec } from '../imports/bootstrap.cluster.x-k8s.io';
import {
  MachineDeployment,
  MachineDeploymentSpecDeletionOrder,
  MachineDeploymentSpecRolloutStrategyRollingUpdateMaxSurge as MaxSurge,
  MachineDeploymentSpecRolloutStrategyRollingUpdateMaxUnavailable as MaxUnavailable,
  MachineDeploymentSpecRolloutStrategyType,
  MachineHealthCheck,
  MachineHealthCheckSpec,
  MachineHealthCheckSpecRemediationTriggerIfUnhealthyLessThanOrEqualTo as TriggerIf,
} from '../imports/cluster.x-k8s.io';

/** Annotations the cluster-autoscaler's clusterapi provider reads (STACK.md §5.3). */
export const AUTOSCALER_MIN_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
/** See {@link AUTOSCALER_MIN_ANNOTATION}. */
export const AUTOSCALER_MAX_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';

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

  constructor(scope: Construct, id: string, props: ProxmoxWorkerPoolProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.poolName = props.poolName;
    this.name = `${cluster.clusterName}-${props.poolName}`;
    const autoscaled = props.autoscalerMinReplicas !== undefined || props.autoscalerMaxReplicas !== undefined;
    const errors = [
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

    this.machineTemplate = new ProxmoxMachineTemplate(this, 'MachineTemplate', {
      ...props,
      cluster,
      namePrefix: this.name,
    });

    const configSpec: TalosConfigTemplateSpecTemplateSpec = {
      generateType: 'worker',
      talosVersion: cluster.talosVersion,
      strategicPatches: workerStrategicPatches({
        talosVersion: cluster.talosVersion,
        installImage: cluster.schematic.installerImage(cluster.talosVersion),
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
          metadata: { labels: machineLabels },
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
}
