/**
 * `npm run plan`: what applying a new dist/ would do to the management cluster, in plain words.
 *
 * Upstream removed its own plan command (`clusterctl alpha topology plan`), and `git diff dist/`
 * shows text, not consequences. This compares two output trees object by object and explains:
 * which objects are created, changed and deleted; which control plane and pools roll and why; and
 * what the controllers would refuse, what would destroy machines, and which day-2 edits the running
 * cluster cannot follow or that put it at risk (STACK.md §3.4, §4.2, §5.1, §7, §9.6).
 */
import { isDeepStrictEqual } from 'util';
import * as semver from 'semver';
import { AUTOSCALER_MAX_ANNOTATION, AUTOSCALER_MIN_ANNOTATION } from '../constructs/worker-pool';
import { quote } from '../core/errors';
import { describeObject, KubeObject } from '../core/kube-object';
import { CLUSTER_NAME_LABEL, compareText, PATCHES_ANNOTATION } from '../core/naming';
import { formatIp, IpRange, parseIpRange } from '../core/network';
import { API, CustomKind } from '../core/stack';
import { CelValidator } from '../gate/cel';
import { IMAGE_FACTORY, nocloudDiskImageUrl } from '../talos/schematic';
import { keyText, ObjectIndex, objectKey, PlanTree, TreePair } from './trees';

export { indexObjects } from './trees';

/** How bad a finding is; everything but `warning` fails the plan unless allowed. */
export enum FindingKind {
  /** Deletes machines or a whole cluster (a renamed object is a deleted one). */
  DESTRUCTIVE = 'destructive',
  /**
   * The API server or a provider webhook will refuse it and the rollout wedges, new machines
   * would boot an image other than the config names, or the running cluster cannot follow it
   * (a moved control-plane endpoint, pod or service network).
   */
  REJECTED = 'rejected',
  /**
   * Accepted by the controllers, but breaks an upgrade rule (version skew, skipped minors) or puts
   * the running cluster at risk in a way the plan cannot rule out: etcd quorum, node addresses
   * already handed out, machines that keep their old network settings, fallback credentials.
   */
  UNSAFE = 'unsafe',
  /** Worth knowing; does not fail the plan. */
  WARNING = 'warning',
}

/** One consequence of the change that a reviewer must see. */
export interface Finding {
  /** How bad it is. */
  readonly kind: FindingKind;
  /** `Kind namespace/name` of the object concerned. */
  readonly object: string;
  /** What happens, why, and what to do instead. */
  readonly message: string;
}

/** An object that exists before and after with a different content. */
export interface ObjectChange {
  /** `Kind namespace/name`. */
  readonly object: string;
  /** The changed fields, `path: old → new` (long values abbreviated). */
  readonly fields: readonly string[];
}

/** A set of machines that Cluster API replaces one by one. */
export interface Rollout {
  /** `control plane <name>` or `pool <name>`. */
  readonly what: string;
  /** Why it rolls: version, machine template, Talos config. */
  readonly reasons: readonly string[];
}

/** The plan of one folder of dist/ (a cluster, or the management objects). */
export interface FolderPlan {
  /** Folder under dist/ (`homelab`, `management`). */
  readonly folder: string;
  /** Objects created. */
  readonly created: readonly string[];
  /** Objects changed. */
  readonly changed: readonly ObjectChange[];
  /** Objects deleted (pruned by the GitOps agent). */
  readonly deleted: readonly string[];
  /** Rollouts, control plane first, then pools. */
  readonly rollouts: readonly Rollout[];
  /** Replica and autoscaler changes that add or remove machines without replacing any. */
  readonly scaling: readonly string[];
  /** Destructive, rejected and unsafe changes, and warnings. */
  readonly findings: readonly Finding[];
}

/** The plan of a whole dist/. */
export interface Plan {
  /** One entry per folder with any change, in folder order. */
  readonly folders: readonly FolderPlan[];
}

/** Finding kinds the user has explicitly allowed (`--allow-destructive` …). */
export type AllowedKinds = ReadonlySet<FindingKind>;

/** The findings that fail the plan: everything but warnings, unless allowed. */
export function blockingFindings(plan: Plan, allowed: AllowedKinds = new Set()): Finding[] {
  return plan.folders.flatMap((f) => f.findings).filter((f) => f.kind !== FindingKind.WARNING && !allowed.has(f.kind));
}

/** A reference by name. */
interface NameRef {
  readonly name?: unknown;
}

/** A Talos config spec: TalosControlPlane's `spec.controlPlaneConfig.controlplane`, TalosConfigTemplate's `spec.template.spec`. */
interface ConfigSpec {
  readonly talosVersion?: unknown;
  readonly strategicPatches?: readonly unknown[];
}

/** `spec.template.spec` of a MachineDeployment, TalosConfigTemplate or ProxmoxMachineTemplate. */
interface TemplateSpec extends ConfigSpec {
  readonly version?: unknown;
  readonly infrastructureRef?: NameRef;
  readonly bootstrap?: { readonly configRef?: NameRef };
  readonly sourceNode?: unknown;
  readonly templateID?: unknown;
  readonly allowedNodes?: unknown;
}

/**
 * The spec fields the plan reads, across kinds. The objects are read back from YAML that may have
 * been edited by hand, so any field may be missing, and values are only compared, shown or checked.
 */
