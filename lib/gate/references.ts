import { describeObject, KubeObject } from '../core/kube-object';
import { describeTarget, ObjectReference, ReferencingSpec, referencesFrom } from '../core/object-graph';
import { selectorMatches } from '../core/selectors';
import { Violation } from './crd-schema';

type Obj = KubeObject & { spec?: ReferencingSpec };

/** The gate's finding for a reference that resolves to nothing, worded per kind of target. */
function unresolvedMessage(ref: ObjectReference): string {
  const t = ref.target;
  switch (t.by) {
    case 'unset': return 'is required';
    case 'ref': return `references ${describeTarget(t)}, which is not in the output`;
    case 'clusterName': return `names ${describeTarget(t)}, which is not in the output`;
    case 'resource': return `names ${describeTarget(t)}, which is not in the output (it must be in the resource set's namespace)`;
    case 'selector': return t.kind === 'Cluster'
      ? 'selects no Cluster of the output in its namespace; its resources would never be applied'
      : `selects no Machines of cluster ${t.clusterName}: it matches no MachineDeployment's machine labels and is not a control-plane selector`;
  }
}

/**
 * Cross-object checks of one output set, as the controllers will resolve it: every reference
 * points at an object of the same output with matching group, kind, name and namespace, and
 * every selector selects what it is meant to.
 *
 * What resolves is decided by lib/object-graph.ts, which the diagrams use too; this only turns
 * unresolved references into findings and adds the checks that are not references.
 */
export function referenceViolations(objects: readonly Obj[]): Violation[] {
  const out: Violation[] = [];
  for (const o of objects) {
    // Per object, so each object's findings stay together and in field order.
    for (const ref of referencesFrom(o, objects)) {
      if (ref.resolved.length === 0) out.push({ object: describeObject(o), field: ref.field, message: unresolvedMessage(ref) });
    }
    if (o.kind === 'MachineDeployment' && !selectorMatches(o.spec?.selector, o.spec?.template?.metadata?.labels)) {
      out.push({ object: describeObject(o), field: 'spec.selector', message: 'does not match spec.template.metadata.labels; the MachineDeployment would own none of its Machines' });
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
