/**
 * The plan's shortcut (lib/plan/trees.ts): files with the same text in both trees are neither read
 * nor parsed unless the plan needs their objects, and the plan is the same as with every file parsed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import * as YAML from 'yaml';
import { fleetClusterConfig } from '../../bench/fleet';
import { OutputFile } from '../../lib/app/output';
import { synthesize } from '../../lib/app/synth';
import { API, CustomKind } from '../../lib/core/stack';
import { CelValidator } from '../../lib/gate/cel';
import { computePlan } from '../../lib/plan/plan';
import { treeAtRef } from '../../lib/plan/sources';
import { blobId, ManifestParser, PlanTree, StoredTree, TreePair } from '../../lib/plan/trees';

const cel = new CelValidator();
const bothWays = (before: PlanTree, after: PlanTree) => ({
  fast: computePlan(before, after, cel),
  full: computePlan(before, after, cel, { readAll: true }),
});

/** A tree "stored" in memory as git would hold it, recording the blobs read. */
function stored(files: readonly OutputFile[]): StoredTree & { readonly reads: string[] } {
  const byBlob = new Map(files.map((f) => [blobId(f.content), f.content]));
  const reads: string[] = [];
  return {
    files: files.map((f) => ({ path: f.path, blob: blobId(f.content) })),
    read: (blobs) => {
      reads.push(...blobs);
      return blobs.map((b) => byBlob.get(b)!);
    },
    reads,
  };
}

test('blobId is the id git gives the blob (SHA-1 and SHA-256 repositories)', () => {
  const text = 'apiVersion: v1\nkind: ConfigMap # ä, ✓\n';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blob-'));
  try {
    const hash = (format: string) => {
      const repo = path.join(dir, format);
      execFileSync('git', ['init', '-q', `--object-format=${format}`, repo]);
      return execFileSync('git', ['hash-object', '--stdin'], { cwd: repo, input: text }).toString().trim();
    };
    expect(blobId(text)).toBe(hash('sha1'));
    expect(blobId(text, 'sha256')).toBe(hash('sha256'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a manifest parsed a document at a time yields the objects of the whole text, however odd the YAML', () => {
  const whole = (text: string) => YAML.parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o?.kind && o.metadata?.name);
  const texts = [
    'kind: K\nmetadata: {name: a}\nnote: |\n  x\n---\nkind: K\nmetadata: {name: b}\n',
    // a quoted scalar and a flow collection the next document cuts short (errors: parsed whole)
    'kind: K\nmetadata: {name: "a\n---\n"}\n---\nkind: K\nmetadata: {name: b}\n',
    'kind: K\nmetadata: {name: a,\n---\n}\nkind: K\n',
    // directives carry over to the next document
    '%YAML 1.1\n---\nkind: K\nmetadata: {name: yes}\n---\nkind: K\nmetadata: {name: 0b11}\n',
    '--- |\n  text\n---\nkind: K\nmetadata: {name: a}\n...\n---\nkind: K\nmetadata: {name: b}\n',
    '---\n---\n\n---\n# only a comment\n',
    'kind: K\nmetadata: {name: a}\nnote: |+\n  a\n\n---\nkind: K\nmetadata:\n  name: b\n',
    'kind: K\r\nmetadata: {name: a}\r\n---\r\nkind: K\r\nmetadata: {name: b}\r\n',
    'kind: K\nmetadata:\n  name: a\n  text: >\n    one\n---\nkind: K\nmetadata: {name: b}\n',
  ];
  for (const text of texts) expect(new ManifestParser().objects(text)).toEqual(whole(text));
  // An alias to another document's anchor: the same error either way.
  const alias = 'kind: &k K\nmetadata: {name: a}\n---\nkind: *k\nmetadata: {name: b}\n';
  expect(() => whole(alias)).toThrow('Unresolved alias');
  expect(() => new ManifestParser().objects(alias)).toThrow('Unresolved alias');
  // One parser for both versions of a manifest: the document they share is parsed once, its objects shared.
  const parser = new ManifestParser();
  const [a, b] = [parser.objects(texts[0]), parser.objects(texts[0].replace('name: b', 'name: c'))];
  expect(a[0]).toBe(b[0]);
  expect(b[1]).toEqual({ kind: 'K', metadata: { name: 'c' } });
});

describe('a small fleet with one pool changed (the plan case of the bench, 3 clusters)', () => {
  let work: string;
  let before: OutputFile[];
  let after: OutputFile[];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-trees-'));
    // The same configs folder for both, as in the bench: file names appear in the headers.
    const dir = path.join(work, 'clusters');
    fs.mkdirSync(dir);
    const write = (changed: (i: number) => boolean) => {
      for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `fleet-${String(i).padStart(3, '0')}.yaml`), fleetClusterConfig(i, changed(i)));
      return synthesize({ configDir: dir }).files;
    };
    before = write(() => false);
    after = write((i) => i === 1);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('only the changed cluster\'s manifest is parsed; the others and the shared files are not', () => {
    const pair = new TreePair(before, after);
    const manifests = after.map((f) => f.path).filter((p) => p.endsWith('.yaml'));
    expect(manifests).toEqual(expect.arrayContaining(['fleet-000/fleet-000.k8s.yaml', 'fleet-001/fleet-001.k8s.yaml', 'fleet-002/fleet-002.k8s.yaml']));
    expect(manifests.filter((p) => !pair.isSkipped(p))).toEqual(['fleet-001/fleet-001.k8s.yaml']);
  });

  test('the plan is the same as with every file parsed', () => {
    const { fast, full } = bothWays(before, after);
    expect(fast.folders.map((f) => f.folder)).toEqual(['fleet-001']);
    expect(fast.folders[0].rollouts.map((r) => r.what)).toEqual([expect.stringMatching(/^pool fleet-001-general /)]);
    expect(fast).toEqual(full);
  });

  test('from git: only the changed manifest\'s blob is read, and the plan is the same', () => {
    const repo = path.join(work, 'repo');
    for (const f of before) {
      fs.mkdirSync(path.dirname(path.join(repo, 'dist', f.path)), { recursive: true });
      fs.writeFileSync(path.join(repo, 'dist', f.path), f.content);
    }
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'dist');
    const tree = treeAtRef(repo, 'HEAD', 'dist');
    expect(tree.files.map((f) => f.path).sort()).toEqual(before.map((f) => f.path).sort());
    const reads: string[] = [];
    const counted: StoredTree = { files: tree.files, read: (blobs) => { reads.push(...blobs); return tree.read(blobs); } };
    expect(computePlan(counted, after, cel)).toEqual(computePlan(before, after, cel, { readAll: true }));
    expect(reads.map((b) => tree.files.find((f) => f.blob === b)!.path)).toEqual(['fleet-001/fleet-001.k8s.yaml']);
  });

  test('a stored tree compared with itself reads nothing', () => {
    const tree = stored(before);
    expect(computePlan(tree, before, cel).folders).toEqual([]);
    expect(tree.reads).toEqual([]);
  });
});

