import { AUTOSCALER_MAX_ANNOTATION, AUTOSCALER_MIN_ANNOTATION } from '../constructs/worker-pool';
import { KubeObject } from '../core/kube-object';
import { describeTarget, ObjectReference, objectReferences, ReferenceTarget } from '../core/object-graph';

/** What {@link clusterDiagram} needs besides the objects. */
export interface ClusterDiagramOptions {
  /** The workload cluster's name, for the heading. */
  readonly clusterName: string;
  /** The config file the output was synthesized from, named in the do-not-edit line. */
  readonly sourceFile: string;
}

/** A part of the cluster: an object that stands for it, and what it pulls in. */
interface Group {
  readonly id: string;
  readonly title: string;
  readonly members: KubeObject[];
  /** The object that stands for the part (claimed first). */
  readonly head: KubeObject;
  /**
   * Drawn as its head's node rather than a subgraph: an add-on render, whose ConfigMaps only carry
   * the manifests its resource set applies.
   */
  readonly single: boolean;
}

/** The spec fields {@link keyFact} reads, any of which may be missing or odd. */
interface FactSpec {
  readonly controlPlaneEndpoint?: { readonly host?: unknown; readonly port?: unknown };
  readonly replicas?: unknown;
  readonly template?: {
    readonly spec?: { readonly numCores?: unknown; readonly memoryMiB?: unknown; readonly numSockets?: unknown; readonly talosVersion?: unknown };
  };
}

type Obj = KubeObject & { spec?: FactSpec };

/**
 * Text for inside a double-quoted Mermaid label.
 *
 * Mermaid has no backslash escapes; it decodes `#name;` and `#code;` entity codes instead, and
 * `<`, `>`, `&` would otherwise be read as HTML by the renderer. `#` goes first so the codes
 * written by the later replacements stay intact.
 */
