import { createHash } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  ClusterResourceSet,
  ClusterResourceSetSpecResourcesKind,
  ClusterResourceSetSpecStrategy,
} from '../../../imports/addons.cluster.x-k8s.io';
import { UserError } from '../../core/errors';
import { renderChart } from '../../core/helm';
import { KubeObject } from '../../core/kube-object';
import { CLUSTER_NAME_LABEL } from '../../core/naming';
import { PinnedChart } from '../../core/stack';
import { ITalosCluster } from '../cluster-ref';

/** How a ClusterResourceSet applies its resources (immutable once created, STACK.md §4.2). */
export enum ResourceSetStrategy {
  /** Create once; later changes of the ConfigMap are never applied. */
  APPLY_ONCE = 'ApplyOnce',
  /** Re-apply (Get + MergePatch) whenever the ConfigMap content changes. */
  RECONCILE = 'Reconcile',
}

/**
 * Whether a rendered object is a one-shot Job. A `Reconcile` re-apply patches the live object from
 * the payload (Get + merge patch, STACK.md §9.5), which nulls a Job's server-generated
 * `spec.selector` and the controller-uid labels of its pod template: the API server refuses that
 * change of immutable fields, and the resource set stays `ResourcesApplied=False`.
 */
export function isOneShotJob(o: KubeObject): boolean {
  return o.apiVersion === 'batch/v1' && o.kind === 'Job';
}

/** Hex characters of the content hash in the name of a {@link ChartResourceSet.jobs} ConfigMap. */
const CONTENT_HASH_LENGTH = 10;

/**
 * Most data one ConfigMap of a resource set carries. Kubernetes caps an object at 1 MiB; the
 * margin leaves room for metadata and for the server-side-apply bookkeeping of GitOps agents.
 */
export const MAX_CONFIGMAP_DATA_BYTES = 900 * 1024;

/** Props of a {@link ChartResourceSet}. */
export interface ChartResourceSetProps {
  /** The workload cluster the chart is installed into. */
  readonly cluster: ITalosCluster;
  /** Short name of the add-on; objects are named `<cluster>-<addonName>`. */
  readonly addonName: string;
  /** The pinned chart to render. */
  readonly chart: PinnedChart;
  /**
   * Helm release name.
   * @default - the chart name
   */
  readonly releaseName?: string;
  /**
   * Namespace of the release inside the workload cluster.
   * @default 'kube-system'
   */
  readonly releaseNamespace?: string;
  /**
   * Chart values.
   * @default - the chart's defaults
   */
  readonly values?: object;
  /**
   * How the resource set applies the manifests.
   * @default ResourceSetStrategy.RECONCILE
   */
  readonly strategy?: ResourceSetStrategy;
}

/** The resource set that creates the one-shot Jobs of a chart, once per Job spec. */
export interface OneShotJobSet {
  /** Name of the ClusterResourceSet (`<cluster>-<addon>-jobs`, strategy ApplyOnce). */
  readonly name: string;
  /** Name of its ConfigMap, `<name>-<hash of its content>`: a new Job spec makes a new ConfigMap. */
  readonly configMapName: string;
  /** The Jobs, in render order. */
  readonly objects: readonly KubeObject[];
}

/**
 * A Helm chart rendered at synth time and delivered to a workload cluster by a
 * ClusterResourceSet: ConfigMap(s) with the manifests plus the resource set selecting the
 * Cluster by its `cluster.x-k8s.io/cluster-name` label (STACK.md §4.2).
 *
 * With `strategy: Reconcile`, one-shot Jobs of the render (Cilium's Hubble certificate Job) go to
 * a second resource set with strategy ApplyOnce ({@link ChartResourceSet.jobs}): CAPI v1.12 creates
 * its objects and ignores AlreadyExists, and applies a resource only when the cluster's binding
 * has no applied entry for that ConfigMap name (`clusterresourceset_scope.go@v1.12.11`
 * `reconcileApplyOnceScope`). The ConfigMap is named after a hash of its content, so a new Job spec
 * (which charts such as Cilium's also name after its hash) is created once as a new object, and a
 * value change that leaves the Jobs alone applies nothing. Every object of the `Reconcile` payload
 * can be re-applied without changing an immutable field (test/constructs/addons/reapply.test.ts).
 *
 * The render must be free of Secrets: anything in dist/ is committed to git.
 */
export class ChartResourceSet extends Construct {
  /** Name of the ClusterResourceSet. */
  public readonly name: string;
  /** Names of the ConfigMaps holding the manifests, in apply order. */
  public readonly configMapNames: string[];
  /** The rendered objects, in the order they are applied (the {@link jobs} among them). */
  public readonly objects: readonly KubeObject[];
  /**
   * The resource set of the render's one-shot Jobs.
   * @default - none: the render has no Job, or the strategy is ApplyOnce anyway
   */
  public readonly jobs?: OneShotJobSet;

