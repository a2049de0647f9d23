/**
 * Fleet-wide checks: what no single cluster file can see, checked over all of them together once
 * every cluster is built. One management cluster reaches every cluster's VIP and control-plane
 * nodes and applies every file of dist/, so addresses, credentials Secrets and object names must
 * not clash between clusters, whatever their bridges, VLANs or namespaces. Proxmox VM IDs are unique
 * across the whole Proxmox cluster, so a template VM ID means one VM, with one disk image, in
 * every cluster file.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { TemplateVm } from '../constructs/proxmox-machine-template';
import { freeVmIdAfter, imageText } from '../constructs/rules';
import { Diagnostic, error, quote, ValidationError, warning } from '../core/errors';
import { compareText } from '../core/naming';
import { IpRange, ipRangeContains, ipRangesOverlap, parseIp } from '../core/network';
import { nocloudDiskImageUrl } from '../talos/schematic';
import { BuiltCluster } from './clusters';

/** The management objects of one GitOps agent (the chart id is the agent: `flux`, `fleet`). */
export interface ManagementOutput {
  /** The agent's chart; the objects made for one cluster sit under a construct named after it. */
  readonly chart: Chart;
  /** The GitOps config file the objects come from, as messages name it. */
  readonly file: string;
  /** The config's `name`, which names the agent's own objects (`<name>`, `<name>-management`). */
  readonly name: string;
}

/**
 * Checks the clusters of a project together: VIPs and node address ranges never overlap,
 * no two clusters of one namespace share a credentials Secret, a template VM ID always names the
 * same source node, image (Talos release and schematic) and storage, a storage is shared or
 * node-local in every file, and no two output objects (the
 * management objects included) have the same group, kind, namespace and name.
 *
 * Each problem is reported on the later file in name order and names the earlier one.
 * Overlapping VM ID ranges of two clusters are a warning: CAPMOX still finds free IDs.
 *
 * @returns the warnings, each with its file
 * @throws ValidationError listing every problem found
 */
export function checkFleet(clusters: readonly BuiltCluster[], management: readonly ManagementOutput[] = []): Diagnostic[] {
  const problems = [
    ...addressProblems(clusters), ...credentialsProblems(clusters), ...templateVmProblems(clusters), ...vmIdRangeTemplateProblems(clusters),
    ...duplicateObjectProblems(clusters, management),
  ];
  if (problems.length > 0) throw new ValidationError(problems);
  return vmIdRangeWarnings(clusters);
}

/**
 * A cluster's VM ID range holding a template VM of another cluster: Proxmox VM IDs are unique across
 * the Proxmox cluster, so clones and template VMs must stay apart there too (the cluster's own
 * template VMs are checked by its construct).
 */
function vmIdRangeTemplateProblems(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const sorted = byFile(clusters);
  const uses = new Map(sorted.map((b) => [b, templateVmUses(b)]));
  const out: Diagnostic[] = [];
  for (const b of sorted) {
    for (const { field, range } of b.cluster.vmIdRanges) {
      for (const other of sorted) {
        if (other === b) continue;
        const seen = new Set<number>();
        for (const u of uses.get(other)!) {
          const id = u.vm.templateId;
          if (id < range.start || id > range.end || seen.has(id)) continue;
          seen.add(id);
          out.push(at(b, field, `${range.start}-${range.end} contains template VM ${id} of ${other.source.file} (${u.field}): Proxmox VM IDs are unique across the whole Proxmox cluster; keep clones and template VMs apart and choose a range without template VM IDs`));
        }
      }
    }
  }
  return out;
}

/**
 * Two clusters whose VM ID ranges overlap. CAPMOX takes the lowest ID of the range that no machine
 * of its own cluster holds and Proxmox reports free (`getNextFreeVMIDfromRange`, CAPMOX v0.9.0), so
 * both keep working; but it does not see the other cluster's machines being created, so two clones
 * at once can pick the same ID (one fails and is retried), and one cluster can use up the other's IDs.
 */
function vmIdRangeWarnings(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const sorted = byFile(clusters);
  const out: Diagnostic[] = [];
  sorted.forEach((later, j) => {
    for (const mine of later.cluster.vmIdRanges) {
      for (const earlier of sorted.slice(0, j)) {
        for (const theirs of earlier.cluster.vmIdRanges) {
          if (mine.range.start > theirs.range.end || theirs.range.start > mine.range.end) continue;
          out.push({
            ...warning(mine.field, `${mine.range.start}-${mine.range.end} overlaps the VM ID range ${theirs.range.start}-${theirs.range.end} of ${earlier.source.file} (${theirs.field}): `
              + 'CAPMOX skips IDs its own cluster\'s machines hold and IDs Proxmox reports taken, so both clusters still work, but two clones at once may pick the same ID '
              + '(one fails and is retried) and one cluster can use up the other\'s IDs; give each cluster a range of its own'),
            source: { file: later.source.file },
          });
        }
      }
    }
  });
  return out;
}

