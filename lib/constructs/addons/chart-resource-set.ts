import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import {
  ClusterResourceSet,
  ClusterResourceSetSpecResourcesKind,
  ClusterResourceSetSpecStrategy,
} from '../../../imports/addons.cluster.x-k8s.io';
import { UserError } from '../../core/errors';
import { ChartRender, renderChart } from '../../core/helm';
import { KubeObject } from '../../core/kube-object';
import { textHash } from '../../core/naming';
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

/**
 * Most data one ConfigMap of a resource set carries. Kubernetes caps an object at 1 MiB; the
 * margin leaves room for metadata and for the server-side-apply bookkeeping of GitOps agents.
 */
export const MAX_CONFIGMAP_DATA_BYTES = 900 * 1024;

/** Props of a {@link ChartResourceSet}. */
export interface ChartResourceSetProps {
  /** The workload cluster the chart is installed into. */
  readonly cluster: ITalosCluster;
  /** Short name of the add-on; renders are named `<addonName>-<hash of the render>`. */
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
  /** Name of the ClusterResourceSet and of its ConfigMap (`<addon>-jobs-<hash of the content>`, strategy ApplyOnce). */
  readonly name: string;
  /** Name of its ConfigMap (the same as {@link name}): a new Job spec makes a new ConfigMap. */
  readonly configMapName: string;
  /** The Jobs, in render order. */
  readonly objects: readonly KubeObject[];
}

/** Prefix of the labels that say which render of an add-on a Cluster uses (`<prefix><addon>: <hash>`). */
export const ADDON_LABEL_PREFIX = 'addons.cdk8s-talos-proxmox.dev/';

/**
 * Where the add-on renders of an app live: one chart at the app's root, holding each render once
 * per namespace, whichever clusters use it. Synth writes it to `dist/_addons/<namespace>/`; a
 * library user's `app.synth()` writes it as the chart `addon-renders`.
 */
export class AddonRenders extends Chart {
  /** The store of the app that `scope` belongs to, made on first use. */
  public static of(scope: IConstruct): AddonRenders {
    // An app may hand its store to other apps (synth builds each cluster in an app of its own).
    const shared = scope.node.tryGetContext(ADDON_RENDERS_CONTEXT) as AddonRenders | undefined;
    if (shared instanceof AddonRenders) return shared;
    const root = scope.node.root;
    return (root.node.tryFindChild(ADDON_RENDERS_ID) as AddonRenders | undefined) ?? new AddonRenders(root as Construct, ADDON_RENDERS_ID);
  }

  /**
   * Makes the constructs of `app` store their renders in `store` (of another app): synth gives each
   * cluster an app of its own, because cdk8s resolves a whole app to synthesize one of its charts.
   */
  public static shareWith(app: IConstruct, store: AddonRenders): void {
    app.node.setContext(ADDON_RENDERS_CONTEXT, store);
  }

  private readonly renders = new Map<string, Construct>();

  private constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
  }

  /**
   * The scope of the render `name` in `namespace`: made (and filled by `create`) the first time it
   * is asked for; later callers share it.
   *
   * @returns the render's scope
   */
  public render(namespace: string, name: string, create: (scope: Construct) => void): Construct {
    const key = `${namespace}/${name}`;
    const found = this.renders.get(key);
    if (found) return found;
    const scope = new Construct(this, `${namespace}.${name}`);
    this.renders.set(key, scope);
    create(scope);
    return scope;
  }
}

/** Context key under which an app finds the {@link AddonRenders} of another app. */
const ADDON_RENDERS_CONTEXT = 'cdk8s-talos-proxmox/addon-renders';

/** Construct id of the {@link AddonRenders} chart under an app. */
export const ADDON_RENDERS_ID = 'addon-renders';

/** Hex characters of the content hash in the names of shared renders and in the Clusters' labels. */
const RENDER_HASH_LENGTH = 10;


/**
 * A Helm chart rendered at synth time and delivered to workload clusters by a ClusterResourceSet:
 * ConfigMap(s) with the manifests plus the resource set (STACK.md §4.2).
 *
 * **Stored once per namespace.** The ConfigMaps and the resource set are named after a hash of the
 * render (`<addon>-<hash>`) and live in the app's {@link AddonRenders} chart, shared by every
 * cluster of the namespace whose values render the same manifests; the resource set selects the
 * Clusters labelled `addons.cdk8s-talos-proxmox.dev/<addon>: <hash>`, and this construct puts that
 * label on its cluster. Changing one cluster's values changes that cluster's label, and adds a new
 * render when it is new: never another cluster's objects, never the content of an existing render.
 *
 * With `strategy: Reconcile`, one-shot Jobs of the render (Cilium's Hubble certificate Job) go to
 * a second resource set with strategy ApplyOnce ({@link ChartResourceSet.jobs}): CAPI v1.12 creates
 * its objects and ignores AlreadyExists, and applies a resource only when the cluster's binding
 * has no applied entry for that ConfigMap name (`clusterresourceset_scope.go@v1.12.11`
 * `reconcileApplyOnceScope`). Its name follows its content too, so a new Job spec (which charts such
 * as Cilium's also name after its hash) is created once as a new object, and a value change that
 * leaves the Jobs alone applies nothing. Every object of the `Reconcile` payload can be re-applied
 * without changing an immutable field (test/constructs/addons/reapply.test.ts).
 *
 * The render must be free of Secrets: anything in dist/ is committed to git.
 */