  constructor(scope: Construct, id: string, props: ChartResourceSetProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.name = `${cluster.clusterName}-${props.addonName}`;
    const render = renderChart({
      chart: props.chart,
      releaseName: props.releaseName ?? props.chart.name,
      namespace: props.releaseNamespace ?? 'kube-system',
      values: props.values ?? {},
      kubeVersion: cluster.kubernetesVersion,
    });
    this.objects = render.objects;
    for (const o of this.objects) {
      if (o.kind === 'Secret' && (o.data !== undefined || o.stringData !== undefined)) {
        throw new UserError(`chart ${props.chart.name} renders Secret ${o.metadata.name} with data; nothing secret may be synthesized into dist/ (change the chart values so the secret is created in the cluster)`);
      }
    }

    const strategy = props.strategy ?? ResourceSetStrategy.RECONCILE;
    const labels = { [CLUSTER_NAME_LABEL]: cluster.clusterName };
    // helm.ts guarantees documents[i] is the text of objects[i].
    const split = strategy === ResourceSetStrategy.RECONCILE;
    const oneShot = render.objects.map((o) => split && isOneShotJob(o));
    const reconciled = render.documents.filter((_, i) => !oneShot[i]);
    const jobDocs = render.documents.filter((_, i) => oneShot[i]);

    const chunks = chunkDocuments(reconciled);
    this.configMapNames = chunks.map((_, i) => chunks.length === 1 ? this.name : `${this.name}-${i + 1}`);
    chunks.forEach((docs, i) => {
      // cdk8s-plus writes `immutable: false` explicitly: nothing is left for the API server to fill.
      new kplus.ConfigMap(this, chunks.length === 1 ? 'ConfigMap' : `ConfigMap${i + 1}`, {
        immutable: false,
        metadata: {
          name: this.configMapNames[i],
          namespace: cluster.namespace,
          labels,
          // The manifests embed `${...}` in scripts; Flux post-build substitution must leave them alone.
          annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' },
        },
        data: { [`${props.addonName}.yaml`]: docs.join('---\n') },
      });
    });

    new ClusterResourceSet(this, 'Resource', {
      metadata: { name: this.name, namespace: cluster.namespace, labels },
      spec: {
        clusterSelector: { matchLabels: { ...cluster.selectorLabels } },
        resources: this.configMapNames.map((name) => ({ kind: ClusterResourceSetSpecResourcesKind.CONFIG_MAP, name })),
        strategy: strategy as string as ClusterResourceSetSpecStrategy,
      },
    });

    if (jobDocs.length > 0) {
      const data = jobDocs.join('---\n');
      if (Buffer.byteLength(data) > MAX_CONFIGMAP_DATA_BYTES) throw new UserError(`the Jobs of chart ${props.chart.name} are more than a ConfigMap can carry`);
      const name = `${this.name}-jobs`;
      const configMapName = `${name}-${createHash('sha256').update(data).digest('hex').slice(0, CONTENT_HASH_LENGTH)}`;
      this.jobs = { name, configMapName, objects: render.objects.filter((_, i) => oneShot[i]) };
      new kplus.ConfigMap(this, 'JobsConfigMap', {
        immutable: false,
        metadata: {
          name: configMapName,
          namespace: cluster.namespace,
          labels,
          annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' },
        },
        data: { [`${props.addonName}-jobs.yaml`]: data },
      });
      new ClusterResourceSet(this, 'Jobs', {
        metadata: { name, namespace: cluster.namespace, labels },
        spec: {
          clusterSelector: { matchLabels: { ...cluster.selectorLabels } },
          resources: [{ kind: ClusterResourceSetSpecResourcesKind.CONFIG_MAP, name: configMapName }],
          strategy: ClusterResourceSetSpecStrategy.APPLY_ONCE,
        },
      });
    }
  }
}

/** Groups documents, in order, into chunks of at most {@link MAX_CONFIGMAP_DATA_BYTES}. */
export function chunkDocuments(docs: readonly string[], limit: number = MAX_CONFIGMAP_DATA_BYTES): string[][] {
  const chunks: string[][] = [];
  let size = Infinity;
  for (const doc of docs) {
    const bytes = Buffer.byteLength(doc) + 4;
    if (bytes > limit) throw new UserError(`a single rendered manifest is ${bytes} bytes, more than a ConfigMap can carry (${limit})`);
    if (size + bytes > limit) {
      chunks.push([]);
      size = 0;
    }
    chunks[chunks.length - 1].push(doc);
    size += bytes;
  }
  return chunks;
}