interface PlanSpec {
  readonly version?: unknown;
  readonly controlPlaneEndpoint?: { readonly host?: unknown; readonly port?: unknown };
  readonly clusterNetwork?: { readonly pods?: { readonly cidrBlocks?: unknown }; readonly services?: { readonly cidrBlocks?: unknown } };
  readonly ipv4Config?: { readonly addresses?: unknown; readonly prefix?: unknown; readonly gateway?: unknown };
  readonly ipv6Config?: { readonly addresses?: unknown; readonly prefix?: unknown; readonly gateway?: unknown };
  /** An InClusterIPPool's addresses (the pool of an extra NIC). */
  readonly addresses?: unknown;
  readonly credentialsRef?: NameRef & { readonly namespace?: unknown };
  readonly replicas?: unknown;
  readonly strategy?: unknown;
  readonly clusterSelector?: unknown;
  readonly infrastructureTemplate?: NameRef;
  readonly infrastructureRef?: NameRef;
  readonly rolloutStrategy?: { readonly type?: unknown };
  readonly controlPlaneConfig?: { readonly controlplane?: ConfigSpec };
  readonly template?: { readonly metadata?: unknown; readonly spec?: TemplateSpec };
}

type Obj = KubeObject & { spec?: PlanSpec; data?: Record<string, string> };

type Index = ObjectIndex<Obj>;

/** Identity of an object as the API server sees it: a new apiVersion of the same group is the same object. */
function keyOf(o: KubeObject): string {
  return keyText(objectKey(o));
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 || s.includes('\n') ? '(changed)' : s;
}

/**
 * The leaf fields that differ between two values, as `path: old → new`. Key order does not count
 * (YAML maps are unordered, and `isDeepStrictEqual` ignores it); array order does.
 */
export function changedFields(before: unknown, after: unknown, at = ''): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isMap(before) && isMap(after)) {
    const keys = [...new Set([...Object.keys(before as object), ...Object.keys(after as object)])].sort();
    return keys.flatMap((k) => changedFields((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  const long = (v: unknown) => show(v) === '(changed)';
  return [long(before) || long(after) ? `${at} changed` : `${at}: ${show(before)} → ${show(after)}`];
}

/** `v1.35` of a version, or undefined when it is not one. */
function minorOf(version: unknown): semver.SemVer | undefined {
  return typeof version === 'string' ? semver.coerce(version) ?? undefined : undefined;
}

/** How many minors `to` is ahead of `from` (negative for a downgrade), same major assumed. */
function minorStep(from: semver.SemVer, to: semver.SemVer): number {
  return to.major !== from.major ? (to.major - from.major) * 100 : to.minor - from.minor;
}

const DESTRUCTIVE_KINDS: Record<string, string> = {
  Cluster: 'deleting the Cluster deletes every Machine and VM of the cluster',
  ProxmoxCluster: 'deleting the ProxmoxCluster takes the cluster\'s infrastructure (and with it the cluster) away',
  TalosControlPlane: 'deleting the TalosControlPlane deletes the control-plane machines, and etcd with them',
  MachineDeployment: 'deleting the MachineDeployment deletes every machine of the pool',
};

/** Templates the providers refuse to change in place (STACK.md §5.1). */
const IMMUTABLE_TEMPLATES: Record<string, string> = {
  ProxmoxMachineTemplate: 'CAPMOX rejects any change of a ProxmoxMachineTemplate ("ProxmoxMachineTemplate is immutable")',
  TalosConfigTemplate: 'CABPT rejects any change of a TalosConfigTemplate ("TalosConfigTemplate.Spec is immutable")',
};

/**
 * Compares two output trees (the dist/ at a git ref and a fresh synth, usually) and explains
 * the difference per folder. Files with the same text in both trees are read and parsed only when
 * the plan needs their objects (lib/plan/trees.ts); the plan is the same as with every file parsed.
 *
 * @param cel validator for the CRDs' transition rules (`oldSelf`)
 * @param options.readAll parse every file of both trees (what the shortcut is tested against)
 */
export function computePlan(before: PlanTree, after: PlanTree, cel: CelValidator = new CelValidator(), options: { readAll?: boolean } = {}): Plan {
  return new TreePair<Obj>(before, after, options).run((old, next) => planOf(old, next, cel));
}

function planOf(old: Index, next: Index, cel: CelValidator): Plan {
  const folders = new Map<string, {
    created: string[]; changed: ObjectChange[]; deleted: string[]; rollouts: Rollout[]; scaling: string[]; findings: Finding[];
  }>();
  const folder = (name: string) => {
    if (!folders.has(name)) folders.set(name, { created: [], changed: [], deleted: [], rollouts: [], scaling: [], findings: [] });
    return folders.get(name)!;
  };
  const createdKinds = new Set([...next].filter(([k]) => !old.has(k)).map(([, e]) => e.object.kind));

  for (const [key, { folder: f, object }] of next) {
    const prev = old.get(key);
    if (!prev) {
      folder(f).created.push(describeObject(object));
      continue;
    }
    if (isDeepStrictEqual(prev.object, object)) continue;
    const fields = changedFields(prev.object, object).filter((x) => !x.startsWith('apiVersion'));
    const plan = folder(f);
    plan.changed.push({ object: describeObject(object), fields });
    plan.findings.push(...updateFindings(prev.object, object, cel));
    plan.findings.push(...clusterFindings(prev.object, object, old, next));
  }
  for (const [key, { folder: f, object }] of old) {
    if (next.has(key)) continue;
    const plan = folder(f);
    plan.deleted.push(describeObject(object));
    const why = DESTRUCTIVE_KINDS[object.kind];
    if (why) {
      const rename = createdKinds.has(object.kind)
        ? '; if this is a rename, a new name is a new object: the old one and its machines are deleted, not moved'
        : '';
      plan.findings.push({ kind: FindingKind.DESTRUCTIVE, object: describeObject(object), message: `is deleted: ${why}${rename}` });
    }
  }
  const byFolder = new Map<string, Obj[]>();
  for (const e of next.values()) byFolder.set(e.folder, [...(byFolder.get(e.folder) ?? []), e.object]);
  for (const [name, plan] of folders) {
    const objects = byFolder.get(name) ?? [];
    const control = objects.filter((o) => o.kind === 'TalosControlPlane');
    const pools = objects.filter((o) => o.kind === 'MachineDeployment');
    for (const tcp of control) {
      const prev = old.get(keyOf(tcp))?.object;
      if (prev) controlPlaneRollout(prev, tcp, old, next, plan);
    }
    for (const md of pools) {
      const prev = old.get(keyOf(md))?.object;
      if (prev) poolChanges(prev, md, old, next, control, plan);
    }
    plan.scaling.unshift(...spreadScaling(name, old, next));
  }
  return {
    folders: [...folders.entries()]
      .filter(([, p]) => p.created.length + p.changed.length + p.deleted.length > 0)
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, p]) => ({ folder: name, ...p })),
  };
}

