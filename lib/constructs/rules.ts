/**
 * The semantic rules of a cluster, shared by config files and constructs: each check returns
 * problems naming the field, the value and what is expected, so the same rule reads right for
 * `clusters/x.yaml: network.endpoint …` and for a TypeScript prop `endpoint …`.
 */
import * as semver from 'semver';
import { Ipv4Range, ipv4ToInt, parseIpv4Range, rangeContains, rangesOverlap, subnetRange } from '../core/network';
import { Schematic } from '../talos/schematic';
import { TALOS_KUBERNETES_SUPPORT } from '../core/stack';

/** One finding of a rule. */
export interface Problem {
  /** Field path, in the caller's vocabulary. */
  readonly field: string;
  /** What is wrong: value received and what is expected. */
  readonly message: string;
  /** Errors stop synth; warnings are printed. */
  readonly severity: 'error' | 'warning';
}

const error = (field: string, message: string): Problem => ({ field, message, severity: 'error' });
const warning = (field: string, message: string): Problem => ({ field, message, severity: 'warning' });

/** The network of a cluster. */
export interface NetworkInput {
  readonly endpoint: string;
  readonly addresses: readonly string[];
  readonly prefix: number;
  readonly gateway: string;
  readonly podCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
}

/** How the caller names the network fields. */
export type NetworkFields = { readonly [K in keyof NetworkInput]: string };

/** Field names of the config file. */
export const CONFIG_NETWORK_FIELDS: NetworkFields = {
  endpoint: 'network.endpoint', addresses: 'network.addresses', prefix: 'network.prefix',
  gateway: 'network.gateway', podCidrs: 'network.podCidr', serviceCidrs: 'network.serviceCidr',
};

/** Field names of TalosClusterProps. */
export const PROPS_NETWORK_FIELDS: NetworkFields = {
  endpoint: 'endpoint', addresses: 'addresses', prefix: 'prefix',
  gateway: 'gateway', podCidrs: 'podCidrs', serviceCidrs: 'serviceCidrs',
};

/** Parsed node ranges of a network, with the problems of malformed entries. */
export function nodeRanges(addresses: readonly string[], field: string): { ranges: Ipv4Range[]; problems: Problem[] } {
  const ranges: Ipv4Range[] = [];
  const problems: Problem[] = [];
  addresses.forEach((spec, i) => {
    const range = parseIpv4Range(spec);
    if (range) ranges.push(range);
    else problems.push(error(`${field}[${i}]`, `${JSON.stringify(spec)} is not an IPv4 range (a-b with a <= b), CIDR (a/n) or address`));
  });
  return { ranges, problems };
}

/**
 * IP math (STACK.md §1.3): node ranges well-formed, inside the node subnet (the subnet of the
 * gateway at the prefix) and non-overlapping; VIP inside the subnet, outside the ranges and not
 * the gateway; gateway outside the ranges; pod, service and node networks disjoint.
 */