/** An object of the kinds the plan looks into, in YAML-ready form. */
const object = (kind: CustomKind, name: string, spec: object, namespace = 'ns') => ({
  apiVersion: `${API[kind].group}/${API[kind].version}`, kind, metadata: { name, namespace }, spec,
});
const yaml = (...objects: object[]) => objects.map((o) => YAML.stringify(o)).join('---\n');
const pool = (template: string) => object('MachineDeployment', 'pool', {
  replicas: 2, template: { spec: { version: 'v1.35.0', infrastructureRef: { name: template }, bootstrap: { configRef: { name: 'config' } } } },
});
const template = (name: string, memoryMiB: number) => object('ProxmoxMachineTemplate', name, { template: { spec: { sourceNode: 'pve1', templateID: 9000, memoryMiB } } });

describe('objects the plan needs from files it skipped', () => {
  test('an unchanged file in a folder with a change is parsed: its pool is checked against the control plane', () => {
    // A new file changes folder a; a/n.yaml is unchanged, and its pool runs a newer Kubernetes than its control plane.
    const controlPlane = object('TalosControlPlane', 'cp', { version: 'v1.34.1', replicas: 3, controlPlaneConfig: { controlplane: { talosVersion: 'v1.12.4' } } });
    const before = [{ path: 'a/n.yaml', content: yaml(controlPlane, pool('t1')) }];
    const after = [...before, { path: 'a/m.yaml', content: yaml(template('t9', 1024)) }];
    const { fast, full } = bothWays(before, after);
    expect(fast.folders[0].findings.map((f) => f.message)).toEqual([expect.stringContaining('newer than the control plane')]);
    expect(fast).toEqual(full);
    expect(new TreePair(before, after).isSkipped('a/n.yaml')).toBe(false);
  });

  test('a pool\'s templates in an unchanged file of another folder: read when looked up, the reasons name the field', () => {
    const templates: OutputFile = { path: 'shared/templates.yaml', content: yaml(template('t1', 4096), template('t2', 8192)) };
    const before = [{ path: 'a/pool.yaml', content: yaml(pool('t1')) }, templates];
    const after = [{ path: 'a/pool.yaml', content: yaml(pool('t2')) }, templates];
    const { fast, full } = bothWays(before, after);
    expect(fast).toEqual(full);
    expect(fast.folders[0].rollouts[0].reasons).toEqual(['machine template: ProxmoxMachineTemplate t1 → t2 (spec.template.spec.memoryMiB: 4096 → 8192)']);
    const pair = new TreePair(before, after);
    expect(pair.isSkipped('shared/templates.yaml')).toBe(true);
  });

  test('an object also defined by an unchanged file later in path order: that file\'s copy counts, as with every file parsed', () => {
    // z/later.yaml holds the same template under the same identity: it wins, so nothing changes.
    const later: OutputFile = { path: 'z/later.yaml', content: yaml(template('t1', 4096)) };
    const before = [{ path: 'a/t.yaml', content: yaml(template('t1', 4096)) }, later];
    const after = [{ path: 'a/t.yaml', content: yaml(template('t1', 6144)) }, later];
    const { fast, full } = bothWays(before, after);
    expect(full.folders).toEqual([]);
    expect(fast).toEqual(full);
  });

  test('names a word search cannot see (escapes, numbers) make the files that might hold them parsed', () => {
    // "t\x31" is t1; 7 is a number whose key is "7".
    const escaped: OutputFile = { path: 'z/escaped.yaml', content: yaml(template('x', 1)).replace('name: x', 'name: "t\\x31"') };
    const numbered: OutputFile = { path: 'z/numbered.yaml', content: yaml(template('x', 1)).replace('name: x', 'name: 0x7') };
    for (const other of [escaped, numbered]) {
      const name = other === escaped ? 't1' : '7';
      const before = [{ path: 'a/t.yaml', content: yaml(template(name, 4096)) }, other];
      const after = [{ path: 'a/t.yaml', content: yaml(template(name, 6144)) }, other];
      const { fast, full } = bothWays(before, after);
      expect(full.folders).toEqual([]);
      expect(fast).toEqual(full);
    }
  });
});

