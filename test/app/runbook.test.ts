import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, relative, resolve } from 'path';
import { LONGHORN_EXTENSIONS, ProxmoxWorkerPool, STACK_VERSIONS, TalosCluster, TalosClusterProps } from '../../lib';
import { clusterRunbook, managementRunbook } from '../../lib/app/runbook';
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

/** The runbook's sections by heading (`## n. title`), each with its lines. */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) out.set(line, current = []);
    else current?.push(line);
  }
  return out;
}

/** The one section whose heading ends with `title`. */
function section(text: string, title: string): string[] {
  const found = [...sections(text)].filter(([h]) => h.endsWith(`. ${title}`));
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

/** Where a block runs, as the runbook says it on the line before the block. */
const WORKSTATION = 'On your workstation, in this repository:';
const onNode = (node: string, why: string) => `In a root shell on the Proxmox node \`${node}\` (${why}):`;
const TEMPLATE_NODE = (node: string) => onNode(node, 'the template\'s `sourceNode`');
const ANY_NODE = (node: string) => onNode(node, 'or any other node of the Proxmox VE cluster: users, ACLs and storages are cluster-wide');
const CHECK_NODE = (node: string) => onNode(node, 'any node will do: `pvesh` answers for every node');

/** For each shell block of a text, the line that precedes it (a blank line between), in order. */
function leads(text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((l, i) => (l === '```sh' ? [i >= 2 && lines[i - 1] === '' ? lines[i - 2] : `(no lead before line ${i + 1})`] : []));
}

/** The repository's root, and the folder a runbook of `cluster` is written to (its links are relative to it). */
const ROOT = resolve(__dirname, '../..');

/** GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** Every markdown link of a runbook that does not resolve inside the repository from dist/<cluster>/. */
function danglingLinks(text: string, cluster: string): string[] {
  const dir = join(ROOT, 'dist', cluster);
  const outside = (target: string) => target.startsWith('http') || target.startsWith('mailto:');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((target) => {
    if (outside(target)) return false;
    const [path, fragment] = target.split('#');
    const file = resolve(dir, path);
    if (relative(ROOT, file).startsWith('..') || !existsSync(file)) return true;
    if (fragment === undefined) return false;
    const headings = readFileSync(file, 'utf8').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, '')));
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

describe('clusterRunbook of the homelab cluster', () => {
  const text = clusterRunbook(homelab(), OPTIONS);

  test('heading, do-not-edit line, facts, then the five steps in order', () => {
    expect(text.startsWith('# Runbook: homelab\n\nGenerated by `cdk8s synth` from `clusters/homelab.yaml`; do not edit.')).toBe(true);
    expect(text).toContain('- namespace `default`, Kubernetes v1.35.4, Talos v1.13.9\n');
    expect(text).toContain('- VIP `192.168.0.30:6443`, node addresses `192.168.0.20-192.168.0.29`, bridge `vmbr0`\n');
    expect(text).toContain('- Proxmox nodes `K8S0`; ISO storage `local`; credentials: Secret `homelab-proxmox`\n');
    expect([...sections(text).keys()]).toEqual([
      '## 1. Management cluster',
      '## 2. Proxmox API user and token',
      '## 3. Talos template VM',
      '## 4. Apply and verify',
    ]);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter((l) => / $/.test(l))).toEqual([]);
  });

  test('the management cluster is set up once, by its own runbook: step 1 links to it and says what this cluster needs of it', () => {
    const lines = section(text, 'Management cluster');
    expect(blocks(lines)).toEqual([]);
    expect(lines.join(' ')).toContain('[the management runbook](../management/RUNBOOK.md)');
    expect(lines.join(' ')).toMatch(/node addresses `192\.168\.0\.20-192\.168\.0\.29` \(Talos API, TCP 50000\) and the VIP `192\.168\.0\.30:6443`/);
    expect(text).not.toMatch(/^clusterctl init/m);
    expect(text).not.toContain('kind create cluster');
  });

  test('Proxmox: a user per cluster, least-privilege ACLs on its nodes, template VM, bridge and configured storages, then its Secret', () => {
    const sh = blocks(section(text, 'Proxmox API user and token'));
    expect(sh[0]).toEqual([
      'pveum user add capmox-homelab@pve --comment \'CAPMOX, cluster homelab\'',
      'pveum role add CapmoxSysAudit --privs Sys.Audit   # once per Proxmox cluster',
      'pveum acl modify / --users capmox-homelab@pve --roles CapmoxSysAudit --propagate 0',
      'pveum acl modify /nodes/K8S0 --users capmox-homelab@pve --roles CapmoxSysAudit',
      'pveum acl modify /vms --users capmox-homelab@pve --roles PVEVMAdmin',
      'pveum acl modify /vms/8700 --users capmox-homelab@pve --roles PVETemplateUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr0 --users capmox-homelab@pve --roles PVESDNUser',
      'pveum acl modify /storage/local --users capmox-homelab@pve --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/local-lvm --users capmox-homelab@pve --roles PVEDatastoreUser',
      'pveum user token add capmox-homelab@pve capi --privsep 0   # prints the token secret once',
    ]);
    // The storages come from the config: nothing is left to adapt.
    expect(text).not.toContain('STORAGE=');
    expect(text).not.toMatch(/adapt: .*storage/i);
    // Every allowed node has the ISO storage; the node-local template disk is checked on its node.
    expect(sh[1]).toEqual([
      'for node in K8S0; do',
      '  s=$(pvesh get "/nodes/$node/storage/local/status" --output-format json 2>/dev/null)',
      '  echo "$s" | grep -q \'"active":1\' && echo "$s" | grep -Eq \'"content":"[^"]*iso\' \\',
      '    || echo "MISSING: node $node has no active storage local with content iso" >&2',
      'done',
      'for node in K8S0; do',
      '  s=$(pvesh get "/nodes/$node/storage/local-lvm/status" --output-format json 2>/dev/null)',
      '  echo "$s" | grep -q \'"active":1\' && echo "$s" | grep -Eq \'"content":"[^"]*images\' \\',
      '    || echo "MISSING: node $node has no active storage local-lvm with content images" >&2',
      'done',
    ]);
    expect(sh[2]).toContain('export PROXMOX_TOKEN=\'capmox-homelab@pve!capi\'');
    expect(sh[2][sh[2].length - 1]).toBe('npm run credentials -- homelab');
    // pveum on a node, npm on the workstation: separate blocks, each after its own lead line.
    expect(sh[0].some((l) => l.startsWith('npm ') || l.startsWith('export '))).toBe(false);
  });

  test('one template VM, 8700 on K8S0, from the schematic of its users', () => {
    const lines = section(text, 'Talos template VM');
    expect(lines.filter((l) => l.startsWith('### '))).toEqual(['### Template VM 8700 on K8S0']);
    expect(lines).toContain(`Used by the control plane and pool \`default\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`. Schematic \`${AGENT_ID}\`:`);
    const yaml = ['customization:', '    systemExtensions:', '        officialExtensions:', '            - siderolabs/qemu-guest-agent'];
    expect(blocks(lines, 'yaml')).toEqual([yaml]);
    const [factory, build] = blocks(lines);
    expect(factory).toEqual(['curl -fsS -X POST --data-binary @- https://factory.talos.dev/schematics <<\'EOF\'', ...yaml, 'EOF']);
    expect(lines).toContain(TEMPLATE_NODE('K8S0'));
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
    expect(lines.join('\n')).toContain('Disk on node-local storage `local-lvm`: every clone stays on `K8S0`.');
  });

  test('apply and verify: waits, kubeconfig, providerIDs, Machines with nodeRef, talosconfig and etcd', () => {
    const sh = commands(section(text, 'Apply and verify'));
    // The shared add-on renders the cluster uses first (its Cluster's labels select them), then its folder.
    expect(sh).toEqual([
      expect.stringMatching(/^kubectl apply --server-side -f dist\/_addons\/default\/talos-ccm-[0-9a-f]{10}\.k8s\.yaml$/),
      expect.stringMatching(/^kubectl apply --server-side -f dist\/_addons\/default\/cilium-[0-9a-f]{10}\.k8s\.yaml$/),
      expect.stringMatching(/^kubectl apply --server-side -f dist\/_addons\/default\/cilium-jobs-[0-9a-f]{10}\.k8s\.yaml$/),
      'kubectl apply --server-side -f dist/homelab/',
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
    expect(section(text, 'Apply and verify').join('\n')).toContain('`proxmox://<uuid>`');
  });

  test('no Longhorn section without a Longhorn pool', () => {
    expect(text).not.toContain('Longhorn');
  });

  test('step 3 writes the credentials encrypted into secrets/ or in plain text outside the repository only', () => {
    expect(text).toContain('the command writes it encrypted to `secrets/homelab/proxmox-credentials.sops.yaml`:');
    expect(text).toContain('it writes plain text outside the repository only\n(`~/.config/cdk8s-talos-proxmox/homelab/`, or `--out`)');
  });

  test('every shell block says where it runs: the workstation, any node for pveum, the source node for qm', () => {
    expect(leads(text)).toEqual([
      ANY_NODE('K8S0'), // pveum
      CHECK_NODE('K8S0'), // storages of every node
      WORKSTATION, // CA copy and npm run credentials, split from pveum since they need the repository
      WORKSTATION, // Image Factory check
      TEMPLATE_NODE('K8S0'),
      WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION, // apply, waits, VIP from kind, providerIDs, etcd
    ]);
    expect(text).not.toContain('Run as root on');
  });

  test('the Proxmox CA is copied from a node of the cluster to the workstation before npm run credentials', () => {
    const sh = blocks(section(text, 'Proxmox API user and token'))[2];
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
    expect(text).toContain('[the project README](../../README.md#proxmox-credentials), section "Proxmox credentials"');
    expect(text).toContain('[the project README](../../README.md#day-0-create-the-management-cluster-and-prepare-proxmox)');
    // "README" alone would be the diagram beside the runbook, dist/homelab/README.md.
    expect(text.replace(/\[the project README\]\(\.\.\/\.\.\/README\.md#[a-z0-9-]+\)/g, '')).not.toContain('README');
  });

  test('byte-identical across constructions and calls', () => {
    expect(clusterRunbook(homelab(), OPTIONS)).toBe(text);
  });
});

describe('clusterRunbook follows the cluster', () => {
  test('an image without the QEMU guest agent: no --agent on the template VM', () => {
    const text = clusterRunbook(homelab({ talos: { extensions: [] } }), OPTIONS);
    const lines = section(text, 'Talos template VM');
    expect(blocks(lines, 'yaml')).toEqual([['customization: {}']]);
    expect(lines).toContain(`Used by the control plane and pool \`default\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`. Schematic \`${EMPTY_ID}\`:`);
    const qm = commands(lines).filter((l) => l.startsWith('qm create '));
    expect(qm).toEqual(['qm create 8700 --name talos-v1-13-9-37656798 --ostype l26 --machine q35 --cpu host --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb --scsihw virtio-scsi-pci --net0 virtio,bridge=vmbr0']);
    expect(text).not.toContain('--agent enabled');
    expect(text).toContain(`https://factory.talos.dev/image/${EMPTY_ID}/v1.13.9/nocloud-amd64.raw.xz`);
  });

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
      'pveum acl modify /sdn/zones/localnetwork/vmbr0 --users capmox-homelab@pve --roles PVESDNUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr1 --users capmox-homelab@pve --roles PVESDNUser',
    ]);
    // The default pool may land on both nodes, so both bridges are checked on both.
    expect(blocks(steps).find((b) => b[1].includes('/network/'))).toEqual([
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
    expect(text).toContain('credentials: the provider\'s global credentials');
    expect(leads(text)).toEqual([
      ANY_NODE('pve-a'), CHECK_NODE('pve-a'),
      WORKSTATION, TEMPLATE_NODE('pve-a'),
      WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION,
    ]);
    expect(danglingLinks(text, 'lab')).toEqual([]);
    expect(citations(text)).toEqual([]);
    // The guard names this cluster's template VM.
    expect(commands(section(text, 'Talos template VM')).map((l) => l.trim())).toContain('if ! pvesh get /cluster/nextid --vmid 9100 >/dev/null 2>&1; then');
    expect(commands(section(text, 'Talos template VM'))).toContain('qm set 9100 --scsi0 nvme-thin:0,import-from="$IMAGE"');
    const pveum = commands(section(text, 'Proxmox API user and token')).filter((l) => l.startsWith('pveum acl'));
    expect(pveum).toEqual([
      'pveum acl modify / --users capmox@pve --roles CapmoxSysAudit --propagate 0',
      'pveum acl modify /nodes/pve-a --users capmox@pve --roles CapmoxSysAudit',
      'pveum acl modify /vms --users capmox@pve --roles PVEVMAdmin',
      'pveum acl modify /vms/9100 --users capmox@pve --roles PVETemplateUser',
      'pveum acl modify /sdn/zones/localnetwork/vmbr7 --users capmox@pve --roles PVESDNUser',
      'pveum acl modify /storage/isos --users capmox@pve --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/nvme-thin --users capmox@pve --roles PVEDatastoreUser',
    ]);
    const templates = section(text, 'Talos template VM');
    expect(templates.filter((l) => l.startsWith('### '))).toEqual(['### Template VM 9100 on pve-a']);
    expect(commands(templates).find((l) => l.startsWith('qm create '))).toMatch(/^qm create 9100 .* --net0 virtio,bridge=vmbr7 --agent enabled=1$/);
    // The only allowed node holds the template: no shared storage needed, none checked.
    expect(text).not.toContain('NOT SHARED');
    expect(commands(section(text, 'Apply and verify'))).toContain('kubectl wait -n clusters taloscontrolplanes.controlplane.cluster.x-k8s.io/lab-control-plane --for=condition=Ready --timeout=30m');
    expect(text).toContain('Generated by `cdk8s synth` from `clusters/lab.yaml`');
    expect(text).toContain('kubectl apply --server-side -f dist/lab/');
  });

  test('a control plane with its own template VM on shared storage, spread over three nodes; a pool pinned to its node-local template', () => {
    const cluster = new TalosCluster(newChart(), 'Cluster', homelabProps({
      proxmox: { ...homelabProps().proxmox, allowedNodes: ['K8S0', 'K8S1', 'K8S2'], template: templateVm(8710, { sourceNode: 'K8S1', storage: SHARED_STORAGE }) },
      workers: [{ ...DEFAULT_POOL, allowedNodes: ['K8S0'], template: templateVm(8700) }],
    }));
    const text = clusterRunbook(cluster, OPTIONS);
    const lines = section(text, 'Talos template VMs');
    expect(lines.filter((l) => l.startsWith('### ') || l.startsWith('Used by '))).toEqual([
      '### Template VM 8710 on K8S1',
      `Used by the control plane. Disk on shared storage \`ceph-vm\`, so CAPMOX may clone it on \`K8S0\` and \`K8S2\` too. Schematic \`${AGENT_ID}\`:`,
      '### Template VM 8700 on K8S0',
      `Used by the pool \`default\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`. Schematic \`${AGENT_ID}\`:`,
    ]);
    // The shared storage is checked on every node its clones may land on, and for the shared flag.
    const check = blocks(section(text, 'Proxmox API user and token'))[1];
    expect(check).toContain('for node in K8S0 K8S1 K8S2; do');
    expect(check).toContain('  echo "$s" | grep -q \'"shared":1\' || echo "NOT SHARED: storage ceph-vm on node $node; clones to other nodes will fail" >&2');
    expect(check.filter((l) => l.startsWith('for node in'))).toEqual(['for node in K8S0 K8S1 K8S2; do', 'for node in K8S0 K8S1 K8S2; do', 'for node in K8S0; do']);
    const acl = commands(section(text, 'Proxmox API user and token')).filter((l) => l.includes('PVETemplateUser'));
    expect(acl).toEqual([
      'pveum acl modify /vms/8710 --users capmox-homelab@pve --roles PVETemplateUser',
      'pveum acl modify /vms/8700 --users capmox-homelab@pve --roles PVETemplateUser',
    ]);
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
    const templates = section(text, 'Talos template VMs');
    expect(templates.filter((l) => l.startsWith('### ') || l.startsWith('Used by '))).toEqual([
      '### Template VM 8700 on K8S0',
      `Used by the control plane and pool \`default\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`. Schematic \`${AGENT_ID}\`:`,
      '### Template VM 8701 on K8S0',
      `Used by the pool \`storage\`. Disk on node-local storage \`local-lvm\`: every clone stays on \`K8S0\`. Schematic \`${id}\`:`,
    ]);
    expect(blocks(templates, 'yaml')[1]).toEqual([
      'customization:', '    systemExtensions:', '        officialExtensions:',
      '            - siderolabs/qemu-guest-agent', '            - siderolabs/iscsi-tools', '            - siderolabs/util-linux-tools',
    ]);
    expect(commands(templates)).toContain(`curl -fL -o "$IMAGE.xz" https://factory.talos.dev/image/${id}/v1.13.9/nocloud-amd64.raw.xz`);
    expect(commands(templates).filter((l) => l.startsWith('qm template '))).toEqual(['qm template 8700', 'qm template 8701']);
    expect(commands(section(text, 'Proxmox API user and token'))).toContain('pveum acl modify /vms/8701 --users capmox-homelab@pve --roles PVETemplateUser');

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
    expect(leads(text)).toEqual([
      ANY_NODE('K8S0'), CHECK_NODE('K8S0'),
      WORKSTATION,
      WORKSTATION, TEMPLATE_NODE('K8S0'), // 8700
      WORKSTATION, TEMPLATE_NODE('K8S0'), // 8701
      WORKSTATION, // Longhorn namespace
      WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION, WORKSTATION,
    ]);
    // Each template VM has its own guard, before its own qm create.
    const trimmed = commands(templates).map((l) => l.trim());
    for (const id of [8700, 8701]) {
      expect(trimmed.indexOf(`if ! pvesh get /cluster/nextid --vmid ${id} >/dev/null 2>&1; then`))
        .toBeLessThan(trimmed.findIndex((l) => l.startsWith(`qm create ${id} `)));
    }
    expect(danglingLinks(text, 'homelab')).toEqual([]);
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
    const text = clusterRunbook(cluster, OPTIONS);
    const lines = section(text, 'Talos template VM');
    expect(lines.filter((l) => l.startsWith('### '))).toEqual(['### Template VM 8700 on K8S0']);
    expect(lines).toContain(`> **CONFLICT: one template VM, two images.** the pool \`gpu\` boots schematic \`${rogue.schematic.id}\`,`);
    expect(lines).toContain(`> ${rogue.schematic.diskImageUrl('v1.13.9')}`);
    // Built from the first user's image only.
    expect(commands(lines).filter((l) => l.startsWith('curl -fL '))).toEqual([`curl -fL -o "$IMAGE.xz" https://factory.talos.dev/image/${AGENT_ID}/v1.13.9/nocloud-amd64.raw.xz`]);
  });
});

describe('managementRunbook: once per management cluster, for every cluster of the repository', () => {
  const lab = homelab({ name: 'lab', proxmox: { ...homelabProps().proxmox, credentialsSecret: undefined }, network: {
    ...homelabProps().network, endpoint: '192.168.1.30', addresses: ['192.168.1.20-192.168.1.29'], gateway: '192.168.1.254',
  } });
  const clusters = [homelab(), lab];
  const sourceFiles = new Map([['homelab', 'clusters/homelab.yaml'], ['lab', 'clusters/lab.yaml']]);
  const text = managementRunbook(clusters, { sourceFiles });

  test('kind, the pinned providers and the GitOps agent, in that order, each block on the workstation', () => {
    expect(text.startsWith('# Runbook: management cluster\n')).toBe(true);
    expect([...sections(text).keys()]).toEqual(['## 1. Management cluster with kind', '## 2. Cluster API providers', '## 3. GitOps agent']);
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

  test('every cluster is listed with its runbook, its node addresses and its VIP', () => {
    expect(text).toContain('- [homelab](../homelab/RUNBOOK.md), from `clusters/homelab.yaml`');
    expect(text).toContain('- [lab](../lab/RUNBOOK.md), from `clusters/lab.yaml`');
    expect(text).toContain('- lab (namespace `default`): nodes `192.168.1.20-192.168.1.29`, VIP `192.168.1.30:6443`');
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
  // The committed runbooks, as a reader finds them on GitHub or in a clone: links relative to dist/<cluster>/.
  const runbooks = readdirSync(join(ROOT, 'dist'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'dist', d.name, 'RUNBOOK.md')))
    .map((d) => [d.name, readFileSync(join(ROOT, 'dist', d.name, 'RUNBOOK.md'), 'utf8')] as const);

  test('exist', () => {
    expect(runbooks.map(([name]) => name)).toEqual(expect.arrayContaining(['homelab', 'management']));
  });

  test.each(runbooks)('%s: every link resolves inside the repository, no STACK.md citation, every block placed', (name, text) => {
    expect(danglingLinks(text, name)).toEqual([]);
    expect(citations(text)).toEqual([]);
    expect(leads(text).filter((l) => l !== WORKSTATION && !l.startsWith('In a root shell on the Proxmox node '))).toEqual([]);
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
  const acls = (cluster: TalosCluster) => blocks(section(clusterRunbook(cluster, OPTIONS), 'Proxmox API user and token'))[0];

  test('a pool named on proxmox: the pool is created when missing, PVEVMAdmin on /pool/<pool> and not on /vms', () => {
    const lines = acls(build({ pool: 'k8s-homelab' }));
    expect(lines).toContain('pveum pool list --output-format json | grep -q \'"poolid":"k8s-homelab"\' '
      + '|| pveum pool add k8s-homelab --comment \'CAPMOX clones of cluster homelab\'');
    expect(lines).toContain('pveum acl modify /pool/k8s-homelab --users capmox-homelab@pve --roles PVEVMAdmin');
    expect(lines.filter((l) => l.includes('PVEVMAdmin'))).toEqual(['pveum acl modify /pool/k8s-homelab --users capmox-homelab@pve --roles PVEVMAdmin']);
    // The pool exists before any grant on it.
    expect(lines.findIndex((l) => l.startsWith('pveum pool list'))).toBeLessThan(lines.findIndex((l) => l.includes('/pool/k8s-homelab')));
    const text = section(clusterRunbook(build({ pool: 'k8s-homelab' }), OPTIONS), 'Proxmox API user and token').join('\n');
    expect(text).toContain('- `/pool/k8s-homelab`, not `/vms`: every machine template names a Proxmox pool');
    expect(text).not.toContain('`/vms`, not a pool');
  });

  test('a pool on one machine set only: /vms stays for the others, and the note says why', () => {
    const cluster = build({}, [{ ...DEFAULT_POOL, pool: 'k8s-workers' }]);
    expect(acls(cluster).filter((l) => l.includes('PVEVMAdmin'))).toEqual([
      'pveum acl modify /vms --users capmox-homelab@pve --roles PVEVMAdmin',
      'pveum acl modify /pool/k8s-workers --users capmox-homelab@pve --roles PVEVMAdmin',
    ]);
    expect(section(clusterRunbook(cluster, OPTIONS), 'Proxmox API user and token').join('\n'))
      .toContain('The machine sets without a pool still need `PVEVMAdmin` on `/vms`.');
  });

  test('a clone storage: PVEDatastoreUser on it instead of the template\'s storage, checked for images on the nodes its clones land on', () => {
    const cluster = build({ cloneStorage: { name: 'ceph-fast', shared: true } });
    const lines = acls(cluster);
    expect(lines.filter((l) => l.includes('PVEDatastore'))).toEqual([
      'pveum acl modify /storage/local --users capmox-homelab@pve --roles PVEDatastoreAdmin',
      'pveum acl modify /storage/ceph-fast --users capmox-homelab@pve --roles PVEDatastoreUser',
    ]);
    const check = blocks(section(clusterRunbook(cluster, OPTIONS), 'Proxmox API user and token'))[1].join('\n');
    expect(check).toContain('for node in K8S0 K8S1 K8S2; do\n  s=$(pvesh get "/nodes/$node/storage/ceph-fast/status" --output-format json 2>/dev/null)');
    expect(check).toContain('NOT SHARED: storage ceph-fast on node $node');
    // Linked clones, and full clones without a clone storage, are written to the template's storage.
    const mixed = build({}, [{ ...DEFAULT_POOL, cloneStorage: { name: 'ceph-fast', shared: true } }, { ...DEFAULT_POOL, name: 'linked', full: false }]);
    expect(acls(mixed).filter((l) => l.includes('PVEDatastoreUser'))).toEqual([
      'pveum acl modify /storage/ceph-vm --users capmox-homelab@pve --roles PVEDatastoreUser',
      'pveum acl modify /storage/ceph-fast --users capmox-homelab@pve --roles PVEDatastoreUser',
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
    const text = clusterRunbook(cluster, OPTIONS);
    const templates = section(text, 'Talos template VMs');
    expect(templates.filter((l) => l.startsWith('### '))).toEqual(['### Template VM 8700 on K8S0', '### Template VM 8711 on K8S1', '### Template VM 8712 on K8S2']);
    expect(templates.join('\n')).toContain('Used by the control plane and pool `default` on `K8S0`. Disk on node-local storage `local-lvm`: every clone stays on `K8S0`.');
    expect(templates.join('\n')).toContain('Used by the pool `default` on `K8S1`. Disk on node-local storage `local-lvm`: every clone stays on `K8S1`.');
    expect(leads(text)).toContain(TEMPLATE_NODE('K8S2'));
    expect(acls(cluster).filter((l) => l.includes('PVETemplateUser'))).toEqual([8700, 8711, 8712].map((id) => `pveum acl modify /vms/${id} --users capmox-homelab@pve --roles PVETemplateUser`));
    // local-lvm holds a template on each node: checked on all three, once.
    const check = blocks(section(text, 'Proxmox API user and token'))[1];
    expect(check.filter((l) => l.startsWith('for node in'))).toEqual(['for node in K8S0 K8S1 K8S2; do', 'for node in K8S0 K8S1 K8S2; do']);
    expect(check[6]).toBe('  s=$(pvesh get "/nodes/$node/storage/local-lvm/status" --output-format json 2>/dev/null)');
  });

  test('runbooks with pools and spread pools: links resolve, no STACK.md citation, every block placed', () => {
    for (const cluster of [build({ pool: 'k8s-homelab' }), build({}, [{ ...DEFAULT_POOL, pool: 'k8s-workers', spread: { nodes: NODES } }])]) {
      const text = clusterRunbook(cluster, OPTIONS);
      expect(danglingLinks(text, 'homelab')).toEqual([]);
      expect(text).not.toMatch(/STACK\.md|\.\.\/shared/);
      expect(citations(text)).toEqual([]);
      expect(leads(text).filter((l) => l !== WORKSTATION && !l.startsWith('In a root shell on the Proxmox node '))).toEqual([]);
    }
  });
});