export class ChartResourceSet extends Construct {
  /** Name of the ClusterResourceSet (`<addon>-<hash>`), shared by the clusters that render alike. */
  public readonly name: string;
  /** Names of the ConfigMaps holding the manifests, in apply order. */
  public readonly configMapNames: string[];
  /** The rendered objects, in the order they are applied (the {@link jobs} among them). */
  public readonly objects: readonly KubeObject[];
  /**
   * The render's ClusterResourceSet (L1), in the {@link AddonRenders} chart. Shared: an escape-hatch
   * edit of it reaches every cluster of the namespace that uses the render.
   */
  public readonly resourceSet: ClusterResourceSet;
  /** The label (key and value) the cluster carries to be selected by this render's resource set. */
  public readonly selectorLabel: { readonly key: string; readonly value: string };
  /**
   * The resource set of the render's one-shot Jobs.
   * @default - none: the render has no Job, or the strategy is ApplyOnce anyway
   */
  public readonly jobs?: OneShotJobSet;

  constructor(scope: Construct, id: string, props: ChartResourceSetProps) {
    super(scope, id);
    const cluster = props.cluster;
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
    const { oneShot, chunks, jobDocs, hash } = splitRender(render, strategy);
    const store = AddonRenders.of(this);
    const namespace = cluster.namespace;

    this.name = `${props.addonName}-${hash}`;
    this.selectorLabel = { key: `${ADDON_LABEL_PREFIX}${props.addonName}`, value: hash };
    this.configMapNames = chunks.map((_, i) => chunks.length === 1 ? this.name : `${this.name}-${i + 1}`);
    const rendered = store.render(namespace, this.name, (at) => {
      const labels = { [this.selectorLabel.key]: hash };
      chunks.forEach((docs, i) => renderConfigMap(at, chunks.length === 1 ? 'ConfigMap' : `ConfigMap${i + 1}`, {
        name: this.configMapNames[i], namespace, labels, key: `${props.addonName}.yaml`, data: docs.join('---\n'),
      }));
      new ClusterResourceSet(at, 'Resource', {
        metadata: { name: this.name, namespace, labels },
        spec: {
          clusterSelector: { matchLabels: labels },
          resources: this.configMapNames.map((name) => ({ kind: ClusterResourceSetSpecResourcesKind.CONFIG_MAP, name })),
          strategy: strategy as string as ClusterResourceSetSpecStrategy,
        },
      });
    });
    this.resourceSet = rendered.node.findChild('Resource') as ClusterResourceSet;
    cluster.addClusterLabel(this.selectorLabel.key, this.selectorLabel.value);

    if (jobDocs.length > 0) {
      const data = jobDocs.join('---\n');
      if (Buffer.byteLength(data) > MAX_CONFIGMAP_DATA_BYTES) throw new UserError(`the Jobs of chart ${props.chart.name} are more than a ConfigMap can carry`);
      const jobsHash = textHash([data], RENDER_HASH_LENGTH);
      const name = `${props.addonName}-jobs-${jobsHash}`;
      const key = `${ADDON_LABEL_PREFIX}${props.addonName}-jobs`;
      this.jobs = { name, configMapName: name, objects: render.objects.filter((_, i) => oneShot[i]) };
      store.render(namespace, name, (at) => {
        const labels = { [key]: jobsHash };
        renderConfigMap(at, 'ConfigMap', { name, namespace, labels, key: `${props.addonName}-jobs.yaml`, data });
        new ClusterResourceSet(at, 'Resource', {
          metadata: { name, namespace, labels },
          spec: {
            clusterSelector: { matchLabels: labels },
            resources: [{ kind: ClusterResourceSetSpecResourcesKind.CONFIG_MAP, name }],
            strategy: ClusterResourceSetSpecStrategy.APPLY_ONCE,
          },
        });
      });
      cluster.addClusterLabel(key, jobsHash);
    }
  }
}

/** A render split by strategy: which objects are one-shot Jobs, the documents of each set, the render's hash. */
interface SplitRender {
  readonly oneShot: readonly boolean[];
  /** The reconciled documents, grouped into ConfigMaps. */
  readonly chunks: readonly string[][];
  readonly jobDocs: readonly string[];
  /** Hash of the strategy and the reconciled documents: the render's name and label value. */
  readonly hash: string;
}

/** Split renders by render and strategy: a fleet's clusters share renders, and hashing one is 70 kB of text. */
const splitRenders = new WeakMap<ChartRender, Map<ResourceSetStrategy, SplitRender>>();

function splitRender(render: ChartRender, strategy: ResourceSetStrategy): SplitRender {
  let byStrategy = splitRenders.get(render);
  if (!byStrategy) splitRenders.set(render, byStrategy = new Map());
  const known = byStrategy.get(strategy);
  if (known) return known;
  // helm.ts guarantees documents[i] is the text of objects[i].
  const split = strategy === ResourceSetStrategy.RECONCILE;
  const oneShot = render.objects.map((o) => split && isOneShotJob(o));
  const reconciled = render.documents.filter((_, i) => !oneShot[i]);
  const out = {
    oneShot,
    chunks: chunkDocuments(reconciled),
    jobDocs: render.documents.filter((_, i) => oneShot[i]),
    hash: textHash([strategy, ...reconciled], RENDER_HASH_LENGTH),
  };
  byStrategy.set(strategy, out);
  return out;
}

/** One ConfigMap of a render: the manifests under one key, never substituted by Flux. */
function renderConfigMap(
  scope: Construct, id: string, o: { name: string; namespace: string; labels: Record<string, string>; key: string; data: string },
): void {
  // cdk8s-plus writes `immutable: false` explicitly: nothing is left for the API server to fill.
  new kplus.ConfigMap(scope, id, {
    immutable: false,
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: o.labels,
      // The manifests embed `${...}` in scripts; Flux post-build substitution must leave them alone.
      annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' },
    },
    data: { [o.key]: o.data },
  });
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