/** Clusters in file-name order, so that the later file is the one reported on. */
function byFile(clusters: readonly BuiltCluster[]): BuiltCluster[] {
  return [...clusters].sort((a, b) => compareText(a.source.file, b.source.file));
}

function at(b: BuiltCluster, path: string, message: string): Diagnostic {
  return { ...error(path, message), source: { file: b.source.file } };
}

/**
 * The address ranges of a cluster on every network (IPv4 and IPv6 node ranges, extra NICs' pools)
 * with their fields; the construct already refused malformed ones.
 */
function ranges(b: BuiltCluster): { range: IpRange; field: string; primary: boolean }[] {
  return [...b.cluster.addressRanges];
}

const REACH = 'the management cluster must reach every cluster\'s VIP and control-plane nodes, whatever their bridge or VLAN';
/** Why the ranges of extra NICs must not overlap either: synth cannot tell two bridges or VLANs apart as networks. */
const ONCE = 'an address is handed out once in the fleet: synth cannot tell whether two clusters\' bridges and VLANs are one network';

/** VIPs and node ranges shared between clusters. */
function addressProblems(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const sorted = byFile(clusters);
  // Parsed once per cluster: the pairs below are quadratic in the fleet's size.
  const vipOf = (b: BuiltCluster) => {
    const ip = parseIp(b.cluster.endpoint);
    return ip?.family === 4 ? ip.value : undefined;
  };
  const parsed = new Map(sorted.map((b) => [b, { vip: vipOf(b), ranges: ranges(b) }]));
  const problems: Diagnostic[] = [];
  sorted.forEach((later, j) => {
    const { vip, ranges: laterRanges } = parsed.get(later)!;
    for (const earlier of sorted.slice(0, j)) {
      const other = earlier.source.file;
      const { vip: otherVip, ranges: earlierRanges } = parsed.get(earlier)!;
      if (vip !== undefined && vip === otherVip) {
        problems.push(at(later, 'network.endpoint', `${quote(later.cluster.endpoint)} is also the VIP of ${other} (network.endpoint); give each cluster its own VIP: ${REACH}`));
      }
      for (const { range, field } of earlierRanges) {
        if (vip !== undefined && ipRangeContains(range, 4, vip)) {
          problems.push(at(later, 'network.endpoint', `${quote(later.cluster.endpoint)} lies in the node addresses of ${other} (${field} ${quote(range.spec)}); choose a VIP outside every cluster's node ranges: ${REACH}`));
        }
      }
      for (const { range, field, primary } of laterRanges) {
        if (otherVip !== undefined && ipRangeContains(range, 4, otherVip)) {
          problems.push(at(later, field, `${quote(range.spec)} contains the VIP of ${other} (network.endpoint ${quote(earlier.cluster.endpoint)}); leave it out of this cluster's node ranges: ${REACH}`));
        }
        for (const theirs of earlierRanges) {
          if (ipRangesOverlap(range, theirs.range)) {
            const why = primary && theirs.primary ? REACH : ONCE;
            problems.push(at(later, field, `${quote(range.spec)} overlaps ${other} ${theirs.field} ${quote(theirs.range.spec)}; give each cluster node ranges of its own: ${why}`));
          }
        }
      }
    }
  });
  return problems;
}

/**
 * Two clusters of one namespace naming one credentials Secret: both GitOps folders would own the
 * Secret, and removing either cluster prunes the credentials the other still uses.
 */
function credentialsProblems(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const owners = new Map<string, BuiltCluster>();
  const problems: Diagnostic[] = [];
  for (const b of byFile(clusters)) {
    const secret = b.cluster.credentialsSecret;
    if (secret === undefined) continue;
    const key = JSON.stringify([b.cluster.namespace, secret]);
    const other = owners.get(key);
    if (other === undefined) {
      owners.set(key, b);
      continue;
    }
    problems.push(at(b, 'proxmox.credentialsSecret', `${quote(secret)} is also the credentials Secret of ${other.source.file} (proxmox.credentialsSecret), in the same namespace ${quote(b.cluster.namespace)}: both clusters would own the Secret, and removing one would prune the credentials the other still uses; give each cluster its own Secret`));
  }
  return problems;
}

