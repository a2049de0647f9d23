import { AddressDemand, TalosCluster } from '../constructs/talos-cluster';
import { ProxmoxWorkerPool } from '../constructs/worker-pool';
import { compareText, MANAGEMENT_OUTPUT } from '../core/naming';

/** Options of {@link fleetPage}. */
export interface FleetPageOptions {
  /** The file each cluster comes from (`clusters/homelab.yaml`), by cluster name, relative to the project. */
  readonly sourceFiles: ReadonlyMap<string, string>;
}

/** Path of the fleet page in dist/. */
export const FLEET_PAGE = 'README.md';

/** The columns of the fleet table, in order; a number column is right-aligned. */
const COLUMNS: readonly { readonly title: string; readonly number?: boolean }[] = [
  { title: 'cluster' }, { title: 'source' }, { title: 'namespace' }, { title: 'Kubernetes' }, { title: 'Talos' },
  { title: 'control plane', number: true }, { title: 'workers (autoscaler bounds)' }, { title: 'VIP' },
  { title: 'node addresses needed / held' }, { title: 'template VMs' }, { title: 'addon renders' }, { title: 'docs' },
];

/**
 * Text as table-cell markdown that shows it verbatim: whitespace runs (newlines) become one space,
 * and the characters that start inline markdown (code, emphasis, links, HTML, entities) and the
 * backslash are backslash-escaped; {@link cell} escapes `|`. Dots and dashes stay readable.
 */
