/**
 * `npm run plan`: what applying a new dist/ would do to the management cluster, in plain words.
 *
 * Upstream removed its own plan command (`clusterctl alpha topology plan`), and `git diff dist/`
 * shows text, not consequences. This compares two output trees object by object and explains:
 * which objects are created, changed and deleted; which control plane and pools roll and why; and
 * what the controllers would refuse or what would destroy machines (STACK.md §3.4, §4.2, §5.1).
 */
import { isDeepStrictEqual } from 'util';
import * as semver from 'semver';
import * as YAML from 'yaml';
import { OutputFile } from '../app/output';
import { AUTOSCALER_MAX_ANNOTATION, AUTOSCALER_MIN_ANNOTATION } from '../constructs/worker-pool';
import { describeObject, KubeObject } from '../core/kube-object';
import { compareText } from '../core/naming';
import { API, CustomKind } from '../core/stack';
import { CelValidator } from '../gate/cel';
import { IMAGE_FACTORY, nocloudDiskImageUrl } from '../talos/schematic';

/** How bad a finding is; everything but `warning` fails the plan unless allowed. */
export enum FindingKind {
  /** Deletes machines or a whole cluster (a renamed object is a deleted one). */
  DESTRUCTIVE = 'destructive',
  /**
   * The API server or a provider webhook will refuse it and the rollout wedges, or new machines
   * would boot an image other than the config names.
   */
  REJECTED = 'rejected',
  /** Accepted by the controllers, but breaks an upgrade rule (version skew, skipped minors). */
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
}

/**
 * The spec fields the plan reads, across kinds. The objects are read back from YAML that may have
 * been edited by hand, so any field may be missing, and values are only compared, shown or checked.
 */
interface PlanSpec {
  readonly version?: unknown;
  readonly replicas?: unknown;
  readonly strategy?: unknown;
  readonly clusterSelector?: unknown;
  readonly infrastructureTemplate?: NameRef;
  readonly rolloutStrategy?: { readonly type?: unknown };
  readonly controlPlaneConfig?: { readonly controlplane?: ConfigSpec };
  readonly template?: { readonly metadata?: unknown; readonly spec?: TemplateSpec };
}

type Obj = KubeObject & { spec?: PlanSpec; data?: Record<string, string> };

interface Entry {
  readonly folder: string;
  readonly object: Obj;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** Identity of an object as the API server sees it: a new apiVersion of the same group is the same object. */
function keyOf(o: KubeObject): string {
  return `${groupOf(o.apiVersion)}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
}

/** Every object of an output tree, by identity; only manifests (`*.yaml`) count. */
export function indexObjects(files: readonly OutputFile[]): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const f of [...files].sort((a, b) => compareText(a.path, b.path))) {
    if (!/\.ya?ml$/.test(f.path)) continue;
    const folder = f.path.split('/')[0];
    for (const doc of YAML.parseAllDocuments(f.content)) {
      const object = doc.toJS() as Obj | null;
      if (object?.kind && object.metadata?.name) out.set(keyOf(object), { folder, object });
    }
  }
  return out;
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
 * the difference per folder.
 *
 * @param cel validator for the CRDs' transition rules (`oldSelf`)
 */
export function computePlan(before: readonly OutputFile[], after: readonly OutputFile[], cel: CelValidator = new CelValidator()): Plan {
  const old = indexObjects(before);
  const next = indexObjects(after);
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
  }
  return {
    folders: [...folders.entries()]
      .filter(([, p]) => p.created.length + p.changed.length + p.deleted.length > 0)
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, p]) => ({ folder: name, ...p })),
  };
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

/** A template that `from` references by name, in `from`'s namespace (references carry no group). */
function findObject(index: Map<string, Entry>, from: Obj, kind: CustomKind, name: unknown): Obj | undefined {
  if (typeof name !== 'string') return undefined;
  return index.get(`${API[kind].group}|${kind}|${from.metadata.namespace ?? ''}|${name}`)?.object;
}

/** Why a replaced template differs, in the fields of its spec. */
function templateDiff(index: [Map<string, Entry>, Map<string, Entry>], from: [Obj, Obj], kind: CustomKind, names: [unknown, unknown]): string {
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

function controlPlaneRollout(
  prev: Obj, tcp: Obj, old: Map<string, Entry>, next: Map<string, Entry>, plan: { rollouts: Rollout[]; scaling: string[]; findings: Finding[] },
): void {
  const id = describeObject(tcp);
  const reasons: string[] = [];
  const [v0, v1] = [prev.spec?.version, tcp.spec?.version];
  if (v0 !== v1) reasons.push(`Kubernetes ${v0} → ${v1}`);
  const [t0, t1] = [prev.spec?.infrastructureTemplate?.name, tcp.spec?.infrastructureTemplate?.name];
  if (t0 !== t1) reasons.push(`machine template: ${templateDiff([old, next], [prev, tcp], 'ProxmoxMachineTemplate', [t0, t1])}`);
  const [c0, c1] = [prev.spec?.controlPlaneConfig?.controlplane, tcp.spec?.controlPlaneConfig?.controlplane];
  if (!isDeepStrictEqual(c0, c1)) {
    const talos = talosVersionOf(c0) !== talosVersionOf(c1) ? `Talos ${talosVersionOf(c0)} → ${talosVersionOf(c1)}` : 'machine config patches changed';
    reasons.push(`Talos config: ${talos} (a control-plane config edit replaces every control-plane machine)`);
  }
  if (reasons.length > 0 && tcp.spec?.rolloutStrategy?.type !== 'OnDelete') {
    plan.rollouts.unshift({ what: `control plane ${tcp.metadata.name} (${tcp.spec?.replicas ?? 1} machines, one at a time)`, reasons });
  }
  if (prev.spec?.replicas !== tcp.spec?.replicas) plan.scaling.push(`control plane ${tcp.metadata.name} scales ${prev.spec?.replicas} → ${tcp.spec?.replicas} machine(s)`);
  plan.findings.push(...versionFindings(id, 'control plane', [v0, v1], [talosVersionOf(c0), talosVersionOf(c1)]));
  plan.findings.push(...templateVmFindings(id, 'the control plane', 'proxmox.template.templateId', [c0, c1],
    [findObject(old, prev, 'ProxmoxMachineTemplate', t0), findObject(next, tcp, 'ProxmoxMachineTemplate', t1)]));
}

function poolChanges(
  prev: Obj, md: Obj, old: Map<string, Entry>, next: Map<string, Entry>, control: readonly Obj[],
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
    const talos = talosVersionOf(c0) !== talosVersionOf(c1) ? `Talos ${talosVersionOf(c0)} → ${talosVersionOf(c1)}` : 'machine config patches changed';
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