export function networkProblems(n: NetworkInput, f: NetworkFields): Problem[] {
  const problems: Problem[] = [];
  const subnet = subnetRange(n.gateway, n.prefix);
  const vip = ipv4ToInt(n.endpoint);
  const gateway = ipv4ToInt(n.gateway);
  if (vip === undefined) problems.push(error(f.endpoint, `${JSON.stringify(n.endpoint)} must be an IPv4 address (the control-plane VIP)`));
  if (!subnet) {
    problems.push(error(f.gateway, `${JSON.stringify(n.gateway)} with ${f.prefix} ${n.prefix} is not an IPv4 subnet`));
    return problems;
  }
  const { ranges, problems: malformed } = nodeRanges(n.addresses, f.addresses);
  problems.push(...malformed);
  const where = `the node subnet ${subnet.spec} (${f.gateway} ${n.gateway}/${n.prefix})`;

  for (const r of ranges) {
    if (r.first < subnet.first || r.last > subnet.last) problems.push(error(f.addresses, `${r.spec} is not inside ${where}`));
    if (gateway !== undefined && rangeContains(r, gateway)) {
      problems.push(error(f.gateway, `${n.gateway} lies inside ${f.addresses} ${r.spec}; the gateway must be outside the node range`));
    }
    if (rangeContains(r, subnet.first) || rangeContains(r, subnet.last)) {
      problems.push(error(f.addresses, `${r.spec} includes the network or broadcast address of ${subnet.spec}; nodes cannot use them`));
    }
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangesOverlap(ranges[i], ranges[j])) problems.push(error(f.addresses, `${ranges[i].spec} and ${ranges[j].spec} overlap; each address must be listed once`));
    }
  }
  if (vip !== undefined) {
    if (!rangeContains(subnet, vip)) {
      problems.push(error(f.endpoint, `${n.endpoint} lies outside ${where}; the VIP must be in the nodes' L2 subnet`));
    }
    for (const r of ranges.filter((x) => rangeContains(x, vip))) {
      problems.push(error(f.endpoint, `${n.endpoint} lies inside ${f.addresses} ${r.spec}; the VIP must be outside the node range (CAPMOX rejects it)`));
    }
    if (vip === gateway) problems.push(error(f.endpoint, `${n.endpoint} is the gateway; the VIP needs an address of its own`));
  }

  const networks: { field: string; range: Ipv4Range }[] = [{ field: `${f.gateway}/${f.prefix}`, range: subnet }];
  for (const [field, cidrs] of [[f.podCidrs, n.podCidrs], [f.serviceCidrs, n.serviceCidrs]] as const) {
    cidrs.forEach((c) => {
      const range = c.includes('/') ? parseIpv4Range(c) : undefined;
      if (range) networks.push({ field, range });
      else problems.push(error(field, `${JSON.stringify(c)} must be an IPv4 CIDR like 10.244.0.0/16`));
    });
  }
  for (let i = 0; i < networks.length; i++) {
    for (let j = i + 1; j < networks.length; j++) {
      const a = networks[i];
      const b = networks[j];
      if (rangesOverlap(a.range, b.range)) {
        problems.push(error(b.field, `${b.range.spec} overlaps ${a.field} ${a.range.spec}; pod, service and node networks must be disjoint`));
      }
    }
  }
  return problems;
}

/** A machine set's demand on the address pool. */
export interface MachineDemand {
  /** `controlPlane` or `pool <name>`. */
  readonly what: string;
  /** Machines at most (a pool's autoscaler maximum when autoscaled). */
  readonly machines: number;
  /** Extra machines a rolling update creates before deleting old ones. */
  readonly surge: number;
}

/**
 * IP pool capacity: the node ranges hold every machine at its maximum, plus the surge of a
 * rolling update of everything at once (a Talos upgrade rolls the control plane and every pool).
 */
export function capacityProblems(addresses: readonly string[], demands: readonly MachineDemand[], field: string): Problem[] {
  const { ranges, problems } = nodeRanges(addresses, field);
  // Malformed entries and overlaps are reported by networkProblems; count distinct addresses.
  if (problems.length > 0) return [];
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  let available = 0;
  let covered = -1;
  for (const r of sorted) {
    const first = Math.max(r.first, covered + 1);
    if (r.last >= first) available += r.last - first + 1;
    covered = Math.max(covered, r.last);
  }
  const machines = demands.reduce((s, d) => s + d.machines, 0);
  const surge = demands.reduce((s, d) => s + d.surge, 0);
  if (available >= machines + surge) return [];
  const parts = demands.map((d) => `${d.machines} ${d.what}`).join(' + ');
  return [error(field, `holds ${available} address(es) but the cluster needs ${machines + surge}: ${parts} machines + ${surge} for rolling updates (maxSurge 1 per control plane and pool); add addresses or shrink the cluster`)];
}