/** A MachineDeployment of a spread pool: pinned to one node by its machine template, named `<pool>-<node in lower case>`. */
function spreadMember(md: Obj, index: Index): { pool: string; node: string } | undefined {
  const template = findObject(index, md, 'ProxmoxMachineTemplate', md.spec?.template?.spec?.infrastructureRef?.name);
  const nodes = template?.spec?.template?.spec?.allowedNodes;
  if (!Array.isArray(nodes) || nodes.length !== 1 || typeof nodes[0] !== 'string') return undefined;
  const suffix = `-${nodes[0].toLowerCase()}`;
  const name: unknown = md.metadata.name;
  // A hand-edited dist/ may hold any YAML there (`name: 0x7` is a number).
  return typeof name === 'string' && name.endsWith(suffix) ? { pool: name.slice(0, -suffix.length), node: nodes[0] } : undefined;
}

/**
 * How the machines of each spread pool are redistributed over its nodes, one line per pool whose
 * deployments were created, deleted or rescaled: `spread pool homelab-w: 4 → 6 machine(s); K8S0 2 → 2,
 * K8S1 2 → 2, K8S2 (new) 2`. Each node's own line follows among the pools' scaling.
 */
function spreadScaling(folder: string, old: Index, next: Index): string[] {
  type Side = { node: string; size: string; count: number };
  const pools = new Map<string, { before: Side[]; after: Side[] }>();
  const size = (md: Obj): { size: string; count: number } => {
    const a = (md.metadata.annotations ?? {}) as Record<string, string>;
    if (a[AUTOSCALER_MIN_ANNOTATION] !== undefined) {
      return { size: `${a[AUTOSCALER_MIN_ANNOTATION]}–${a[AUTOSCALER_MAX_ANNOTATION]}`, count: Number(a[AUTOSCALER_MAX_ANNOTATION]) };
    }
    const r = typeof md.spec?.replicas === 'number' ? md.spec.replicas : 1;
    return { size: String(r), count: r };
  };
  for (const [index, side] of [[old, 'before'], [next, 'after']] as const) {
    for (const e of index.values()) {
      if (e.folder !== folder || e.object.kind !== 'MachineDeployment') continue;
      const member = spreadMember(e.object, index);
      if (!member) continue;
      const entry = pools.get(member.pool) ?? { before: [], after: [] };
      entry[side].push({ node: member.node, ...size(e.object) });
      pools.set(member.pool, entry);
    }
  }
  const lines: string[] = [];
  for (const [pool, { before, after }] of [...pools].sort(([a], [b]) => compareText(a, b))) {
    const nodes = [...after.map((x) => x.node), ...before.map((x) => x.node).filter((n) => !after.some((x) => x.node === n))];
    const parts = nodes.map((n) => {
      const b = before.find((x) => x.node === n);
      const a = after.find((x) => x.node === n);
      return !b ? `${n} (new) ${a!.size}` : !a ? `${n} (removed) ${b.size} → 0` : `${n} ${b.size} → ${a.size}`;
    });
    const same = (n: string) => before.find((x) => x.node === n)?.size === after.find((x) => x.node === n)?.size;
    // A single pinned deployment has nothing to redistribute (and may be a pool pinned with allowedNodes).
    if (Math.max(before.length, after.length) < 2 || (before.length === after.length && nodes.every(same))) continue;
    const total = (xs: Side[]) => xs.reduce((t, x) => t + x.count, 0);
    const autoscaled = [...before, ...after].some((x) => x.size.includes('–'));
    lines.push(`spread pool ${pool}: ${total(before)} → ${total(after)} machine(s)${autoscaled ? ' at most' : ''} over ${after.length} node(s); ${parts.join(', ')}`);
  }
  return lines;
}

/** Rejections of an update of one object: immutable templates and fields, CEL transition rules. */
function updateFindings(prev: Obj, object: Obj, cel: CelValidator): Finding[] {
  const out: Finding[] = [];
  const id = describeObject(object);
  const immutable = IMMUTABLE_TEMPLATES[object.kind];
  if (immutable && !isDeepStrictEqual(prev.spec, object.spec)) {
    out.push({
      kind: FindingKind.REJECTED, object: id,
      message: `spec changes under the same name: ${immutable}. Give the changed template a new name and point its users at it (synth names templates by their content; a hand edit of dist/ or a JSON patch does not)`,
    });
  }
  if (object.kind === 'ClusterResourceSet') {
    for (const field of ['strategy', 'clusterSelector'] as const) {
      if (!isDeepStrictEqual(prev.spec?.[field], object.spec?.[field])) {
        out.push({
          kind: FindingKind.REJECTED, object: id,
          message: `spec.${field} is immutable (STACK.md §4.2): delete the ClusterResourceSet and create it anew (resources it applied stay in the workload cluster)`,
        });
      }
    }
  }
  for (const v of cel.validateUpdate(object, prev)) {
    out.push({ kind: FindingKind.REJECTED, object: id, message: `${v.field ? `${v.field}: ` : ''}${v.message} (rule on updates)` });
  }
  return out;
}

