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

/** A subgraph of the diagram: an object that stands for a part of the cluster, and what it pulls in. */
interface Group {
  readonly id: string;
  readonly title: string;
  readonly members: KubeObject[];
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

/** Markdown as a table cell: GitHub splits cells at every unescaped pipe, even inside code spans. */
function cell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|');
}

/** A non-negative integer, or undefined for anything else (the diagram must not crash on odd input). */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
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
      return replicas !== undefined ? `${replicas} replicas` : undefined;
    }
    case 'MachineDeployment': {
      const replicas = count(spec?.replicas);
      if (replicas !== undefined) return `${replicas} replicas`;
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
 * Subgraphs derived from the references: the control plane (what a Cluster's controlPlaneRef
 * resolves to), each MachineDeployment (worker pool) and each ClusterResourceSet (add-on), each
 * with the objects it references by type, transitively, and the health checks that select only
 * its Machines. An object joins the first group that reaches it, in object order; the rest (the
 * Cluster and its infrastructure) stays at the top level.
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
    if (title !== undefined) claim({ id: `g${next++}`, title, members: [] }, o);
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
 * The README of one cluster's output folder: a Mermaid flowchart of every object and every
 * reference between them, and a table of the objects.
 *
 * Reviewers see the shape of a cluster (what points at what, which template a pool uses) at a
 * glance, and GitHub renders it. Everything comes from the objects and lib/object-graph.ts, so
 * the diagram shows exactly what the output gate checked; node ids are positional (n0, n1, …)
 * and the order is the objects' order, so the text is byte-identical across runs.
 */
export function clusterDiagram(objects: readonly KubeObject[], options: ClusterDiagramOptions): string {
  const refs = objectReferences(objects);
  const ids = new Map<KubeObject, string>();
  objects.forEach((o) => { if (!ids.has(o)) ids.set(o, `n${ids.size}`); });
  const groupOf = groupObjects(objects, refs);

  const node = (o: KubeObject) => {
    const parts = [o.kind, o.metadata.name, keyFact(o as Obj)].filter((p): p is string => p !== undefined);
    return `${ids.get(o)}["${parts.map(mermaidText).join('<br/>')}"]`;
  };
  const lines = ['flowchart TB'];
  const emitted = new Set<unknown>();
  for (const o of objects) {
    if (emitted.has(o)) continue;
    const group = groupOf.get(o);
    if (group === undefined) {
      lines.push(`  ${node(o)}`);
      emitted.add(o);
    } else if (!emitted.has(group)) {
      lines.push(`  subgraph ${group.id} ["${mermaidText(group.title)}"]`);
      for (const m of group.members) {
        lines.push(`    ${node(m)}`);
        emitted.add(m);
      }
      lines.push('  end');
      emitted.add(group);
    }
  }

  let unresolved = 0;
  for (const ref of refs) {
    const arrow = isTyped(ref.target) ? '-->' : '-.->';
    const edge = (to: string) => `  ${ids.get(ref.from)} ${arrow}|"${mermaidText(shortField(ref.field))}"| ${to}`;
    if (ref.resolved.length === 0) {
      // A placeholder per dangling reference, so the diagram shows the break instead of hiding it.
      const id = `u${unresolved++}`;
      lines.push(`  ${id}["${mermaidText(unresolvedLabel(ref.target))}"]:::unresolved`);
      lines.push(edge(id));
    } else {
      for (const target of ref.resolved) lines.push(edge(ids.get(target)!));
    }
  }
  if (unresolved > 0) lines.push('  classDef unresolved stroke:#c00,stroke-dasharray:4 3,color:#c00');

  const table = [
    '| kind | name | API version | part of |',
    '|---|---|---|---|',
    ...objects.map((o) => `| ${[o.kind, codeSpan(o.metadata.name), codeSpan(o.apiVersion), groupOf.get(o)?.title ?? 'cluster'].map(cell).join(' | ')} |`),
  ];

  return [
    `# ${options.clusterName}`,
    '',
    `Generated by \`cdk8s synth\` from ${codeSpan(options.sourceFile)}; do not edit.`,
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
    'Solid arrows are references by kind and name, dotted ones by cluster name or label selector.',
    '',
    ...table,
    '',
  ].join('\n');
}
