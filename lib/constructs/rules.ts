/**
 * The rules of a cluster's props, run by the constructs in their constructors: each check returns
 * diagnostics naming the field (a prop path, which config files spell alike), the value and what
 * is expected, so the same rule reads right for `clusters/x.yaml: network.endpoint …` and for a
 * TypeScript prop. Config files add no rules of their own (lib/app/config only checks structure).
 */
import * as semver from 'semver';
import { Diagnostic, error, joinList as list, quote, warning } from '../core/errors';
import { DNS1123_LABEL, DNS1123_LABEL_MAX } from '../core/naming';
import {
  cidrFamily, cidrHostBitsZero, cidrPrefix, familyBits, formatIp, intToIpv4, IpFamily, IpRange, ipRangeContains, ipRangesOverlap,
  ipSubnet, Ipv4Range, ipv4ToInt, parseIp, parseIpRange, parseIpv4Range, rangeContains, rangesOverlap, rangeSize, subnetRange,
} from '../core/network';
import { TALOS_KUBERNETES_SUPPORT } from '../core/stack';
import { releaseVersion } from '../core/versions';
import { closestNames, OfficialExtensions, officialExtensions } from '../talos/extensions';
import { nocloudDiskImageUrl, Schematic } from '../talos/schematic';
import type { ProxmoxCloneOptions, TemplateVm, VmIdRange } from './proxmox-machine-template';

/** A finding of a rule: the project's one diagnostic type (lib/core/errors.ts). */
export type Problem = Diagnostic;

/** The network of a cluster, as the rules read it (defaults applied). */
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

/** Field paths of the network in TalosClusterProps and in the config file (spelled alike). */
export const NETWORK_FIELDS: NetworkFields = {
  endpoint: 'network.endpoint', addresses: 'network.addresses', prefix: 'network.prefix',
  gateway: 'network.gateway', podCidrs: 'network.podCidrs', serviceCidrs: 'network.serviceCidrs',
};

/** Addresses are copied verbatim into CAPMOX's IPAM pool and the machine configs: no trimming, so no whitespace. */
function whitespaceProblem(value: string, path: string): Problem {
  return error(path, `${quote(value)} contains whitespace; write the address alone (it is copied verbatim, never trimmed)`);
}

/** Special-use IPv4 ranges no node, VIP, gateway, DNS server, pod or service network may use (STACK.md §9.8). */
export const SPECIAL_USE_IPV4: readonly { readonly cidr: string; readonly what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved, with the broadcast address 255.255.255.255' },
];

/** {@link SPECIAL_USE_IPV4} parsed, once: every address field of every cluster is checked against it. */
const SPECIAL_USE_RANGES = SPECIAL_USE_IPV4.map((s) => ({ ...s, range: parseIpv4Range(s.cidr) as Ipv4Range }));

/** The special-use range a range overlaps, if any. */
function specialUse(range: Ipv4Range): { cidr: string; what: string } | undefined {
  return SPECIAL_USE_RANGES.find((s) => rangesOverlap(range, s.range));
}

/** A problem when `range` touches a special-use range; `what` names its use (`a node range`). */
function specialUseProblems(range: Ipv4Range, path: string, what: string): Problem[] {
  const s = specialUse(range);
  return s ? [error(path, `${range.spec} lies in ${s.cidr} (${s.what}), a special-use range that cannot be ${what} (STACK.md §9.8)`)] : [];
}

/** Widest and narrowest IPv4 service network kube-apiserver and the cluster's services allow (STACK.md §9.8). */
export const SERVICE_CIDR_MIN_PREFIX = 12;
/** See {@link SERVICE_CIDR_MIN_PREFIX}: `.1` (kubernetes) and `.10` (cluster DNS) must fit. */
export const SERVICE_CIDR_MAX_PREFIX = 28;
/** kube-controller-manager's `node-cidr-mask-size`: every node gets a /24 of the pod network (STACK.md §9.8). */
export const NODE_POD_CIDR_PREFIX = 24;