/** A value short enough for a message: as is when it is a plain word or number, quoted and cut otherwise. */
function brief(v: unknown): string {
  if (v === undefined || v === null) return '(none)';
  if (typeof v === 'number' || (typeof v === 'string' && /^[\w.:/-]{1,48}$/.test(v))) return String(v);
  return quote(v, 48);
}

/** A list of CIDRs or address ranges, comma-separated, quoted and cut when long or odd. */
function briefList(v: unknown): string {
  if (!Array.isArray(v)) return brief(v);
  if (v.length === 0) return '(none)';
  const text = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  return /^[\w.:/, -]{1,64}$/.test(text) ? text : quote(text, 64);
}

/** The cluster an object belongs to: its cluster-name label, or its own name (a Cluster's). */
function clusterNameOf(o: Obj): string {
  const label = (o.metadata.labels as Record<string, unknown> | undefined)?.[CLUSTER_NAME_LABEL];
  return typeof label === 'string' ? label : o.metadata.name;
}

/** Whether an object had a control-plane endpoint and the other one has another (or none). */
function endpointMoves(prev: Obj | undefined, next: Obj | undefined): boolean {
  return prev?.spec?.controlPlaneEndpoint !== undefined && !isDeepStrictEqual(prev.spec.controlPlaneEndpoint, next?.spec?.controlPlaneEndpoint);
}

/** `host:port` of an object's control-plane endpoint, short. */
function showEndpoint(o: Obj): string {
  const e = o.spec?.controlPlaneEndpoint;
  return e ? `${brief(e.host)}:${brief(e.port)}` : '(none)';
}

/**
 * The addresses of `before` (CAPMOX `ipv4Config`/`ipv6Config` addresses or an IPAM pool's: `a-b`,
 * `a/n`, `a`, either family) that no entry of `after` holds, as merged ranges in address order, each
 * `spec` written `a-b` or `a`. An entry of `before` that does not parse is dropped when `after` lacks
 * it verbatim; one of `after` that does not parse holds nothing (the gate refuses it anyway).
 */
export function droppedAddresses(before: readonly string[], after: readonly string[]): { ranges: IpRange[]; unparsed: string[] } {
  const merge = (rs: IpRange[]): IpRange[] => {
    const out: IpRange[] = [];
    for (const r of [...rs].sort((a, b) => (a.family - b.family) || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))) {
      const last = out[out.length - 1];
      if (!last || last.family !== r.family || r.first > last.last + 1n) out.push(r);
      else out[out.length - 1] = { ...last, last: r.last > last.last ? r.last : last.last };
    }
    return out;
  };
  const kept = merge(after.map(parseIpRange).filter((r): r is IpRange => r !== undefined));
  const dropped: IpRange[] = [];
  const unparsed: string[] = [];
  for (const spec of before) {
    const range = parseIpRange(spec);
    if (!range) {
      if (!after.includes(spec)) unparsed.push(spec);
      continue;
    }
    let next = range.first;
    for (const k of kept.filter((x) => x.family === range.family)) {
      if (k.last < next || k.first > range.last) continue;
      if (k.first > next) dropped.push({ ...range, first: next, last: k.first - 1n });
      next = k.last + 1n;
      if (next > range.last) break;
    }
    if (next <= range.last) dropped.push({ ...range, first: next });
  }
  const ranges = merge(dropped).map((r) => ({
    ...r, spec: r.first === r.last ? formatIp(r.family, r.first) : `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`,
  }));
  return { ranges, unparsed };
}

/** The string entries of a list read from YAML (anything else holds no address). */
const stringsOf = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * Day-2 edits of a Cluster or ProxmoxCluster that the webhooks accept but the running cluster
 * cannot follow (REJECTED) or that the plan cannot prove harmless (UNSAFE), STACK.md §9.6, §7.
 */
