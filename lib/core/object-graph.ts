import { apiGroupOf, KubeObject } from './kube-object';
import { CONTROL_PLANE_LABEL } from './naming';
import { LabelSelector, selectorMatches } from './selectors';

/**
 * A typed object reference (`apiGroup` or `apiVersion`, `kind`, `name`, optional `namespace`), as
 * Cluster, TalosControlPlane and MachineDeployment use them.
 *
 * `namespace` is already defaulted to the source object's namespace, as the controllers do.
 */
export interface TypedTarget {
  readonly by: 'ref';
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** A required typed reference field that is not set at all; it can never resolve. */
export interface UnsetTarget {
  readonly by: 'unset';
}

/**
 * A Cluster named by `clusterName` in the source's namespace; CAPI matches it by name only, so
 * any API version of Cluster counts.
 */
export interface ClusterNameTarget {
  readonly by: 'clusterName';
  readonly name?: string;
  readonly namespace?: string;
}

/**
 * A ConfigMap or Secret named by a ClusterResourceSet; it is always looked up in the core group
 * and in the resource set's own namespace, whatever the entry says.
 */
export interface ResourceTarget {
  readonly by: 'resource';
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/**
 * Objects chosen by a label selector: Clusters (by their labels) for a resource set, Machines for
 * a health check (resolved to what creates them, since Machines are not in the output).
 */
export interface SelectorTarget {
  readonly by: 'selector';
  /** What the selector picks among the live objects. */
  readonly kind: 'Cluster' | 'Machine';
  readonly selector?: LabelSelector;
  /** The cluster the selected Machines belong to (health checks only). */
  readonly clusterName?: string;
  readonly namespace?: string;
}

/** What a reference field points at, in the form the field states it. */
export type ReferenceTarget = TypedTarget | UnsetTarget | ClusterNameTarget | ResourceTarget | SelectorTarget;

/** One field of one object that points at other objects, and what it resolves to in the output. */
export interface ObjectReference {
  /** The object holding the field. */
  readonly from: KubeObject;
  /** Field path in the source object, e.g. `spec.template.spec.bootstrap.configRef` or `spec.resources[0]`. */
  readonly field: string;
  /** What the field points at. */
  readonly target: ReferenceTarget;
  /**
   * The objects of the same output the field resolves to, in output order; empty when it does
   * not resolve. For a health check's selector these are the MachineDeployments and
   * TalosControlPlanes whose Machines it selects.
   */
  readonly resolved: readonly KubeObject[];
}

/** A typed reference as a spec holds it: any part may be missing. */
interface RefField {
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/**
 * The spec fields that reference other objects, across the kinds that have them (Cluster,
 * TalosControlPlane, MachineDeployment, MachineHealthCheck, ClusterResourceSet); any may be missing.
 */
export interface ReferencingSpec {
  readonly infrastructureRef?: RefField;
  readonly controlPlaneRef?: RefField;
  readonly infrastructureTemplate?: RefField;
  readonly clusterName?: string;
  readonly selector?: LabelSelector;
  readonly clusterSelector?: LabelSelector;
  readonly resources?: readonly { readonly kind: string; readonly name: string }[];
  readonly template?: {
    readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
    readonly spec?: {
      readonly infrastructureRef?: RefField;
      readonly bootstrap?: { readonly configRef?: RefField };
      /** A ProxmoxMachineTemplate's NICs, whose `ipPoolRef`s name IPAM pools. */
      readonly network?: { readonly networkDevices?: readonly { readonly ipPoolRef?: readonly RefField[] }[] };
    };
  };
}

type Spec = { spec?: ReferencingSpec };

/**
 * The references of one object, resolved against the output it belongs to.
 *
 * Exposed beside objectReferences so that per-object checks can keep their findings next to the
 * object's other findings; the order of fields is fixed per kind.
 */
export function referencesFrom(from: KubeObject, objects: readonly KubeObject[]): ObjectReference[] {
  const o = from as KubeObject & Spec;
  const spec = o.spec;
  const ns = o.metadata.namespace;
  const inNamespace = (namespace: string | undefined, pred: (x: KubeObject & Spec) => boolean) =>
    (objects as readonly (KubeObject & Spec)[]).filter((x) => x.metadata.namespace === namespace && pred(x));

  const typed = (field: string, ref: RefField | undefined): ObjectReference => {
    if (!ref) return { from, field, target: { by: 'unset' }, resolved: [] };
    const target: TypedTarget = { by: 'ref', apiGroup: ref.apiGroup, apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: ref.namespace ?? ns };
    // v1beta2 references carry apiGroup (any version resolves); older ones a full apiVersion.
    const resolved = inNamespace(target.namespace, (x) => x.kind === ref.kind && x.metadata.name === ref.name
      && (ref.apiVersion !== undefined ? x.apiVersion === ref.apiVersion : apiGroupOf(x.apiVersion) === ref.apiGroup));
    return { from, field, target, resolved };
  };
  const clusterName = (name: string | undefined): ObjectReference => ({
    from,
    field: 'spec.clusterName',
    target: { by: 'clusterName', name, namespace: ns },
    resolved: inNamespace(ns, (x) => x.kind === 'Cluster' && x.metadata.name === name),
  });

  switch (o.kind) {
    case 'Cluster':
      return [
        typed('spec.infrastructureRef', spec?.infrastructureRef),
        typed('spec.controlPlaneRef', spec?.controlPlaneRef),
      ];
    case 'TalosControlPlane':
      return [typed('spec.infrastructureTemplate', spec?.infrastructureTemplate)];
    case 'ProxmoxMachineTemplate': {
      // CAPMOX claims each NIC's address from the IPAM pool it names, in the template's namespace.
      const refs: ObjectReference[] = [];
      (spec?.template?.spec?.network?.networkDevices ?? []).forEach((d, i) => (d.ipPoolRef ?? []).forEach((r, j) => {
        refs.push(typed(`spec.template.spec.network.networkDevices[${i}].ipPoolRef[${j}]`, r));
      }));
      return refs;
    }
    case 'MachineDeployment':
      return [
        clusterName(spec?.clusterName),
        typed('spec.template.spec.infrastructureRef', spec?.template?.spec?.infrastructureRef),
        typed('spec.template.spec.bootstrap.configRef', spec?.template?.spec?.bootstrap?.configRef),
      ];
    case 'MachineHealthCheck': {
      const selector: LabelSelector | undefined = spec?.selector;
      const pools = inNamespace(ns, (x) => x.kind === 'MachineDeployment' && x.spec?.clusterName === spec?.clusterName
        && selectorMatches(selector, x.spec?.template?.metadata?.labels));
      // Control-plane Machines carry the label with an empty value; CACPPT sets it, so a selector
      // naming the key means the control plane's Machines.
      const controlPlanes = Object.prototype.hasOwnProperty.call(selector?.matchLabels ?? {}, CONTROL_PLANE_LABEL)
        ? inNamespace(ns, (x) => x.kind === 'TalosControlPlane')
        : [];
      const picked = new Set<KubeObject>([...pools, ...controlPlanes]);
      return [
        clusterName(spec?.clusterName),
        {
          from,
          field: 'spec.selector',
          target: { by: 'selector', kind: 'Machine', selector, clusterName: spec?.clusterName, namespace: ns },
          resolved: objects.filter((x) => picked.has(x)),
        },
      ];
    }
    case 'ClusterResourceSet': {
      const resources: ObjectReference[] = [];
      // forEach, not map: it skips the holes of a sparse list (objects built in code), as the gate always has.
      (spec?.resources ?? []).forEach((r: { kind: string; name: string }, i: number) => resources.push({
        from,
        field: `spec.resources[${i}]`,
        target: { by: 'resource', kind: r.kind, name: r.name, namespace: ns },
        resolved: inNamespace(ns, (x) => x.apiVersion === 'v1' && x.kind === r.kind && x.metadata.name === r.name),
      }));
      const selector: LabelSelector | undefined = spec?.clusterSelector;
      return [
        ...resources,
        {
          from,
          field: 'spec.clusterSelector',
          target: { by: 'selector', kind: 'Cluster', selector, namespace: ns },
          resolved: inNamespace(ns, (x) => x.kind === 'Cluster' && selectorMatches(selector, x.metadata.labels as Record<string, string>)),
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * Every reference between the objects of one output, as the Cluster API controllers resolve them.
 *
 * The one place that knows which fields reference what and how they match (namespace defaulting,
 * apiGroup vs apiVersion, selectors), so the output gate and the diagram cannot disagree.
 * References come in object order, then in a fixed field order per kind.
 */
export function objectReferences(objects: readonly KubeObject[]): ObjectReference[] {
  return objects.flatMap((o) => referencesFrom(o, objects));
}

/**
 * What a reference points at, in words, e.g. `infrastructure.cluster.x-k8s.io ProxmoxCluster default/homelab`.
 *
 * Shared by the gate's messages and the diagram's placeholders for unresolved references.
 */
export function describeTarget(target: ReferenceTarget): string {
  switch (target.by) {
    case 'ref': return `${target.apiVersion ?? target.apiGroup} ${target.kind} ${target.namespace}/${target.name}`;
    case 'unset': return 'nothing (not set)';
    case 'clusterName': return `Cluster ${target.namespace}/${target.name}`;
    case 'resource': return `${target.kind} ${target.namespace}/${target.name}`;
    case 'selector': return target.kind === 'Machine'
      ? `Machines of cluster ${target.clusterName} matching a selector`
      : 'Clusters matching a selector';
  }
}