/** A template VM as one machine set of a cluster names it. */
interface TemplateVmUse {
  readonly cluster: BuiltCluster;
  /** The field naming the template VM: `proxmox.template`, `workers[i].template`. */
  readonly field: string;
  readonly vm: TemplateVm;
}

/**
 * The template VMs of a cluster as it declares them, control plane first, then the pools in props
 * order; a pool cloning the cluster's template VM is left out (the cluster checked it already).
 * The constructs made sure that each declared image is the one its machines boot.
 */
function templateVmUses(b: BuiltCluster): TemplateVmUse[] {
  const c = b.cluster;
  const uses: TemplateVmUse[] = [{ cluster: b, field: 'proxmox.template', vm: c.template }];
  c.workerPools.forEach((pool, i) => {
    if (pool.template.templateId !== c.template.templateId) uses.push({ cluster: b, field: `workers[${i}].template`, vm: pool.template });
    pool.spreadTemplates.forEach((vm, j) => uses.push({ cluster: b, field: `workers[${i}].spread.templates[${j}]`, vm }));
  });
  return uses;
}

/**
 * One VM ID named with two source nodes, images or storages: Proxmox VM IDs are unique across the
 * Proxmox cluster, so both are one VM, and one of the machine sets would boot the wrong disk. And
 * one storage is shared or node-local for every cluster that names it.
 */
function templateVmProblems(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const uses = byFile(clusters).flatMap(templateVmUses);
  const taken = new Set(uses.map((u) => u.vm.templateId));
  const owners = new Map<number, TemplateVmUse>();
  const problems: Diagnostic[] = [...storageKindProblems(clusters)];
  const unique = 'Proxmox VM IDs are unique across the whole Proxmox cluster, so both name one VM';
  for (const u of uses) {
    const { vm } = u;
    const other = (o: TemplateVmUse) => `${o.cluster.source.file} (${o.field})`;
    const owner = owners.get(vm.templateId);
    if (owner === undefined) {
      owners.set(vm.templateId, u);
      continue;
    }
    const was = owner.vm;
    const img = vm.image;
    const fix = `build a template VM from ${nocloudDiskImageUrl(img.schematic, img.talosVersion)} under a free VM ID (${freeVmIdAfter(vm.templateId, taken)} is not used by any cluster) and name it here`;
    if (was.sourceNode !== vm.sourceNode) {
      problems.push(at(u.cluster, `${u.field}.templateId`, `${vm.templateId} is also the template VM of ${other(owner)} on source node ${quote(was.sourceNode)}, but here on ${quote(vm.sourceNode)}: ${unique}; if it is that VM, name sourceNode ${quote(was.sourceNode)}, otherwise ${fix}`));
    } else if (was.image.talosVersion !== img.talosVersion || was.image.schematic !== img.schematic) {
      problems.push(at(u.cluster, `${u.field}.templateId`, `${vm.templateId} is also the template VM of ${other(owner)}, which holds ${imageText(was.image.talosVersion, was.image.schematic)}, but here ${imageText(img.talosVersion, img.schematic)}: ${unique}, and a template VM holds one disk image; ${fix}`));
    } else if (was.storage.name !== vm.storage.name) {
      problems.push(at(u.cluster, `${u.field}.storage.name`, `template VM ${vm.templateId} is on storage ${quote(was.storage.name)} in ${other(owner)}, but ${quote(vm.storage.name)} here: one VM's disk is on one storage; declare the same`));
    }
  }
  return problems;
}

/**
 * One storage is shared or node-local in every file that names it, as a template storage
 * (`proxmox.template`, `workers[i].template`, `workers[i].spread.templates[j]`) or as a clone storage.
 */
function storageKindProblems(clusters: readonly BuiltCluster[]): Diagnostic[] {
  const declarations = byFile(clusters).flatMap((b) => [
    ...templateVmUses(b).map((u) => ({ cluster: b, shown: u.field, path: `${u.field}.storage.shared`, storage: u.vm.storage })),
    ...b.cluster.cloneStorages.map(({ field, storage }) => ({ cluster: b, shown: field, path: `${field}.shared`, storage })),
  ]);
  const first = new Map<string, typeof declarations[number]>();
  const kind = (shared: boolean) => (shared ? 'shared' : 'node-local');
  const problems: Diagnostic[] = [];
  for (const d of declarations) {
    const owner = first.get(d.storage.name);
    if (owner === undefined) first.set(d.storage.name, d);
    else if (owner.storage.shared !== d.storage.shared) {
      problems.push(at(d.cluster, d.path, `storage ${quote(d.storage.name)} is ${kind(d.storage.shared)} here but ${kind(owner.storage.shared)} in ${owner.cluster.source.file} (${owner.shown}): a Proxmox storage is one or the other; declare it alike (pvesm status shows it)`));
    }
  }
  return problems;
}