function mermaidText(text: string): string {
  return text
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/&/g, '#amp;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\|/g, '#124;')
    .replace(/`/g, '#96;')
    .replace(/\s+/g, ' ');
}

/** Text as a markdown inline code span, with a fence longer than any backtick run inside it. */
function codeSpan(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  if (!flat.includes('`')) return `\`${flat}\``;
  const fence = '`'.repeat(Math.max(...(flat.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  return `${fence} ${flat} ${fence}`;
}

/** A non-negative integer, or undefined for anything else (the diagram must not crash on odd input). */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** `1 replica`, `3 replicas`. */
function replicaCount(n: number): string {
  return `${n} replica${n === 1 ? '' : 's'}`;
}

/**
 * The one fact worth seeing on an object's node, or undefined.
 *
 * Limited to what a reviewer checks first (sizes, counts, versions) so labels stay short; the
 * manifests next to the diagram hold the rest.
 */
function keyFact(o: Obj): string | undefined {
  const spec = o.spec;
  switch (o.kind) {
    case 'Cluster': {
      const host = spec?.controlPlaneEndpoint?.host;
      const port = spec?.controlPlaneEndpoint?.port;
      return typeof host === 'string' ? `endpoint ${host}${port !== undefined ? `:${port}` : ''}` : undefined;
    }
    case 'TalosControlPlane': {
      const replicas = count(spec?.replicas);
      return replicas !== undefined ? replicaCount(replicas) : undefined;
    }
    case 'MachineDeployment': {
      const replicas = count(spec?.replicas);
      if (replicas !== undefined) return replicaCount(replicas);
      // Autoscaled pools leave replicas out of git; their bounds are the count to know.
      const annotations = (o.metadata.annotations ?? {}) as Record<string, string>;
      const min = annotations[AUTOSCALER_MIN_ANNOTATION];
      const max = annotations[AUTOSCALER_MAX_ANNOTATION];
      return min !== undefined && max !== undefined ? `autoscaled ${min}-${max}` : undefined;
    }
    case 'ProxmoxMachineTemplate': {
      const vm = spec?.template?.spec;
      const cores = count(vm?.numCores);
      const memory = count(vm?.memoryMiB);
      if (cores === undefined || memory === undefined) return undefined;
      return `${cores * (count(vm?.numSockets) ?? 1)} vCPU, ${memory} MiB`;
    }
    case 'TalosConfigTemplate': {
      const version = spec?.template?.spec?.talosVersion;
      return typeof version === 'string' ? `Talos ${version}` : undefined;
    }
    default:
      return undefined;
  }
}

/** The field's last segment (`configRef`, `resources[0]`): the rest is implied by the kind. */
function shortField(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}

/** Whether a reference names its target by group, kind and name (solid edge) rather than by a name or a selector (dotted). */
function isTyped(target: ReferenceTarget): boolean {
  return target.by === 'ref' || target.by === 'unset' || target.by === 'resource';
}

/** Label of the placeholder node an unresolved reference points at. */
function unresolvedLabel(target: ReferenceTarget): string {
  switch (target.by) {
    case 'selector': return 'selects nothing';
    case 'unset': return 'not set';
    default: return `missing: ${describeTarget(target)}`;
  }
}

/**
 * Parts derived from the references: the control plane (what a Cluster's controlPlaneRef
 * resolves to), each MachineDeployment (worker pool) and each ClusterResourceSet (add-on), each
 * with the objects it references by type, transitively, and the health checks that select only
 * its Machines. An object joins the first group that reaches it, in object order; the rest (the
 * Cluster and its infrastructure) stays at the top level. The control plane and the pools are
 * drawn as subgraphs, an add-on as one node ({@link Group.single}).
 */
function groupObjects(objects: readonly KubeObject[], refs: readonly ObjectReference[]): Map<KubeObject, Group> {
  const bySource = new Map<KubeObject, ObjectReference[]>();
  for (const ref of refs) {
    const list = bySource.get(ref.from);
    if (list) list.push(ref);
    else bySource.set(ref.from, [ref]);
  }
  const controlPlanes = new Set(refs.filter((r) => r.from.kind === 'Cluster' && r.field === 'spec.controlPlaneRef').flatMap((r) => r.resolved));

  const groupOf = new Map<KubeObject, Group>();
  const claim = (group: Group, o: KubeObject) => {
    if (groupOf.has(o)) return;
    groupOf.set(o, group);
    group.members.push(o);
    for (const ref of bySource.get(o) ?? []) {
      if (isTyped(ref.target)) ref.resolved.forEach((t) => claim(group, t));
    }
  };
  let next = 0;
  for (const o of objects) {
    if (groupOf.has(o)) continue;
    let title: string | undefined;
    if (controlPlanes.has(o)) title = 'control plane';
    else if (o.kind === 'MachineDeployment') title = `worker pool ${o.metadata.name}`;
    else if (o.kind === 'ClusterResourceSet') title = `add-on ${o.metadata.name}`;
    if (title !== undefined) claim({ id: `g${next++}`, title, members: [], head: o, single: o.kind === 'ClusterResourceSet' }, o);
  }
  for (const ref of refs) {
    if (ref.from.kind !== 'MachineHealthCheck' || ref.target.by !== 'selector' || groupOf.has(ref.from)) continue;
    const groups = new Set(ref.resolved.map((t) => groupOf.get(t)));
    const [only] = groups;
    if (groups.size === 1 && only !== undefined) claim(only, ref.from);
  }
  // Members in object order, whatever order the claims came in.
  const index = new Map(objects.map((o, i) => [o, i]));
  for (const group of new Set(groupOf.values())) group.members.sort((a, b) => index.get(a)! - index.get(b)!);
  return groupOf;
}

/**
 * The objects drawn in another object's node, each with that host: those that exist only for one
 * other object (and, in this project's output, are named after it). The ConfigMaps of an add-on
 * render are drawn in its resource set's node, and a health check whose selector resolves to one
 * MachineDeployment (or control plane) in that object's node; their references inside the node are
 * not drawn, and their other references start at the host.
 */
function hostObjects(refs: readonly ObjectReference[], groupOf: ReadonlyMap<KubeObject, Group>): Map<KubeObject, KubeObject> {
  const host = new Map<KubeObject, KubeObject>();
  for (const group of new Set(groupOf.values())) {
    if (group.single) group.members.filter((m) => m !== group.head).forEach((m) => host.set(m, group.head));
  }
  for (const ref of refs) {
    if (ref.from.kind === 'MachineHealthCheck' && ref.target.by === 'selector' && ref.resolved.length === 1) host.set(ref.from, ref.resolved[0]);
  }
  return host;
}

/** Label of a node: kind, name and {@link keyFact} of its object, then `+ <kind>` per guest (with its name when that differs). */
function nodeLabel(o: KubeObject, guests: readonly KubeObject[]): string {
  const extra = guests.map((g) => `+ ${g.kind}${g.metadata.name !== o.metadata.name ? ` ${g.metadata.name}` : ''}`);
  return [o.kind, o.metadata.name, keyFact(o as Obj), ...extra].filter((p): p is string => p !== undefined).map(mermaidText).join('<br>');
}

/**
 * The README of one cluster's output folder: a Mermaid flowchart of the cluster's objects and the
 * references between them, each labelled with its kind, name and one key fact.
 *
 * Reviewers see the shape of a cluster (what points at what, which template a pool uses) at a
 * glance, and GitHub renders it. Everything comes from the objects and lib/object-graph.ts, so
 * the diagram shows exactly what the output gate checked. The control plane and each worker pool
 * are subgraphs; each add-on render is one node, its resource set's, and each pool's health check
 * is drawn in its MachineDeployment's node ({@link hostObjects}): `+ ConfigMap`,
 * `+ MachineHealthCheck`. Every reference is an edge, once, except those inside a node. Node ids
 * are positional (n0, n1, …) over the nodes drawn, in the objects' order, so the text is
 * byte-identical across runs.
 */
export function clusterDiagram(objects: readonly KubeObject[], options: ClusterDiagramOptions): string {
  const refs = objectReferences(objects);
  const groupOf = groupObjects(objects, refs);
  const host = hostObjects(refs, groupOf);
  const drawnAs = (o: KubeObject) => host.get(o) ?? o;
  const ids = new Map<KubeObject, string>();
  const guests = new Map<KubeObject, KubeObject[]>();
  for (const o of objects) {
    const d = drawnAs(o);
    if (!ids.has(d)) ids.set(d, `n${ids.size}`);
    if (d !== o) guests.set(d, [...(guests.get(d) ?? []), o]);
  }
  const node = (o: KubeObject) => `${ids.get(o)}["${nodeLabel(o, guests.get(o) ?? [])}"]`;

  const lines = ['flowchart TB'];
  const emitted = new Set<Group>();
  for (const o of objects.filter((x) => !host.has(x))) {
    const group = groupOf.get(o);
    if (group === undefined || group.single) {
      lines.push(`  ${node(o)}`);
    } else if (!emitted.has(group)) {
      lines.push(`  subgraph ${group.id} ["${mermaidText(group.title)}"]`);
      for (const m of group.members.filter((x) => !host.has(x))) lines.push(`    ${node(m)}`);
      lines.push('  end');
      emitted.add(group);
    }
  }

  let unresolved = 0;
  // Edge lines (and their placeholders) in reference order, each once.
  const edgeLines = new Set<string>();
  for (const ref of refs) {
    const from = ids.get(drawnAs(ref.from))!;
    const arrow = isTyped(ref.target) ? '-->' : '-.->';
    const edge = (to: string) => `  ${from} ${arrow}|"${mermaidText(shortField(ref.field))}"| ${to}`;
    if (ref.resolved.length === 0) {
      // A placeholder per dangling reference, so the diagram shows the break instead of hiding it.
      const id = `u${unresolved++}`;
      edgeLines.add(`  ${id}["${mermaidText(unresolvedLabel(ref.target))}"]:::unresolved`);
      edgeLines.add(edge(id));
    } else {
      // Inside a node, a reference is what the node says; a guest's other references are its host's too (once).
      for (const to of ref.resolved.map((t) => ids.get(drawnAs(t))!)) if (to !== from) edgeLines.add(edge(to));
    }
  }
  lines.push(...edgeLines);
  if (unresolved > 0) lines.push('  classDef unresolved stroke:#c00,stroke-dasharray:4 3,color:#c00');

  return [
    `# ${options.clusterName}`,
    '',
    `Generated by \`cdk8s synth\` from ${codeSpan(options.sourceFile)}; do not edit. The cluster's objects and their`,
    'references: solid arrows by kind and name, dotted ones by cluster name or label selector. `+ Kind` is an object',
    'of that name drawn in the node it serves: a shared add-on render\'s ConfigMaps (`dist/_addons/`), a pool\'s health check.',
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
  ].join('\n');
}