describe('property: the plan with the shortcut equals the plan with every file parsed', () => {
  const kinds = ['MachineDeployment', 'ProxmoxMachineTemplate', 'TalosConfigTemplate', 'TalosControlPlane', 'Cluster', 'ProxmoxCluster'] as const;
  const names = ['a', 'b', 'a-k8s0', 'pool', '7', 'x.y'];
  const anObject = fc.record({
    kind: fc.constantFrom(...kinds),
    name: fc.constantFrom(...names),
    namespace: fc.constantFrom('ns', 'other'),
    ref: fc.constantFrom(...names),
    version: fc.constantFrom('v1.34.1', 'v1.35.0', 'v1.36.0'),
    talos: fc.constantFrom('v1.12.4', 'v1.13.1'),
    replicas: fc.constantFrom(1, 2, 3, 4),
    memory: fc.constantFrom(4096, 8192),
    nodes: fc.constantFrom(['K8S0'], ['K8S0', 'K8S1'], undefined),
    endpoint: fc.constantFrom('10.0.0.1', '10.0.0.2'),
    addresses: fc.constantFrom(['10.0.0.10-10.0.0.20'], ['10.0.0.10-10.0.0.15']),
  }).map((o) => {
    const specs: Record<typeof o.kind, object> = {
      MachineDeployment: {
        replicas: o.replicas,
        template: { spec: { version: o.version, infrastructureRef: { name: o.ref }, bootstrap: { configRef: { name: o.ref } } } },
      },
      ProxmoxMachineTemplate: { template: { spec: { sourceNode: 'pve1', templateID: 9000, memoryMiB: o.memory, allowedNodes: o.nodes } } },
      TalosConfigTemplate: { template: { spec: { talosVersion: o.talos } } },
      TalosControlPlane: {
        version: o.version, replicas: o.replicas, infrastructureTemplate: { name: o.ref },
        controlPlaneConfig: { controlplane: { talosVersion: o.talos } },
      },
      Cluster: { controlPlaneEndpoint: { host: o.endpoint, port: 6443 }, infrastructureRef: { name: o.ref } },
      ProxmoxCluster: {
        controlPlaneEndpoint: { host: o.endpoint, port: 6443 }, ipv4Config: { addresses: o.addresses, prefix: 24, gateway: '10.0.0.1' },
      },
    };
    return object(o.kind, o.name, JSON.parse(JSON.stringify(specs[o.kind])), o.namespace);
  });
  /** A manifest's text in one of the styles YAML allows: block, flow, JSON with escaped names, a number for a name. */
  const render = (objects: object[], style: number) => {
    switch (style) {
      case 0: return yaml(...objects);
      case 1: return objects.map((o) => YAML.stringify(o, { collectionStyle: 'flow' })).join('---\n');
      case 2: return objects.map((o) => JSON.stringify(o).replace(/"name":"a"/g, '"name":"\\u0061"')).join('\n---\n');
      default: return yaml(...objects).replace(/\n {2}name: "7"\n/g, '\n  name: 0x7\n');
    }
  };
  const paths = ['a/m.yaml', 'a/n.yaml', 'b/m.yaml', 'b/n.yml', 'c/m.yaml', 'a/README.md'];
  const aFile = fc.record({ objects: fc.array(anObject, { maxLength: 3 }), style: fc.integer({ min: 0, max: 3 }) });
  const aTree = fc.dictionary(fc.constantFrom(...paths), aFile, { maxKeys: paths.length });
  /** The files after: each kept as it was (most), rewritten, dropped, or new. */
  const aChange = fc.array(fc.record({ path: fc.constantFrom(...paths), what: fc.constantFrom('keep', 'keep', 'keep', 'rewrite', 'drop'), file: aFile }), { maxLength: 4 });

  test('over random trees and changes (stored or in memory)', () => {
    fc.assert(fc.property(aTree, aChange, (tree, changes) => {
      const next = { ...tree };
      for (const c of changes) {
        if (c.what === 'drop') delete next[c.path];
        else if (c.what === 'rewrite' || !next[c.path]) next[c.path] = c.file;
      }
      const files = (t: typeof tree) => Object.entries(t).map(([p, f]) => ({ path: p, content: render(f.objects, f.style) }));
      const [before, after] = [files(tree), files(next)];
      // A plan, or the error it stops with (a pool named by a number does not get far, with or without the shortcut).
      const outcome = (plan: () => unknown) => {
        try {
          return { plan: plan() };
        } catch (e) {
          return { error: String(e) };
        }
      };
      const full = outcome(() => computePlan(before, after, cel, { readAll: true }));
      expect(outcome(() => computePlan(before, after, cel))).toEqual(full);
      expect(outcome(() => computePlan(stored(before), after, cel))).toEqual(full);
    }), {
      numRuns: 1000,
      // Found by this property: a pool defined in two folders, one of them unchanged and so
      // skipped; the identity brought its file in, but not the control plane beside it.
      examples: [[{
        'a/m.yaml': { objects: [object('MachineDeployment', 'a-k8s0', { replicas: 1, template: { spec: { version: 'v1.36.0', infrastructureRef: { name: 'a' }, bootstrap: { configRef: { name: 'a' } } } } }, 'other')], style: 0 },
        'a/n.yaml': { objects: [object('TalosControlPlane', 'a', { version: 'v1.34.1', replicas: 1, infrastructureTemplate: { name: 'a' }, controlPlaneConfig: { controlplane: { talosVersion: 'v1.12.4' } } }, 'ns')], style: 0 },
        'b/m.yaml': { objects: [object('MachineDeployment', 'a-k8s0', { replicas: 1, template: { spec: { version: 'v1.34.1', infrastructureRef: { name: 'a' }, bootstrap: { configRef: { name: 'a' } } } } }, 'other')], style: 0 },
      }, [{ path: 'b/m.yaml', what: 'rewrite', file: { objects: [], style: 0 } }]]],
    });
  });
});
