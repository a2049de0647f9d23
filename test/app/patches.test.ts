import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { synthesize } from '../../lib/app/synth';
import { UserError } from '../../lib/core/errors';
import { PATCHES_ANNOTATION } from '../../lib/core/naming';
import { Obj, ROOT } from '../util';

const HOMELAB = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));

/** Patches at each level, inline and from files. */
const TIME = { apiVersion: 'v1alpha1', kind: 'TimeSyncConfig', ntp: { servers: ['time.cloudflare.com'] } };
const AUDIT = { cluster: { apiServer: { extraArgs: { 'audit-log-maxage': '30' } } } };
const SYSCTL = { machine: { sysctls: { 'vm.max_map_count': '262144' } } };
const MIRROR = 'apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: docker.io\nendpoints:\n  - url: https://mirror.example.com\n';
const MODULES = 'machine:\n  kernel:\n    modules:\n      - name: nvidia\n';

describe('users\' Talos patches through synth (lib/app/patches.ts)', () => {
  // Made now, not in beforeAll: the describe blocks below synthesize while they are collected.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'patches-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  let count = 0;

  /** A clusters/ folder with the homelab config after `edit` and the given patch files (paths under clusters/). */
  const project = (edit: (d: any) => void, files: Record<string, string> = {}): string => {
    const dir = path.join(work, `p${count++}`, 'clusters');
    const doc = structuredClone(HOMELAB);
    edit(doc);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'homelab.yaml'), YAML.stringify(doc));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
  };
  const objects = (dir: string): Obj[] => {
    const file = synthesize({ configDir: dir }).files.find((f) => f.path === 'homelab/homelab.k8s.yaml')!;
    return YAML.parseAllDocuments(file.content).map((d) => d.toJS());
  };
  /** The message synth fails with, one line each, the temporary folder shortened to `clusters`. */
  const failure = (dir: string): string[] => {
    try {
      synthesize({ configDir: dir });
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      return (e as Error).message.split(path.relative(ROOT, dir).split(path.sep).join('/')).join('clusters').split('\n');
    }
    throw new Error('synth passed');
  };
  const patches = (o: Obj): unknown[] => (o.kind === 'TalosControlPlane'
    ? o.spec.controlPlaneConfig.controlplane.strategicPatches : o.spec.template.spec.strategicPatches).map((p: string) => YAML.parse(p));

  describe('a patch at each level, inline and from a file, reaches the right objects and passes the gate', () => {
    const dir = project((d) => {
      d.talos.patches = [TIME, { file: 'patches/mirror.yaml' }];
      d.controlPlane = { ...d.controlPlane, patches: [AUDIT] };
      d.workers.push({ name: 'gpu', replicas: 1, cores: 4, memoryMiB: 8192, diskGiB: 40, patches: [{ file: 'patches/gpu.yaml' }, SYSCTL] });
      d.network.addresses = ['192.168.0.10-192.168.0.29'];
    }, { 'patches/mirror.yaml': MIRROR, 'patches/gpu.yaml': MODULES });
    const out = objects(dir); // synthesize() runs the output gate: CRD schemas, CEL, Talos schemas, references
    const tcp = out.find((o) => o.kind === 'TalosControlPlane')!;
    const tct = (pool: string) => {
      const md = out.find((o) => o.kind === 'MachineDeployment' && o.metadata.name === `homelab-${pool}`)!;
      return out.find((o) => o.kind === 'TalosConfigTemplate' && o.metadata.name === md.spec.template.spec.bootstrap.configRef.name)!;
    };

    test('cluster patches on every node, after the project\'s; the control plane\'s only there; a pool\'s only in its template', () => {
      const mirror = YAML.parse(MIRROR);
      const modules = YAML.parse(MODULES);
      // The project's patches come first (one v1alpha1 document, plus the VIP document on control planes).
      expect(patches(tcp).slice(2)).toEqual([TIME, mirror, AUDIT]);
      expect(patches(tct('default')).slice(1)).toEqual([TIME, mirror]);
      expect(patches(tct('gpu')).slice(1)).toEqual([TIME, mirror, modules, SYSCTL]);
    });

    test('each object names the patches it carries, for the plan', () => {
      expect(tcp.metadata.annotations?.[PATCHES_ANNOTATION]).toMatch(/^talos\.patches\[0\]=\w{8},talos\.patches\[1\]=\w{8},controlPlane\.patches\[0\]=\w{8}$/);
      expect(tct('gpu').metadata.annotations?.[PATCHES_ANNOTATION]).toMatch(/^talos\.patches\[0\]=\w{8},talos\.patches\[1\]=\w{8},pool gpu patches\[0\]=\w{8},pool gpu patches\[1\]=\w{8}$/);
    });
  });

  test('a patch the Talos schema refuses: the config field, and the file and line for a file', () => {
    const dir = project((d) => {
      d.talos.patches = [{ machine: { time: { servers: ['x'] } } }, { file: 'patches/mirror.yaml' }];
    }, { 'patches/mirror.yaml': `${MIRROR}skipFallbak: true\n` });
    expect(failure(dir)).toEqual([
      'clusters/homelab.yaml: talos.patches[0].machine.time unknown field in a Talos v1.13 v1alpha1 document',
      `clusters/homelab.yaml: talos.patches[1].skipFallbak unknown field in a Talos v1.13 RegistryMirrorConfig document (${path.relative(ROOT, dir).split(path.sep).join('/')}/patches/mirror.yaml:6)`.split(path.relative(ROOT, dir).split(path.sep).join('/')).join('clusters'),
    ]);
  });

  test('a patch touching owned fields: refused with the field to use instead, the pool\'s under its own path', () => {
    const dir = project((d) => {
      d.workers[0].patches = [{ machine: { install: { image: 'x' }, nodeLabels: { a: 'b' } } }];
    });
    expect(failure(dir)).toEqual([
      'clusters/homelab.yaml: workers[0].patches[0].machine.install.image is owned by the project: a patch may not set it; use talos.version, talos.extensions and extraKernelArgs (the image follows the schematic)',
      'clusters/homelab.yaml: workers[0].patches[0].machine.nodeLabels is owned by the project: a patch may not set it; use workers[].labels',
    ]);
  });

  test('patch files live in a subfolder of the config\'s folder: no absolute path, no escape, no file directly beside the configs', () => {
    const outside = path.join(work, 'outside.yaml');
    fs.writeFileSync(outside, MODULES);
    const dir = project((d) => {
      d.talos.patches = [{ file: '/etc/passwd' }, { file: '../outside.yaml' }, { file: 'gpu.yaml' }, { file: 'patches/missing.yaml' }, { file: 'patches/link.yaml' }];
    }, { 'gpu.yaml.txt': MODULES });
    fs.mkdirSync(path.join(dir, 'patches'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'patches', 'link.yaml'));
    expect(failure(dir)).toEqual([
      'clusters/homelab.yaml: talos.patches[0].file "/etc/passwd" must be a relative path with "/", inside a subfolder of the config\'s folder (say patches/registry.yaml)',
      'clusters/homelab.yaml: talos.patches[1].file "../outside.yaml" must be inside a subfolder of the config\'s folder (say patches/registry.yaml): files directly in it are clusters, and files outside it are not the repository\'s',
      'clusters/homelab.yaml: talos.patches[2].file "gpu.yaml" must be inside a subfolder of the config\'s folder (say patches/registry.yaml): files directly in it are clusters, and files outside it are not the repository\'s',
      'clusters/homelab.yaml: talos.patches[3].file "patches/missing.yaml" does not exist (relative to the config\'s folder)',
      'clusters/homelab.yaml: talos.patches[4].file "patches/link.yaml" is a link to a file outside the config\'s folder; put the patch itself in a subfolder',
    ]);
  });
});
