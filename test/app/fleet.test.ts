import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesize } from '../../lib/app/synth';
import { UserError } from '../../lib/core/errors';
import { LONGHORN_EXTENSIONS, Schematic } from '../../lib/talos/schematic';

const ROOT = path.resolve(__dirname, '..', '..');
const HOMELAB = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');

/** What a cluster file derived from clusters/homelab.yaml changes. */
interface Variant {
  readonly name: string;
  /** Third octet of the node subnet 192.168.<net>.0/24 (VIP .30, nodes .20-.29, gateway .254). */
  readonly net?: number;
  readonly endpoint?: string;
  readonly addresses?: string;
  readonly secret?: string;
  readonly pool?: string;
  readonly healthCheck?: boolean;
}

/** clusters/homelab.yaml with the variant's name, addresses, Secret and pool. */
function clusterYaml(v: Variant): string {
  const net = v.net ?? 0;
  const text = HOMELAB
    .replace('name: homelab\n', `name: ${v.name}\n`)
    .replace('endpoint: 192.168.0.30', `endpoint: ${v.endpoint ?? `192.168.${net}.30`}`)
    .replace('addresses: [192.168.0.20-192.168.0.29]', `addresses: [${v.addresses ?? `192.168.${net}.20-192.168.${net}.29`}]`)
    .replace('gateway: 192.168.0.254', `gateway: 192.168.${net}.254`)
    .replace('credentialsSecret: homelab-proxmox', `credentialsSecret: ${v.secret ?? `${v.name}-proxmox`}`)
    .replace('- { name: default,', `- { name: ${v.pool ?? 'default'},`)
    .replace('diskGiB: 20 }', v.healthCheck ? 'diskGiB: 20, healthCheck: true }' : 'diskGiB: 20 }');
  // An edit that misses (clusters/homelab.yaml was changed) would test nothing.
  for (const edit of [`name: ${v.name}\n`, `credentialsSecret: ${v.secret ?? `${v.name}-proxmox`}`]) expect(text).toContain(edit);
  return text;
}