/** Control-plane size: odd for etcd quorum; one works but cannot roll (STACK.md §3.4). */
export function controlPlaneReplicaProblems(replicas: number, field: string): Problem[] {
  if (replicas < 1 || replicas % 2 === 0) {
    return [error(field, `${replicas} must be odd (1, 3, 5, …): etcd needs a majority, and an even count adds no fault tolerance`)];
  }
  if (replicas === 1) {
    return [warning(field, '1: no high availability, and a rolling update (Kubernetes or Talos upgrade, template change) of a single control plane stalls (STACK.md §3.4); use 3')];
  }
  return [];
}

/**
 * Versions: well-formed, a Talos minor this project ships a machine-config schema for, and a
 * Kubernetes version inside that Talos minor's support matrix (STACK.md §0).
 */
export function versionProblems(talosVersion: string, kubernetesVersion: string, fields: { talos: string; kubernetes: string }): Problem[] {
  const problems: Problem[] = [];
  const talos = /^v\d+\.\d+\.\d+$/.test(talosVersion) ? semver.parse(talosVersion) : null;
  const kube = /^v\d+\.\d+\.\d+$/.test(kubernetesVersion) ? semver.parse(kubernetesVersion) : null;
  if (!talos) problems.push(error(fields.talos, `${JSON.stringify(talosVersion)} must be a release version like v1.13.9`));
  if (!kube) problems.push(error(fields.kubernetes, `${JSON.stringify(kubernetesVersion)} must be a release version like v1.35.4`));
  if (!talos || !kube) return problems;
  const minor = `v${talos.major}.${talos.minor}`;
  const support = TALOS_KUBERNETES_SUPPORT[minor];
  if (!support) {
    problems.push(error(fields.talos, `${talosVersion} is not supported: supported Talos minors are ${Object.keys(TALOS_KUBERNETES_SUPPORT).join(', ')}`));
    return problems;
  }
  const kubeMinor = `${kube.major}.${kube.minor}.0`;
  if (semver.lt(kubeMinor, `${support.min.slice(1)}.0`) || semver.gt(kubeMinor, `${support.max.slice(1)}.0`)) {
    problems.push(error(fields.kubernetes, `${kubernetesVersion} is outside what Talos ${minor} supports (Kubernetes ${support.min} to ${support.max})`));
  }
  return problems;
}

/** One user of a Proxmox template VM: the control plane or a worker pool. */
export interface TemplateVmUser {
  /** `control plane`, `pool gpu`. */
  readonly what: string;
  /** Field that names the template VM, in the caller's vocabulary. */
  readonly field: string;
  readonly sourceNode: string;
  readonly templateId: number;
  /** Image Factory schematic ID of the image its machines must boot. */
  readonly schematicId: string;
  /** The schematic's extensions, for the message. */
  readonly extensions: readonly string[];
  /** Where the disk image of its schematic is, for the message. */
  readonly diskImageUrl: string;
}

/** A machine set as the user of a template VM whose machines boot `schematic` at `talosVersion`. */
export function templateVmUser(what: string, field: string, vm: { sourceNode: string; templateId: number }, schematic: Schematic, talosVersion: string): TemplateVmUser {
  return {
    what, field, sourceNode: vm.sourceNode, templateId: vm.templateId,
    schematicId: schematic.id, extensions: schematic.officialExtensions, diskImageUrl: schematic.diskImageUrl(talosVersion),
  };
}

/**
 * A template VM holds one disk image, so every machine set cloned from it boots one schematic:
 * a pool with other extensions (Longhorn's, say) needs its own template VM (STACK.md §1.4, §6).
 */