/** Parsed node ranges of a network, with the problems of malformed entries. */
export function nodeRanges(addresses: readonly string[], field: string): { ranges: Ipv4Range[]; problems: Problem[] } {
  const ranges: Ipv4Range[] = [];
  const problems: Problem[] = [];
  addresses.forEach((spec, i) => {
    const range = parseIpv4Range(spec);
    if (typeof spec === 'string' && /\s/.test(spec)) problems.push(whitespaceProblem(spec, `${field}[${i}]`));
    else if (range) ranges.push(range);
    else problems.push(error(`${field}[${i}]`, `${quote(spec)} is not an IPv4 range (a-b with a <= b), CIDR (a/n) or address`));
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
  if (typeof n.endpoint === 'string' && /\s/.test(n.endpoint)) problems.push(whitespaceProblem(n.endpoint, f.endpoint));
  else if (vip === undefined) problems.push(error(f.endpoint, `${quote(n.endpoint)} must be an IPv4 address (the control-plane VIP)`));
  if (typeof n.gateway === 'string' && /\s/.test(n.gateway)) {
    problems.push(whitespaceProblem(n.gateway, f.gateway));
    return problems;
  }
  if (!subnet) {
    problems.push(error(f.gateway, `${quote(n.gateway)} with ${f.prefix} ${n.prefix} is not an IPv4 subnet`));
    return problems;
  }
  const { ranges, problems: malformed } = nodeRanges(n.addresses, f.addresses);
  problems.push(...malformed);
  const where = `the node subnet ${subnet.spec} (${f.gateway} ${n.gateway}/${n.prefix})`;
  // /31 and /32 subnets have no network or broadcast address (RFC 3021).
  const edge = (int: number) => n.prefix <= 30 && (int === subnet.first || int === subnet.last)
    ? (int === subnet.first ? 'network' : 'broadcast') : undefined;
  const gatewayEdge = gateway === undefined ? undefined : edge(gateway);
  if (gatewayEdge) problems.push(error(f.gateway, `${n.gateway} is the ${gatewayEdge} address of ${subnet.spec}; the gateway must be a host address of the node subnet (STACK.md §9.8)`));
  if (gateway !== undefined) problems.push(...specialUseProblems({ first: gateway, last: gateway, spec: n.gateway }, f.gateway, 'the gateway'));
  for (const r of ranges) problems.push(...specialUseProblems(r, f.addresses, 'a node address'));

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
    const vipEdge = edge(vip);
    if (vipEdge) problems.push(error(f.endpoint, `${n.endpoint} is the ${vipEdge} address of ${subnet.spec}; the VIP must be a host address of the node subnet (STACK.md §9.8)`));
    problems.push(...specialUseProblems({ first: vip, last: vip, spec: n.endpoint }, f.endpoint, 'the VIP'));
  }

  const networks: { field: string; range: Ipv4Range }[] = [{ field: `${f.gateway}/${f.prefix}`, range: subnet }];
  for (const [field, cidrs] of [[f.podCidrs, n.podCidrs], [f.serviceCidrs, n.serviceCidrs]] as const) {
    cidrs.forEach((c) => {
      // IPv6 networks (dual-stack) have rules of their own: dualStackCidrProblems.
      if (cidrFamily(c) === 6) return;
      const range = typeof c === 'string' && c.includes('/') && !/\s/.test(c) ? parseIpv4Range(c) : undefined;
      if (!range) {
        problems.push(error(field, `${quote(c)} must be an IPv4 CIDR like 10.244.0.0/16`));
        return;
      }
      networks.push({ field, range });
      problems.push(...cidrProblems(c, range, field, field === f.serviceCidrs ? 'service' : 'pod'));
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

/**
 * Pod and service networks Kubernetes accepts (STACK.md §9.8): host bits zero; a service network
 * from /12 (kube-apiserver refuses wider) to /28 (it must hold .1 and the DNS address .10); a pod
 * network at least a /24, the share kube-controller-manager hands each node; none special-use.
 */
function cidrProblems(cidr: string, range: Ipv4Range, field: string, kind: 'pod' | 'service'): Problem[] {
  const problems: Problem[] = [];
  const bits = Number(cidr.split('/')[1]);
  if (!cidrHostBitsZero(cidr)) problems.push(error(field, `${cidr} has host bits set; write its network address ${intToIpv4(range.first)}/${bits}`));
  if (kind === 'service' && bits < SERVICE_CIDR_MIN_PREFIX) {
    problems.push(error(field, `${cidr} is wider than /${SERVICE_CIDR_MIN_PREFIX}, which kube-apiserver refuses for a service network (STACK.md §9.8)`));
  }
  if (kind === 'service' && bits > SERVICE_CIDR_MAX_PREFIX) {
    problems.push(error(field, `${cidr} is narrower than /${SERVICE_CIDR_MAX_PREFIX}: the service network must hold the kubernetes service (.1) and cluster DNS (.10) (STACK.md §9.8)`));
  }
  if (kind === 'pod' && bits > NODE_POD_CIDR_PREFIX) {
    problems.push(error(field, `${cidr} is narrower than /${NODE_POD_CIDR_PREFIX}, the pod network kube-controller-manager hands every node (STACK.md §9.8); use a /${NODE_POD_CIDR_PREFIX} or wider`));
  }
  problems.push(...specialUseProblems(range, field, `a ${kind} network`));
  return problems;
}

/**
 * Pod network capacity: one /24 per node (kube-controller-manager's node-cidr-mask-size, STACK.md
 * §9.8) for every machine the cluster can have at once, counted like {@link capacityProblems}.
 */
export function podCidrCapacityProblems(allPodCidrs: readonly string[], demands: readonly MachineDemand[], field: string): Problem[] {
  // The IPv6 network of a dual-stack cluster is counted by dualStackCidrProblems.
  const podCidrs = allPodCidrs.filter((c) => cidrFamily(c) !== 6);
  const ranges = podCidrs.map((c) => (typeof c === 'string' && c.includes('/') && !/\s/.test(c) ? parseIpv4Range(c) : undefined));
  // Malformed or too narrow networks are reported by networkProblems.
  if (ranges.some((r) => !r || rangeSize(r) < 2 ** (32 - NODE_POD_CIDR_PREFIX))) return [];
  const nodeNetworks = ranges.reduce((s, r) => s + rangeSize(r as Ipv4Range) / 2 ** (32 - NODE_POD_CIDR_PREFIX), 0);
  const nodes = addressesNeeded(demands).total;
  if (nodeNetworks >= nodes) return [];
  return [error(field, `${podCidrs.join(', ')} holds ${nodeNetworks} node pod network(s) (/${NODE_POD_CIDR_PREFIX} each, STACK.md §9.8) but the cluster can have ${nodes} nodes at once (every machine at its maximum plus the rolling-update surge); use a wider pod network`)];
}

/** DNS servers of the nodes: IPv4 addresses without whitespace, none special-use (STACK.md §9.8), each listed once. */
export function dnsServerProblems(servers: readonly string[], field: string): Problem[] {
  return servers.flatMap((s, i) => {
    const path = `${field}[${i}]`;
    if (typeof s === 'string' && /\s/.test(s)) return [whitespaceProblem(s, path)];
    const int = ipv4ToInt(s);
    if (int === undefined) return [error(path, `${quote(s)} must be an IPv4 address like 192.168.0.1 (DNS server)`)];
    if (servers.indexOf(s) !== i) return [error(path, `${s} is listed twice`)];
    return specialUseProblems({ first: int, last: int, spec: s }, path, 'a DNS server');
  });
}

/** Largest value of an int32 CRD field (replicas, numCores, numSockets, memoryMiB, sizeGb). */
export const INT32_MAX = 2_147_483_647;

/**
 * A Linux interface name (kernel dev_valid_name): 1 to 15 characters, no whitespace, "/" or ":",
 * not "." or ".."; Proxmox bridges (vmbrN, SDN vnets) are such names (STACK.md §9.8).
 */
export function bridgeNameProblems(value: string, path: string): Problem[] {
  if (typeof value === 'string' && /^[^\s/:]{1,15}$/.test(value) && value !== '.' && value !== '..') return [];
  return [error(path, `${quote(value)} must be a Proxmox bridge: a Linux interface name of 1 to 15 characters without whitespace, "/" or ":" (not "." or "..")`)];
}

/** Proxmox node names are DNS labels, upper case allowed (STACK.md §9.8). */
export const PROXMOX_NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A Proxmox node name; `what` says which node it is. */
export function proxmoxNodeProblems(value: string, path: string, what: string): Problem[] {
  if (typeof value === 'string' && PROXMOX_NODE_NAME.test(value)) return [];
  return [error(path, `${quote(value)} must be a Proxmox node name (${what}): a DNS label of at most 63 letters, digits and "-", starting and ending with a letter or digit`)];
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
 * Addresses the machines of a network need at once: every machine at its maximum (a pool's
 * autoscaler maximum), plus the surge of a rolling update of everything at once (a Talos upgrade
 * rolls the control plane and every pool): one per machine set of the demands. The one count the
 * capacity rules and the fleet page (lib/app/fleet-page.ts) use.
 */
export function addressesNeeded(demands: readonly MachineDemand[]): { readonly machines: number; readonly surge: number; readonly total: number } {
  const machines = demands.reduce((s, d) => s + d.machines, 0);
  const surge = demands.reduce((s, d) => s + d.surge, 0);
  return { machines, surge, total: machines + surge };
}

/** The distinct addresses of some ranges of one family: an address in two ranges counts once. */
export function distinctAddressCount(ranges: readonly { readonly first: bigint; readonly last: bigint }[]): bigint {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let available = 0n;
  let covered = -1n;
  for (const r of sorted) {
    const first = r.first > covered + 1n ? r.first : covered + 1n;
    if (r.last >= first) available += r.last - first + 1n;
    if (r.last > covered) covered = r.last;
  }
  return available;
}

/**
 * Whether a pool of `available` addresses is short of `needed`. A count that is not a whole number
 * (a bound missing or malformed, from JavaScript callers) is reported on its own field, not here.
 */
function fewerThan(available: bigint, needed: number): boolean {
  return Number.isSafeInteger(needed) && available < BigInt(needed);
}

/**
 * IP pool capacity: the node ranges hold every machine at its maximum, plus the surge of a
 * rolling update of everything at once ({@link addressesNeeded}).
 */
export function capacityProblems(addresses: readonly string[], demands: readonly MachineDemand[], field: string): Problem[] {
  const { ranges, problems } = nodeRanges(addresses, field);
  // Malformed entries and overlaps are reported by networkProblems; count distinct addresses.
  if (problems.length > 0) return [];
  const available = distinctAddressCount(ranges.map((r) => ({ first: BigInt(r.first), last: BigInt(r.last) })));
  const { surge, total } = addressesNeeded(demands);
  if (!fewerThan(available, total)) return [];
  const parts = demands.map((d) => `${d.machines} ${d.what}`).join(' + ');
  return [error(field, `holds ${available} address(es) but the cluster needs ${total}: ${parts} machines + ${surge} for rolling updates (maxSurge 1 per control plane and per deployment: one per pool, one per node of a spread pool); add addresses or shrink the cluster`)];
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
  const talos = releaseVersion(talosVersion);
  const kube = releaseVersion(kubernetesVersion);
  if (!talos) problems.push(error(fields.talos, `${quote(talosVersion)} must be a release version like v1.13.9`));
  if (!kube) problems.push(error(fields.kubernetes, `${quote(kubernetesVersion)} must be a release version like v1.35.4`));
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
  /** Field that names the template VM, in the caller's vocabulary (`proxmox.template`, `workers[1].template`). */
  readonly field: string;
  /** Whether the field is set: a pool without its own `template` clones the cluster's. */
  readonly declared: boolean;
  /** The template VM, as declared (image and storage included). */
  readonly vm: TemplateVm;
  /** Talos release the machine set boots. */
  readonly talosVersion: string;
  /** Image Factory schematic the machine set boots. */
  readonly schematic: Schematic;
  /** Nodes CAPMOX may clone its machines on, and the field that says so. */
  readonly nodes: readonly string[];
  readonly nodesField: string;
  /** For one node of a spread pool: the field its own template VM goes in (`workers[0].spread.templates`). */
  readonly spreadTemplatesField?: string;
}

/** Image Factory schematic IDs: hex sha256. */
export const SCHEMATIC_ID = /^[0-9a-f]{64}$/;

/** Proxmox storage IDs (`pve-storage-id`: a letter first, a letter or digit last, case-insensitive). */
export const PROXMOX_STORAGE_ID = /^[a-z][a-z0-9_.-]*[a-z0-9]$/i;

/**
 * Storage names that Proxmox gives its node-local storages at install (LVM-thin, ZFS): Proxmox
 * cannot share either type, so declaring them shared is almost surely a slip.
 */
const NODE_LOCAL_STORAGE_NAMES: readonly string[] = ['local-lvm', 'local-zfs'];

/** A Proxmox storage ID; `what` says which storage it is. */
export function storageIdProblems(value: string, path: string, what: string): Problem[] {
  if (typeof value === 'string' && PROXMOX_STORAGE_ID.test(value)) return [];
  return [error(path, `${quote(value)} must be a Proxmox storage ID (${what}): letters, digits, "-", "_" and ".", a letter first`)];
}

/** The Proxmox template VM a machine set is cloned from: node, VM ID, declared image and storage. */
export function templateVmRefProblems(vm: TemplateVm, path: string): Diagnostic[] {
  const image = vm.image ?? {};
  return [
    ...proxmoxNodeProblems(vm.sourceNode, `${path}.sourceNode`, 'the one that holds the template VM'),
    ...wholeNumberProblems(vm.templateId, `${path}.templateId`, 'a Proxmox VM ID', MIN_VM_ID, MAX_VM_ID),
    ...(releaseVersion(image.talosVersion) ? []
      : [error(`${path}.image.talosVersion`, `${quote(image.talosVersion)} must be the Talos release of the template's image, like v1.13.9`)]),
    ...(typeof image.schematic === 'string' && SCHEMATIC_ID.test(image.schematic) ? []
      : [error(`${path}.image.schematic`, `${quote(image.schematic)} must be the Image Factory schematic ID of the template's image (64 hex digits, lower case)`)]),
    ...storageIdProblems(vm.storage?.name, `${path}.storage.name`, 'the one that holds the template VM\'s disk'),
    ...(typeof vm.storage?.shared === 'boolean' ? []
      : [error(`${path}.storage.shared`, 'must say whether every allowed node reaches the storage: true or false')]),
  ];
}

/** The declared image of a template VM, for messages: `Talos v1.13.9, schematic 376567988ad3…`. */
export function imageText(talosVersion: string, schematicId: string): string {
  return `Talos ${talosVersion}, schematic ${schematicId.slice(0, 12)}…`;
}

/** The smallest VM ID above `id` that none of `taken` uses: a suggestion, checked nowhere else. */
export function freeVmIdAfter(id: number, taken: ReadonlySet<number>): number {
  let next = id + 1;
  while (taken.has(next)) next += 1;
  return next;
}

/**
 * Every machine set boots the image its template VM declares (STACK.md §9.1: a clone boots the
 * template's disk, never `machine.install.image`). A mismatch means the template VM must be built
 * anew, under a new VM ID: the message gives the image URL, the declaration to write and a free ID.
 */
export function templateImageProblems(u: TemplateVmUser, taken: ReadonlySet<number>): Problem[] {
  const image = u.vm.image;
  // Malformed releases and IDs are reported on their own fields; a comparison would only add noise.
  const malformed = !releaseVersion(u.talosVersion) || !releaseVersion(image.talosVersion) || !SCHEMATIC_ID.test(image.schematic);
  if (malformed || (image.talosVersion === u.talosVersion && image.schematic === u.schematic.id)) return [];
  const free = freeVmIdAfter(u.vm.templateId, taken);
  const extensions = u.schematic.officialExtensions.length > 0 ? `with ${u.schematic.officialExtensions.join(', ')}` : 'without extensions';
  const holds = `template VM ${u.vm.templateId} holds ${imageText(image.talosVersion, image.schematic)}`;
  const needs = `the ${u.what} boots Talos ${u.talosVersion} ${extensions} (schematic ${u.schematic.id.slice(0, 12)}…)`;
  const build = `build a template VM from ${u.schematic.diskImageUrl(u.talosVersion)} under a free VM ID (${free} is free in this cluster)`;
  const declare = `image { talosVersion: ${u.talosVersion}, schematic: ${u.schematic.id} }`;
  return [u.declared
    ? error(`${u.field}.image`, `${holds}, but ${needs}: ${build} and name it here, with ${declare}; a template VM is never rebuilt in place`)
    : error(u.field, `${holds}, but ${needs}: give the pool a template of its own: ${build} and name it here, with ${declare}`)];
}

/**
 * A node-local template serves only clones on its own node: Proxmox refuses a clone to another
 * node from local storage (STACK.md §9.1), and CAPMOX picks the target among the allowed nodes.
 */
export function templatePlacementProblems(u: TemplateVmUser): Problem[] {
  const { vm } = u;
  const storage = vm.storage;
  const field = u.declared ? `${u.field}.storage` : u.field;
  if (storage.shared) {
    return NODE_LOCAL_STORAGE_NAMES.includes(storage.name)
      ? [warning(`${field}.shared`, `${quote(storage.name)} is the name Proxmox gives a node-local storage (LVM-thin or ZFS), which cannot be shared: check that this one really reaches every node`)]
      : [];
  }
  // Malformed node names are refused on their own fields.
  const elsewhere = u.nodes.filter((n) => n !== vm.sourceNode && PROXMOX_NODE_NAME.test(n));
  if (elsewhere.length === 0 || !PROXMOX_NODE_NAME.test(vm.sourceNode)) return [];
  const shared = 'put the template on storage every node reaches and declare it (storage: { name: <shared storage>, shared: true })';
  if (u.spreadTemplatesField !== undefined) {
    // One node of a spread pool: its way out is a template VM of its own.
    const node = elsewhere[0];
    return [error(field, `template VM ${vm.templateId} is on node-local storage ${quote(storage.name)} of ${quote(vm.sourceNode)}, but ${u.nodesField} puts the ${u.what}, and Proxmox refuses clones to another node from local storage. `
      + `Ways out: declare a template VM on ${quote(node)} in ${u.spreadTemplatesField} (sourceNode ${node}, a free templateId, the pool's image; the runbook then has its build commands); or ${shared}`)];
  }
  const ways = [
    shared,
    `set ${u.nodesField} to [${vm.sourceNode}]`,
    'or build one template VM per node and spread the pools over the nodes (workers[].spread.nodes, with one template per node in workers[].spread.templates; '
    + 'the control plane stays on one node)',
  ];
  return [error(field, `template VM ${vm.templateId} is on node-local storage ${quote(storage.name)} of ${quote(vm.sourceNode)}, but ${u.nodesField} lets CAPMOX clone the ${u.what} on ${list(elsewhere)}, and Proxmox refuses clones to another node from local storage. Ways out: ${ways.join('; ')}`)];
}

/**
 * A VM ID is one template VM (Proxmox VM IDs are unique across the Proxmox cluster): every machine
 * set that names it must agree on its node, image and storage (STACK.md §9.1).
 */
export function templateVmProblems(users: readonly TemplateVmUser[]): Problem[] {
  const first = new Map<number, TemplateVmUser>();
  const taken = new Set(users.map((u) => u.vm.templateId));
  const out: Problem[] = [];
  for (const u of users) {
    const owner = first.get(u.vm.templateId);
    if (!owner) {
      first.set(u.vm.templateId, u);
      continue;
    }
    const a = owner.vm;
    const b = u.vm;
    const id = `${b.templateId} is the template VM of the ${owner.what} too`;
    const build = `build a template VM from ${nocloudDiskImageUrl(b.image.schematic, b.image.talosVersion)} under another VM ID `
      + `(${freeVmIdAfter(b.templateId, taken)} is free in this cluster) and name it here`;
    if (a.sourceNode !== b.sourceNode) {
      out.push(error(`${u.field}.sourceNode`, `${id}, on ${quote(a.sourceNode)}, not ${quote(b.sourceNode)}: one VM ID is one VM; if it is that VM, name ${quote(a.sourceNode)}, otherwise ${build}`));
    } else if (a.image.talosVersion !== b.image.talosVersion || a.image.schematic !== b.image.schematic) {
      out.push(error(`${u.field}.image`, `${id}, holding ${imageText(a.image.talosVersion, a.image.schematic)}, not ${imageText(b.image.talosVersion, b.image.schematic)}: a template VM holds one disk image; ${build}`));
    } else if (a.storage.name !== b.storage.name || a.storage.shared !== b.storage.shared) {
      out.push(error(`${u.field}.storage`, `${id}, on storage ${quote(a.storage.name)} (${a.storage.shared ? 'shared' : 'node-local'}): a VM's disk is on one storage; declare it alike`));
    }
  }
  return out;
}

/**
 * The nodes a machine set may be cloned on: a non-empty list of Proxmox node names, each one of
 * the cluster's allowed nodes (whose rights and ISO storage the runbook prepares).
 */
export function machineNodesProblems(nodes: readonly string[], clusterNodes: readonly string[], path: string): Problem[] {
  if (nodes.length === 0) return [error(path, 'must name at least one Proxmox node (leave it out to use proxmox.allowedNodes)')];
  return nodes.flatMap((n, i) => {
    const p = proxmoxNodeProblems(n, `${path}[${i}]`, 'a node these machines may be placed on');
    if (p.length > 0 || clusterNodes.includes(n)) return p;
    return [error(`${path}[${i}]`, `${quote(n)} is not in proxmox.allowedNodes (${clusterNodes.join(', ')}): add it there first, so the runbook prepares it`)];
  });
}

/** How many minors a kubelet may lag behind the API server (Kubernetes version skew policy, since 1.28). */
export const KUBELET_MAX_MINOR_SKEW = 3;

/**
 * A worker pool held at an older Kubernetes release while the control plane upgrades first:
 * never newer than the control plane (a kubelet must not be newer than the API server), at most
 * {@link KUBELET_MAX_MINOR_SKEW} minors older, and supported by the cluster's Talos minor.
 */
export function poolVersionProblems(
  talosVersion: string, controlPlaneVersion: string, poolVersion: string, fields: { talos: string; kubernetes: string; pool: string },
): Problem[] {
  const problems = versionProblems(talosVersion, poolVersion, { talos: fields.talos, kubernetes: fields.pool })
    .filter((p) => p.path === fields.pool);
  const pool = releaseVersion(poolVersion);
  const cp = releaseVersion(controlPlaneVersion);
  if (!pool || !cp) return problems;
  if (semver.gt(pool, cp)) {
    problems.push(error(fields.pool, `${poolVersion} is newer than ${fields.kubernetes} ${controlPlaneVersion}: kubelets must not be newer than the API server, so upgrade the control plane first`));
  } else if (cp.minor - pool.minor > KUBELET_MAX_MINOR_SKEW || cp.major !== pool.major) {
    problems.push(error(fields.pool, `${poolVersion} is more than ${KUBELET_MAX_MINOR_SKEW} minors behind ${fields.kubernetes} ${controlPlaneVersion} (Kubernetes version skew policy)`));
  }
  return problems;
}

/** What Talos needs to run (STACK.md §1.4). */
export const TALOS_MIN_VCPUS = 2;
/** See {@link TALOS_MIN_VCPUS}. */
export const TALOS_MIN_MEMORY_MIB = 2048;
/** See {@link TALOS_MIN_VCPUS}. */
export const TALOS_MIN_DISK_GIB = 10;
/** CAPMOX wants memory in multiples of 8 MiB. */
export const MEMORY_MIB_MULTIPLE = 8;

/** Machine size: what Talos needs to run (STACK.md §1.4: at least 2 vCPUs and 2 GiB). */
export function machineSizeProblems(m: { cores: number; sockets?: number; memoryMiB: number; diskGiB: number }, prefix: string): Problem[] {
  const problems: Problem[] = [];
  const at = (k: string) => prefix ? `${prefix}.${k}` : k;
  const vcpus = m.cores * (m.sockets ?? 1);
  if (m.sockets !== undefined) problems.push(...wholeNumberProblems(m.sockets, at('sockets'), 'CPU sockets', 1));
  if (!Number.isInteger(m.cores) || vcpus < TALOS_MIN_VCPUS) {
    problems.push(error(at('cores'), `${quote(m.cores)} gives ${vcpus} vCPU(s); Talos needs at least ${TALOS_MIN_VCPUS}`));
  }
  if (!Number.isInteger(m.memoryMiB) || m.memoryMiB < TALOS_MIN_MEMORY_MIB) {
    problems.push(error(at('memoryMiB'), `${quote(m.memoryMiB)} is below the ${TALOS_MIN_MEMORY_MIB} MiB Talos needs`));
  } else if (m.memoryMiB % MEMORY_MIB_MULTIPLE !== 0) {
    problems.push(error(at('memoryMiB'), `${m.memoryMiB} must be a multiple of ${MEMORY_MIB_MULTIPLE} (CAPMOX)`));
  }
  if (!Number.isInteger(m.diskGiB) || m.diskGiB < TALOS_MIN_DISK_GIB) {
    problems.push(error(at('diskGiB'), `${quote(m.diskGiB)} is below the ${TALOS_MIN_DISK_GIB} GiB system disk Talos needs`));
  }
  // The CRD fields (numCores, numSockets, memoryMiB, sizeGb) are int32: larger values never apply.
  for (const k of ['cores', 'sockets', 'memoryMiB', 'diskGiB'] as const) {
    const v = m[k];
    if (v !== undefined && Number.isInteger(v) && v > INT32_MAX) {
      problems.push(error(at(k), `${v} must be at most ${INT32_MAX} (the ProxmoxMachineTemplate field is int32)`));
    }
  }
  return problems;
}

/** Official extension names look like `siderolabs/qemu-guest-agent` and appear once. */
export const EXTENSION_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;

/**
 * Schematic contents: well-formed, duplicate-free extension names and kernel arguments; with a
 * Talos version, each extension must be official for its minor (the Image Factory refuses others).
 */
export function schematicProblems(
  extensions: readonly string[], kernelArgs: readonly string[], fields: { extensions: string; kernelArgs: string },
  talosVersion?: string,
): Problem[] {
  const problems: Problem[] = [];
  const official = talosVersion === undefined ? undefined : officialExtensions(talosVersion);
  extensions.forEach((e, i) => {
    if (!EXTENSION_NAME.test(e)) problems.push(error(`${fields.extensions}[${i}]`, `${quote(e)} is not an official extension name like siderolabs/qemu-guest-agent`));
    else if (extensions.indexOf(e) !== i) problems.push(error(`${fields.extensions}[${i}]`, `${quote(e)} is listed twice`));
    else if (official && !official.names.has(e)) problems.push(error(`${fields.extensions}[${i}]`, unknownExtension(e, official)));
  });
  kernelArgs.forEach((a, i) => {
    if (a.length === 0 || /\s/.test(a)) problems.push(error(`${fields.kernelArgs}[${i}]`, `${quote(a)} must be one kernel argument without spaces`));
  });
  return problems;
}

function unknownExtension(name: string, official: OfficialExtensions): string {
  const suggestions = closestNames(name, official.names).map((n) => quote(n)).join(' or ');
  return `${quote(name)} is not an official extension of Talos ${official.minor} (${official.file}); did you mean ${suggestions}?`;
}

/** Machine names become hostnames (DNS labels, at most 63 characters). */
export const MAX_HOSTNAME = 63;
/** CACPPT names control-plane Machines `<cluster>-control-plane-<5 random>`. */
export const CONTROL_PLANE_MACHINE_SUFFIX = '-control-plane-xxxxx'.length;
/** CAPI names pool Machines `<cluster>-<pool>-<5 random>-<5 random>`. */
export const POOL_MACHINE_SUFFIX = '-xxxxx-xxxxx'.length;

/** Names short enough that every Machine name is a valid hostname. */
export function nameLengthProblems(clusterName: string, poolNames: readonly { name: string; path: string }[], clusterField: string): Problem[] {
  const problems: Problem[] = [];
  const maxCluster = MAX_HOSTNAME - CONTROL_PLANE_MACHINE_SUFFIX;
  if (clusterName.length > maxCluster) {
    problems.push(error(clusterField, `${quote(clusterName)} is ${clusterName.length} characters; control-plane Machine names (<name>-control-plane-xxxxx) become hostnames of at most ${MAX_HOSTNAME}, so at most ${maxCluster}`));
  }
  for (const p of poolNames) {
    const length = clusterName.length + 1 + p.name.length + POOL_MACHINE_SUFFIX;
    if (length > MAX_HOSTNAME) {
      problems.push(error(p.path, `${quote(p.name)} makes Machine names (<cluster>-<pool>-xxxxx-xxxxx) ${length} characters; hostnames allow ${MAX_HOSTNAME}, so cluster and pool name together may have at most ${MAX_HOSTNAME - POOL_MACHINE_SUFFIX - 1}`));
    }
  }
  return problems;
}

/** Autoscaler bounds: both or neither, min <= max, and no fixed replicas beside them (their ranges: {@link wholeNumberProblems}). */
export function autoscalingProblems(
  p: { replicas?: number; min?: number; max?: number }, fields: { replicas: string; min: string; max: string },
): Problem[] {
  const problems: Problem[] = [];
  if ((p.min === undefined) !== (p.max === undefined)) {
    problems.push(error(p.min === undefined ? fields.min : fields.max, 'is required: set both autoscaler bounds, or neither'));
    return problems;
  }
  if (p.min === undefined || p.max === undefined) return problems;
  if (p.min > p.max) problems.push(error(fields.min, `${p.min} is greater than ${fields.max} ${p.max}`));
  if (p.replicas !== undefined) {
    problems.push(error(fields.replicas, `${p.replicas} cannot be set together with autoscaler bounds: the autoscaler owns the replica count, and a count in git would be reset on every GitOps sync (new pools start at the minimum)`));
  }
  return problems;
}

/** Pool names appear once per cluster. */
export function uniquePoolProblems(pools: readonly { name: string; path: string }[]): Problem[] {
  return pools.flatMap((p, i) => {
    const first = pools.findIndex((q) => q.name === p.name);
    return first < i ? [error(p.path, `${quote(p.name)} is used by ${pools[first].path} too; pool names must be unique`)] : [];
  });
}


/** Proxmox VM IDs start at 100 (`qm create` refuses lower ones). */
export const MIN_VM_ID = 100;
/** Proxmox's largest VM ID. */
export const MAX_VM_ID = 999_999_999;

/** A DNS-1123 label: cluster, pool, namespace and Secret names (they become object names and hostnames). */
export function dnsLabelProblems(value: string, path: string): Diagnostic[] {
  if (typeof value === 'string' && value.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(value)) return [];
  return [error(path, `${quote(value)} must be a DNS-1123 label: at most ${DNS1123_LABEL_MAX} lower-case letters, digits and "-", starting and ending with a letter or digit`)];
}

/** A whole number from `min` to `max`; `what` says what it counts. */
export function wholeNumberProblems(value: number, path: string, what: string, min: number, max: number = Number.MAX_SAFE_INTEGER): Diagnostic[] {
  if (!Number.isInteger(value)) return [error(path, `${quote(value)} must be a whole number (${what})`)];
  if (value < min) return [error(path, `${value} must be at least ${min} (${what})`)];
  if (value > max) return [error(path, `${value} must be at most ${max} (${what})`)];
  return [];
}

/** A list that must name at least one entry, each a non-empty string. */
export function nonEmptyListProblems(values: readonly string[], path: string, what: string): Diagnostic[] {
  if (values.length === 0) return [error(path, `must list at least one ${what}`)];
  return values.flatMap((v, i) => nonEmptyStringProblems(v, `${path}[${i}]`, what));
}

/** A string with something in it (a name of a Proxmox node, bridge, …). */
export function nonEmptyStringProblems(value: string, path: string, what: string): Diagnostic[] {
  return typeof value === 'string' && value.trim().length > 0 ? [] : [error(path, `${quote(value)} must be a ${what}`)];
}

/** A dotted-quad IPv4 address. */
export function ipv4Problems(value: string, path: string, what: string): Diagnostic[] {
  return ipv4ToInt(value) === undefined ? [error(path, `${quote(value)} must be an IPv4 address like 192.168.0.1 (${what})`)] : [];
}


/** VLAN tags Proxmox accepts on a NIC (`tag=`; CAPMOX `networkDevices[].vlan`). */
export const VLAN_MIN = 1;
/** See {@link VLAN_MIN}. */
export const VLAN_MAX = 4094;
/** MTUs CAPMOX accepts on a NIC (CEL of `networkDevices[].mtu` and `linkMtu`; its `1`, "inherit", is what leaving it out means here). */
export const MTU_MIN = 576;
/** See {@link MTU_MIN}. */
export const MTU_MAX = 65520;
/** The smallest link MTU IPv6 allows (RFC 8200, section 5). */
export const IPV6_MIN_MTU = 1280;

/** A NIC's VLAN tag and MTU; `ipv6` says whether the NIC carries IPv6, which needs an MTU of 1280 or more. */
export function vlanMtuProblems(o: { vlan?: number; mtu?: number }, prefix: string, ipv6: boolean): Problem[] {
  const problems: Problem[] = [];
  if (o.vlan !== undefined) problems.push(...wholeNumberProblems(o.vlan, `${prefix}.vlan`, 'VLAN tag', VLAN_MIN, VLAN_MAX));
  if (o.mtu !== undefined) {
    const range = wholeNumberProblems(o.mtu, `${prefix}.mtu`, 'MTU in bytes', MTU_MIN, MTU_MAX);
    problems.push(...range);
    if (range.length === 0 && ipv6 && o.mtu < IPV6_MIN_MTU) {
      problems.push(error(`${prefix}.mtu`, `${o.mtu} is below ${IPV6_MIN_MTU}, the smallest MTU IPv6 allows (RFC 8200), and this NIC carries IPv6`));
    }
  }
  return problems;
}

/** Special-use IPv6 ranges no node address, gateway, pod or service network may use. */
export const SPECIAL_USE_IPV6: readonly { readonly cidr: string; readonly what: string }[] = [
  { cidr: '::/128', what: 'the unspecified address' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::ffff:0:0/96', what: 'IPv4-mapped' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

/** A problem when a range of either family touches a special-use range of its family. */
function specialUseIpProblems(range: IpRange, path: string, what: string): Problem[] {
  const list = range.family === 4 ? SPECIAL_USE_IPV4 : SPECIAL_USE_IPV6;
  const s = list.find((x) => ipRangesOverlap(range, parseIpRange(x.cidr) as IpRange));
  const note = range.family === 4 ? ' (STACK.md §9.8)' : '';
  return s ? [error(path, `${range.spec} lies in ${s.cidr} (${s.what}), a special-use range that cannot be ${what}${note}`)] : [];
}

/** `IPv4` or `IPv6`. */
function familyName(family: IpFamily): string {
  return `IPv${family}`;
}

/** A pool of static node addresses on one network: the primary IPv6 one or an extra NIC's. */
export interface AddressPoolInput {
  /** The family every entry must have. */
  readonly family: IpFamily;
  readonly addresses: readonly string[];
  readonly prefix: number;
  /** The nodes' gateway on this network; extra NICs have none (the subnet is the first address's). */
  readonly gateway?: string;
}

/** Field paths of an {@link AddressPoolInput}. */
export interface AddressPoolFields {
  readonly addresses: string;
  readonly prefix: string;
  readonly gateway: string;
}

/** A checked address pool: its subnet and ranges (well-formed ones only) and the problems found. */
export interface CheckedAddressPool {
  readonly subnet?: IpRange;
  readonly ranges: readonly IpRange[];
  readonly problems: readonly Problem[];
}

/**
 * The address rules of one network, per family, as networkProblems has them for the primary IPv4
 * network: entries well-formed and of the network's family (in-cluster IPAM refuses mixed
 * families), inside the subnet, not its network or broadcast address (IPv4) nor its subnet-router
 * anycast address (IPv6, the first one), each listed once, none special-use; the gateway, if any, a
 * host address of the subnet outside the ranges.
 */
export function addressPoolProblems(p: AddressPoolInput, f: AddressPoolFields): CheckedAddressPool {
  const problems: Problem[] = [];
  const bits = familyBits(p.family);
  const fam = familyName(p.family);
  const prefixProblems = wholeNumberProblems(p.prefix, f.prefix, `${fam} prefix length`, 1, bits);
  problems.push(...prefixProblems);
  if (p.addresses.length === 0) problems.push(error(f.addresses, 'must list at least one address range'));
  const ranges: IpRange[] = [];
  p.addresses.forEach((spec, i) => {
    const path = `${f.addresses}[${i}]`;
    const range = parseIpRange(spec);
    if (typeof spec === 'string' && /\s/.test(spec)) problems.push(whitespaceProblem(spec, path));
    else if (!range) problems.push(error(path, `${quote(spec)} is not an ${fam} range (a-b with a <= b), CIDR (a/n) or address`));
    else if (range.family !== p.family) {
      problems.push(error(path, `${quote(spec)} is ${familyName(range.family)}, but this network's addresses are ${fam}: one pool holds one family (in-cluster IPAM refuses mixed families)`));
    } else ranges.push(range);
  });
  let gateway: bigint | undefined;
  if (p.gateway !== undefined) {
    const gw = parseIp(p.gateway);
    if (typeof p.gateway === 'string' && /\s/.test(p.gateway)) problems.push(whitespaceProblem(p.gateway, f.gateway));
    else if (!gw || gw.family !== p.family) problems.push(error(f.gateway, `${quote(p.gateway)} must be an ${fam} address (the nodes' gateway on this network)`));
    else gateway = gw.value;
  }
  if (prefixProblems.length > 0) return { ranges, problems };
  // An IPv6 router is often reached by its link-local address (fe80::/10, as router advertisements
  // announce it): a valid next hop on the link, outside the subnet, which then comes from the addresses.
  const linkLocalGateway = gateway !== undefined && p.family === 6 && ipRangesOverlap(
    { family: 6, first: gateway, last: gateway, spec: '' }, parseIpRange('fe80::/10') as IpRange);
  const onSubnet = gateway !== undefined && !linkLocalGateway;
  const anchorValue = onSubnet ? gateway : ranges[0]?.first;
  const anchor = anchorValue === undefined ? undefined : formatIp(p.family, anchorValue);
  const subnet = anchor === undefined ? undefined : ipSubnet(anchor, p.prefix);
  if (!subnet) return { ranges, problems };
  const where = onSubnet
    ? `the subnet ${subnet.spec} (${f.gateway} ${p.gateway}/${p.prefix})`
    : `the subnet ${subnet.spec} (${f.prefix} ${p.prefix} from the first address, as in-cluster IPAM infers it)`;
  // Addresses a node cannot have: IPv4 network and broadcast (not in /31, /32, RFC 3021), IPv6 subnet-router anycast.
  const edge = (v: bigint): string | undefined => {
    if (p.family === 4) return p.prefix <= 30 && (v === subnet.first || v === subnet.last) ? (v === subnet.first ? 'network' : 'broadcast') : undefined;
    return p.prefix <= 126 && v === subnet.first ? 'subnet-router anycast' : undefined;
  };
  for (const r of ranges) {
    problems.push(...specialUseIpProblems(r, f.addresses, 'a node address'));
    if (r.first < subnet.first || r.last > subnet.last) problems.push(error(f.addresses, `${r.spec} is not inside ${where}`));
    else if (edge(subnet.first) && r.first === subnet.first) {
      problems.push(error(f.addresses, `${r.spec} includes the ${edge(subnet.first)} address of ${subnet.spec}; nodes cannot use it`));
    } else if (edge(subnet.last) && r.last === subnet.last) {
      problems.push(error(f.addresses, `${r.spec} includes the ${edge(subnet.last)} address of ${subnet.spec}; nodes cannot use it`));
    }
    if (gateway !== undefined && ipRangeContains(r, p.family, gateway)) {
      problems.push(error(f.gateway, `${p.gateway} lies inside ${f.addresses} ${r.spec}; the gateway must be outside the node range`));
    }
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (ipRangesOverlap(ranges[i], ranges[j])) problems.push(error(f.addresses, `${ranges[i].spec} and ${ranges[j].spec} overlap; each address must be listed once`));
    }
  }
  if (gateway !== undefined && !linkLocalGateway) {
    const gwEdge = edge(gateway);
    if (gwEdge) problems.push(error(f.gateway, `${p.gateway} is the ${gwEdge} address of ${subnet.spec}; the gateway must be a host address of the subnet`));
    problems.push(...specialUseIpProblems({ family: p.family, first: gateway, last: gateway, spec: p.gateway as string }, f.gateway, 'the gateway'));
  }
  return { subnet, ranges, problems };
}

/** kube-controller-manager's `node-cidr-mask-size-ipv6`: every node gets a /64 of the IPv6 pod network. */
export const NODE_POD_CIDR_PREFIX_IPV6 = 64;
/** kube-controller-manager refuses a cluster CIDR more than 16 bits wider than the node CIDR: /48 for IPv6. */
export const POD_CIDR_MIN_PREFIX_IPV6 = NODE_POD_CIDR_PREFIX_IPV6 - 16;
/** Widest IPv6 service network kube-apiserver takes (`--service-cluster-ip-range`: the mask must be >= 108). */
export const SERVICE_CIDR_MIN_PREFIX_IPV6 = 108;
/** Narrowest IPv6 service network that holds `::1` (kubernetes) and `::a` (cluster DNS). */
export const SERVICE_CIDR_MAX_PREFIX_IPV6 = 124;

/**
 * The IPv6 pod and service networks of a dual-stack cluster: only with an IPv6 node network, one
 * per list, after the IPv4 one (IPv4 stays the primary family: the VIP, node IP and etcd are
 * IPv4), host bits zero, sized for what kube-controller-manager and kube-apiserver take, not
 * special-use, disjoint from the IPv6 node subnet, and a /64 per node for every machine at once.
 */
export function dualStackCidrProblems(
  n: { podCidrs: readonly string[]; serviceCidrs: readonly string[]; ipv6Subnet?: IpRange; hasIpv6: boolean },
  f: { podCidrs: string; serviceCidrs: string; ipv6: string }, demands: readonly MachineDemand[],
): Problem[] {
  const problems: Problem[] = [];
  const found: { field: string; range: IpRange }[] = [];
  for (const [field, cidrs, kind] of [[f.podCidrs, n.podCidrs, 'pod'], [f.serviceCidrs, n.serviceCidrs, 'service']] as const) {
    const v6 = cidrs.map((c, i) => ({ c, i })).filter((x) => cidrFamily(x.c) === 6);
    if (n.hasIpv6 && v6.length === 0) {
      problems.push(error(field, `lists no IPv6 ${kind} network, but ${f.ipv6} is set: a dual-stack cluster needs one (e.g. ${kind === 'pod' ? 'fd00:10:244::/56' : 'fd00:10:96::/112'})`));
    }
    v6.forEach(({ c, i }, k) => {
      const path = `${field}[${i}]`;
      if (!n.hasIpv6) {
        problems.push(error(path, `${c} is IPv6, but ${f.ipv6} is not set: a dual-stack cluster needs an IPv6 node network too`));
        return;
      }
      if (k > 0) problems.push(error(path, `${c} is a second IPv6 ${kind} network; Kubernetes takes one per family`));
      if (cidrs.slice(i + 1).some((x) => cidrFamily(x) === 4)) {
        problems.push(error(path, `${c} must come after the IPv4 ${kind} network: IPv4 stays the primary family (the VIP, node IP and etcd are IPv4)`));
      }
      const range = parseIpRange(c) as IpRange;
      const bits = cidrPrefix(c) as number;
      if (range.first !== parseIp(c.split('/')[0])?.value) problems.push(error(path, `${c} has host bits set; write its network address ${formatIp(6, range.first)}/${bits}`));
      if (kind === 'pod' && (bits > NODE_POD_CIDR_PREFIX_IPV6 || bits < POD_CIDR_MIN_PREFIX_IPV6)) {
        problems.push(error(path, `${c} must be from /${POD_CIDR_MIN_PREFIX_IPV6} to /${NODE_POD_CIDR_PREFIX_IPV6}: kube-controller-manager hands every node a /${NODE_POD_CIDR_PREFIX_IPV6} and refuses a pod network more than 16 bits wider`));
      }
      if (kind === 'service' && (bits < SERVICE_CIDR_MIN_PREFIX_IPV6 || bits > SERVICE_CIDR_MAX_PREFIX_IPV6)) {
        problems.push(error(path, `${c} must be from /${SERVICE_CIDR_MIN_PREFIX_IPV6} (the widest IPv6 service network kube-apiserver takes) to /${SERVICE_CIDR_MAX_PREFIX_IPV6} (it must hold ::1 and ::a)`));
      }
      problems.push(...specialUseIpProblems(range, path, `a ${kind} network`));
      if (n.ipv6Subnet && ipRangesOverlap(range, n.ipv6Subnet)) {
        problems.push(error(path, `${c} overlaps the IPv6 node subnet ${n.ipv6Subnet.spec}; pod, service and node networks must be disjoint`));
      }
      for (const other of found) {
        if (ipRangesOverlap(range, other.range)) problems.push(error(path, `${c} overlaps ${other.field} ${other.range.spec}; pod, service and node networks must be disjoint`));
      }
      found.push({ field: path, range });
      if (kind === 'pod' && k === 0 && bits <= NODE_POD_CIDR_PREFIX_IPV6 && bits >= POD_CIDR_MIN_PREFIX_IPV6) {
        const nodeNetworks = 2 ** (NODE_POD_CIDR_PREFIX_IPV6 - bits);
        const nodes = addressesNeeded(demands).total;
        if (nodeNetworks < nodes) {
          problems.push(error(path, `${c} holds ${nodeNetworks} node pod network(s) (/${NODE_POD_CIDR_PREFIX_IPV6} each) but the cluster can have ${nodes} nodes at once (every machine at its maximum plus the rolling-update surge); use a wider pod network`));
        }
      }
    });
  }
  return problems;
}

/**
 * Capacity of one network's address pool, of either family: like {@link capacityProblems}, the
 * machines that have a NIC on it at their maximum, plus one surge machine per machine set.
 */
export function ipCapacityProblems(ranges: readonly IpRange[], demands: readonly MachineDemand[], field: string): Problem[] {
  const available = distinctAddressCount(ranges);
  const { surge, total } = addressesNeeded(demands);
  if (!fewerThan(available, total)) return [];
  const parts = demands.map((d) => `${d.machines} ${d.what}`).join(' + ');
  return [error(field, `holds ${available} address(es) but the machines on this network need ${total}: ${parts} machines + ${surge} for rolling updates (maxSurge 1 per machine set); add addresses or shrink the cluster`)];
}

/** One network of a cluster's machines, checked: its addresses' field, subnet and ranges. */
export interface CheckedNetwork {
  /** Field of its addresses (`network.addresses`, `network.ipv6.addresses`, `network.extraNics[0].addresses`). */
  readonly field: string;
  readonly subnet?: IpRange;
  readonly ranges: readonly IpRange[];
}

/**
 * Networks of one cluster against each other: no address in two networks (each IPAM pool hands
 * out its own), and the NICs of one machine on disjoint subnets, also disjoint from the pod and
 * service networks (a second NIC on the node subnet would take the node's routes).
 */
export function networkSetProblems(
  networks: readonly CheckedNetwork[], machines: readonly { what: string; networks: readonly CheckedNetwork[] }[],
  clusterCidrs: readonly { field: string; cidr: string }[],
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    const key = `${p.path}|${p.message}`;
    if (!seen.has(key)) problems.push(p);
    seen.add(key);
  };
  for (let i = 0; i < networks.length; i++) {
    for (let j = 0; j < i; j++) {
      for (const r of networks[i].ranges) {
        for (const o of networks[j].ranges.filter((x) => ipRangesOverlap(r, x))) {
          push(error(networks[i].field, `${r.spec} overlaps ${networks[j].field} ${o.spec}; every network of a cluster needs addresses of its own`));
        }
      }
    }
  }
  // One finding per pair of subnets, naming every machine set that has a NIC on both.
  const pairs = new Map<string, { a: CheckedNetwork; b: CheckedNetwork; what: string[] }>();
  for (const m of machines) {
    const nets = m.networks.filter((n) => n.subnet !== undefined);
    for (let i = 0; i < nets.length; i++) {
      for (let j = 0; j < i; j++) {
        if (!ipRangesOverlap(nets[i].subnet as IpRange, nets[j].subnet as IpRange)) continue;
        const key = `${nets[i].field}|${nets[j].field}`;
        const pair = pairs.get(key) ?? { a: nets[i], b: nets[j], what: [] };
        pair.what.push(m.what);
        pairs.set(key, pair);
      }
    }
  }
  for (const { a, b, what } of pairs.values()) {
    push(error(a.field, `the subnet ${(a.subnet as IpRange).spec} overlaps the subnet ${(b.subnet as IpRange).spec} of ${b.field}, and the ${list(what)} machines have a NIC on both: give each NIC a subnet of its own`));
  }
  const primary = new Set(['network.addresses', 'network.ipv6.addresses']);
  for (const n of networks.filter((x) => x.subnet && !primary.has(x.field))) {
    for (const c of clusterCidrs) {
      const range = cidrFamily(c.cidr) !== undefined ? parseIpRange(c.cidr) : undefined;
      if (range && ipRangesOverlap(range, n.subnet as IpRange)) {
        push(error(n.field, `the subnet ${(n.subnet as IpRange).spec} overlaps ${c.field} ${c.cidr}; pod, service and node networks must be disjoint`));
      }
    }
  }
  return problems;
}

/** Proxmox pool IDs (pve-access-control `verify_poolname`): letters, digits, `.`, `-`, `_`, up to three levels joined by `/`. */
export const PROXMOX_POOL_ID = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/;
/** Proxmox VM tags, as the CAPMOX CRD and Proxmox's `pve-tag` check them. */
export const PROXMOX_TAG = /^[a-z0-9_][a-z0-9_+.-]*$/i;
/** Longest VM description Proxmox stores (qemu-server: `maxLength => 1024 * 8`). */
export const MAX_VM_DESCRIPTION = 8192;
/** Disk formats of a full clone (`qm clone --format`). */
const FORMATS: readonly string[] = ['raw', 'qcow2', 'vmdk'];

/**
 * The values of one level of clone options (`proxmox`, `controlPlane`, a pool), each alone: a pool
 * ID, tags, a storage, a format, a VM ID range and a description Proxmox and CAPMOX accept.
 */
export function cloneOptionProblems(o: ProxmoxCloneOptions, prefix: string): Problem[] {
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  const problems: Problem[] = [];
  if (o.pool !== undefined && (typeof o.pool !== 'string' || !PROXMOX_POOL_ID.test(o.pool))) {
    problems.push(error(at('pool'), `${quote(o.pool)} must be a Proxmox pool ID: letters, digits, ".", "-" and "_", up to three levels joined by "/" (pveum pool add refuses others)`));
  }
  if (o.tags !== undefined) {
    if (o.tags.length === 0) problems.push(error(at('tags'), 'must list at least one tag (leave it out for none)'));
    o.tags.forEach((t, i) => {
      if (typeof t !== 'string' || !PROXMOX_TAG.test(t)) {
        problems.push(error(at(`tags[${i}]`), `${quote(t)} must be a Proxmox tag: letters, digits, "_", "-", "+" and ".", starting with a letter, digit or "_"`));
      } else if (o.tags!.findIndex((x) => typeof x === 'string' && x.toLowerCase() === t.toLowerCase()) !== i) {
        problems.push(error(at(`tags[${i}]`), `${quote(t)} is listed twice (Proxmox tags ignore case)`));
      }
    });
  }
  if (o.full !== undefined && typeof o.full !== 'boolean') problems.push(error(at('full'), `${quote(o.full)} must be true (full clones) or false (linked clones)`));
  if (o.cloneStorage !== undefined) {
    problems.push(...storageIdProblems(o.cloneStorage.name, at('cloneStorage.name'), 'the one the full clones are written to'));
    if (typeof o.cloneStorage.shared !== 'boolean') {
      problems.push(error(at('cloneStorage.shared'), 'must say whether every node the clones may land on reaches the storage: true or false'));
    } else if (o.cloneStorage.shared && NODE_LOCAL_STORAGE_NAMES.includes(o.cloneStorage.name)) {
      problems.push(warning(at('cloneStorage.shared'), `${quote(o.cloneStorage.name)} is the name Proxmox gives a node-local storage (LVM-thin or ZFS), which cannot be shared: check that this one really reaches every node`));
    }
  }
  if (o.cloneFormat !== undefined && !FORMATS.includes(o.cloneFormat)) {
    problems.push(error(at('cloneFormat'), `${quote(o.cloneFormat)} must be one of ${FORMATS.join(', ')}`));
  }
  if (o.vmIdRange !== undefined) {
    const r = o.vmIdRange;
    const bounds = [
      ...wholeNumberProblems(r.start, at('vmIdRange.start'), 'a Proxmox VM ID', MIN_VM_ID, MAX_VM_ID),
      ...wholeNumberProblems(r.end, at('vmIdRange.end'), 'a Proxmox VM ID', MIN_VM_ID, MAX_VM_ID),
    ];
    problems.push(...bounds);
    if (bounds.length === 0 && r.end < r.start) problems.push(error(at('vmIdRange.end'), `${r.end} is below vmIdRange.start ${r.start}; the range runs from start to end, both included`));
  }
  if (o.description !== undefined && (typeof o.description !== 'string' || o.description.length > MAX_VM_DESCRIPTION)) {
    problems.push(error(at('description'), `${quote(o.description)} must be a text of at most ${MAX_VM_DESCRIPTION} characters (Proxmox's limit for a VM description)`));
  }
  return problems;
}

/** One clone option of a machine set, with the field it comes from (the set's own or the cluster's). */
export interface CloneSetting<T> {
  readonly value: T;
  /** `proxmox.cloneStorage`, `workers[1].full`. */
  readonly field: string;
}

/** A machine set's clone options after the cluster's defaults, each with the field that set it. */
export type CloneSettings = { readonly [K in keyof Required<ProxmoxCloneOptions>]: CloneSetting<NonNullable<ProxmoxCloneOptions[K]>> | undefined };

/** The clone options of a machine set: its own value of each option, else the cluster's (`levels`, most specific first). */
export function resolveClone(levels: readonly { readonly options: ProxmoxCloneOptions; readonly prefix: string }[]): CloneSettings {
  const pick = <K extends keyof ProxmoxCloneOptions>(k: K): CloneSetting<NonNullable<ProxmoxCloneOptions[K]>> | undefined => {
    const level = levels.find((l) => l.options[k] !== undefined);
    return level ? { value: level.options[k] as NonNullable<ProxmoxCloneOptions[K]>, field: level.prefix ? `${level.prefix}.${k}` : k } : undefined;
  };
  return {
    pool: pick('pool'), tags: pick('tags'), full: pick('full'), cloneStorage: pick('cloneStorage'),
    cloneFormat: pick('cloneFormat'), vmIdRange: pick('vmIdRange'), description: pick('description'),
  };
}

/** The options as the machine template takes them. */
export function cloneValues(s: CloneSettings): ProxmoxCloneOptions {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => [k, (v as CloneSetting<unknown>).value]));
}

/** A machine set as the clone rules see it. */
export interface CloneUser {
  /** `control plane`, `pool gpu`, `pool gpu on K8S1`. */
  readonly what: string;
  /** The machine set as its props name it: `control plane`, `pool gpu` (a spread pool's nodes share it). */
  readonly group: string;
  /** For one node of a spread pool: the field its own template VM goes in. */
  readonly spreadTemplatesField?: string;
  readonly clone: CloneSettings;
  /** The template VM its machines are cloned from. */
  readonly vm: TemplateVm;
  /** Nodes CAPMOX may clone its machines on, and the field that says so. */
  readonly nodes: readonly string[];
  readonly nodesField: string;
  /** Machines at most, and the rolling-update surge. */
  readonly machines: number;
  readonly surge: number;
}

/** The field of a finding: the more specific of two (a machine set's own over the cluster's `proxmox.`). */
function specific(a: string, b: string): string {
  return a.startsWith('proxmox.') && !b.startsWith('proxmox.') ? b : a;
}

/** A range whose ends are VM IDs in order; others are refused on their own fields. */
function validRange(r: VmIdRange): boolean {
  return [r.start, r.end].every((v) => Number.isInteger(v) && v >= MIN_VM_ID && v <= MAX_VM_ID) && r.start <= r.end;
}

/** `1000-1099`. */
function rangeText(r: VmIdRange): string {
  return `${r.start}-${r.end}`;
}

/**
 * The clone options of a cluster's machine sets together (Proxmox `qm clone` and CAPMOX):
 * - a linked clone stays on its template's storage: Proxmox refuses `storage` and `format` for it;
 * - a clone on another node than its template's is written only to shared storage;
 * - a VM ID range holds no template VM of the cluster, and holds every machine of the sets that use
 *   it plus one surge machine each (CAPMOX takes the lowest free ID and fails when none is left).
 * Each finding is reported once, on the most specific field.
 */
export function cloneSetProblems(users: readonly CloneUser[], templates: readonly { id: number; field: string }[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const add = (p: Problem) => {
    const key = `${p.path}|${p.message}`;
    if (!seen.has(key)) out.push(p);
    seen.add(key);
  };
  for (const u of users) {
    const { full, cloneStorage, cloneFormat, vmIdRange } = u.clone;
    if (full !== undefined && full.value === false) {
      for (const [k, s] of [['cloneStorage', cloneStorage], ['cloneFormat', cloneFormat]] as const) {
        if (s === undefined) continue;
        const shown = k === 'cloneStorage' ? quote((s.value as { name: string }).name) : quote(s.value);
        const why = '(Proxmox refuses storage and format for linked clones)';
        const fix = `set ${full.field} true, or keep ${k} on the machine sets that make full clones`;
        // Reported on the storage or format unless only the full flag is the machine set's own.
        // Both set on proxmox: one finding for the cluster, whichever machine set shows it first.
        const whose = s.field.startsWith('proxmox.') && full.field.startsWith('proxmox.') ? 'the machine sets' : `the ${u.group}`;
        add(specific(s.field, full.field) === s.field
          ? error(s.field, `${shown} applies to full clones only, but ${full.field} false makes linked clones of ${whose}, which stay on the template's storage ${why}: ${fix}`)
          : error(full.field, `false makes linked clones of ${whose}, which stay on the template's storage, but ${s.field} ${shown} applies to full clones only ${why}: ${fix}`));
      }
    }
    const storage = cloneStorage?.value;
    const linked = full !== undefined && full.value === false;
    if (storage !== undefined && !linked && storage.shared === false && PROXMOX_NODE_NAME.test(u.vm.sourceNode)) {
      const elsewhere = u.nodes.filter((n) => n !== u.vm.sourceNode && PROXMOX_NODE_NAME.test(n));
      if (elsewhere.length > 0) {
        const placed = u.spreadTemplatesField !== undefined
          ? `${u.nodesField} puts the ${u.what}` : `${u.nodesField} lets CAPMOX clone the ${u.what} on ${list(elsewhere)}`;
        const keep = u.spreadTemplatesField !== undefined
          ? `give ${quote(elsewhere[0])} a template VM of its own in ${u.spreadTemplatesField}` : `keep the ${u.what} on ${quote(u.vm.sourceNode)}`;
        const path = specific(cloneStorage!.field, u.nodesField);
        add(error(path, `${path === cloneStorage!.field ? '' : `${cloneStorage!.field} `}${quote(storage.name)} is node-local, but ${placed}, away from its template's node `
          + `${quote(u.vm.sourceNode)}, and Proxmox writes a clone on another node only to shared storage ("can't clone to non-shared storage"): `
          + `name a shared storage (cloneStorage: { name: <shared storage>, shared: true }), or ${keep}`));
      }
    }
    const r = vmIdRange?.value;
    if (r !== undefined && validRange(r)) {
      for (const t of templates) {
        if (t.id >= r.start && t.id <= r.end) {
          add(error(vmIdRange!.field, `${rangeText(r)} contains template VM ${t.id} (${t.field}): keep clones and template VMs apart; choose a range without template VM IDs`));
        }
      }
    }
  }
  // Capacity per range: machine sets with the same range share its IDs.
  const byRange = new Map<string, { range: VmIdRange; field: string; users: CloneUser[] }>();
  for (const u of users) {
    const r = u.clone.vmIdRange;
    if (r === undefined || !validRange(r.value)) continue;
    const key = rangeText(r.value);
    const entry = byRange.get(key) ?? { range: r.value, field: r.field, users: [] };
    entry.users.push(u);
    if (!r.field.startsWith('proxmox.')) entry.field = r.field;
    byRange.set(key, entry);
  }
  for (const { range, field, users: sets } of byRange.values()) {
    const size = range.end - range.start + 1;
    const need = sets.reduce((s, u) => s + u.machines + u.surge, 0);
    if (need <= size) continue;
    const parts = sets.map((u) => `${u.machines} + ${u.surge} (${u.what})`).join(' + ');
    add(error(field, `${rangeText(range)} holds ${size} VM ID(s), but the machine sets cloned into it need ${need} at once: ${parts}, counting each set at its maximum plus its rolling-update surge; widen the range`));
  }
  return out;
}

/** NIC names: DNS labels (they name IPAM pools), unique among the NICs of a machine. */
export function nicNameProblems(names: readonly string[], field: string): Problem[] {
  return names.flatMap((name, i) => {
    const path = `${field}[${i}].name`;
    const label = dnsLabelProblems(name, path);
    if (label.length > 0) return label;
    const first = names.indexOf(name);
    return first < i ? [error(path, `${quote(name)} is used by ${field}[${first}].name too; NIC names must be unique`)] : [];
  });
}

/** The primary IPv4 network as a {@link CheckedNetwork} (its rules are networkProblems'). */
export function primaryNetwork(addresses: readonly string[], gateway: string, prefix: number): CheckedNetwork {
  const subnet = ipSubnet(gateway, prefix);
  return {
    field: 'network.addresses',
    subnet: subnet?.family === 4 ? subnet : undefined,
    ranges: addresses.map((a) => parseIpRange(a)).filter((r): r is IpRange => r?.family === 4),
  };
}

/**
 * The rules of a list of extra NICs (`network.extraNics`, a pool's `network.extraNics`): names,
 * bridges, VLAN and MTU, and each NIC's addresses by the rules of its family; with the checked
 * networks, for the rules across networks.
 */
export function extraNicsProblems(
  nics: readonly { name: string; bridge: string; vlan?: number; mtu?: number; addresses: readonly string[]; prefix: number }[], field: string,
): { problems: Problem[]; networks: CheckedNetwork[] } {
  const problems: Problem[] = [...nicNameProblems(nics.map((n) => n.name), field)];
  const networks: CheckedNetwork[] = [];
  nics.forEach((nic, i) => {
    const at = `${field}[${i}]`;
    const family = nicFamilyOf(nic.addresses);
    problems.push(...bridgeNameProblems(nic.bridge, `${at}.bridge`), ...vlanMtuProblems(nic, at, family === 6));
    const checked = addressPoolProblems({ family, addresses: nic.addresses, prefix: nic.prefix },
      { addresses: `${at}.addresses`, prefix: `${at}.prefix`, gateway: `${at}.gateway` });
    problems.push(...checked.problems);
    networks.push({ field: `${at}.addresses`, subnet: checked.subnet, ranges: checked.ranges });
  });
  return { problems, networks };
}

/** The family of a NIC's addresses: that of its first well-formed entry (IPv4 when none is). */
function nicFamilyOf(addresses: readonly string[]): IpFamily {
  return (Array.isArray(addresses) ? addresses : []).map((a) => parseIpRange(a)).find((r) => r !== undefined)?.family ?? 4;
}

/**
 * One storage is shared or node-local wherever the cluster names it as a clone storage and as a
 * template storage: a Proxmox storage is one or the other, and the placement rules trust the
 * declaration. (Template storages among themselves are compared by the fleet-wide check.)
 */
export function storageKindProblems(declared: readonly { name: string; shared: boolean; field: string }[]): Problem[] {
  const first = new Map<string, { shared: boolean; field: string }>();
  const out: Problem[] = [];
  const kind = (shared: boolean) => (shared ? 'shared' : 'node-local');
  for (const d of declared) {
    if (typeof d.name !== 'string' || typeof d.shared !== 'boolean') continue;
    const owner = first.get(d.name);
    if (owner === undefined) first.set(d.name, d);
    else if (owner.shared !== d.shared && owner.field !== d.field && [owner.field, d.field].some((f) => f.endsWith('cloneStorage'))) {
      out.push(error(`${d.field}.shared`, `${d.shared} declares storage ${quote(d.name)} ${kind(d.shared)}, but ${owner.field} declares it ${kind(owner.shared)}: a Proxmox storage is one or the other; declare it alike (pvesm status shows it)`));
    }
  }
  return out;
}
