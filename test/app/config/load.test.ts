import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { loadClusterConfigs, parseClusterConfig } from '../../../lib/app/config/load';
import { configErrorLines } from '../../util';

const HOMELAB = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'clusters', 'homelab.yaml'), 'utf8');
const FILE = 'clusters/homelab.yaml';

function withEdit(edit: (doc: any) => void): string {
  const doc = YAML.parse(HOMELAB);
  edit(doc);
  return YAML.stringify(doc);
}

function problems(text: string): string[] {
  return configErrorLines(() => parseClusterConfig(text, FILE));
}

describe('cluster config', () => {
  test('the homelab config parses with the seeds\' values', () => {
    const c = parseClusterConfig(HOMELAB, FILE);
    expect(c.name).toBe('homelab');
    expect(c.talos).toEqual({ version: 'v1.13.9', extensions: ['siderolabs/qemu-guest-agent'], extraKernelArgs: [] });
    expect(c.network.endpoint).toBe('192.168.0.30');
    expect(c.network.endpointPort).toBe(6443);
    expect(c.controlPlane).toEqual({ replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20, healthCheck: false });
    expect(c.workers).toEqual([{ name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40, healthCheck: true }]);
    expect(c.proxmox.credentialsSecret).toBe('homelab-proxmox');
  });

  test('fails on the reserved cluster name "management" (dist/management/ holds the GitOps objects)', () => {
    expect(problems(withEdit((d) => { d.name = 'management'; }))).toEqual([
      'clusters/homelab.yaml: name "management" is reserved: dist/management/ holds the GitOps objects of the management cluster; choose another cluster name',
    ]);
  });

  test('defaults: namespace, versions, bridge, networks, cilium', () => {
    const c = parseClusterConfig(withEdit((d) => {
      delete d.namespace; delete d.kubernetesVersion; delete d.talos; delete d.cilium;
      delete d.network.bridge; delete d.network.podCidr; delete d.network.serviceCidr;
    }), FILE);
    expect(c.namespace).toBe('default');
    expect(c.kubernetesVersion).toBe('v1.35.4');
    expect(c.talos.version).toBe('v1.13.9');
    expect(c.talos.extensions).toEqual(['siderolabs/qemu-guest-agent']);
    expect(c.network).toMatchObject({ bridge: 'vmbr0', podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' });
    expect(c.cilium).toEqual({ hubble: true });
  });

  describe('fails', () => {
    test('fails on an unknown field, naming the file and the field path', () => {
      expect(problems(withEdit((d) => { d.network.endpont = '1.2.3.4'; }))).toEqual([
        'clusters/homelab.yaml: network.endpont is not a known field (check the spelling; see schemas/cluster-config.schema.json)',
      ]);
    });

    test('fails on YAML syntax errors with line and column', () => {
      const [msg] = problems('name: homelab\nnetwork: [1, 2\n');
      expect(msg).toMatch(/^clusters\/homelab\.yaml: YAML syntax error at line \d+, column \d+: /);
    });

    test('fails on a name that is not DNS-1123, with the value', () => {
      expect(problems(withEdit((d) => { d.name = 'Home_Lab'; }))).toEqual([
        'clusters/homelab.yaml: name "Home_Lab" must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
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
      expect(msgs).toEqual(expect.arrayContaining([
        'clusters/homelab.yaml: network.endpoint "not-an-ip" must be an IPv4 address like 192.168.0.1',
        'clusters/homelab.yaml: controlPlane.memoryMiB 4097 must be a multiple of 8 (CAPMOX)',
        'clusters/homelab.yaml: workers[0].cores 0 must be at least 1 (vCPU cores per socket)',
        'clusters/homelab.yaml: kubernetesVersion "1.35" must be a release version like v1.2.3',
      ]));
      expect(msgs).toHaveLength(4);
    });
  });

  describe('loading a directory', () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusters-')); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('loads every *.yaml in name order', () => {
      fs.writeFileSync(path.join(dir, 'b.yaml'), withEdit((d) => { d.name = 'b'; }));
      fs.writeFileSync(path.join(dir, 'a.yml'), withEdit((d) => { d.name = 'a'; }));
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
      expect(loadClusterConfigs(dir).map((l) => l.config.name)).toEqual(['a', 'b']);
    });

    test('fails on duplicate cluster names across files, and reports all files\' problems at once', () => {
      fs.writeFileSync(path.join(dir, 'a.yaml'), HOMELAB);
      fs.writeFileSync(path.join(dir, 'b.yaml'), HOMELAB);
      fs.writeFileSync(path.join(dir, 'c.yaml'), withEdit((d) => { d.bogus = 1; }));
      expect(() => loadClusterConfigs(dir)).toThrow(/c\.yaml: bogus is not a known field[\s\S]*b\.yaml: name "homelab" is already used by .*a\.yaml/);
    });

    test('fails on an empty directory', () => {
      expect(() => loadClusterConfigs(dir)).toThrow(`no cluster configs (*.yaml) in ${dir}`);
    });
  });
});
