/**
 * Labels and taints of a pool's Kubernetes nodes, and where each must be set so that it arrives.
 *
 * A node may label itself only outside the `kubernetes.io` and `k8s.io` namespaces (apart from a
 * few well-known labels), and may not change its taints once registered (NodeRestriction
 * admission plugin; Talos says so in the docs of `machine.nodeLabels`/`nodeTaints`). So:
 * ordinary labels go into Talos `machine.nodeLabels`; role labels such as
 * `node-role.kubernetes.io/storage` go on the Machines, which Cluster API copies to their Nodes;
 * taints are registered by the kubelet (`register-with-taints`).
 */
import { Diagnostic, error } from '../core/errors';
import { DNS1123_SUBDOMAIN } from '../core/naming';

/** What a taint keeps away. */
export enum TaintEffect {
  /** No new pods without a toleration. */
  NO_SCHEDULE = 'NoSchedule',
  /** The scheduler avoids the node when it can. */
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  /** Running pods without a toleration are evicted too. */
  NO_EXECUTE = 'NoExecute',
}

/** A taint of a pool's nodes. */
export interface NodeTaint {
  /** Taint key (a qualified name like `dedicated` or `example.com/gpu`). */
  readonly key: string;
  /**
   * Taint value.
   * @default - none
   */
  readonly value?: string;
  /** What the taint keeps away. */
  readonly effect: TaintEffect;
}

/** Labels Cluster API copies from a Machine to its Node (CAPI book, "Metadata propagation"). */
const CAPI_SYNCED_LABELS = [/^node-role\.kubernetes\.io\//, /^node-restriction\.kubernetes\.io\//, /\.node-restriction\.kubernetes\.io\//, /\.node\.cluster\.x-k8s\.io\//];

/** Labels in the kubernetes.io / k8s.io namespaces that NodeRestriction still lets a kubelet set. */
const KUBELET_ALLOWED_LABELS = new Set([
  'kubernetes.io/hostname', 'kubernetes.io/arch', 'kubernetes.io/os', 'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone',
]);
const KUBELET_ALLOWED_PREFIXES = ['kubelet.kubernetes.io/', 'node.kubernetes.io/'];

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why a label or taint key is not a Kubernetes qualified name (`[prefix/]name`), if it is not. */
function keyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (parts.length > 2 || name.length === 0 || name.length > 63 || !NAME.test(name)
    || (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))) {
    return 'is not a valid key: an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why a label or taint value is invalid, if it is. */
function valueProblem(value: string): string | undefined {
  return value === '' || (value.length <= 63 && NAME.test(value))
    ? undefined
    : 'is not a valid value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
}

/** Whether a label is in a namespace NodeRestriction reserves and not among the kubelet's own. */
function restricted(key: string): boolean {
  const prefix = key.includes('/') ? key.split('/')[0] : '';
  const reserved = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix);
  return reserved && !KUBELET_ALLOWED_LABELS.has(key) && !KUBELET_ALLOWED_PREFIXES.some((p) => key.startsWith(p));
}

/** A pool's node labels split by who sets them. */
export interface RoutedLabels {
  /** Set by the node itself (Talos `machine.nodeLabels`). */
  readonly node: Record<string, string>;
  /** Set on the Machines, which Cluster API copies to the Nodes. */
  readonly machine: Record<string, string>;
}

/** Splits node labels into those a node may set itself and those Cluster API copies. */
export function routeNodeLabels(labels: Readonly<Record<string, string>>): RoutedLabels {
  const node: Record<string, string> = {};
  const machine: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (CAPI_SYNCED_LABELS.some((re) => re.test(k))) machine[k] = v;
    else node[k] = v;
  }
  return { node, machine };
}

/** Problems of a pool's node labels: syntax, and labels no one can set on the node. */
export function nodeLabelProblems(labels: Readonly<Record<string, string>>, field: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const at = `${field}.${k}`;
    const keyBad = keyProblem(k);
    const valueBad = typeof v === 'string' ? valueProblem(v) : 'must be a string';
    if (keyBad) {
      out.push(error(at, `key ${JSON.stringify(k)} ${keyBad}`));
    } else if (valueBad) {
      out.push(error(at, `${JSON.stringify(v)} ${valueBad}`));
    } else if (restricted(k) && !CAPI_SYNCED_LABELS.some((re) => re.test(k))) {
      out.push(error(
        at,
        'cannot be set: NodeRestriction forbids a node to set labels under kubernetes.io or k8s.io, and Cluster API copies only node-role.kubernetes.io/*, node-restriction.kubernetes.io/* and *.node.cluster.x-k8s.io/* labels to nodes; use one of those or a label outside kubernetes.io/k8s.io',
      ));
    }
  }
  return out;
}

/** `key=value:Effect` (or `key:Effect`), the form of `register-with-taints` and the autoscaler. */
export function taintString(t: NodeTaint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/** Problems of a pool's taints: key and value syntax, effect, and a key+effect given twice. */
export function nodeTaintProblems(taints: readonly NodeTaint[], field: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const at = `${field}[${i}]`;
    const keyBad = keyProblem(t.key);
    if (keyBad) out.push(error(`${at}.key`, `${JSON.stringify(t.key)} ${keyBad}`));
    const valueBad = t.value !== undefined ? valueProblem(t.value) : undefined;
    if (valueBad) out.push(error(`${at}.value`, `${JSON.stringify(t.value)} ${valueBad}`));
    if (!Object.values(TaintEffect).includes(t.effect)) {
      out.push(error(`${at}.effect`, `${JSON.stringify(t.effect)} must be one of ${Object.values(TaintEffect).join(', ')}`));
    }
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id)) out.push(error(at, `${JSON.stringify(taintString(t))} repeats key ${t.key} with effect ${t.effect}`));
    seen.add(id);
  });
  return out;
}