function clusterFindings(prev: Obj, object: Obj, old: Index, next: Index): Finding[] {
  if (object.kind === 'InClusterIPPool') return poolShrinkFindings(prev, object);
  if (object.kind !== 'Cluster' && object.kind !== 'ProxmoxCluster') return [];
  const out: Finding[] = [];
  const id = describeObject(object);
  const cluster = clusterNameOf(object);
  const [s0, s1] = [prev.spec ?? {}, object.spec ?? {}];

  // Both objects carry the endpoint and synth moves them together: one finding, on the Cluster.
  if (endpointMoves(prev, object)) {
    let field = 'spec.controlPlaneEndpoint';
    if (object.kind === 'Cluster') {
      const infra = [findObject(old, prev, 'ProxmoxCluster', s0.infrastructureRef?.name), findObject(next, object, 'ProxmoxCluster', s1.infrastructureRef?.name)];
      if (infra[0] && infra[1] && showEndpoint(infra[0]) === showEndpoint(prev) && showEndpoint(infra[1]) === showEndpoint(object)) {
        field = 'spec.controlPlaneEndpoint of the Cluster and the ProxmoxCluster';
      }
    }
    const owner = [findObject(old, prev, 'Cluster', cluster), findObject(next, object, 'Cluster', cluster)];
    const coveredByCluster = object.kind === 'ProxmoxCluster' && owner[0] && owner[1] && endpointMoves(owner[0], owner[1])
      && showEndpoint(owner[0]) === showEndpoint(prev) && showEndpoint(owner[1]) === showEndpoint(object);
    if (!coveredByCluster) {
      const e = s0.controlPlaneEndpoint ?? {};
      out.push({
        kind: FindingKind.REJECTED, object: id,
        message: `cluster ${cluster}: the control-plane endpoint moves ${showEndpoint(prev)} → ${showEndpoint(object)} (${field}): the Cluster API and CAPMOX webhooks accept it, but the control plane does not roll on the endpoint itself and the running nodes keep the old one (STACK.md §9.6). Move it back (network.endpoint: ${brief(e.host)}, network.endpointPort: ${brief(e.port)}), or build a new cluster under a new name on the new endpoint and move the workloads to it`,
      });
    }
  }

  if (object.kind === 'Cluster') {
    for (const [key, what, config] of [['pods', 'pod', 'network.podCidrs'], ['services', 'service', 'network.serviceCidrs']] as const) {
      const [a, b] = [s0.clusterNetwork?.[key]?.cidrBlocks, s1.clusterNetwork?.[key]?.cidrBlocks];
      if (a === undefined || isDeepStrictEqual(a, b)) continue;
      out.push({
        kind: FindingKind.REJECTED, object: id,
        message: `cluster ${cluster}: the ${what} network moves ${briefList(a)} → ${briefList(b)} (spec.clusterNetwork.${key}.cidrBlocks): a running cluster keeps its ${what} network, so the edit only changes the Cluster object, not the cluster (STACK.md §9.6). Revert to ${briefList(a)} (${config}); another ${what} network needs a new cluster under a new name`,
      });
    }
    return out;
  }

  // ProxmoxCluster: the node address pool, its subnet settings, the credentials.
  const [v0, v1] = [s0.ipv4Config, s1.ipv4Config];
  if (v0?.addresses !== undefined) {
    const { ranges, unparsed } = droppedAddresses(stringsOf(v0.addresses), stringsOf(v1?.addresses));
    const count = ranges.reduce((n, r) => n + Number(r.last - r.first) + 1, 0) + unparsed.length;
    if (count > 0) {
      const listed = [...ranges.map((r) => r.spec), ...unparsed.map((u) => quote(u, 24))];
      const shown = listed.length > 3 ? `${listed.slice(0, 3).join(', ')}, …` : listed.join(', ');
      const ns = object.metadata.namespace ?? 'default';
      out.push({
        kind: FindingKind.UNSAFE, object: id,
        message: `cluster ${cluster}: spec.ipv4Config.addresses ${briefList(v0.addresses)} → ${briefList(v1?.addresses)} drops ${count} address(es) (${shown}): CAPMOX hands addresses to machines at run time, so the plan cannot tell whether a machine holds one of them, and such a machine keeps an address outside the new range. Before shrinking, list the addresses in use: kubectl get ipaddresses.ipam.cluster.x-k8s.io -n ${ns} -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,POOL:.spec.poolRef.name; keep every address in use in network.addresses, then proceed with --allow-unsafe`,
      });
    }
  }
  // Machines get prefix and gateway once, in the nocloud network config Talos then keeps, and a
  // ProxmoxCluster edit rolls no machine: the old machines would keep the old subnet settings.
  const subnet = (['prefix', 'gateway'] as const)
    .filter((k) => v0?.[k] !== undefined && !isDeepStrictEqual(v0[k], v1?.[k]))
    .map((k) => `${k} ${brief(v0?.[k])} → ${brief(v1?.[k])}`);
  if (subnet.length > 0) {
    out.push({
      kind: FindingKind.UNSAFE, object: id,
      message: `cluster ${cluster}: spec.ipv4Config ${subnet.join(', ')}: the running machines keep the prefix and gateway they were created with (CAPMOX writes them into each machine's network config once, and Talos keeps it: STACK.md §1.3, §9.1), and this change rolls no machine; only machines created later get the new values. Revert (network.prefix, network.gateway), or replace every machine of the cluster right after applying (a rolling update of the control plane and of each pool)`,
    });
  }
  // The IPv6 node pool of a dual-stack cluster, as the IPv4 one.
  const [w0, w1] = [s0.ipv6Config, s1.ipv6Config];
  if (w0?.addresses !== undefined) out.push(...shrinkFindings(id, cluster, 'spec.ipv6Config.addresses', 'network.ipv6.addresses', w0.addresses, w1?.addresses, object));
  const subnet6 = (['prefix', 'gateway'] as const)
    .filter((k) => w0?.[k] !== undefined && w1 !== undefined && !isDeepStrictEqual(w0[k], w1[k]))
    .map((k) => `${k} ${brief(w0?.[k])} → ${brief(w1?.[k])}`);
  if (subnet6.length > 0) {
    out.push({
      kind: FindingKind.UNSAFE, object: id,
      message: `cluster ${cluster}: spec.ipv6Config ${subnet6.join(', ')}: the running machines keep the prefix and gateway they were created with (CAPMOX writes them into each machine's network config once), and this change rolls no machine. Revert (network.ipv6.prefix, network.ipv6.gateway), or replace every machine of the cluster right after applying`,
    });
  }
  const [r0, r1] = [s0.credentialsRef?.name, s1.credentialsRef?.name];
  if (r0 !== undefined && r1 === undefined) {
    out.push({
      kind: FindingKind.UNSAFE, object: id,
      message: `cluster ${cluster}: spec.credentialsRef ${brief(r0)} → (none): CAPMOX then falls back to its global credentials (Secret capmox-manager-credentials of the provider, STACK.md §7) for this cluster: another Proxmox token, perhaps another Proxmox, and without global credentials the ProxmoxCluster fails ("No credentials found, ProxmoxCluster missing credentialsRef"). Keep proxmox.credentialsSecret: ${brief(r0)}, or proceed with --allow-unsafe if the global credentials are meant for this cluster`,
    });
  }
  return out;
}

