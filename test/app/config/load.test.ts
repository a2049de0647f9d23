import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import * as YAML from 'yaml';
import { buildClusters, findClusterSources } from '../../../lib/app/clusters';
import { parseClusterConfig } from '../../../lib/app/config/load';
import { configProblems, ROOT, validationErrorLines } from '../../util';

const HOMELAB = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');
const FILE = 'clusters/homelab.yaml';

function withEdit(edit: (doc: any) => void): string {
  const doc = YAML.parse(HOMELAB);
  edit(doc);
  return YAML.stringify(doc);
}

/** Structure only: what the config layer itself refuses. */
function structureProblems(text: string): string[] {
  return validationErrorLines(() => parseClusterConfig(text, FILE));
}

/** What synth refuses: structure, then the constructs' rules. */
function problems(text: string): string[] {
  return configProblems(text, FILE);
}

describe('cluster config', () => {
  test('the homelab config parses into the props of its cluster, as written (the constructs apply defaults)', () => {
    const { props, warnings } = parseClusterConfig(HOMELAB, FILE);
    expect(props.name).toBe('homelab');
    expect(props.talos).toEqual({ version: 'v1.13.9', extensions: ['siderolabs/qemu-guest-agent'] });
    expect(props.network.endpoint).toBe('192.168.0.30');
    expect(props.network.endpointPort).toBeUndefined();
    expect(props.network.podCidrs).toEqual(['10.244.0.0/16']);
    expect(props.controlPlane).toEqual({ replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20 });
    expect(props.workers).toEqual([{ name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 }]);
    expect(props.proxmox.credentialsSecret).toBe('homelab-proxmox');
    expect(warnings).toEqual([]);
  });

  test('the config file\'s keys are the props: a config parses into props unchanged', () => {
    const { config, props } = parseClusterConfig(HOMELAB, FILE);
    expect(props).toBe(config);
  });

  describe('fails', () => {
    test('fails on an unknown field, naming the file and the field path', () => {
      expect(problems(withEdit((d) => { d.network.endpont = '1.2.3.4'; }))).toEqual([
        'clusters/homelab.yaml: network.endpont is not a known field (check the spelling; see schemas/cluster-config.schema.json)',
      ]);
    });

    test('fails on YAML syntax errors with line and column', () => {
      const [msg] = structureProblems('name: homelab\nnetwork: [1, 2\n');
      expect(msg).toBe('clusters/homelab.yaml: YAML syntax error at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]');
    });

    test('fails on a name that is not DNS-1123, with the value', () => {
      expect(problems(withEdit((d) => { d.name = 'Home_Lab'; }))).toEqual([
        'clusters/homelab.yaml: name "Home_Lab" must be a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      ]);
    });

    test('fails on a wrong type before any rule runs', () => {
      expect(structureProblems(withEdit((d) => { d.controlPlane.cores = 'two'; }))).toEqual([
        'clusters/homelab.yaml: controlPlane.cores "two" expected number, received string',
      ]);
    });

    test('fails on missing required fields', () => {
      expect(problems(withEdit((d) => { delete d.network.gateway; }))).toEqual([
        'clusters/homelab.yaml: network.gateway is required (expected string)',
      ]);
    });

    test('reports every problem of a file together', () => {
      const msgs = problems(withEdit((d) => {
        d.network.endpoint = 'not-an-ip';
        d.controlPlane.memoryMiB = 4097;
        d.workers[0].cores = 0;
        d.kubernetesVersion = '1.35';
      }));
      expect(msgs).toEqual([
        'clusters/homelab.yaml: kubernetesVersion "1.35" must be a release version like v1.35.4',
        'clusters/homelab.yaml: network.endpoint "not-an-ip" must be an IPv4 address (the control-plane VIP)',
        'clusters/homelab.yaml: controlPlane.memoryMiB 4097 must be a multiple of 8 (CAPMOX)',
        'clusters/homelab.yaml: workers[0].cores 0 gives 0 vCPU(s); Talos needs at least 2',
      ]);
    });
  });

  describe('loading a directory', () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-')); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const names = () => buildClusters(new App(), findClusterSources(dir)).map((b) => b.cluster.clusterName);

    test('loads every *.yaml, *.yml and *.ts in name order, nothing else', () => {
      fs.writeFileSync(path.join(dir, 'b.yaml'), withEdit((d) => { d.name = 'b'; }));
      fs.writeFileSync(path.join(dir, 'a.yml'), withEdit((d) => { d.name = 'a'; }));
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
      fs.writeFileSync(path.join(dir, 'types.d.ts'), 'export {};');
      expect(findClusterSources(dir).map((s) => [path.basename(s.path), s.kind])).toEqual([['a.yml', 'yaml'], ['b.yaml', 'yaml']]);
      expect(names()).toEqual(['a', 'b']);
    });

    test('fails on duplicate cluster names across files and the reserved name, reporting all files\' problems at once', () => {
      fs.writeFileSync(path.join(dir, 'a.yaml'), HOMELAB);
      fs.writeFileSync(path.join(dir, 'b.yaml'), HOMELAB);
      fs.writeFileSync(path.join(dir, 'c.yaml'), withEdit((d) => { d.bogus = 1; }));
      fs.writeFileSync(path.join(dir, 'd.yaml'), withEdit((d) => { d.name = 'management'; }));
      expect(names).toThrow(/b\.yaml: name "homelab" is already used by .*a\.yaml[\s\S]*c\.yaml: bogus is not a known field[\s\S]*d\.yaml: name "management" is reserved: dist\/management\/ holds the GitOps objects/);
    });

    test('fails on an empty directory', () => {
      expect(() => findClusterSources(dir)).toThrow(`no cluster files (*.yaml or *.ts) in ${dir}`);
    });
  });
});
