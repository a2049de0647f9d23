import { Violation } from './crd-schema';
import { selectorMatches } from './selectors';
import { describeObject, KubeObject } from '../kube-object';
import { CONTROL_PLANE_LABEL } from '../naming';

type Obj = KubeObject & { spec?: any };

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/**
 * Cross-object checks of one output set, as the controllers will resolve it: every reference
 * points at an object of the same output with matching group, kind, name and namespace, and
 * every selector selects what it is meant to.
 */
export function referenceViolations(objects: readonly Obj[]): Violation[] {
  const out: Violation[] = [];
  const find = (ns: string | undefined, pred: (o: Obj) => boolean) => objects.filter((o) => o.metadata.namespace === ns && pred(o));

  const requireRef = (from: Obj, field: string, ref: { apiGroup?: string; apiVersion?: string; kind?: string; name?: string; namespace?: string } | undefined) => {
    if (!ref) {
      out.push({ object: describeObject(from), field, message: 'is required' });
      return;
    }
    const ns = ref.namespace ?? from.metadata.namespace;
    const match = find(ns, (o) => o.kind === ref.kind && o.metadata.name === ref.name
      && (ref.apiVersion !== undefined ? o.apiVersion === ref.apiVersion : groupOf(o.apiVersion) === ref.apiGroup));
    if (match.length === 0) {
      const what = `${ref.apiVersion ?? ref.apiGroup} ${ref.kind} ${ns}/${ref.name}`;
      out.push({ object: describeObject(from), field, message: `references ${what}, which is not in the output` });
    }
  };
  const requireCluster = (from: Obj, field: string, name: string | undefined) => {
    if (find(from.metadata.namespace, (o) => o.kind === 'Cluster' && o.metadata.name === name).length === 0) {
      out.push({ object: describeObject(from), field, message: `names Cluster ${from.metadata.namespace}/${name}, which is not in the output` });
    }
  };

  for (const o of objects) {
    switch (o.kind) {
      case 'Cluster':
        requireRef(o, 'spec.infrastructureRef', o.spec?.infrastructureRef);
        requireRef(o, 'spec.controlPlaneRef', o.spec?.controlPlaneRef);
        break;
      case 'TalosControlPlane':
        requireRef(o, 'spec.infrastructureTemplate', o.spec?.infrastructureTemplate);
        break;
      case 'MachineDeployment': {
        requireCluster(o, 'spec.clusterName', o.spec?.clusterName);
        requireRef(o, 'spec.template.spec.infrastructureRef', o.spec?.template?.spec?.infrastructureRef);
        requireRef(o, 'spec.template.spec.bootstrap.configRef', o.spec?.template?.spec?.bootstrap?.configRef);
        if (!selectorMatches(o.spec?.selector, o.spec?.template?.metadata?.labels)) {
          out.push({ object: describeObject(o), field: 'spec.selector', message: 'does not match spec.template.metadata.labels; the MachineDeployment would own none of its Machines' });
        }
        break;
      }
      case 'MachineHealthCheck': {
        requireCluster(o, 'spec.clusterName', o.spec?.clusterName);
        const selector = o.spec?.selector;
        const pools = find(o.metadata.namespace, (x) => x.kind === 'MachineDeployment' && x.spec?.clusterName === o.spec?.clusterName
          && selectorMatches(selector, x.spec?.template?.metadata?.labels));
        const controlPlane = Object.prototype.hasOwnProperty.call(selector?.matchLabels ?? {}, CONTROL_PLANE_LABEL)
          && find(o.metadata.namespace, (x) => x.kind === 'TalosControlPlane').length > 0;
        if (pools.length === 0 && !controlPlane) {
          out.push({ object: describeObject(o), field: 'spec.selector', message: `selects no Machines of cluster ${o.spec?.clusterName}: it matches no MachineDeployment's machine labels and is not a control-plane selector` });
        }
        break;
      }
      case 'ClusterResourceSet': {
        (o.spec?.resources ?? []).forEach((r: { kind: string; name: string }, i: number) => {
          if (find(o.metadata.namespace, (x) => x.apiVersion === 'v1' && x.kind === r.kind && x.metadata.name === r.name).length === 0) {
            out.push({ object: describeObject(o), field: `spec.resources[${i}]`, message: `names ${r.kind} ${o.metadata.namespace}/${r.name}, which is not in the output (it must be in the resource set's namespace)` });
          }
        });
        const clusters = find(o.metadata.namespace, (x) => x.kind === 'Cluster' && selectorMatches(o.spec?.clusterSelector, x.metadata.labels as Record<string, string>));
        if (clusters.length === 0) {
          out.push({ object: describeObject(o), field: 'spec.clusterSelector', message: 'selects no Cluster of the output in its namespace; its resources would never be applied' });
        }
        break;
      }
      default:
    }
  }

  // Machine health checks must not overlap (STACK.md §5.2).
  const mhcs = objects.filter((o) => o.kind === 'MachineHealthCheck');
  for (const md of objects.filter((o) => o.kind === 'MachineDeployment')) {
    const selecting = mhcs.filter((m) => m.metadata.namespace === md.metadata.namespace && m.spec?.clusterName === md.spec?.clusterName
      && selectorMatches(m.spec?.selector, md.spec?.template?.metadata?.labels));
    if (selecting.length > 1) {
      out.push({ object: describeObject(md), field: 'spec.template.metadata.labels', message: `selected by ${selecting.length} MachineHealthChecks (${selecting.map((m) => m.metadata.name).join(', ')}); they must not overlap` });
    }
  }
  return out;
}