/** An address pool of either family that loses addresses machines may hold (the plan cannot tell which are in use). */
function shrinkFindings(
  id: string, cluster: string, field: string, config: string, before: unknown, after: unknown, object: Obj,
  why = 'CAPMOX hands addresses to machines at run time, so the plan cannot tell whether a machine holds one of them, and such a machine keeps an address outside the new range',
): Finding[] {
  const { ranges, unparsed } = droppedAddresses(stringsOf(before), stringsOf(after));
  const count = ranges.reduce((n, r) => n + r.last - r.first + 1n, 0n) + BigInt(unparsed.length);
  if (count === 0n) return [];
  const listed = [...ranges.map((r) => r.spec), ...unparsed.map((u) => quote(u, 24))];
  const shown = listed.length > 3 ? `${listed.slice(0, 3).join(', ')}, …` : listed.join(', ');
  const ns = object.metadata.namespace ?? 'default';
  return [{
    kind: FindingKind.UNSAFE, object: id,
    message: `cluster ${cluster}: ${field} ${briefList(before)} → ${briefList(after)} drops ${count} address(es) (${shown}): ${why}. Before shrinking, list the addresses in use: kubectl get ipaddresses.ipam.cluster.x-k8s.io -n ${ns} -o custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,POOL:.spec.poolRef.name; keep every address in use in ${config}, then proceed with --allow-unsafe`,
  }];
}

/**
 * The IPAM pool of an extra NIC that loses addresses: in-cluster IPAM's webhook refuses an update
 * that drops an address in use, and the plan cannot tell which are.
 */
function poolShrinkFindings(prev: Obj, object: Obj): Finding[] {
  return shrinkFindings(
    describeObject(object), clusterNameOf(object), 'spec.addresses', 'the extra NIC\'s addresses (network.extraNics or workers[].network.extraNics)',
    prev.spec?.addresses, object.spec?.addresses, object,
    'in-cluster IPAM refuses an update of the pool that drops an address a machine holds ("pool addresses does not contain allocated addresses"), and the plan cannot tell which are in use',
  );
}

/**
 * A control plane scaled to 1 or to an even count: etcd needs a majority of its members, so one
 * member tolerates no failure and an even count no more than one member fewer (STACK.md §3.1, §3.4).
 */
function controlPlaneReplicaFindings(id: string, cluster: string, before: unknown, after: unknown): Finding[] {
  // The TalosControlPlane webhook defaults replicas to 1 (STACK.md §3.1).
  const [r0, r1] = [before ?? 1, after ?? 1];
  if (r0 === r1 || typeof r1 !== 'number' || !Number.isInteger(r1) || r1 < 0) return [];
  const head = `cluster ${cluster}: the control plane scales ${brief(r0)} → ${r1} machine(s) (spec.replicas)`;
  if (r1 === 1) {
    return [{
      kind: FindingKind.UNSAFE, object: id,
      message: `${head}: etcd is left with one member, so losing that machine loses the cluster's state, and a single control-plane machine cannot finish a rolling update (STACK.md §3.4). Keep an odd count of 3 or more (controlPlane.replicas: 3)`,
    }];
  }
  if (r1 % 2 !== 0) return [];
  const quorum = r1 / 2 + 1;
  const why = r1 === 0
    ? 'no control-plane machine, and so no etcd member, is left'
    : `etcd needs a majority (${quorum} of ${r1} members), so ${r1} machines survive ${r1 - quorum} failure(s), no more than ${r1 - 1} do, with more members to agree on every write`;
  const instead = r1 <= 2 ? '3' : `${r1 - 1} or ${r1 + 1}`;
  return [{ kind: FindingKind.UNSAFE, object: id, message: `${head}: ${why}. Use an odd count (controlPlane.replicas: ${instead})` }];
}

/** A template that `from` references by name, in `from`'s namespace (references carry no group). */
function findObject(index: Index, from: Obj, kind: CustomKind, name: unknown): Obj | undefined {
  if (typeof name !== 'string') return undefined;
  return index.find({ group: API[kind].group, kind, namespace: `${from.metadata.namespace ?? ''}`, name })?.object;
}

/** Why a replaced template differs, in the fields of its spec. */
function templateDiff(index: [Index, Index], from: [Obj, Obj], kind: CustomKind, names: [unknown, unknown]): string {
  const a = findObject(index[0], from[0], kind, names[0]);
  const b = findObject(index[1], from[1], kind, names[1]);
  const fields = a && b ? changedFields(a.spec, b.spec, 'spec').slice(0, 6) : [];
  return `${kind} ${String(names[0])} → ${String(names[1])}${fields.length ? ` (${fields.join('; ')})` : ''}`;
}

/** Talos release a machine config is generated for. */
function talosVersionOf(configSpec: ConfigSpec | undefined): string | undefined {
  return typeof configSpec?.talosVersion === 'string' ? configSpec.talosVersion : undefined;
}

