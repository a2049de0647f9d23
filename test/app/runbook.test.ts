import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, posix, relative, resolve } from 'path';
import { LONGHORN_EXTENSIONS, ProxmoxWorkerPool, STACK_VERSIONS, TalosCluster, TalosClusterProps } from '../../lib';
import { clusterRunbook, managementRunbook, templateBuilds } from '../../lib/app/runbook';
import { homelabProps, newChart, SHARED_STORAGE, templateVm } from '../util';

const OPTIONS = { sourceFile: 'clusters/homelab.yaml' };
const AGENT_ID = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';
const EMPTY_ID = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
const DEFAULT_POOL = { name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 };

/** A cluster as clusters/homelab.yaml describes it, with its default pool, plus whatever `extend` adds. */
function homelab(overrides: Partial<TalosClusterProps> = {}, extend: (c: TalosCluster) => void = () => {}): TalosCluster {
  const cluster = new TalosCluster(newChart(), 'Cluster', homelabProps(overrides));
  cluster.addWorkerPool('Default', DEFAULT_POOL);
  extend(cluster);
  return cluster;
}

/** The sections of a markdown text by heading (`## …`, or `### …` with `level` 3), each with its lines. */
function sections(text: string, level = 2): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const marker = `${'#'.repeat(level)} `;
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(marker)) out.set(line, current = []);
    else if (/^#{1,6} /.test(line) && line.indexOf(' ') <= level) current = undefined;
    else current?.push(line);
  }
  return out;
}

/** The one section whose heading ends with `title` (`## 2. <title>` or `## <title>`). */
function section(text: string, title: string, level = 2): string[] {
  const found = [...sections(text, level)].filter(([h]) => h.endsWith(`. ${title}`) || h === `${'#'.repeat(level)} ${title}`);
  expect(found).toHaveLength(1);
  return found[0][1];
}

/** The contents of the fenced code blocks of some lines, one array of lines per block. */
function blocks(lines: readonly string[], lang = 'sh'): string[][] {
  const out: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (current === undefined && line === `\`\`\`${lang}`) current = [];
    else if (current !== undefined && line === '```') {
      out.push(current);
      current = undefined;
    } else current?.push(line);
  }
  expect(current).toBeUndefined();
  return out;
}

/** Where a block runs, as the runbooks say it on the line before the block. */
const WORKSTATION = 'On your workstation, in this repository:';
const onNode = (node: string, why: string) => `In a root shell on the Proxmox node \`${node}\` (${why}):`;
const TEMPLATE_NODE = (node: string) => onNode(node, 'the template\'s `sourceNode`');
const ANY_NODE = (node: string) => onNode(node, 'any node will do');

/** For each shell block of a text, the line that precedes it (a blank line between), in order. */
function leads(text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((l, i) => (l === '```sh' ? [i >= 2 && lines[i - 1] === '' ? lines[i - 2] : `(no lead before line ${i + 1})`] : []));
}

/** The repository's root. */
const ROOT = resolve(__dirname, '../..');

/** GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/**
 * Every markdown link of a text written to `dist/<folder>/` that does not resolve inside the
 * repository: to a file, and to a heading of it when the link names one. `generated` holds files of
 * dist/ by their path in it (`management/TEMPLATES.md`), read instead of the committed ones: the
 * runbooks of a test's clusters link to each other, not to the repository's.
 */
function danglingLinks(text: string, folder: string, generated: ReadonlyMap<string, string> = new Map()): string[] {
  const dir = join(ROOT, 'dist', folder);
  const outside = (target: string) => target.startsWith('http') || target.startsWith('mailto:');
  const read = (file: string) => {
    const inDist = relative(join(ROOT, 'dist'), file).split('\\').join('/');
    if (generated.has(inDist)) return generated.get(inDist);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((target) => {
    if (outside(target)) return false;
    const [path, fragment] = target.split('#');
    const file = resolve(dir, path);
    const content = read(file);
    if (relative(ROOT, file).startsWith('..') || content === undefined) return true;
    if (fragment === undefined) return false;
    const headings = content.split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, '')));
    return !headings.includes(fragment);
  });
}

/** Bracketed section numbers (`[1.4]`, `[3.2, 8]`) that cite a document outside the repository. */
function citations(text: string): string[] {
  // Not after a word: `items[0]` of a jsonpath is an index, not a citation.
  return text.match(/(?<![\w.])\[\d+(\.\d+)?(, *\d+(\.\d+)?)*\]/g) ?? [];
}

/** The shell lines of a section, continuation lines joined, so a command can be matched whole. */
function commands(lines: readonly string[]): string[] {
  // Indentation dropped too: the template builds run indented inside a subshell.
  return blocks(lines).flatMap((b) => b.join('\n').replace(/ \\\n\s*/g, ' ').split('\n').map((l) => l.trimStart()));
}

/** The runbooks a synth would write for these clusters, by their path in dist/. */
function written(clusters: readonly TalosCluster[]): Map<string, string> {
  const sourceFiles = new Map(clusters.map((c) => [c.clusterName, `clusters/${c.clusterName}.yaml`]));
  return new Map([
    ['management/RUNBOOK.md', managementRunbook(clusters, { sourceFiles })],
    ['management/TEMPLATES.md', templateBuilds(clusters)],
    ...clusters.map((c) => [`${c.clusterName}/RUNBOOK.md`, clusterRunbook(c, { sourceFile: sourceFiles.get(c.clusterName)! })] as const),
  ]);
}

/** Every dangling link of every runbook written for these clusters (see {@link danglingLinks}). */
function danglingLinksOf(files: ReadonlyMap<string, string>): string[] {
  return [...files].flatMap(([path, text]) => danglingLinks(text, posix.dirname(path), files).map((l) => `${path}: ${l}`));
}