function text(value: string): string {
  return value.replace(/\s+/g, ' ').replace(/[\\`*_[\]<>&~!]/g, '\\$&');
}

/**
 * A value from a config as an inline code span, with a fence longer than any backtick run in it.
 * A code span cannot escape a backslash, and GitHub reads `\|` as an escaped pipe even there, so a
 * value with a backslash is written as escaped text instead.
 */
function code(value: string): string {
  const flat = value.replace(/\s+/g, ' ');
  if (flat.includes('\\')) return text(flat);
  if (!flat.includes('`')) return `\`${flat}\``;
  const fence = '`'.repeat(Math.max(...(flat.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  return `${fence} ${flat} ${fence}`;
}

/**
 * Markdown as a table cell: one line, and every `|` escaped, since GitHub splits cells at each
 * unescaped pipe, even inside code spans (GFM tables; the backslash is dropped when rendered).
 */
function cell(markdown: string): string {
  return markdown.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
}

/** A count of addresses: exact, or `2^n` for the huge powers of two an IPv6 prefix holds. */
function addressCount(n: bigint): string {
  const bits = n.toString(2);
  return bits.length > 21 && /^10*$/.test(bits) ? `2^${bits.length - 1}` : String(n);
}

/**
 * The shared add-on renders a cluster uses (`talos-ccm-<hash>`, `cilium-<hash>`, `cilium-jobs-<hash>`,
 * in `dist/_addons/<namespace>/`): clusters with the same name in this column share one copy.
 */
export function addonRenderNames(cluster: TalosCluster): string[] {
  return [...cluster.addonRenders];
}

/** The template VMs a cluster's machines are cloned from, each once as `<VM ID>@<node>`: control plane first, then the pools' deployments. */
export function templateVmIds(cluster: TalosCluster): string[] {
  const templates = [cluster.controlPlaneTemplate, ...cluster.workerPools.flatMap((p) => p.machineTemplates)];
  return [...new Set(templates.map((t) => `${t.template.templateId}@${t.template.sourceNode}`))];
}

/**
 * One pool in a few words, from its deployments: `default 2`, `gpu 0–4 (autoscaled)`,
 * `spread 5 over 3 nodes`. A spread pool's replicas and bounds are the sums of its nodes'.
 */
function poolSummary(pool: ProxmoxWorkerPool): string {
  const sum = (of: (d: ProxmoxWorkerPool['deployments'][number]) => number) => pool.deployments.reduce((s, d) => s + of(d), 0);
  const autoscaled = pool.deployments.some((d) => d.autoscaling !== undefined);
  const size = autoscaled
    ? `${sum((d) => d.autoscaling?.min ?? 0)}–${sum((d) => d.autoscaling?.max ?? 0)} (autoscaled)`
    : String(sum((d) => d.replicas ?? 0));
  const nodes = pool.deployments.filter((d) => d.node !== undefined).length;
  return `${pool.poolName} ${size}${nodes > 0 ? ` over ${nodes} node${nodes === 1 ? '' : 's'}` : ''}`;
}

/** The Kubernetes release, and the pools held at another one (during an upgrade). */
function kubernetesCell(cluster: TalosCluster): string {
  const held = cluster.workerPools.filter((p) => p.kubernetesVersion !== cluster.kubernetesVersion);
  return [cluster.kubernetesVersion, ...held.map((p) => `pool ${p.poolName} ${p.kubernetesVersion}`)].join(', ');
}

/** Node addresses needed at the cluster's largest size against those its ranges hold (the capacity rule's count). */
function addressesCell({ needed, held }: AddressDemand): string {
  const v4 = `${needed} / ${addressCount(held.ipv4)}`;
  return held.ipv6 === undefined ? v4 : `${v4}; IPv6 ${needed} / ${addressCount(held.ipv6)}`;
}

/** What the page reads of a cluster more than once, computed once. */
interface ClusterFacts {
  readonly cluster: TalosCluster;
  readonly demand: AddressDemand;
  readonly templates: readonly string[];
}

/** The cells of one cluster's row, as markdown (not yet escaped for the table). */
function row({ cluster, demand, templates }: ClusterFacts, options: FleetPageOptions): string[] {
  const name = cluster.clusterName;
  const source = options.sourceFiles.get(name);
  return [
    name,
    source !== undefined ? code(source) : '',
    code(cluster.namespace),
    text(kubernetesCell(cluster)),
    text(cluster.talosVersion),
    String(cluster.controlPlaneReplicas),
    cluster.workerPools.length > 0 ? cluster.workerPools.map(poolSummary).join(', ') : 'none',
    code(`${cluster.endpoint}:${cluster.endpointPort}`),
    addressesCell(demand),
    templates.map(code).join(', '),
    addonRenderNames(cluster).map(code).join(', '),
    // Relative to dist/, where the page is: GitHub and clones resolve them alike.
    `[diagram](${name}/README.md), [runbook](${name}/RUNBOOK.md)`,
  ];
}

/**
 * The fleet page, `dist/README.md`: one table row per cluster, sorted by name (namespace, versions,
 * machine counts with autoscaler bounds, VIP, node addresses needed at the largest size against
 * those held, template VMs, add-on renders, links to the cluster's diagram and runbook), after a
 * do-not-edit line and a one-line summary of the fleet. What a reviewer reads first in a pull
 * request that changes dist/.
 *
 * Every value comes from the built constructs, none from the rendered YAML, in time linear in the
 * clusters and their pools. Values from configs are escaped, so no `|` or newline breaks the table.
 * Deterministic: the same clusters give byte-identical text, in every locale.
 */
export function fleetPage(clusters: readonly TalosCluster[], options: FleetPageOptions): string {
  const sorted = [...clusters].sort((a, b) => compareText(a.clusterName, b.clusterName));
  const facts = sorted.map((cluster): ClusterFacts => ({ cluster, demand: cluster.addressDemand, templates: templateVmIds(cluster) }));
  const machines = facts.reduce((s, f) => s + f.demand.machines, 0);
  const controlPlane = sorted.reduce((s, c) => s + c.controlPlaneReplicas, 0);
  const pools = sorted.reduce((s, c) => s + c.workerPools.length, 0);
  const templates = new Set(facts.flatMap((f) => f.templates)).size;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const summary = `${plural(sorted.length, 'cluster')}, ${plural(machines, 'machine')} at most (${controlPlane} control plane, `
    + `${machines - controlPlane} worker${machines - controlPlane === 1 ? '' : 's'}), ${plural(pools, 'worker pool')}, ${plural(templates, 'template VM')}.`;
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const table = sorted.length === 0 ? [] : [
    line(COLUMNS.map((c) => c.title)),
    `|${COLUMNS.map((c) => (c.number ? '---:' : '---')).join('|')}|`,
    ...facts.map((f) => line(row(f, options))),
    '',
    'Node addresses: what the cluster needs at its largest size (every machine at its maximum, autoscaler maximum',
    'included, plus one rolling-update surge machine per control plane and per deployment) against the distinct',
    'addresses of `network.addresses` (and `network.ipv6.addresses`); synth refuses a cluster that needs more.',
    'Addon renders: the shared renders (resource set and ConfigMaps, in `_addons/<namespace>/`) the cluster\'s labels select; clusters',
    'that list the same render share one copy of it.',
    '',
  ];
  return [
    '# Fleet',
    '',
    'Generated by `cdk8s synth` from the cluster files; do not edit. One row per cluster; the management cluster',
    `comes first, once: [its runbook](${MANAGEMENT_OUTPUT}/RUNBOOK.md).`,
    '',
    summary,
    '',
    ...table,
  ].join('\n');
}