/** The Image Factory schematic of the installer image in a config's strategic patches. */
function schematicOf(configSpec: ConfigSpec | undefined): string | undefined {
  const patches: readonly unknown[] = configSpec?.strategicPatches ?? [];
  for (const p of patches) {
    const m = typeof p === 'string' ? new RegExp(`${IMAGE_FACTORY.replace(/\./g, '\\.')}/nocloud-installer/([0-9a-f]{64}):`).exec(p) : null;
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Version steps of one machine set: a Kubernetes minor skipped or a downgrade is refused by
 * Cluster API; a Talos minor skipped is not a supported Talos upgrade.
 */
function versionFindings(id: string, what: string, kube: [unknown, unknown], talos: [string | undefined, string | undefined]): Finding[] {
  const out: Finding[] = [];
  const [k0, k1] = [minorOf(kube[0]), minorOf(kube[1])];
  if (k0 && k1 && !semver.eq(k0, k1)) {
    const step = minorStep(k0, k1);
    if (step > 1) {
      out.push({ kind: FindingKind.REJECTED, object: id, message: `${what} Kubernetes ${String(kube[0])} → ${String(kube[1])} skips ${step - 1} minor(s): Cluster API upgrades one minor at a time; go through v${k0.major}.${k0.minor + 1} first` });
    } else if (semver.lt(k1, k0)) {
      out.push({ kind: FindingKind.REJECTED, object: id, message: `${what} Kubernetes ${String(kube[0])} → ${String(kube[1])} is a downgrade, which Kubernetes and Cluster API do not support` });
    }
  }
  const [t0, t1] = [minorOf(talos[0]), minorOf(talos[1])];
  if (t0 && t1 && !semver.eq(t0, t1)) {
    const step = minorStep(t0, t1);
    if (step > 1) {
      out.push({ kind: FindingKind.UNSAFE, object: id, message: `${what} Talos ${talos[0]} → ${talos[1]} skips ${step - 1} minor(s): upgrade Talos one minor at a time (v${t0.major}.${t0.minor + 1} first)` });
    } else if (semver.lt(t1, t0)) {
      out.push({ kind: FindingKind.UNSAFE, object: id, message: `${what} Talos ${talos[0]} → ${talos[1]} is a downgrade` });
    }
  }
  return out;
}

/** A Talos image as findings show it: release and the start of the schematic ID. */
function showImage(config: ConfigSpec | undefined): string {
  const schematic = schematicOf(config);
  return `Talos ${talosVersionOf(config) ?? '(unknown release)'}${schematic ? ` (schematic ${schematic.slice(0, 8)})` : ''}`;
}

/**
 * New machines boot the template VM's disk, not `machine.install.image`: a new Talos release or
 * schematic behind the same template VM would leave new machines on the old image (STACK.md §1.4,
 * §9.1). A VM ID names one image (the fleet check holds every cluster to it), so the change is
 * rejected rather than trusted to an in-place rebuild of the VM nobody can see from dist/.
 */
function templateVmFindings(
  id: string, what: string, field: string, configs: [ConfigSpec | undefined, ConfigSpec | undefined], vms: [Obj | undefined, Obj | undefined],
): Finding[] {
  const [c0, c1] = configs;
  const imageChanged = talosVersionOf(c0) !== talosVersionOf(c1) || schematicOf(c0) !== schematicOf(c1);
  const vm = (o: Obj | undefined) => o ? `${o.spec?.template?.spec?.sourceNode}/${o.spec?.template?.spec?.templateID}` : undefined;
  if (!imageChanged || vm(vms[0]) !== vm(vms[1]) || !vms[1]) return [];
  const schematic = schematicOf(c1);
  const release = talosVersionOf(c1);
  const from = schematic && release ? `from ${nocloudDiskImageUrl(schematic, release)}` : 'from the new image';
  return [{
    kind: FindingKind.REJECTED, object: id,
    message: `${what} moves from ${showImage(c0)} to ${showImage(c1)} but still clones template VM ${vm(vms[1])}, which holds the old image: new machines would boot the old disk (STACK.md §9.1). Build a template VM ${from} under a new VM ID and point the config at it (${field})`,
  }];
}

/** The users' patches an object carries, by prop path, with their content hashes (PATCHES_ANNOTATION). */
function userPatches(o: Obj | undefined): Map<string, string> {
  const value = (o?.metadata?.annotations as Record<string, unknown> | undefined)?.[PATCHES_ANNOTATION];
  const out = new Map<string, string>();
  if (typeof value !== 'string') return out;
  for (const entry of value.split(',')) {
    const at = entry.lastIndexOf('=');
    if (at > 0) out.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return out;
}

/**
 * Which users' patches changed between two objects, and what each level rolls: a cluster-level
 * patch (`talos.patches`) rolls every machine, a control-plane patch the control plane, a pool's
 * patch that pool only. Undefined when no user patch changed.
 */
function patchReasons(before: Obj | undefined, after: Obj | undefined): string | undefined {
  const [a, b] = [userPatches(before), userPatches(after)];
  const scope = (source: string) => (source.startsWith('talos.patches') ? 'cluster level: every machine of the cluster rolls'
    : source.startsWith('controlPlane.patches') ? 'control-plane level: the control plane rolls' : 'pool level: this pool rolls');
  const changes = [...new Set([...a.keys(), ...b.keys()])].flatMap((source) => {
    const verb = !a.has(source) ? 'added' : !b.has(source) ? 'removed' : a.get(source) !== b.get(source) ? 'changed' : undefined;
    return verb ? [`patch ${source} ${verb} (${scope(source)})`] : [];
  });
  return changes.length > 0 ? changes.join('; ') : undefined;
}

function controlPlaneRollout(
  prev: Obj, tcp: Obj, old: Index, next: Index, plan: { rollouts: Rollout[]; scaling: string[]; findings: Finding[] },
): void {
  const id = describeObject(tcp);
  const reasons: string[] = [];
  const [v0, v1] = [prev.spec?.version, tcp.spec?.version];
  if (v0 !== v1) reasons.push(`Kubernetes ${v0} → ${v1}`);
  const [t0, t1] = [prev.spec?.infrastructureTemplate?.name, tcp.spec?.infrastructureTemplate?.name];
  if (t0 !== t1) reasons.push(`machine template: ${templateDiff([old, next], [prev, tcp], 'ProxmoxMachineTemplate', [t0, t1])}`);
  const [c0, c1] = [prev.spec?.controlPlaneConfig?.controlplane, tcp.spec?.controlPlaneConfig?.controlplane];
  if (!isDeepStrictEqual(c0, c1)) {
    const talos = talosVersionOf(c0) !== talosVersionOf(c1) ? `Talos ${talosVersionOf(c0)} → ${talosVersionOf(c1)}`
      : patchReasons(prev, tcp) ?? 'machine config patches changed';
    reasons.push(`Talos config: ${talos} (a control-plane config edit replaces every control-plane machine)`);
  }
  if (reasons.length > 0 && tcp.spec?.rolloutStrategy?.type !== 'OnDelete') {
    plan.rollouts.unshift({ what: `control plane ${tcp.metadata.name} (${tcp.spec?.replicas ?? 1} machines, one at a time)`, reasons });
  }
  if (prev.spec?.replicas !== tcp.spec?.replicas) plan.scaling.push(`control plane ${tcp.metadata.name} scales ${prev.spec?.replicas} → ${tcp.spec?.replicas} machine(s)`);
  plan.findings.push(...controlPlaneReplicaFindings(id, clusterNameOf(tcp), prev.spec?.replicas, tcp.spec?.replicas));
  plan.findings.push(...versionFindings(id, 'control plane', [v0, v1], [talosVersionOf(c0), talosVersionOf(c1)]));
  plan.findings.push(...templateVmFindings(id, 'the control plane', 'proxmox.template.templateId', [c0, c1],
    [findObject(old, prev, 'ProxmoxMachineTemplate', t0), findObject(next, tcp, 'ProxmoxMachineTemplate', t1)]));
}

function poolChanges(
  prev: Obj, md: Obj, old: Index, next: Index, control: readonly Obj[],
  plan: { rollouts: Rollout[]; scaling: string[]; findings: Finding[] },
): void {
  const id = describeObject(md);
  const name = md.metadata.name;
  const [s0, s1] = [prev.spec?.template?.spec ?? {}, md.spec?.template?.spec ?? {}];
  const reasons: string[] = [];
  if (s0.version !== s1.version) reasons.push(`Kubernetes ${s0.version} → ${s1.version}`);
  const [i0, i1] = [s0.infrastructureRef?.name, s1.infrastructureRef?.name];
  if (i0 !== i1) reasons.push(`machine template: ${templateDiff([old, next], [prev, md], 'ProxmoxMachineTemplate', [i0, i1])}`);
  const [b0, b1] = [s0.bootstrap?.configRef?.name, s1.bootstrap?.configRef?.name];
  const [tct0, tct1] = [findObject(old, prev, 'TalosConfigTemplate', b0), findObject(next, md, 'TalosConfigTemplate', b1)];
  const [c0, c1] = [tct0?.spec?.template?.spec, tct1?.spec?.template?.spec];
  if (b0 !== b1) {
    const talos = talosVersionOf(c0) !== talosVersionOf(c1) ? `Talos ${talosVersionOf(c0)} → ${talosVersionOf(c1)}`
      : patchReasons(tct0, tct1) ?? 'machine config patches changed';
    reasons.push(`Talos config: ${talos} (TalosConfigTemplate ${b0} → ${b1})`);
  }
  const otherTemplateChange = !isDeepStrictEqual(prev.spec?.template?.metadata, md.spec?.template?.metadata);
  if (otherTemplateChange) reasons.push('machine labels or annotations changed');
  if (reasons.length > 0) plan.rollouts.push({ what: `pool ${name} (one new machine at a time, maxSurge 1)`, reasons });

  if (prev.spec?.replicas !== md.spec?.replicas) {
    plan.scaling.push(md.spec?.replicas === undefined
      ? `pool ${name}: replicas ${prev.spec?.replicas} → owned by the cluster-autoscaler`
      : `pool ${name} scales ${prev.spec?.replicas ?? '(autoscaler)'} → ${md.spec.replicas} machine(s)`);
  }
  const bounds = (o: Obj) => {
    const a = (o.metadata.annotations ?? {}) as Record<string, string>;
    return a[AUTOSCALER_MIN_ANNOTATION] === undefined ? 'not autoscaled' : `${a[AUTOSCALER_MIN_ANNOTATION]}–${a[AUTOSCALER_MAX_ANNOTATION]}`;
  };
  if (bounds(prev) !== bounds(md)) plan.scaling.push(`pool ${name}: autoscaler bounds ${bounds(prev)} → ${bounds(md)}`);

  plan.findings.push(...versionFindings(id, `pool ${name}`, [s0.version, s1.version], [talosVersionOf(c0), talosVersionOf(c1)]));
  plan.findings.push(...templateVmFindings(id, `pool ${name}`, 'the pool\'s template.templateId, or proxmox.template.templateId if it has none', [c0, c1],
    [findObject(old, prev, 'ProxmoxMachineTemplate', i0), findObject(next, md, 'ProxmoxMachineTemplate', i1)]));

  // Kubelets must not be newer than the API server: a pool may reach a minor only once every
  // control-plane machine runs it. In one change, both roll at once (CAPI does not sequence them).
  // A folder holds one cluster, so its control plane is the pool's.
  const [p0, p1] = [minorOf(s0.version), minorOf(s1.version)];
  for (const tcp of control) {
    const cpBefore = minorOf(old.get(keyOf(tcp))?.object.spec?.version);
    const cpAfter = minorOf(tcp.spec?.version);
    if (!p1 || !cpAfter) continue;
    if (semver.gt(p1, cpAfter)) {
      plan.findings.push({ kind: FindingKind.UNSAFE, object: id, message: `pool ${name} would run Kubernetes ${s1.version}, newer than the control plane's ${tcp.spec?.version}: kubelets must not be newer than the API server` });
    } else if (p0 && cpBefore && minorStep(p0, p1) > 0 && minorStep(cpBefore, p1) > 0) {
      plan.findings.push({
        kind: FindingKind.UNSAFE, object: id,
        message: `pool ${name} upgrades to Kubernetes ${s1.version} in the same change as the control plane (${old.get(keyOf(tcp))?.object.spec?.version} → ${tcp.spec?.version}): both roll at once, so new workers can join before the API servers run ${s1.version}. Upgrade in two commits: first hold the pool (workers[].kubernetesVersion: ${s0.version}), then remove the hold once the control plane is done (README, "Upgrades")`,
      });
    }
  }
}