/** The storage check of a Proxmox block: the subshell that defines and calls `check_storage`. */
function storageCheck(block: readonly string[]): string[] {
  const start = block.indexOf('(');
  expect(block[start + 1]).toMatch(/^check_storage\(\) \{/);
  return block.slice(start, block.indexOf(')', start) + 1);
}

/**
 * What a shell script prints on stderr with a `pvesh` on PATH that answers `pvesh get <path> …`
 * with `statuses[path]` (and fails for any other path, as pvesh does for a storage a node lacks).
 */
function runWithPvesh(script: readonly string[], statuses: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pvesh-'));
  try {
    const cases = Object.entries(statuses).map(([p, s]) => `  ${p}) echo '${JSON.stringify(s)}' ;;`);
    writeFileSync(join(dir, 'pvesh'), ['#!/bin/sh', 'case "$2" in', ...cases, '  *) echo "no such storage" >&2; exit 2 ;;', 'esac', ''].join('\n'));
    chmodSync(join(dir, 'pvesh'), 0o755);
    const r = spawnSync('bash', ['-c', script.join('\n')], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(r.status).toBe(0);
    return r.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('clusterRunbook of the homelab cluster', () => {
  const text = clusterRunbook(homelab(), OPTIONS);

  test('heading, do-not-edit line with the pointer to what each step is for, facts, then the four steps in order', () => {
    expect(text.startsWith('# Runbook: homelab\n\nGenerated by `cdk8s synth` from `clusters/homelab.yaml`; do not edit.')).toBe(true);
    expect(text).toContain('([why each step](../management/RUNBOOK.md#about-the-cluster-runbooks))');
    expect(text).toContain('- namespace `default`, Kubernetes v1.35.4, Talos v1.13.9\n');
    expect([...sections(text).keys()]).toEqual([
      '## 1. Management cluster',
      '## 2. Proxmox API user and token',
      '## 3. Talos template VM',
      '## 4. Apply and verify',
    ]);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter((l) => / $/.test(l))).toEqual([]);
  });

  test('the management cluster is set up once, by its own runbook: step 1 links to it', () => {
    const lines = section(text, 'Management cluster');
    expect(blocks(lines)).toEqual([]);
    expect(lines.join(' ')).toContain('[the management runbook](../management/RUNBOOK.md)');
    expect(text).not.toMatch(/^clusterctl init/m);
    expect(text).not.toContain('kind create cluster');
  });

  test('Proxmox: a user per cluster, least-privilege ACLs on its nodes, template VM, bridge and configured storages, and the storage check', () => {
    const sh = blocks(section(text, 'Proxmox API user and token'));
    expect(sh[0]).toEqual([
      'U=capmox-homelab@pve',
      'pveum user add $U --comment \'CAPMOX, cluster homelab\'',
      'pveum role add CapmoxSysAudit --privs Sys.Audit   # once per Proxmox cluster',
      'pveum acl modify / --users $U --roles CapmoxSysAudit --propagate 0',
      'for node in K8S0; do pveum acl modify "/nodes/$node" --users $U --roles CapmoxSysAudit; done',
      'pveum acl modify /vms --users $U --roles PVEVMAdmin',
      'pveum acl modify /vms/8700 --users $U --roles PVETemplateUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr0 --users $U --roles PVESDNUser',
      'pveum acl modify /storage/local --users $U --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/local-lvm --users $U --roles PVEDatastoreUser',
      'pveum user token add $U capi --privsep 0   # prints the token secret once',
      '(',
      'check_storage() {  # node storage content [shared]',
      '  s=$(pvesh get "/nodes/$1/storage/$2/status" --output-format json 2>/dev/null)',
      '  echo "$s" | grep -q \'"active":1\' && echo "$s" | grep -Eq "\\"content\\":\\"[^\\"]*$3" \\',
      '    || echo "MISSING: node $1 has no active storage $2 with content $3" >&2',
      '  [ -z "$4" ] || echo "$s" | grep -q \'"shared":1\' || echo "NOT SHARED: storage $2 on node $1; clones to other nodes will fail" >&2',
      '}',
      // Every allowed node has the ISO storage; the node-local template disk is checked on its node.
      'for node in K8S0; do check_storage "$node" local iso; check_storage "$node" local-lvm images; done',
      ')',
    ]);
    // The storages come from the config: nothing is left to adapt.
    expect(text).not.toContain('STORAGE=');
    expect(text).not.toMatch(/adapt: .*storage/i);
    expect(sh[1]).toContain('export PROXMOX_TOKEN=\'capmox-homelab@pve!capi\'');
    expect(sh[1][sh[1].length - 1]).toBe('npm run credentials -- homelab');
    // pveum on a node, npm on the workstation: separate blocks, each after its own lead line.
    expect(sh[0].some((l) => l.startsWith('npm ') || l.startsWith('export '))).toBe(false);
    expect(section(text, 'Proxmox API user and token').join(' ')).toContain('([why](../management/RUNBOOK.md#proxmox-user-grants-and-storages))');
  });

  test('the storage check, run against a stub pvesh: silent when every node has each storage, one line per problem otherwise', () => {
    const check = storageCheck(blocks(section(text, 'Proxmox API user and token'))[0]);
    const local = { active: 1, content: 'iso,vztmpl,backup', shared: 0 };
    const lvm = { active: 1, content: 'images,rootdir', shared: 0 };
    expect(runWithPvesh(check, { '/nodes/K8S0/storage/local/status': local, '/nodes/K8S0/storage/local-lvm/status': lvm })).toBe('');
    expect(runWithPvesh(check, { '/nodes/K8S0/storage/local/status': local, '/nodes/K8S0/storage/local-lvm/status': { ...lvm, active: 0 } }))
      .toBe('MISSING: node K8S0 has no active storage local-lvm with content images\n');
    expect(runWithPvesh(check, { '/nodes/K8S0/storage/local/status': { ...local, content: 'backup' } }))
      .toBe('MISSING: node K8S0 has no active storage local with content iso\nMISSING: node K8S0 has no active storage local-lvm with content images\n');
  });

  test('step 3 lists the template VM with a link to its build, and builds nothing itself', () => {
    const lines = section(text, 'Talos template VM');
    expect(lines.filter((l) => l.startsWith('- '))).toEqual([
      '- [VM 8700 on K8S0](../management/TEMPLATES.md#template-vm-8700-on-k8s0) `talos-v1-13-9-ce4c9805`, node-local storage `local-lvm`: '
      + 'the control plane and pool `default`',
    ]);
    expect(blocks(lines)).toEqual([]);
    expect(text).not.toMatch(/qm (create|template)|factory\.talos\.dev/);
  });

  test('apply and verify: the renders and the folder, waits, kubeconfig, VIP, providerIDs, Machines with nodeRef, talosconfig and etcd', () => {
    const sh = commands(section(text, 'Apply and verify'));
    // The shared add-on renders the cluster uses (its Cluster's labels select them), then its folder, in one apply.
    expect(sh[0]).toMatch(new RegExp('^kubectl apply --server-side '
      + '-f dist/_addons/default/talos-ccm-[0-9a-f]{10}\\.k8s\\.yaml -f dist/_addons/default/cilium-[0-9a-f]{10}\\.k8s\\.yaml '
      + '-f dist/_addons/default/cilium-jobs-[0-9a-f]{10}\\.k8s\\.yaml -f dist/homelab/$'));
    expect(sh.slice(1)).toEqual([
      'kubectl wait -n default clusters.cluster.x-k8s.io/homelab --for=condition=ControlPlaneInitialized --timeout=30m',
      'clusterctl get kubeconfig homelab -n default > homelab.kubeconfig',
      'kubectl wait -n default taloscontrolplanes.controlplane.cluster.x-k8s.io/homelab-control-plane --for=condition=Ready --timeout=30m',
      'kubectl wait -n default clusters.cluster.x-k8s.io/homelab --for=condition=Available --timeout=30m',
      'docker exec capi-management-control-plane timeout 3 bash -c \'</dev/tcp/192.168.0.30/6443\' && echo reachable',
      'kubectl --kubeconfig homelab.kubeconfig get nodes -o custom-columns=NAME:.metadata.name,PROVIDERID:.spec.providerID',
      'kubectl get machines.cluster.x-k8s.io -n default -l cluster.x-k8s.io/cluster-name=homelab -o custom-columns=NAME:.metadata.name,NODE:.status.nodeRef.name,PROVIDERID:.spec.providerID,PHASE:.status.phase',
      'kubectl get secret -n default homelab-talosconfig -o jsonpath=\'{.data.talosconfig}\' | base64 -d > homelab.talosconfig',
      'CP_IP=$(kubectl get machines.cluster.x-k8s.io -n default -l cluster.x-k8s.io/cluster-name=homelab,cluster.x-k8s.io/control-plane -o jsonpath=\'{.items[0].status.addresses[?(@.type=="InternalIP")].address}\')',
      'talosctl --talosconfig homelab.talosconfig -e "$CP_IP" -n "$CP_IP" etcd members',
    ]);
    const lines = section(text, 'Apply and verify').join('\n');
    expect(lines).toContain('([what to look for](../management/RUNBOOK.md#apply-and-verify))');
    expect(lines).toContain('Back up the Secrets `homelab-talos`, `homelab-ca` and `homelab-talosconfig` of namespace `default`.');
  });

  test('every command is there once', () => {
    const all = commands(text.split('\n'));
    expect(all.filter((l, i) => all.indexOf(l) !== i && !/^(\(|\)|\}|done)$/.test(l))).toEqual([]);
  });

  test('no Longhorn section without a Longhorn pool', () => {
    expect(text).not.toContain('Longhorn');
  });

  test('step 2 names the Secret and points at what the command does with it', () => {
    expect(text).toContain('Then the Secret `homelab-proxmox`; the command says what to do with the file it writes '
      + '([why](../management/RUNBOOK.md#proxmox-credentials-secret)).');
  });

  test('every shell block says where it runs: the workstation, or any node for pveum and pvesh', () => {
    expect(leads(text)).toEqual([
      ANY_NODE('K8S0'), // pveum and the storage check
      WORKSTATION, // CA copy and npm run credentials, split from pveum since they need the repository
      WORKSTATION, WORKSTATION, // apply; waits and checks
    ]);
    expect(text).not.toContain('Run as root on');
  });

  test('the Proxmox CA is copied from a node of the cluster to the workstation before npm run credentials', () => {
    const sh = blocks(section(text, 'Proxmox API user and token'))[1];
    expect(sh.slice(0, 2)).toEqual([
      'mkdir -p ~/.config/cdk8s-talos-proxmox',
      'scp root@K8S0:/etc/pve/pve-root-ca.pem "$HOME/.config/cdk8s-talos-proxmox/pve-root-ca.pem"   # adapt: K8S0\'s address if its name does not resolve',
    ]);
    expect(sh).toContain('export PROXMOX_ROOT_CA_FILE="$HOME/.config/cdk8s-talos-proxmox/pve-root-ca.pem"');
    expect(sh.findIndex((l) => l.startsWith('scp '))).toBeLessThan(sh.indexOf('npm run credentials -- homelab'));
  });

  test('links resolve inside the repository, the project README is named as such, no STACK.md citations', () => {
    expect(danglingLinks(text, 'homelab')).toEqual([]);
    expect(citations(text)).toEqual([]);
    expect(text).not.toMatch(/STACK\.md|\.\.\/shared/);
    // "README" alone would be the diagram beside the runbook, dist/homelab/README.md.
    expect(text).not.toContain('README');
  });

  test('byte-identical across constructions and calls', () => {
    expect(clusterRunbook(homelab(), OPTIONS)).toBe(text);
  });
});

describe('templateBuilds: each template VM once, for every cluster that clones it', () => {
  const lab = homelab({ name: 'lab', network: {
    ...homelabProps().network, endpoint: '192.168.1.30', addresses: ['192.168.1.20-192.168.1.29'], gateway: '192.168.1.254',
  } });
  const edge = homelab({
    name: 'edge', network: { ...homelabProps().network, endpoint: '192.168.2.30', addresses: ['192.168.2.20-192.168.2.29'], gateway: '192.168.2.254' },
    proxmox: { ...homelabProps().proxmox, allowedNodes: ['pve-a'], template: templateVm(9100, { sourceNode: 'pve-a', storage: { name: 'nvme-thin', shared: false } }) },
  });
  const clusters = [homelab(), lab, edge];
  const files = written(clusters);
  const text = files.get('management/TEMPLATES.md')!;
  const vm8700 = section(text, 'Template VM 8700 on K8S0');

  test('one section per template VM, in the order the clusters first clone them', () => {
    expect([...sections(text).keys()]).toEqual(['## Template VM 8700 on K8S0', '## Template VM 9100 on pve-a']);
    expect(text.startsWith('# Template VMs\n\nGenerated by `cdk8s synth` from the cluster files; do not edit.')).toBe(true);
  });

  test('each section lists the clusters that clone it, each once, linked to its runbook', () => {
    expect(vm8700.slice(vm8700.findIndex((l) => l.startsWith('Cloned by '))).filter((l) => l !== '')).toEqual([
      'Cloned by these 2 clusters:',
      '- [homelab](../homelab/RUNBOOK.md)',
      '- [lab](../lab/RUNBOOK.md)',
    ]);
    expect(section(text, 'Template VM 9100 on pve-a').filter((l) => l.startsWith('- ['))).toEqual(['- [edge](../edge/RUNBOOK.md)']);
  });

  test('the build of 8700: schematic, Image Factory check, then the re-runnable build on its source node', () => {
    expect(vm8700).toContain(`Talos v1.13.9, schematic \`${AGENT_ID}\`, as VM \`talos-v1-13-9-ce4c9805\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`.`);
    const yaml = ['customization:', '    systemExtensions:', '        officialExtensions:', '            - siderolabs/qemu-guest-agent'];
    expect(blocks(vm8700, 'yaml')).toEqual([yaml]);
    const [factory, build] = blocks(vm8700);
    expect(factory).toEqual(['curl -fsS -X POST --data-binary @- https://factory.talos.dev/schematics <<\'EOF\'', ...yaml, 'EOF']);
    expect(leads(vm8700.join('\n'))).toEqual([WORKSTATION, TEMPLATE_NODE('K8S0')]);
    // One subshell with set -e: a pasted block stops at the first failure, and exit leaves the reader's shell open.
    expect(build[0]).toBe('(');
    expect(build[build.length - 1]).toBe(')');
    expect(commands(['```sh', ...build.slice(1, -1), '```']).map((l) => l.trim())).toEqual([
      'set -e',
      'if ! pvesh get /cluster/nextid --vmid 8700 >/dev/null 2>&1; then',
      'if qm config 8700 2>/dev/null | grep -qx \'name: talos-v1-13-9-ce4c9805\' && qm config 8700 | grep -qx \'template: 1\'; then',
      'echo "VM 8700 is already the template talos-v1-13-9-ce4c9805: nothing to do"',
      'exit 0',
      'fi',
      'echo "VM ID 8700 is taken by another VM, image or an unfinished build (qm config 8700): remove it, or pick another templateId" >&2',
      'exit 1',
      'fi',
      'IMAGE=/var/tmp/talos-v1-13-9-ce4c9805.raw',
      `curl -fL -o "$IMAGE.xz" https://factory.talos.dev/image/${AGENT_ID}/v1.13.9/nocloud-amd64.raw.xz`,
      'xz -d -f "$IMAGE.xz"',
      'qm create 8700 --name talos-v1-13-9-ce4c9805 --ostype l26 --machine q35 --cpu host --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb --scsihw virtio-scsi-pci --net0 virtio,bridge=vmbr0 --agent enabled=1',
      'qm set 8700 --scsi0 local-lvm:0,import-from="$IMAGE"',
      'qm set 8700 --boot order=scsi0',
      'qm template 8700',
      'rm "$IMAGE"',
    ]);
    expect(text).not.toContain('virtio-scsi-single');
  });

  test('the build of 9100 on its own node and storage', () => {
    const lines = section(text, 'Template VM 9100 on pve-a');
    expect(leads(lines.join('\n'))).toEqual([WORKSTATION, TEMPLATE_NODE('pve-a')]);
    expect(commands(lines).map((l) => l.trim())).toContain('if ! pvesh get /cluster/nextid --vmid 9100 >/dev/null 2>&1; then');
    expect(commands(lines)).toContain('qm set 9100 --scsi0 nvme-thin:0,import-from="$IMAGE"');
  });

  test('each build once in all the runbooks, and each cluster runbook links to the builds of its template VMs', () => {
    const all = [...files.values()].join('\n');
    expect(all.match(/^qm create /gm)).toEqual(['qm create ', 'qm create ']);
    expect(all.match(/^qm template 8700$/gm)).toHaveLength(1);
    for (const name of ['homelab', 'lab']) {
      expect(files.get(`${name}/RUNBOOK.md`)).toContain('](../management/TEMPLATES.md#template-vm-8700-on-k8s0)');
    }
    expect(files.get('edge/RUNBOOK.md')).toContain('- [VM 9100 on pve-a](../management/TEMPLATES.md#template-vm-9100-on-pve-a)');
  });

  test('every link of every runbook resolves: the anchors of the builds, the clusters\' runbooks, the management runbook\'s sections', () => {
    expect(danglingLinksOf(files)).toEqual([]);
    expect(citations(text)).toEqual([]);
    // The check fails for an anchor no heading has.
    const moved = new Map(files).set('management/TEMPLATES.md', text.replace('## Template VM 9100 on pve-a', '## Template VM 9100 on pve-b'));
    expect(danglingLinksOf(moved)).toEqual(['edge/RUNBOOK.md: ../management/TEMPLATES.md#template-vm-9100-on-pve-a']);
  });

  test('byte-identical across calls', () => {
    expect(templateBuilds(clusters)).toBe(text);
  });
});

describe('templateBuilds follows the images and the clusters', () => {
  test('an image without the QEMU guest agent: no --agent on the template VM', () => {
    const text = templateBuilds([homelab({ talos: { extensions: [] } })]);
    const lines = section(text, 'Template VM 8700 on K8S0');
    expect(blocks(lines, 'yaml')).toEqual([['customization: {}']]);
    expect(lines).toContain(`Talos v1.13.9, schematic \`${EMPTY_ID}\`, as VM \`talos-v1-13-9-37656798\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`.`);
    const qm = commands(lines).filter((l) => l.startsWith('qm create '));
    expect(qm).toEqual(['qm create 8700 --name talos-v1-13-9-37656798 --ostype l26 --machine q35 --cpu host --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb --scsihw virtio-scsi-pci --net0 virtio,bridge=vmbr0']);
    expect(lines.join('\n')).not.toContain('--agent enabled');
    expect(lines.join('\n')).toContain(`https://factory.talos.dev/image/${EMPTY_ID}/v1.13.9/nocloud-amd64.raw.xz`);
  });

  test('clusters on other bridges share the template VM: built on the first one\'s, and the section says so', () => {
    const other = homelab({ name: 'lab', network: { ...homelabProps().network, bridge: 'vmbr7', endpoint: '192.168.1.30', addresses: ['192.168.1.20-192.168.1.29'], gateway: '192.168.1.254' } });
    const lines = section(templateBuilds([homelab(), other]), 'Template VM 8700 on K8S0');
    expect(commands(lines).find((l) => l.startsWith('qm create '))).toContain('--net0 virtio,bridge=vmbr0 ');
    expect(lines.join('\n')).toContain('Its clusters use the bridges `vmbr0` and `vmbr7`; the template\'s `net0` is on the first');
    expect(section(templateBuilds([homelab()]), 'Template VM 8700 on K8S0').join('\n')).not.toContain('Its clusters use the bridges');
  });

  test('a control plane with its own template VM on shared storage over three nodes; a pool pinned to its node-local template', () => {
    const cluster = new TalosCluster(newChart(), 'Cluster', homelabProps({
      proxmox: { ...homelabProps().proxmox, allowedNodes: ['K8S0', 'K8S1', 'K8S2'], template: templateVm(8710, { sourceNode: 'K8S1', storage: SHARED_STORAGE }) },
      workers: [{ ...DEFAULT_POOL, allowedNodes: ['K8S0'], template: templateVm(8700) }],
    }));
    const text = templateBuilds([cluster]);
    expect([...sections(text).keys()]).toEqual(['## Template VM 8710 on K8S1', '## Template VM 8700 on K8S0']);
    expect(section(text, 'Template VM 8710 on K8S1').join('\n')).toContain('Disk on shared storage `ceph-vm`, so CAPMOX may clone it on `K8S0` and `K8S2` too.');
    expect(section(text, 'Template VM 8700 on K8S0').join('\n')).toContain('Disk on node-local storage `local-lvm`: every clone stays on `K8S0`.');
    const runbook = clusterRunbook(cluster, OPTIONS);
    expect(section(runbook, 'Talos template VMs').filter((l) => l.startsWith('- '))).toEqual([
      '- [VM 8710 on K8S1](../management/TEMPLATES.md#template-vm-8710-on-k8s1) `talos-v1-13-9-ce4c9805`, shared storage `ceph-vm`: the control plane',
      '- [VM 8700 on K8S0](../management/TEMPLATES.md#template-vm-8700-on-k8s0) `talos-v1-13-9-ce4c9805`, node-local storage `local-lvm`: the pool `default`',
    ]);
    // The shared storage is checked on every node its clones may land on, and for the shared flag.
    const check = storageCheck(blocks(section(runbook, 'Proxmox API user and token'))[0]);
    expect(check.filter((l) => l.startsWith('for node in'))).toEqual([
      'for node in K8S0 K8S1 K8S2; do check_storage "$node" local iso; check_storage "$node" ceph-vm images shared; done',
      'for node in K8S0; do check_storage "$node" local-lvm images; done',
    ]);
    expect(commands(section(runbook, 'Proxmox API user and token')).filter((l) => l.includes('PVETemplateUser'))).toEqual([
      'pveum acl modify /vms/8710 --users $U --roles PVETemplateUser',
      'pveum acl modify /vms/8700 --users $U --roles PVETemplateUser',
    ]);
    expect(danglingLinksOf(written([cluster]))).toEqual([]);
  });

  test('the shared-storage check reports a storage Proxmox does not share, on each node', () => {
    const cluster = new TalosCluster(newChart(), 'Cluster', homelabProps({
      proxmox: { ...homelabProps().proxmox, allowedNodes: ['K8S0', 'K8S1'], template: templateVm(8710, { storage: SHARED_STORAGE }) },
      workers: [DEFAULT_POOL],
    }));
    const check = storageCheck(blocks(section(clusterRunbook(cluster, OPTIONS), 'Proxmox API user and token'))[0]);
    const iso = { active: 1, content: 'iso', shared: 0 };
    const ceph = { active: 1, content: 'images', shared: 1 };
    const statuses = (cephOnK8S1: object) => ({
      '/nodes/K8S0/storage/local/status': iso, '/nodes/K8S1/storage/local/status': iso,
      '/nodes/K8S0/storage/ceph-vm/status': ceph, '/nodes/K8S1/storage/ceph-vm/status': cephOnK8S1,
    });
    expect(runWithPvesh(check, statuses(ceph))).toBe('');
    expect(runWithPvesh(check, statuses({ ...ceph, shared: 0 }))).toBe('NOT SHARED: storage ceph-vm on node K8S1; clones to other nodes will fail\n');
  });

  test('a Longhorn pool: its own template VM and schematic, then the Longhorn step before apply', () => {
    const cluster = homelab({ network: { ...homelabProps().network, addresses: ['192.168.0.10-192.168.0.29'] } }, (c) => c.addWorkerPool('Storage', {
      name: 'storage', replicas: 3, cores: 4, memoryMiB: 8192, diskGiB: 200, longhorn: true, template: templateVm(8701, { extensions: LONGHORN_EXTENSIONS }),
    }));
    const storage = cluster.workerPools.find((p) => p.poolName === 'storage')!;
    const id = storage.schematic.id;
    expect(id).not.toBe(AGENT_ID);
    const text = clusterRunbook(cluster, OPTIONS);
    expect([...sections(text).keys()]).toEqual([
      '## 1. Management cluster',
      '## 2. Proxmox API user and token',
      '## 3. Talos template VMs',
      '## 4. Storage: Longhorn',
      '## 5. Apply and verify',
    ]);
    expect(section(text, 'Talos template VMs').filter((l) => l.startsWith('- '))).toEqual([
      '- [VM 8700 on K8S0](../management/TEMPLATES.md#template-vm-8700-on-k8s0) `talos-v1-13-9-ce4c9805`, node-local storage `local-lvm`: the control plane and pool `default`',
      `- [VM 8701 on K8S0](../management/TEMPLATES.md#template-vm-8701-on-k8s0) \`talos-v1-13-9-${id.slice(0, 8)}\`, node-local storage \`local-lvm\`: the pool \`storage\``,
    ]);
    const builds = templateBuilds([cluster]);
    expect(blocks(section(builds, 'Template VM 8701 on K8S0'), 'yaml')[0]).toEqual([
      'customization:', '    systemExtensions:', '        officialExtensions:',
      '            - siderolabs/qemu-guest-agent', '            - siderolabs/iscsi-tools', '            - siderolabs/util-linux-tools',
    ]);
    expect(commands(builds.split('\n'))).toContain(`curl -fL -o "$IMAGE.xz" https://factory.talos.dev/image/${id}/v1.13.9/nocloud-amd64.raw.xz`);
    expect(commands(builds.split('\n')).filter((l) => l.startsWith('qm template '))).toEqual(['qm template 8700', 'qm template 8701']);
    // Each template VM has its own guard, before its own qm create.
    const trimmed = commands(builds.split('\n')).map((l) => l.trim());
    for (const vm of [8700, 8701]) {
      expect(trimmed.indexOf(`if ! pvesh get /cluster/nextid --vmid ${vm} >/dev/null 2>&1; then`))
        .toBeLessThan(trimmed.findIndex((l) => l.startsWith(`qm create ${vm} `)));
    }
    expect(commands(section(text, 'Proxmox API user and token'))).toContain('pveum acl modify /vms/8701 --users $U --roles PVETemplateUser');

    const longhorn = section(text, 'Storage: Longhorn');
    expect(longhorn).toContain(`- pool \`storage\`: schematic \`${id}\`, template VM 8701 on K8S0`);
    expect(commands(longhorn)).toEqual([
      'kubectl --kubeconfig homelab.kubeconfig create namespace longhorn-system',
      'kubectl --kubeconfig homelab.kubeconfig label namespace longhorn-system pod-security.kubernetes.io/enforce=privileged --overwrite',
    ]);
    expect(longhorn.join(' ')).toContain('After step 5,');
    expect(longhorn.join(' ')).toContain('`defaultSettings.defaultDataPath=/var/lib/longhorn`');
    expect(longhorn.join(' ')).not.toContain('MISSING');
    expect(longhorn.join(' ')).toContain('[the project README](../../README.md#add-a-longhorn-pool)');
    expect(leads(text)).toEqual([ANY_NODE('K8S0'), WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION]);
    expect(danglingLinksOf(written([cluster]))).toEqual([]);
    expect(citations(text)).toEqual([]);
  });

  test('two images on one template VM are shown as a conflict, never built as one', () => {
    // addWorkerPool refuses this; a pool built directly and listed by the cluster bypasses the guard.
    const cluster = homelab();
    const rogue = new ProxmoxWorkerPool(cluster, 'Gpu', {
      cluster, name: 'gpu', replicas: 1, cores: 2, memoryMiB: 8192, diskGiB: 40, extensions: ['siderolabs/nvidia-container-toolkit-production'],
    });
    const pools = cluster.workerPools;
    Object.defineProperty(cluster, 'workerPools', { get: () => [...pools, rogue] });
    const lines = section(templateBuilds([cluster]), 'Template VM 8700 on K8S0');
    expect([...sections(templateBuilds([cluster])).keys()]).toEqual(['## Template VM 8700 on K8S0']);
    expect(lines).toContain(`> **CONFLICT: one template VM, two images.** the pool \`gpu\` of homelab boots Talos v1.13.9, schematic \`${rogue.schematic.id}\`,`);
    expect(lines).toContain(`> ${rogue.schematic.diskImageUrl('v1.13.9')}`);
    // Built from the first user's image only.
    expect(commands(lines).filter((l) => l.startsWith('curl -fL '))).toEqual([`curl -fL -o "$IMAGE.xz" https://factory.talos.dev/image/${AGENT_ID}/v1.13.9/nocloud-amd64.raw.xz`]);
    expect(section(clusterRunbook(cluster, OPTIONS), 'Talos template VM').join('\n')).toContain('**CONFLICT: one template VM, two images**, see its build');
  });
});

describe('clusterRunbook follows the cluster', () => {
  test('networks: each bridge gets PVESDNUser and a check on every node it is used on: present, VLAN-aware when tagged, MTU at least its NICs\'', () => {
    const network = {
      ...homelabProps().network, vlan: 20, mtu: 9000,
      extraNics: [{ name: 'storage', bridge: 'vmbr1', vlan: 30, mtu: 9000, addresses: ['10.30.0.10-10.30.0.40'], prefix: 24 }],
    };
    const proxmox = { ...homelabProps().proxmox, allowedNodes: ['K8S0', 'K8S1'], template: templateVm(8700, { storage: SHARED_STORAGE }) };
    const cluster = homelab({ network, proxmox, controlPlane: { ...homelabProps().controlPlane, allowedNodes: ['K8S0'] } });
    const text = clusterRunbook(cluster, OPTIONS);
    const steps = section(text, 'Proxmox API user and token');
    expect(commands(steps).filter((l) => l.includes('/sdn/'))).toEqual([
      'pveum acl modify /sdn/zones/localnetwork/vmbr0 --users $U --roles PVESDNUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr1 --users $U --roles PVESDNUser',
    ]);
    // The default pool may land on both nodes, so both bridges are checked on both, after the storages.
    const block = blocks(steps)[0];
    expect(block.slice(block.indexOf(')') + 1)).toEqual([
      'for node in K8S0 K8S1; do',
      '  b=$(pvesh get "/nodes/$node/network/vmbr0" --output-format json 2>/dev/null) \\',
      '    || { echo "MISSING: node $node has no bridge vmbr0" >&2; continue; }',
      '  echo "$b" | grep -q \'"bridge_vlan_aware":1\' \\',
      '    || echo "NOT VLAN-AWARE: bridge vmbr0 on node $node; VLAN 20 needs bridge-vlan-aware yes" >&2',
      '  m=$(echo "$b" | grep -Eo \'"mtu":"?[0-9]+\' | grep -Eo \'[0-9]+$\'); [ "${m:-1500}" -ge 9000 ] \\',
      '    || echo "MTU: bridge vmbr0 on node $node has MTU ${m:-1500}; its NICs use 9000" >&2',
      'done',
      'for node in K8S0 K8S1; do',
      '  b=$(pvesh get "/nodes/$node/network/vmbr1" --output-format json 2>/dev/null) \\',
      '    || { echo "MISSING: node $node has no bridge vmbr1" >&2; continue; }',
      '  echo "$b" | grep -q \'"bridge_vlan_aware":1\' \\',
      '    || echo "NOT VLAN-AWARE: bridge vmbr1 on node $node; VLAN 30 needs bridge-vlan-aware yes" >&2',
      '  m=$(echo "$b" | grep -Eo \'"mtu":"?[0-9]+\' | grep -Eo \'[0-9]+$\'); [ "${m:-1500}" -ge 9000 ] \\',
      '    || echo "MTU: bridge vmbr1 on node $node has MTU ${m:-1500}; its NICs use 9000" >&2',
      'done',
    ]);
    expect(steps.join(' ')).toContain('then the check of the storages and bridges');
    expect(text.split('\n').filter((l) => /^- `net/.test(l))).toEqual([
      '- `net0`: VLAN 20, MTU 9000',
      '- `net1` `storage` on `vmbr1`: VLAN 30, MTU 9000, addresses `10.30.0.10-10.30.0.40` (IPAM pool `homelab-storage`)',
    ]);
    // One untagged NIC at the bridge's MTU: no bridge check (the default runbook is unchanged).
    expect(clusterRunbook(homelab(), OPTIONS)).not.toContain('/network/vmbr0');
  });

  test('another bridge, template VM, namespace and the provider\'s global credentials', () => {
    const cluster = homelab({
      name: 'lab', namespace: 'clusters', network: { ...homelabProps().network, bridge: 'vmbr7' },
      proxmox: { allowedNodes: ['pve-a'], template: templateVm(9100, { sourceNode: 'pve-a', storage: { name: 'nvme-thin', shared: false } }), isoStorage: 'isos' },
    });
    const text = clusterRunbook(cluster, { sourceFile: 'clusters/lab.yaml' });
    expect(text).not.toContain('npm run credentials');
    expect(text).not.toContain('pve-root-ca.pem');
    expect(text).toContain('The Proxmox user of CAPMOX\'s global credentials, its grants and token');
    expect(leads(text)).toEqual([ANY_NODE('pve-a'), WORKSTATION, WORKSTATION]);
    expect(danglingLinksOf(written([cluster]))).toEqual([]);
    expect(citations(text)).toEqual([]);
    const pveum = commands(section(text, 'Proxmox API user and token'));
    expect(pveum[0]).toBe('U=capmox@pve');
    expect(pveum.filter((l) => l.includes('pveum acl'))).toEqual([
      'pveum acl modify / --users $U --roles CapmoxSysAudit --propagate 0',
      'for node in pve-a; do pveum acl modify "/nodes/$node" --users $U --roles CapmoxSysAudit; done',
      'pveum acl modify /vms --users $U --roles PVEVMAdmin',
      'pveum acl modify /vms/9100 --users $U --roles PVETemplateUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr7 --users $U --roles PVESDNUser',
      'pveum acl modify /storage/isos --users $U --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/nvme-thin --users $U --roles PVEDatastoreUser',
    ]);
    expect(section(text, 'Talos template VM').filter((l) => l.startsWith('- '))).toEqual([
      '- [VM 9100 on pve-a](../management/TEMPLATES.md#template-vm-9100-on-pve-a) `talos-v1-13-9-ce4c9805`, node-local storage `nvme-thin`: the control plane and pool `default`',
    ]);
    expect(commands(templateBuilds([cluster]).split('\n')).find((l) => l.startsWith('qm create '))).toMatch(/^qm create 9100 .* --net0 virtio,bridge=vmbr7 --agent enabled=1$/);
    // The only allowed node holds the template: no shared storage needed, none checked.
    expect(text).not.toContain('check_storage "$node" nvme-thin images shared');
    expect(commands(section(text, 'Apply and verify'))).toContain('kubectl wait -n clusters taloscontrolplanes.controlplane.cluster.x-k8s.io/lab-control-plane --for=condition=Ready --timeout=30m');
    expect(text).toContain('Generated by `cdk8s synth` from `clusters/lab.yaml`');
    expect(commands(section(text, 'Apply and verify'))[0]).toMatch(/ -f dist\/lab\/$/);
  });
});

describe('managementRunbook: once per management cluster, for every cluster of the repository', () => {
  const lab = homelab({ name: 'lab', proxmox: { ...homelabProps().proxmox, credentialsSecret: undefined }, network: {
    ...homelabProps().network, endpoint: '192.168.1.30', addresses: ['192.168.1.20-192.168.1.29'], gateway: '192.168.1.254',
  } });
  const clusters = [homelab(), lab];
  const sourceFiles = new Map([['homelab', 'clusters/homelab.yaml'], ['lab', 'clusters/lab.yaml']]);
  const text = managementRunbook(clusters, { sourceFiles });

  test('kind, the pinned providers and the GitOps agent, in that order, each block on the workstation; then what the cluster runbooks do', () => {
    expect(text.startsWith('# Runbook: management cluster\n')).toBe(true);
    expect([...sections(text).keys()]).toEqual([
      '## 1. Management cluster with kind', '## 2. Cluster API providers', '## 3. GitOps agent', '## About the cluster runbooks',
    ]);
    expect([...sections(text, 3).keys()]).toEqual([
      '### Proxmox user, grants and storages', '### Proxmox credentials Secret', '### Template VMs', '### Apply and verify',
    ]);
    expect(blocks(section(text, 'Management cluster with kind'))).toEqual([[
      'cat > capi-management.kind.yaml <<\'EOF\'',
      'kind: Cluster',
      'apiVersion: kind.x-k8s.io/v1alpha4',
      'name: capi-management',
      'nodes:',
      '  - role: control-plane',
      'EOF',
      'kind create cluster --config capi-management.kind.yaml',
      'kubectl config use-context kind-capi-management',
    ]]);
    expect(leads(text)).toEqual([WORKSTATION, WORKSTATION]);
    expect(text).not.toMatch(/EXP_CLUSTER_RESOURCE_SET\s*[=:]/);
  });

  test('what the cluster runbooks no longer repeat is said here once: grants, the ISO storage, the credentials, the waits, the providerIDs', () => {
    const about = section(text, 'About the cluster runbooks').join('\n');
    for (const fact of [
      'CAPMOX uploads each machine\'s NoCloud ISO', '`PVEDatastoreUser` (Datastore.AllocateSpace) where the clones are written',
      'the ACL propagates', 'Proxmox VE ≥ 8', 'secrets/<cluster>/proxmox-credentials.sops.yaml', 'the Secret says `insecure: "true"`',
      '`Available` on the Cluster needs', 'Every node must carry the providerID `proxmox://<uuid>`', 'one member per control-plane Machine',
    ]) {
      expect(about).toContain(fact);
      // …and no cluster runbook says it again.
      expect(clusterRunbook(homelab(), OPTIONS)).not.toContain(fact);
    }
  });

  test('every cluster is listed with its runbook, its node addresses and its VIP; the template VM builds are linked', () => {
    expect(text).toContain('- [homelab](../homelab/RUNBOOK.md), from `clusters/homelab.yaml`');
    expect(text).toContain('- [lab](../lab/RUNBOOK.md), from `clusters/lab.yaml`');
    expect(text).toContain('- lab (namespace `default`): nodes `192.168.1.20-192.168.1.29`, VIP `192.168.1.30:6443`');
    expect(text).toContain('[the template VM builds](../management/TEMPLATES.md)');
    expect(danglingLinksOf(written(clusters))).toEqual([]);
  });

  test('global credentials at init only when a cluster has no Secret of its own, naming that cluster', () => {
    const v = STACK_VERSIONS;
    const init = `clusterctl init --core cluster-api:${v.clusterApi} --bootstrap talos:${v.cabpt} --control-plane talos:${v.cacppt} `
      + `--infrastructure proxmox:${v.capmox} --ipam in-cluster:${v.ipamInCluster} --wait-providers`;
    expect(commands(section(text, 'Cluster API providers'))).toEqual([
      'export PROXMOX_URL=https://<proxmox host>:8006     # adapt: no /api2/json',
      'export PROXMOX_TOKEN=\'capmox@pve!capi\'',
      'export PROXMOX_SECRET=\'<token secret>\'             # printed once by `pveum user token add`',
      init,
      'kubectl get providers.clusterctl.cluster.x-k8s.io -A',
    ]);
    expect(section(text, 'Cluster API providers').join(' ')).toContain('[lab](../lab/RUNBOOK.md) has no credentials Secret');
    const own = managementRunbook([homelab()], { sourceFiles });
    expect(commands(section(own, 'Cluster API providers'))).toEqual([init, 'kubectl get providers.clusterctl.cluster.x-k8s.io -A']);
  });
});

describe('the runbooks synth wrote to dist/', () => {
  // The committed runbooks, as a reader finds them on GitHub or in a clone: links relative to their folder.
  const runbooks = readdirSync(join(ROOT, 'dist'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => ['RUNBOOK.md', 'TEMPLATES.md'].filter((f) => existsSync(join(ROOT, 'dist', d.name, f))).map((f) => `${d.name}/${f}`))
    .map((file) => [file, readFileSync(join(ROOT, 'dist', file), 'utf8')] as const);

  test('exist', () => {
    expect(runbooks.map(([file]) => file)).toEqual(expect.arrayContaining(['homelab/RUNBOOK.md', 'management/RUNBOOK.md', 'management/TEMPLATES.md']));
  });

  test.each(runbooks)('%s: every link resolves inside the repository, no STACK.md citation, every block placed', (file, text) => {
    expect(danglingLinks(text, posix.dirname(file))).toEqual([]);
    expect(citations(text)).toEqual([]);
    expect(leads(text).filter((l) => l !== WORKSTATION && !l.startsWith('In a root shell on the Proxmox node '))).toEqual([]);
  });

  test('the committed template VM builds list each template VM once, with every cluster that clones it', () => {
    const text = readFileSync(join(ROOT, 'dist', 'management', 'TEMPLATES.md'), 'utf8');
    expect([...sections(text).keys()]).toEqual(['## Template VM 8710 on K8S0', '## Template VM 8700 on K8S0']);
    expect(section(text, 'Template VM 8710 on K8S0').filter((l) => l.startsWith('- ['))).toEqual(['- [edge](../edge/RUNBOOK.md)']);
    expect(section(text, 'Template VM 8700 on K8S0').filter((l) => l.startsWith('- ['))).toEqual(['- [homelab](../homelab/RUNBOOK.md)']);
  });

  test('the link check catches a link that leaves the repository or misses a heading', () => {
    expect(danglingLinks('[a](../../../shared/reference/STACK.md) [b](../../README.md#no-such-heading) [c](README.md) [d](../../README.md#layout)', 'homelab'))
      .toEqual(['../../../shared/reference/STACK.md', '../../README.md#no-such-heading']);
    expect(citations('see [1.4] and [3.2, 8]; jsonpath {.items[0].status}')).toEqual(['[1.4]', '[3.2, 8]']);
  });
});

describe('clusterRunbook with Proxmox pools, clone storages and spread pools', () => {
  const NODES = ['K8S0', 'K8S1', 'K8S2'];
  const shared = { sourceNode: 'K8S0', templateId: 8700, storage: SHARED_STORAGE };
  const network = { endpoint: '192.168.0.30', addresses: ['192.168.0.40-192.168.0.79'], prefix: 24, gateway: '192.168.0.254', dnsServers: ['8.8.8.8'] };
  const build = (proxmox: Partial<TalosClusterProps['proxmox']>, workers: TalosClusterProps['workers'] = [DEFAULT_POOL]) => {
    const base = homelabProps();
    return new TalosCluster(newChart(), 'Cluster', homelabProps({
      network, proxmox: { ...base.proxmox, allowedNodes: NODES, template: { ...base.proxmox.template, ...shared }, ...proxmox }, workers,
    }));
  };
  const proxmoxBlock = (cluster: TalosCluster) => blocks(section(clusterRunbook(cluster, OPTIONS), 'Proxmox API user and token'))[0];
  const acls = (cluster: TalosCluster) => proxmoxBlock(cluster).filter((l) => l.startsWith('pveum '));

  test('a pool named on proxmox: the pool is created when missing, PVEVMAdmin on /pool/<pool> and not on /vms', () => {
    const lines = acls(build({ pool: 'k8s-homelab' }));
    expect(lines).toContain('pveum pool list --output-format json | grep -q \'"poolid":"k8s-homelab"\' '
      + '|| pveum pool add k8s-homelab --comment \'CAPMOX clones of cluster homelab\'');
    expect(lines.filter((l) => l.includes('PVEVMAdmin'))).toEqual(['pveum acl modify /pool/k8s-homelab --users $U --roles PVEVMAdmin']);
    // The pool exists before any grant on it.
    expect(lines.findIndex((l) => l.startsWith('pveum pool list'))).toBeLessThan(lines.findIndex((l) => l.includes('/pool/k8s-homelab')));
  });

  test('a pool on one machine set only: /vms stays for the others', () => {
    const cluster = build({}, [{ ...DEFAULT_POOL, pool: 'k8s-workers' }]);
    expect(acls(cluster).filter((l) => l.includes('PVEVMAdmin'))).toEqual([
      'pveum acl modify /vms --users $U --roles PVEVMAdmin',
      'pveum acl modify /pool/k8s-workers --users $U --roles PVEVMAdmin',
    ]);
  });

  test('a clone storage: PVEDatastoreUser on it instead of the template\'s storage, checked for images on the nodes its clones land on', () => {
    const cluster = build({ cloneStorage: { name: 'ceph-fast', shared: true } });
    expect(acls(cluster).filter((l) => l.includes('PVEDatastore'))).toEqual([
      'pveum acl modify /storage/local --users $U --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/ceph-fast --users $U --roles PVEDatastoreUser',
    ]);
    expect(storageCheck(proxmoxBlock(cluster))).toContain(
      'for node in K8S0 K8S1 K8S2; do check_storage "$node" local iso; check_storage "$node" ceph-vm images shared; check_storage "$node" ceph-fast images shared; done',
    );
    // Linked clones, and full clones without a clone storage, are written to the template's storage.
    const mixed = build({}, [{ ...DEFAULT_POOL, cloneStorage: { name: 'ceph-fast', shared: true } }, { ...DEFAULT_POOL, name: 'linked', full: false }]);
    expect(acls(mixed).filter((l) => l.includes('PVEDatastoreUser'))).toEqual([
      'pveum acl modify /storage/ceph-vm --users $U --roles PVEDatastoreUser',
      'pveum acl modify /storage/ceph-fast --users $U --roles PVEDatastoreUser',
    ]);
  });

  test('a spread pool with node-local templates: one template VM build per node, on that node', () => {
    const local = { name: 'local-lvm', shared: false };
    const base = homelabProps();
    const cluster = new TalosCluster(newChart(), 'Cluster', homelabProps({
      network, proxmox: { ...base.proxmox, allowedNodes: NODES },
      controlPlane: { ...base.controlPlane, allowedNodes: ['K8S0'] },
      workers: [{
        ...DEFAULT_POOL, replicas: 3,
        spread: { nodes: NODES, templates: [templateVm(8711, { sourceNode: 'K8S1', storage: local }), templateVm(8712, { sourceNode: 'K8S2', storage: local })] },
      }],
    }));
    const builds = templateBuilds([cluster]);
    expect([...sections(builds).keys()]).toEqual(['## Template VM 8700 on K8S0', '## Template VM 8711 on K8S1', '## Template VM 8712 on K8S2']);
    expect(leads(builds)).toContain(TEMPLATE_NODE('K8S2'));
    const text = clusterRunbook(cluster, OPTIONS);
    expect(section(text, 'Talos template VMs').filter((l) => l.startsWith('- ')).map((l) => l.replace(/^- \[[^\]]*\]\([^)]*\) `[^`]*`, /, ''))).toEqual([
      'node-local storage `local-lvm`: the control plane and pool `default` on `K8S0`',
      'node-local storage `local-lvm`: the pool `default` on `K8S1`',
      'node-local storage `local-lvm`: the pool `default` on `K8S2`',
    ]);
    expect(acls(cluster).filter((l) => l.includes('PVETemplateUser'))).toEqual([8700, 8711, 8712].map((id) => `pveum acl modify /vms/${id} --users $U --roles PVETemplateUser`));
    // local-lvm holds a template on each node: checked on all three, once.
    expect(storageCheck(proxmoxBlock(cluster)).filter((l) => l.startsWith('for node in'))).toEqual([
      'for node in K8S0 K8S1 K8S2; do check_storage "$node" local iso; check_storage "$node" local-lvm images; done',
    ]);
    expect(danglingLinksOf(written([cluster]))).toEqual([]);
  });

  test('runbooks with pools and spread pools: links resolve, no STACK.md citation, every block placed', () => {
    for (const cluster of [build({ pool: 'k8s-homelab' }), build({}, [{ ...DEFAULT_POOL, pool: 'k8s-workers', spread: { nodes: NODES } }])]) {
      const files = written([cluster]);
      expect(danglingLinksOf(files)).toEqual([]);
      for (const text of files.values()) {
        expect(text).not.toMatch(/STACK\.md|\.\.\/shared/);
        expect(citations(text)).toEqual([]);
        expect(leads(text).filter((l) => l !== WORKSTATION && !l.startsWith('In a root shell on the Proxmox node '))).toEqual([]);
      }
    }
  });
});
