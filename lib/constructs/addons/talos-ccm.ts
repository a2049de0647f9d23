import { Construct } from 'constructs';
import { TALOS_CCM_CHART } from '../../core/stack';
import { ITalosCluster } from '../cluster-ref';
import { ChartResourceSet, ResourceSetStrategy } from './chart-resource-set';

/** Props of a {@link TalosCcmCRS}. */
export interface TalosCcmCRSProps {
  /** The workload cluster the CCM runs in. */
  readonly cluster: ITalosCluster;
  /**
   * Extra chart values.
   * @default - the chart's defaults: controllers cloud-node and node-csr-approval, on control planes
   */
  readonly values?: Record<string, unknown>;
  /**
   * How the resource set applies the manifests.
   * @default ResourceSetStrategy.RECONCILE
   */
  readonly strategy?: ResourceSetStrategy;
}

/**
 * The Talos cloud controller manager, delivered by a ClusterResourceSet.
 *
 * It sets each Node's providerID from Talos platform metadata (`proxmox://<uuid>`, injected by
 * CAPMOX); without it no Machine ever gets a nodeRef (STACK.md §2). Its node-csr-approval
 * controller approves the kubelet serving certificates the machine configs ask for. The
 * ClusterResourceSet is the `Resource` child (`node.defaultChild`).
 */
export class TalosCcmCRS extends ChartResourceSet {
  constructor(scope: Construct, id: string, props: TalosCcmCRSProps) {
    super(scope, id, {
      cluster: props.cluster,
      addonName: 'talos-ccm',
      chart: TALOS_CCM_CHART,
      releaseName: 'talos-cloud-controller-manager',
      releaseNamespace: 'kube-system',
      values: props.values ?? {},
      strategy: props.strategy,
    });
  }
}