describe('fleet-wide checks (lib/app/fleet.ts)', () => {
  let work: string;
  beforeAll(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')); });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  let count = 0;
  /** A new folder of cluster files (messages name it relative to the project). */
  const fleet = (files: Record<string, string>) => {
    const dir = path.join(work, `set-${count++}`, 'clusters');
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  };
  const prefix = (dir: string) => path.relative(ROOT, dir).split(path.sep).join('/');
  /** The message synth fails with, with the folder's path shortened to `clusters`. */
  const failure = (files: Record<string, string>, gitops = false): string => {
    const dir = fleet(files);
    try {
      synthesize({ configDir: dir, ...(gitops ? { gitopsFile: path.join(ROOT, 'gitops.yaml') } : {}) });
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      return (e as Error).message.split(prefix(dir)).join('clusters');
    }
    throw new Error('synth succeeded');
  };

  test('two clusters with the same VIP (and node ranges): both files and fields', () => {
    const message = failure({ 'homelab.yaml': clusterYaml({ name: 'homelab' }), 'lab2.yaml': clusterYaml({ name: 'lab2' }) });
    const reach = 'the management cluster must reach every cluster\'s VIP and control-plane nodes, whatever their bridge or VLAN';
    expect(message.split('\n')).toEqual([
      `clusters/lab2.yaml: network.endpoint "192.168.0.30" is also the VIP of clusters/homelab.yaml (network.endpoint); give each cluster its own VIP: ${reach}`,
      `clusters/lab2.yaml: network.addresses[0] "192.168.0.20-192.168.0.29" overlaps clusters/homelab.yaml network.addresses[0] "192.168.0.20-192.168.0.29"; give each cluster node ranges of its own: ${reach}`,
    ]);
  });

  test('a VIP inside another cluster\'s node range, either way round', () => {
    const reach = 'the management cluster must reach every cluster\'s VIP and control-plane nodes, whatever their bridge or VLAN';
    // The later file's VIP is one of the earlier file's node addresses.
    expect(failure({
      'homelab.yaml': clusterYaml({ name: 'homelab' }),
      'lab2.yaml': clusterYaml({ name: 'lab2', endpoint: '192.168.0.25', addresses: '192.168.0.40-192.168.0.49' }),
    })).toBe(`clusters/lab2.yaml: network.endpoint "192.168.0.25" lies in the node addresses of clusters/homelab.yaml (network.addresses[0] "192.168.0.20-192.168.0.29"); choose a VIP outside every cluster's node ranges: ${reach}`);
    // The later file's node range holds the earlier file's VIP.
    expect(failure({
      'homelab.yaml': clusterYaml({ name: 'homelab' }),
      'lab2.yaml': clusterYaml({ name: 'lab2', endpoint: '192.168.0.50', addresses: '192.168.0.30-192.168.0.39' }),
    })).toBe(`clusters/lab2.yaml: network.addresses[0] "192.168.0.30-192.168.0.39" contains the VIP of clusters/homelab.yaml (network.endpoint "192.168.0.30"); leave it out of this cluster's node ranges: ${reach}`);
  });

  describe('IPv6 and extra-NIC address pools are compared too', () => {
    /** A variant's file with an IPv6 node network and a storage NIC added to its network. */
    const withNetworks = (v: Variant, ipv6: string, storage: string) => {
      const text = clusterYaml(v).replace('  podCidrs: [10.244.0.0/16]\n  serviceCidrs: [10.96.0.0/12]\n', [
        '  podCidrs: [10.244.0.0/16, fd00:10:244::/56]',
        '  serviceCidrs: [10.96.0.0/12, fd00:10:96::/112]',
        `  ipv6: { addresses: [${ipv6}], prefix: 64, gateway: 'fd00:20::1' }`,
        `  extraNics: [{ name: storage, bridge: vmbr1, vlan: 30, addresses: [${storage}], prefix: 24 }]`,
        '',
      ].join('\n'));
      expect(text).toContain('extraNics');
      return text;
    };
    const reach = 'the management cluster must reach every cluster\'s VIP and control-plane nodes, whatever their bridge or VLAN';
    const once = 'an address is handed out once in the fleet: synth cannot tell whether two clusters\' bridges and VLANs are one network';

    test('disjoint pools pass', () => {
      const dir = fleet({
        'homelab.yaml': withNetworks({ name: 'homelab' }, '\'fd00:20::100-fd00:20::1ff\'', '10.30.0.10-10.30.0.40'),
        'lab2.yaml': withNetworks({ name: 'lab2', net: 1 }, '\'fd00:20::200-fd00:20::2ff\'', '10.30.0.50-10.30.0.80'),
      });
      expect(() => synthesize({ configDir: dir })).not.toThrow();
    });

    test('overlapping IPv6 node ranges and storage pools: refused on the later file, naming the earlier one', () => {
      expect(failure({
        'homelab.yaml': withNetworks({ name: 'homelab' }, '\'fd00:20::100-fd00:20::1ff\'', '10.30.0.10-10.30.0.40'),
        'lab2.yaml': withNetworks({ name: 'lab2', net: 1 }, '\'fd00:20::180-fd00:20::27f\'', '10.30.0.40-10.30.0.80'),
      }).split('\n')).toEqual([
        `clusters/lab2.yaml: network.ipv6.addresses[0] "fd00:20::180-fd00:20::27f" overlaps clusters/homelab.yaml network.ipv6.addresses[0] "fd00:20::100-fd00:20::1ff"; give each cluster node ranges of its own: ${reach}`,
        `clusters/lab2.yaml: network.extraNics[0].addresses[0] "10.30.0.40-10.30.0.80" overlaps clusters/homelab.yaml network.extraNics[0].addresses[0] "10.30.0.10-10.30.0.40"; give each cluster node ranges of its own: ${once}`,
      ]);
    });
  });

  test('two clusters of one namespace sharing a credentials Secret: refused, naming both files', () => {
    expect(failure({
      'homelab.yaml': clusterYaml({ name: 'homelab' }),
      'lab2.yaml': clusterYaml({ name: 'lab2', net: 1, secret: 'homelab-proxmox' }),
    })).toBe('clusters/lab2.yaml: proxmox.credentialsSecret "homelab-proxmox" is also the credentials Secret of clusters/homelab.yaml (proxmox.credentialsSecret), in the same namespace "default": both clusters would own the Secret, and removing one would prune the credentials the other still uses; give each cluster its own Secret');
    // In other namespaces they are two Secrets.
    const dir = fleet({
      'homelab.yaml': clusterYaml({ name: 'homelab' }),
      'lab2.yaml': clusterYaml({ name: 'lab2', net: 1, secret: 'homelab-proxmox' }).replace('namespace: default', 'namespace: lab2'),
    });
    expect(() => synthesize({ configDir: dir })).not.toThrow();
  });

  describe('a template VM ID is one VM, with one image and one storage, in every cluster', () => {
    const guestAgent = new Schematic({ officialExtensions: ['siderolabs/qemu-guest-agent'] });
    const longhorn = guestAgent.withExtensions(LONGHORN_EXTENSIONS);
    interface TemplateVariant {
      readonly id?: number; readonly node?: string; readonly talos?: string; readonly storage?: string; readonly schematic?: string;
    }
    /** The YAML of a template VM declaration. */
    const template = (t: TemplateVariant = {}) => [
      `sourceNode: ${t.node ?? 'K8S0'}`, `templateId: ${t.id ?? 8700}`,
      `image: { talosVersion: ${t.talos ?? 'v1.13.9'}, schematic: ${t.schematic ?? guestAgent.id} }`,
      `storage: ${t.storage ?? '{ name: local-lvm, shared: false }'}`,
    ].join(', ');
    /** A cluster file with its own addresses and Secret, the given template VM (its release is the cluster's too). */
    const withTemplate = (name: string, net: number, t: TemplateVariant = {}) => {
      const start = HOMELAB.indexOf('  template:\n');
      const end = HOMELAB.indexOf('  isoStorage:');
      expect(start).toBeGreaterThan(0);
      const text = clusterYaml({ name, net }).replace(HOMELAB.slice(start, end), `  template: { ${template(t)} }\n`)
        .replace('  version: v1.13.9', `  version: ${t.talos ?? 'v1.13.9'}`)
        .replace('allowedNodes: [K8S0]', `allowedNodes: [${t.node ?? 'K8S0'}]`);
      expect(text).toContain(template(t));
      return text;
    };
    const unique = 'Proxmox VM IDs are unique across the whole Proxmox cluster, so both name one VM';

    test('the same VM ID declared with another Talos release: refused on the later file, suggesting the first free ID', () => {
      const message = failure({
        'homelab.yaml': withTemplate('homelab', 0),
        'lab2.yaml': withTemplate('lab2', 1, { talos: 'v1.12.11' }),
        // 8701 is taken (with homelab's image, which is fine), so the free ID suggested is 8702.
        'lab3.yaml': withTemplate('lab3', 2, { id: 8701 }),
      });
      const id = `${guestAgent.id.slice(0, 12)}…`;
      expect(message).toBe(`clusters/lab2.yaml: proxmox.template.templateId 8700 is also the template VM of clusters/homelab.yaml (proxmox.template), which holds Talos v1.13.9, schematic ${id}, but here Talos v1.12.11, schematic ${id}: ${unique}, and a template VM holds one disk image; build a template VM from ${guestAgent.diskImageUrl('v1.12.11')} under a free VM ID (8702 is not used by any cluster) and name it here`);
    });

    test('another source node for the same VM ID: refused, naming both nodes', () => {
      expect(failure({
        'homelab.yaml': withTemplate('homelab', 0),
        'lab2.yaml': withTemplate('lab2', 1, { node: 'K8S1' }),
      })).toBe(`clusters/lab2.yaml: proxmox.template.templateId 8700 is also the template VM of clusters/homelab.yaml (proxmox.template) on source node "K8S0", but here on "K8S1": ${unique}; if it is that VM, name sourceNode "K8S0", otherwise build a template VM from ${guestAgent.diskImageUrl('v1.13.9')} under a free VM ID (8701 is not used by any cluster) and name it here`);
    });

    test('a pool\'s own template VM with another schematic: refused on workers[i].template.templateId', () => {
      const lab2 = withTemplate('lab2', 1, { id: 8710 }).replace('diskGiB: 40 }', `diskGiB: 40, longhorn: true, template: { ${template({ schematic: longhorn.id })} } }`);
      expect(lab2).toContain('longhorn: true');
      const message = failure({ 'homelab.yaml': withTemplate('homelab', 0), 'lab2.yaml': lab2 });
      expect(message).toBe(`clusters/lab2.yaml: workers[0].template.templateId 8700 is also the template VM of clusters/homelab.yaml (proxmox.template), which holds Talos v1.13.9, schematic ${guestAgent.id.slice(0, 12)}…, but here Talos v1.13.9, schematic ${longhorn.id.slice(0, 12)}…: ${unique}, and a template VM holds one disk image; build a template VM from ${longhorn.diskImageUrl('v1.13.9')} under a free VM ID (8701 is not used by any cluster) and name it here`);
    });

    test('the same VM on another storage, or one storage both shared and node-local: refused', () => {
      expect(failure({
        'homelab.yaml': withTemplate('homelab', 0),
        'lab2.yaml': withTemplate('lab2', 1, { storage: '{ name: ceph-vm, shared: true }' }),
      })).toBe('clusters/lab2.yaml: proxmox.template.storage.name template VM 8700 is on storage "local-lvm" in clusters/homelab.yaml (proxmox.template), but "ceph-vm" here: one VM\'s disk is on one storage; declare the same');
      expect(failure({
        'homelab.yaml': withTemplate('homelab', 0),
        'lab2.yaml': withTemplate('lab2', 1, { id: 8701, storage: '{ name: local-lvm, shared: true }' }),
      })).toBe('clusters/lab2.yaml: proxmox.template.storage.shared storage "local-lvm" is shared here but node-local in clusters/homelab.yaml (proxmox.template): a Proxmox storage is one or the other; declare it alike (pvesm status shows it)');
    });

    test('the same VM ID with the same image and storage in two clusters: allowed', () => {
      const dir = fleet({ 'homelab.yaml': withTemplate('homelab', 0), 'lab2.yaml': withTemplate('lab2', 1) });
      expect(() => synthesize({ configDir: dir })).not.toThrow();
    });
  });

  test('cluster "a" with pool "b-default" beside cluster "a-b" with pool "default": the objects and both files', () => {
    const message = failure({
      'a.yaml': clusterYaml({ name: 'a', pool: 'b-default' }),
      'a-b.yaml': clusterYaml({ name: 'a-b', net: 1 }),
    });
    const advice = 'rename one of the clusters or pools (object names join the cluster and pool names with "-", so cluster "a" with pool "b-default" and cluster "a-b" with pool "default" collide)';
    // "a-b.yaml" sorts before "a.yaml": a.yaml is the later file.
    expect(message.split('\n')).toContain(`clusters/a.yaml: MachineDeployment default/a-b-default is produced by clusters/a-b.yaml and by clusters/a.yaml; ${advice}`);
  });

  test('clusters "homelab" and "homelab-secrets": the same Flux Kustomization, naming both clusters\' entries', () => {
    const message = failure({
      'homelab.yaml': clusterYaml({ name: 'homelab' }),
      'homelab-secrets.yaml': clusterYaml({ name: 'homelab-secrets', net: 1 }),
    }, true);
    expect(message).toBe('gitops.yaml: Kustomization flux-system/homelab-secrets is produced by gitops.yaml (the entry of cluster "homelab-secrets", clusters/homelab-secrets.yaml) and by gitops.yaml (the entry of cluster "homelab", clusters/homelab.yaml); rename one of the clusters "homelab-secrets" and "homelab": the management objects of a cluster are named after it (<cluster>, <cluster>-secrets)');
  });

  test('a cluster named like the GitOps config\'s own objects ("clusters-management"): naming the cluster and gitops.yaml\'s name', () => {
    const message = failure({ 'clusters-management.yaml': clusterYaml({ name: 'clusters-management' }) }, true);
    const advice = 'rename the cluster "clusters-management" or change name in gitops.yaml: the management objects of a cluster are named after it, the GitOps config\'s own after its name (<name>, <name>-management)';
    expect(message.split('\n')).toEqual([
      `gitops.yaml: Kustomization flux-system/clusters-management is produced by gitops.yaml (the entry of cluster "clusters-management", clusters/clusters-management.yaml) and by gitops.yaml (its own objects, named after name "clusters"); ${advice}`,
      `gitops.yaml: GitRepo fleet-local/clusters-management is produced by gitops.yaml (the entry of cluster "clusters-management", clusters/clusters-management.yaml) and by gitops.yaml (its own objects, named after name "clusters"); ${advice}`,
    ]);
  });

  test('a pool named "control-plane" with the control plane\'s health check: one MachineHealthCheck twice in one file', () => {
    expect(failure({ 'homelab.yaml': clusterYaml({ name: 'homelab', pool: 'control-plane', healthCheck: true }) }).split('\n'))
      .toContain('clusters/homelab.yaml: MachineHealthCheck default/homelab-control-plane is produced 2 times by this file; rename the worker pool whose name repeats a name of the cluster (object names join the cluster and pool names with "-")');
  });

  test('a TypeScript cluster and a config file: the same checks, naming the .ts file', () => {
    // clusters/edge.ts, importing the library by absolute path from the temporary folder.
    const edge = fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8').replace("from '../lib'", `from ${JSON.stringify(path.join(ROOT, 'lib'))}`);
    expect(edge).not.toContain("'../lib'");
    const message = failure({ 'edge.ts': edge, 'lab2.yaml': clusterYaml({ name: 'lab2', net: 10, secret: 'edge-proxmox' }).replace('namespace: default\n', '') });
    expect(message.split('\n')).toContain('clusters/lab2.yaml: proxmox.credentialsSecret "edge-proxmox" is also the credentials Secret of clusters/edge.ts (proxmox.credentialsSecret), in the same namespace "default": both clusters would own the Secret, and removing one would prune the credentials the other still uses; give each cluster its own Secret');
    expect(message.split('\n')[0]).toMatch(/^clusters\/lab2.yaml: network.endpoint "192.168.10.30" is also the VIP of clusters\/edge.ts \(network.endpoint\)/);
  });

  test('the README examples (the config of "Adding a cluster" and the cluster of "From TypeScript") synthesize together', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = (heading: string, lang: string) => {
      const start = readme.indexOf(`\n## ${heading}\n`);
      const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme.slice(start))?.[1];
      if (start < 0 || block === undefined) throw new Error(`README has no ${lang} block under "${heading}"`);
      return block;
    };
    const dir = fleet({
      'homelab.yaml': section('Adding a cluster', 'yaml').replace('../schemas/', `${path.join(ROOT, 'schemas')}/`),
      'edge.ts': section('From TypeScript', 'ts').replace("from '../lib'", `from ${JSON.stringify(path.join(ROOT, 'lib'))}`),
    });
    expect(synthesize({ configDir: dir, gitopsFile: path.join(ROOT, 'gitops.yaml') }).files.map((f) => f.path)).toEqual(expect.arrayContaining([
      'edge/edge.k8s.yaml', 'homelab/homelab.k8s.yaml', 'management/flux/gitops.k8s.yaml',
    ]));
  });

  test('overlapping VM ID ranges of two clusters: a warning on the later file naming the earlier one, synth goes on', () => {
    const withRange = (v: Variant, range: string) => clusterYaml(v).replace('  isoStorage: local', `  vmIdRange: ${range}\n  isoStorage: local`);
    const homelab = withRange({ name: 'homelab' }, '{ start: 1000, end: 1099 }');
    expect(homelab).toContain('vmIdRange: { start: 1000, end: 1099 }');
    const dir = fleet({ 'homelab.yaml': homelab, 'lab2.yaml': withRange({ name: 'lab2', net: 1 }, '{ start: 1050, end: 1149 }') });
    const { warnings } = synthesize({ configDir: dir });
    expect(warnings.map((w) => w.split(prefix(dir)).join('clusters'))).toEqual([
      'clusters/lab2.yaml: proxmox.vmIdRange 1050-1149 overlaps the VM ID range 1000-1099 of clusters/homelab.yaml (proxmox.vmIdRange): CAPMOX skips IDs its own '
      + 'cluster\'s machines hold and IDs Proxmox reports taken, so both clusters still work, but two clones at once may pick the same ID (one fails and is retried) '
      + 'and one cluster can use up the other\'s IDs; give each cluster a range of its own',
    ]);
    // Ranges of their own: no warning.
    const apart = fleet({ 'homelab.yaml': homelab, 'lab2.yaml': withRange({ name: 'lab2', net: 1 }, '{ start: 1100, end: 1199 }') });
    expect(synthesize({ configDir: apart }).warnings).toEqual([]);
  });

  test('a clone storage declared shared in one file and node-local in another fails on the later file', () => {
    const withClone = (v: Variant, shared: boolean) => clusterYaml(v).replace('  isoStorage: local', `  cloneStorage: { name: nvme, shared: ${shared} }\n  isoStorage: local`);
    expect(failure({ 'homelab.yaml': withClone({ name: 'homelab' }, false), 'lab2.yaml': withClone({ name: 'lab2', net: 1 }, true) }).split('\n')).toEqual([
      'clusters/lab2.yaml: proxmox.cloneStorage.shared storage "nvme" is shared here but node-local in clusters/homelab.yaml (proxmox.cloneStorage): a Proxmox storage is one or the other; '
      + 'declare it alike (pvesm status shows it)',
    ]);
  });

  test('a VM ID range holding another cluster\'s template VM fails, naming that file and field', () => {
    const homelab = clusterYaml({ name: 'homelab' });
    const lab2 = clusterYaml({ name: 'lab2', net: 1 }).replace('  isoStorage: local', '  vmIdRange: { start: 8000, end: 8999 }\n  isoStorage: local')
      .replace('templateId: 8700', 'templateId: 9700');
    expect(lab2).toContain('templateId: 9700');
    expect(failure({ 'homelab.yaml': homelab, 'lab2.yaml': lab2 }).split('\n')).toEqual([
      'clusters/lab2.yaml: proxmox.vmIdRange 8000-8999 contains template VM 8700 of clusters/homelab.yaml (proxmox.template): Proxmox VM IDs are unique across the whole '
      + 'Proxmox cluster; keep clones and template VMs apart and choose a range without template VM IDs',
    ]);
  });

  test('a spread pool\'s node templates are template VMs of the fleet too: one ID on two nodes fails on the spread.templates field', () => {
    const schematic = new Schematic({ officialExtensions: ['siderolabs/qemu-guest-agent'] }).id;
    const spread = (node: string) => [
      '  - name: spread',
      '    replicas: 1',
      '    cores: 2',
      '    memoryMiB: 4096',
      '    diskGiB: 20',
      '    spread:',
      `      nodes: [${node}]`,
      `      templates: [{ sourceNode: ${node}, templateId: 8711, image: { talosVersion: v1.13.9, schematic: ${schematic} }, storage: { name: local-lvm, shared: false } }]`,
      '',
    ].join('\n');
    const withSpread = (v: Variant, node: string) => clusterYaml(v).replace('allowedNodes: [K8S0]', `allowedNodes: [K8S0, ${node}]`)
      .replace('controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20', 'controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20, allowedNodes: [K8S0]')
      .replace('diskGiB: 40 }', 'diskGiB: 40, allowedNodes: [K8S0] }')
      .replace('\ncilium:', `\n${spread(node)}cilium:`);
    const message = failure({ 'homelab.yaml': withSpread({ name: 'homelab' }, 'K8S1'), 'lab2.yaml': withSpread({ name: 'lab2', net: 1 }, 'K8S2') });
    expect(message.split('\n')).toEqual([expect.stringMatching(
      /^clusters\/lab2\.yaml: workers\[1\]\.spread\.templates\[0\]\.templateId 8711 is also the template VM of clusters\/homelab\.yaml \(workers\[1\]\.spread\.templates\[0\]\) on source node "K8S1", but here on "K8S2"/,
    )]);
  });

  test('the repository\'s clusters (homelab.yaml and edge.ts) pass together', () => {
    expect(() => synthesize({ configDir: path.join(ROOT, 'clusters'), gitopsFile: path.join(ROOT, 'gitops.yaml') })).not.toThrow();
  });
});