export function templateVmProblems(users: readonly TemplateVmUser[]): Problem[] {
  const first = new Map<string, TemplateVmUser>();
  const out: Problem[] = [];
  for (const u of users) {
    const vm = `${u.sourceNode}/${u.templateId}`;
    const owner = first.get(vm);
    if (!owner) {
      first.set(vm, u);
    } else if (owner.schematicId !== u.schematicId) {
      const ext = (x: TemplateVmUser) => x.extensions.length ? x.extensions.join(', ') : 'no extensions';
      out.push(error(u.field, `${vm} is the template VM of the ${owner.what} too, but the ${u.what} needs another image (${ext(u)}, not ${ext(owner)}): build a template VM from ${u.diskImageUrl} and name its sourceNode and templateId here`));
    }
  }
  return out;
}

/** How many minors a kubelet may lag behind the API server (Kubernetes version skew policy, since 1.28). */
export const KUBELET_MAX_MINOR_SKEW = 3;

/**
 * A worker pool held at an older Kubernetes release while the control plane upgrades first:
 * never newer than the control plane (a kubelet must not be newer than the API server), at most
 * {@link KUBELET_MAX_MINOR_SKEW} minors older, and supported by the cluster's Talos minor.
 */
export function poolVersionProblems(talosVersion: string, controlPlaneVersion: string, poolVersion: string, fields: { talos: string; kubernetes: string; pool: string }): Problem[] {
  const problems = versionProblems(talosVersion, poolVersion, { talos: fields.talos, kubernetes: fields.pool })
    .filter((p) => p.field === fields.pool);
  const pool = semver.valid(poolVersion.replace(/^v/, ''));
  const cp = semver.valid(controlPlaneVersion.replace(/^v/, ''));
  if (!pool || !cp || !/^v/.test(poolVersion)) return problems;
  if (semver.gt(pool, cp)) {
    problems.push(error(fields.pool, `${poolVersion} is newer than ${fields.kubernetes} ${controlPlaneVersion}: kubelets must not be newer than the API server, so upgrade the control plane first`));
  } else if (semver.minor(cp) - semver.minor(pool) > KUBELET_MAX_MINOR_SKEW || semver.major(cp) !== semver.major(pool)) {
    problems.push(error(fields.pool, `${poolVersion} is more than ${KUBELET_MAX_MINOR_SKEW} minors behind ${fields.kubernetes} ${controlPlaneVersion} (Kubernetes version skew policy)`));
  }
  return problems;
}

/** Machine size: what Talos needs to run (STACK.md §1.4: at least 2 vCPUs and 2 GiB). */
export function machineSizeProblems(m: { cores: number; sockets?: number; memoryMiB: number; diskGiB: number }, prefix: string): Problem[] {
  const problems: Problem[] = [];
  const at = (k: string) => prefix ? `${prefix}.${k}` : k;
  const vcpus = m.cores * (m.sockets ?? 1);
  if (!Number.isInteger(m.cores) || vcpus < 2) problems.push(error(at('cores'), `${m.cores} gives ${vcpus} vCPU(s); Talos needs at least 2`));
  if (!Number.isInteger(m.memoryMiB) || m.memoryMiB < 2048) problems.push(error(at('memoryMiB'), `${m.memoryMiB} is below the 2048 MiB Talos needs`));
  else if (m.memoryMiB % 8 !== 0) problems.push(error(at('memoryMiB'), `${m.memoryMiB} must be a multiple of 8 (CAPMOX)`));
  if (!Number.isInteger(m.diskGiB) || m.diskGiB < 10) problems.push(error(at('diskGiB'), `${m.diskGiB} is below the 10 GiB system disk Talos needs`));
  return problems;
}

/** Official extension names look like `siderolabs/qemu-guest-agent` and appear once. */
export const EXTENSION_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;

