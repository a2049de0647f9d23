import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { buildConfigCluster } from '../lib/app/clusters';
import { parseClusterConfig } from '../lib/app/config/load';
import { OutputFile } from '../lib/app/output';
import { synthesize } from '../lib/app/synth';
import { KubeObject } from '../lib/core/kube-object';
import { OutputGate } from '../lib/gate/gate';
import { computePlan } from '../lib/plan/plan';
import { formatPlan } from '../lib/plan/report';
import { all, configProblems, Obj, one, ROOT, synth } from './util';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of a language in the README section under `heading`. */
function blocks(heading: string, lang: string): string[] {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\`\\n`, 'g'))].map((m) => m[1]);
}

describe('README examples run as written', () => {
  test('the TypeScript cluster is clusters/edge.ts, which synth builds into dist/edge/', () => {
    expect(blocks('From TypeScript', 'ts')[0]).toBe(fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8'));
    expect(fs.existsSync(path.join(ROOT, 'dist', 'edge', 'edge.k8s.yaml'))).toBe(true);
  });

  test('the cluster config of "Adding a cluster" is valid as written', () => {
    const [config] = blocks('Adding a cluster', 'yaml');
    expect(config).toContain('name: homelab');
    expect(configProblems(config, 'README.md')).toEqual([]);
  });
});

describe('README pool examples', () => {
  const [cluster] = blocks('Adding a cluster', 'yaml');
  /** The `workers:` entries of a README block, as YAML text (each block starts with `workers:`). */
  const entries = (heading: string, index = 0) => blocks(heading, 'yaml')[index].replace(/^workers:\n/, '');
  /** The README's cluster with pools added after its own, and a node range wide enough for all of them. */
  const withPools = (...pools: string[]) => cluster
    .replace('addresses: [192.168.0.20-192.168.0.29]', 'addresses: [192.168.0.40-192.168.0.99]')
    .replace(/workers:\n[\s\S]*?\ncilium:/, (m) => `${m.slice(0, -'\ncilium:'.length)}\n${pools.join('')}cilium:`);

  test('each synthesizes as written, beside the cluster of "Adding a cluster"', () => {
    expect(withPools(entries('Adding a worker pool').split('\n').slice(1).join('\n'))).toContain('name: big');
    for (const pool of [
      entries('Adding a worker pool').split('\n').slice(1).join('\n'), // the entry after the default pool
      entries('Adding a worker pool', 1),
      entries('Add a Longhorn pool'),
    ]) expect(configProblems(withPools(pool), 'README.md')).toEqual([]);
  });

  test('the pool example and the Longhorn example together fail: one VM ID, two nodes and two images', () => {
    const both = withPools(entries('Adding a worker pool').split('\n').slice(1).join('\n'), entries('Add a Longhorn pool'));
    expect(configProblems(both, 'README.md')).toEqual([
      'README.md: workers[2].template.sourceNode 8701 is the template VM of the pool big too, on "K8S1", not "K8S0": one VM ID is one VM; if it is that VM, name "K8S1", '
      + 'otherwise build a template VM from https://factory.talos.dev/image/53513e54bb39202f35694412577a6bc53d484744d35a126e5d42ef34785c0d83/v1.13.9/nocloud-amd64.raw.xz '
      + 'under another VM ID (8702 is free in this cluster) and name it here',
    ]);
  });
});

describe('README patches example', () => {
  const [levels, registry] = blocks('Your own Talos settings: patches', 'yaml');
  /** clusters/ with the "Adding a cluster" config, the example's keys merged in, and the registry file. */
  const project = (registryText: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-patches-'));
    const config = YAML.parse(blocks('Adding a cluster', 'yaml')[0]);
    const example = YAML.parse(levels);
    config.talos = { ...config.talos, ...example.talos };
    config.controlPlane = example.controlPlane;
    config.workers = example.workers;
    fs.mkdirSync(path.join(dir, 'clusters', 'patches'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'clusters', 'homelab.yaml'), YAML.stringify(config));
    fs.writeFileSync(path.join(dir, 'clusters', 'patches', 'registry-mirrors.yaml'), registryText);
    return path.join(dir, 'clusters');
  };

  test('synthesizes as written, through the gate', () => {
    const dir = project(registry);
    try {
      const out = synthesize({ configDir: dir }).files.find((f) => f.path === 'homelab/homelab.k8s.yaml')!.content;
      expect(out).toContain('kind: RegistryMirrorConfig');
      expect(out).toContain('audit-log-maxage');
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  test('the error the README shows is the one synth prints', () => {
    const shown = [...README.matchAll(/\n\s*error: (clusters\/homelab\.yaml: talos\.patches\[1\][^\n]*)/g)].map((m) => m[1]).join('\n');
    expect(shown).not.toBe('');
    const dir = project(registry.replace('  - url:', '  - urll:'));
    try {
      synthesize({ configDir: dir });
      throw new Error('synth passed');
    } catch (e) {
      const rel = path.relative(ROOT, dir).split(path.sep).join('/');
      expect((e as Error).message.split(rel).join('clusters')).toBe(shown);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});

describe('README network examples', () => {
  const [cluster] = blocks('Adding a cluster', 'yaml');
  const examples = blocks('Networks: VLANs, MTU, more NICs, dual-stack', 'yaml');
  /** The cluster of "Adding a cluster" with an example's keys: `network` keys set over the cluster's, `workers` appended. */
  const withExample = (example: string): string => {
    const doc = YAML.parseDocument(cluster);
    const add = YAML.parse(example) as { network?: Record<string, unknown>; workers?: unknown[] };
    for (const [k, v] of Object.entries(add.network ?? {})) doc.setIn(['network', k], v);
    for (const w of add.workers ?? []) (doc.get('workers') as YAML.YAMLSeq).add(doc.createNode(w));
    return doc.toString();
  };
  const build = (text: string): Obj[] => {
    const { chart } = buildConfigCluster(Testing.app(), parseClusterConfig(text, 'README.md'), 'Cluster');
    return synth(chart);
  };

  test('one example per feature: VLAN and MTU, per pool, more NICs, dual-stack', () => {
    expect(examples.map((e) => Object.keys(YAML.parse(e).network ?? YAML.parse(e)))).toEqual([
      ['vlan', 'mtu'], ['workers'], ['extraNics'], ['ipv6', 'podCidrs', 'serviceCidrs'],
    ]);
  });

  test('each synthesizes as written, beside the cluster of "Adding a cluster", and passes the output gate', () => {
    for (const example of examples) {
      const text = withExample(example);
      expect(configProblems(text, 'README.md')).toEqual([]);
      expect(new OutputGate().violations(build(text) as KubeObject[])).toEqual([]);
    }
  });

  test('each does what its text says', () => {
    const [vlanMtu, pool, nics, dual] = examples.map((e) => build(withExample(e)));
    const net0 = (objects: Obj[], prefix: string) => all(objects, 'ProxmoxMachineTemplate')
      .find((t) => t.metadata.name.startsWith(`${prefix}-`))!.spec.template.spec.network.networkDevices;
    expect(net0(vlanMtu, 'homelab-default')[0]).toMatchObject({ vlan: 20, mtu: 9000, linkMtu: 9000 });
    expect(net0(pool, 'homelab-edge')).toStrictEqual([{ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true, mtu: 1500, linkMtu: 1500 }]);
    expect(net0(nics, 'homelab-control-plane')[1]).toMatchObject({ name: 'net1', bridge: 'vmbr1', vlan: 30, ipPoolRef: [{ kind: 'InClusterIPPool', name: 'homelab-storage' }] });
    expect(one(nics, 'InClusterIPPool', 'homelab-storage').spec).toEqual({ addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 });
    expect(one(dual, 'ProxmoxCluster').spec.ipv6Config).toEqual({ addresses: ['fd00:0:0:1::100-fd00:0:0:1::1ff'], prefix: 64, gateway: 'fd00:0:0:1::1', metric: 100 });
    expect(one(dual, 'Cluster').spec.clusterNetwork.pods.cidrBlocks).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
  });

  test('all four together synthesize (the issue\'s "done when": tagged VLAN and MTU, a second NIC with its own pool, dual-stack)', () => {
    const text = examples.filter((e) => !e.startsWith('workers:')).reduce((acc, e) => {
      const doc = YAML.parseDocument(acc);
      for (const [k, v] of Object.entries((YAML.parse(e) as { network: Record<string, unknown> }).network)) doc.setIn(['network', k], v);
      return doc.toString();
    }, cluster);
    expect(configProblems(text, 'README.md')).toEqual([]);
    expect(new OutputGate().violations(build(text) as KubeObject[])).toEqual([]);
  });
});

describe('README "Proxmox options and spread over hosts"', () => {
  const SECTION = 'Proxmox options and spread over hosts';
  const [cluster] = blocks('Adding a cluster', 'yaml');
  const [options, batch, lab] = blocks(SECTION, 'yaml');
  /** The cluster of "Adding a cluster" with the keys of a `proxmox:` block added to its own `proxmox`. */
  const withProxmoxKeys = (block: string, config = cluster) => {
    const keys = block.replace(/^proxmox:\n/, '');
    expect(config).toContain('\nproxmox:\n');
    return config.replace('\nproxmox:\n', `\nproxmox:\n${keys}`);
  };
  const withPool = (block: string) => cluster
    .replace('addresses: [192.168.0.20-192.168.0.29]', 'addresses: [192.168.0.40-192.168.0.99]')
    .replace(/workers:\n[\s\S]*?\ncilium:/, (m) => `${m.slice(0, -'\ncilium:'.length)}\n${block.replace(/^workers:\n/, '')}cilium:`);

  test('the proxmox options synthesize as written, beside the cluster of "Adding a cluster"', () => {
    for (const key of ['pool:', 'tags:', 'full:', 'cloneStorage:', 'cloneFormat:', 'vmIdRange:', 'description:']) expect(options).toContain(`\n  ${key}`);
    expect(configProblems(withProxmoxKeys(options), 'README.md')).toEqual([]);
  });

  test('the pool with its own values synthesizes as written; beside the proxmox options it fails as the README says', () => {
    expect(batch).toContain('full: false');
    expect(configProblems(withPool(batch), 'README.md')).toEqual([]);
    expect(configProblems(withProxmoxKeys(options, withPool(batch)), 'README.md')).toEqual([
      'README.md: workers[1].full false makes linked clones of the pool batch, which stay on the template\'s storage, but proxmox.cloneStorage "nvme-thin" applies to full clones only '
      + '(Proxmox refuses storage and format for linked clones): set workers[1].full true, or keep cloneStorage on the machine sets that make full clones',
      'README.md: workers[1].full false makes linked clones of the pool batch, which stay on the template\'s storage, but proxmox.cloneFormat "raw" applies to full clones only '
      + '(Proxmox refuses storage and format for linked clones): set workers[1].full true, or keep cloneFormat on the machine sets that make full clones',
    ]);
  });

  describe('clusters/lab.yaml: a Proxmox pool, tags, a clone storage, a VM ID range and a pool spread over 3 nodes', () => {
    let dir: string;
    let files: OutputFile[];
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-lab-'));
      fs.writeFileSync(path.join(dir, 'lab.yaml'), lab);
      files = synthesize({ configDir: dir }).files;
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const objects = () => YAML.parseAllDocuments(files.find((f) => f.path === 'lab/lab.k8s.yaml')!.content).map((d) => d.toJS());

    test('is valid and passes the output gate as written', () => {
      expect(configProblems(lab, 'README.md')).toEqual([]);
      expect(files.map((f) => f.path)).toContain('lab/lab.k8s.yaml');
    });

    test('one deployment per node, named after it, with the split of the README', () => {
      const deployments = objects().filter((o) => o.kind === 'MachineDeployment');
      expect(deployments.map((o) => [o.metadata.name, o.spec.replicas])).toEqual([['lab-spread-k8s0', 2], ['lab-spread-k8s1', 2], ['lab-spread-k8s2', 1]]);
      const templates = objects().filter((o) => o.kind === 'ProxmoxMachineTemplate' && o.metadata.name.startsWith('lab-spread-'));
      const specs = templates.map((o) => o.spec.template.spec);
      expect(specs.map((t) => [t.allowedNodes, t.templateID, t.pool, t.storage]))
        .toEqual([[['K8S0'], 8700, 'k8s-lab', 'nvme-thin'], [['K8S1'], 8711, 'k8s-lab', 'nvme-thin'], [['K8S2'], 8712, 'k8s-lab', 'nvme-thin']]);
    });

    test('its runbook grants PVEVMAdmin on the pool, not on /vms, and PVEDatastoreUser on the clone storage', () => {
      const runbook = files.find((f) => f.path === 'lab/RUNBOOK.md')!.content;
      expect(runbook).toContain('U=capmox-lab@pve\n');
      expect(runbook).toContain('pveum acl modify /pool/k8s-lab --users $U --roles PVEVMAdmin\n');
      expect(runbook).not.toContain('pveum acl modify /vms --users');
      expect(runbook).toContain('pveum acl modify /storage/nvme-thin --users $U --roles PVEDatastoreUser\n');
      expect(runbook).not.toContain('/storage/local-lvm --users');
    });

    test('the plan lines of the README are what npm run plan prints for 5 → 6 replicas', () => {
      const [planText] = blocks(SECTION, 'text');
      fs.writeFileSync(path.join(dir, 'lab.yaml'), lab.replace('replicas: 5 ', 'replicas: 6 '));
      const after = synthesize({ configDir: dir }).files;
      const printed = formatPlan(computePlan(files, after), 'dist/ at HEAD');
      for (const line of planText.trimEnd().split('\n')) expect(printed).toContain(`${line}\n`);
    });
  });
});