/** Who produces an object: a cluster file, or the GitOps config (for a cluster's entry, or itself). */
interface Producer {
  /** The file reported on: the cluster file, or the GitOps config. */
  readonly file: string;
  /** The cluster whose management entry this is, and its file. */
  readonly entry?: { readonly cluster: string; readonly file: string };
  /** For the GitOps config's own objects: its `name`. */
  readonly gitopsName?: string;
}

function describeProducer(p: Producer): string {
  if (p.gitopsName !== undefined) return `${p.file} (its own objects, named after name ${quote(p.gitopsName)})`;
  if (!p.entry) return p.file;
  return `${p.file} (the entry of cluster ${quote(p.entry.cluster)}, ${p.entry.file})`;
}

/** The ApiObjects of a scope with `group/kind/namespace/name` keys. */
function keyedObjects(scope: Construct): { key: string; shown: string; object: ApiObject }[] {
  return scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((object) => {
    const namespace = object.metadata.namespace;
    return {
      key: JSON.stringify([object.apiGroup, object.kind, namespace ?? '', object.name]),
      shown: `${object.kind} ${namespace ? `${namespace}/` : ''}${object.name}`,
      object,
    };
  });
}

/** The cluster a management object was made for: the construct under the agent's delivery construct named after it. */
function entryOf(object: ApiObject, chart: Chart, clusters: ReadonlyMap<string, BuiltCluster>): BuiltCluster | undefined {
  // Flux nests a cluster's objects in a construct named after it; Fleet names the GitRepo itself
  // after it. The agent's own objects have capitalised ids, which no cluster name (a DNS label) has.
  const scopes = object.node.scopes;
  const id = scopes[scopes.indexOf(chart) + 2]?.node.id;
  return id !== undefined ? clusters.get(id) : undefined;
}

/** Two objects anywhere in dist/ (management objects included) with the same group, kind, namespace and name. */
function duplicateObjectProblems(clusters: readonly BuiltCluster[], management: readonly ManagementOutput[]): Diagnostic[] {
  const seen = new Map<string, { shown: string; producers: Producer[] }>();
  const add = (key: string, shown: string, producer: Producer) => {
    const entry = seen.get(key) ?? { shown, producers: [] };
    entry.producers.push(producer);
    seen.set(key, entry);
  };
  const byName = new Map(clusters.map((b) => [b.cluster.clusterName, b]));
  for (const b of byFile(clusters)) {
    for (const { key, shown } of keyedObjects(b.chart)) add(key, shown, { file: b.source.file });
  }
  for (const m of management) {
    for (const { key, shown, object } of keyedObjects(m.chart)) {
      const entry = entryOf(object, m.chart, byName);
      const producer: Producer = entry
        ? { file: m.file, entry: { cluster: entry.cluster.clusterName, file: entry.source.file } }
        : { file: m.file, gitopsName: m.name };
      add(key, shown, producer);
    }
  }
  const problems: Diagnostic[] = [];
  for (const { shown, producers } of seen.values()) {
    if (producers.length < 2) continue;
    const [first, ...rest] = producers;
    const later = rest[rest.length - 1];
    const others = producers.slice(0, -1);
    const entries = producers.filter((p) => p.entry);
    let advice: string;
    const own = producers.find((p) => p.gitopsName !== undefined);
    if (entries.length > 0 && own) {
      advice = `rename the cluster ${entries.map((p) => quote(p.entry!.cluster)).join(' and ')} or change name in ${own.file}: the management objects of a cluster are named after it, the GitOps config's own after its name (<name>, <name>-management)`;
    } else if (entries.length > 0) {
      advice = `rename one of the clusters ${entries.map((p) => quote(p.entry!.cluster)).join(' and ')}: the management objects of a cluster are named after it (<cluster>, <cluster>-secrets)`;
    } else if (producers.every((p) => p.file === first.file)) {
      advice = 'rename the worker pool whose name repeats a name of the cluster (object names join the cluster and pool names with "-")';
    } else {
      advice = 'rename one of the clusters or pools (object names join the cluster and pool names with "-", so cluster "a" with pool "b-default" and cluster "a-b" with pool "default" collide)';
    }
    const by = producers.every((p) => p.file === first.file && !p.entry && p.gitopsName === undefined)
      ? `is produced ${producers.length} times by this file`
      : `is produced by ${others.map(describeProducer).join(', ')} and by ${describeProducer(later)}`;
    problems.push({ ...error('', `${shown} ${by}; ${advice}`), source: { file: later.file } });
  }
  return problems;
}