/** Schematic contents: well-formed, duplicate-free extension names and kernel arguments. */
export function schematicProblems(extensions: readonly string[], kernelArgs: readonly string[], fields: { extensions: string; kernelArgs: string }): Problem[] {
  const problems: Problem[] = [];
  extensions.forEach((e, i) => {
    if (!EXTENSION_NAME.test(e)) problems.push(error(`${fields.extensions}[${i}]`, `${JSON.stringify(e)} is not an official extension name like siderolabs/qemu-guest-agent`));
    else if (extensions.indexOf(e) !== i) problems.push(error(`${fields.extensions}[${i}]`, `${JSON.stringify(e)} is listed twice`));
  });
  kernelArgs.forEach((a, i) => {
    if (a.length === 0 || /\s/.test(a)) problems.push(error(`${fields.kernelArgs}[${i}]`, `${JSON.stringify(a)} must be one kernel argument without spaces`));
  });
  return problems;
}

/** Machine names become hostnames (DNS labels, at most 63 characters). */
export const MAX_HOSTNAME = 63;
/** CACPPT names control-plane Machines `<cluster>-control-plane-<5 random>`. */
export const CONTROL_PLANE_MACHINE_SUFFIX = '-control-plane-xxxxx'.length;
/** CAPI names pool Machines `<cluster>-<pool>-<5 random>-<5 random>`. */
export const POOL_MACHINE_SUFFIX = '-xxxxx-xxxxx'.length;

/** Names short enough that every Machine name is a valid hostname. */
export function nameLengthProblems(clusterName: string, poolNames: readonly { name: string; field: string }[], clusterField: string): Problem[] {
  const problems: Problem[] = [];
  const maxCluster = MAX_HOSTNAME - CONTROL_PLANE_MACHINE_SUFFIX;
  if (clusterName.length > maxCluster) {
    problems.push(error(clusterField, `${JSON.stringify(clusterName)} is ${clusterName.length} characters; control-plane Machine names (<name>-control-plane-xxxxx) become hostnames of at most ${MAX_HOSTNAME}, so at most ${maxCluster}`));
  }
  for (const p of poolNames) {
    const length = clusterName.length + 1 + p.name.length + POOL_MACHINE_SUFFIX;
    if (length > MAX_HOSTNAME) {
      problems.push(error(p.field, `${JSON.stringify(p.name)} makes Machine names (<cluster>-<pool>-xxxxx-xxxxx) ${length} characters; hostnames allow ${MAX_HOSTNAME}, so cluster and pool name together may have at most ${MAX_HOSTNAME - POOL_MACHINE_SUFFIX - 1}`));
    }
  }
  return problems;
}

/** Autoscaler bounds: both or neither, min <= max, max >= 1, and no fixed replicas beside them. */
export function autoscalingProblems(p: { replicas?: number; min?: number; max?: number }, fields: { replicas: string; min: string; max: string }): Problem[] {
  const problems: Problem[] = [];
  if ((p.min === undefined) !== (p.max === undefined)) {
    problems.push(error(p.min === undefined ? fields.min : fields.max, 'is required: set both autoscaler bounds, or neither'));
    return problems;
  }
  if (p.min === undefined || p.max === undefined) return problems;
  if (p.min > p.max) problems.push(error(fields.min, `${p.min} is greater than ${fields.max} ${p.max}`));
  if (p.max < 1) problems.push(error(fields.max, `${p.max} must be at least 1`));
  if (p.replicas !== undefined) {
    problems.push(error(fields.replicas, `${p.replicas} cannot be set together with autoscaler bounds: the autoscaler owns the replica count, and a count in git would be reset on every GitOps sync (new pools start at the minimum)`));
  }
  return problems;
}

/** Pool names appear once per cluster. */
export function uniquePoolProblems(pools: readonly { name: string; field: string }[]): Problem[] {
  return pools.flatMap((p, i) => {
    const first = pools.findIndex((q) => q.name === p.name);
    return first < i ? [error(p.field, `${JSON.stringify(p.name)} is used by ${pools[first].field} too; pool names must be unique`)] : [];
  });
}

/** Formats problems for a thrown error or a printed warning. */
export function formatProblems(problems: readonly Problem[], prefix = ''): string {
  return problems.map((p) => `${prefix}${p.field} ${p.message}`).join('\n');
}
