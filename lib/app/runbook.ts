import { ProxmoxMachineTemplate, TemplateStorage, TemplateVm } from '../constructs/proxmox-machine-template';
import { TalosCluster } from '../constructs/talos-cluster';
import { joinList as list } from '../core/errors';
import { ADDONS_OUTPUT, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL } from '../core/naming';
import { API, STACK_VERSIONS } from '../core/stack';
import { LONGHORN_DATA_PATH } from '../talos/machine-config';
import { LONGHORN_EXTENSIONS, QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';

/** What {@link clusterRunbook} needs besides the cluster. */
export interface ClusterRunbookOptions {
  /** The config file the cluster was synthesized from, named in the do-not-edit line. */
  readonly sourceFile: string;
}

/** Name of the kind management cluster the runbook creates (its kubectl context is `kind-<name>`). */
export const MANAGEMENT_CLUSTER_NAME = 'capi-management';

/** Namespace Longhorn installs into; Talos's baseline pod security must be lifted there (STACK.md §6). */
export const LONGHORN_NAMESPACE = 'longhorn-system';

/** The one image a machine set boots, and where its template VM is. */
interface TemplateVmUser {
  /** `control plane`, ``pool `default` `` (markdown). */
  readonly what: string;
  readonly schematic: Schematic;
}

/** A Proxmox template VM and the machine sets cloned from it, in the order they were added. */
interface TemplateVmUsers {
  /** The template VM as the first machine set declares it (synth made the others agree). */
  readonly vm: TemplateVm;
  readonly users: TemplateVmUser[];
  /** Every node CAPMOX may clone it on, in the cluster's node order. */
  readonly nodes: string[];
}

/**
 * A value as one shell word: unchanged when it holds only characters no shell treats specially,
 * else single-quoted. Names come from config files, and a pasted command must not split or expand them.
 */
function sh(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, '\'\\\'\'')}'`;
}

/** Text as a markdown inline code span, with a fence longer than any backtick run inside it. */
function code(text: string): string {
  if (!text.includes('`')) return `\`${text}\``;
  const fence = '`'.repeat(Math.max(...(text.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  return `${fence} ${text} ${fence}`;
}

/** A fenced block; the fence outgrows any backtick run of the content, so no content can close it early. */
function block(lang: string, lines: readonly string[]): string[] {
  const longest = Math.max(0, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((run) => run.length)));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${lang}`, ...lines, fence];
}


/**
 * Where the next command block runs, said right before it: the runbook switches between the Proxmox
 * nodes (pveum, qm) and the workstation (kind, clusterctl, kubectl, talosctl, npm), and a block pasted
 * into the wrong shell fails, or worse, half succeeds.
 */
const WORKSTATION = 'On your workstation, in this repository:';

/** The lead line of a block that runs in a root shell on a Proxmox node. */
function onNode(node: string, why: string): string {
  return `In a root shell on the Proxmox node ${code(node)} (${why}):`;
}

/** The project README, from dist/<folder>/RUNBOOK.md; "README" alone would be the diagram beside it. */
function projectReadme(anchor: string, title: string): string {
  return `[the project README](../../README.md#${anchor}), section "${title}"`;
}

/** A heredoc whose delimiter occurs in no line of the body, so the body is taken verbatim. */
function heredoc(command: string, body: readonly string[]): string[] {
  let delimiter = 'EOF';
  while (body.includes(delimiter)) delimiter = `${delimiter}_`;
  return [`${command} <<'${delimiter}'`, ...body, delimiter];
}

/** Every template VM the cluster clones from: the control plane's first, then the pools' in order. */
function templateVms(cluster: TalosCluster): TemplateVmUsers[] {
  const vms: TemplateVmUsers[] = [];
  const add = (template: ProxmoxMachineTemplate, user: TemplateVmUser) => {
    const nodes = template.allowedNodes ?? cluster.allowedNodes;
    let vm = vms.find((v) => v.vm.templateId === template.template.templateId);
    if (!vm) {
      vm = { vm: template.template, users: [], nodes: [] };
      vms.push(vm);
    }
    vm.users.push(user);
    vm.nodes.push(...nodes.filter((n) => !vm.nodes.includes(n)));
    vm.nodes.sort((a, b) => cluster.allowedNodes.indexOf(a) - cluster.allowedNodes.indexOf(b));
  };
  add(cluster.controlPlaneTemplate, { what: 'control plane', schematic: cluster.schematic });
  for (const pool of cluster.workerPools) {
    for (const d of pool.deployments) {
      add(d.machineTemplate, { what: `pool ${code(pool.poolName)}${d.node !== undefined ? ` on ${code(d.node)}` : ''}`, schematic: pool.schematic });
    }
  }
  return vms;
}

/** A Proxmox bridge the cluster's NICs attach to, with what they need of it on the nodes they may land on. */
interface BridgeUse {
  readonly bridge: string;
  /** Nodes whose copy of the bridge is used, in `proxmox.allowedNodes` order. */
  readonly nodes: string[];
  /** VLAN tags used on it (the bridge must then be VLAN-aware). */
  readonly vlans: number[];
  /** MTUs set on its NICs (the bridge's must be at least the largest). */
  readonly mtus: number[];
}

/** The bridges of every machine set's NICs: the primary one first, then the extra NICs' in order. */
function bridgeUses(cluster: TalosCluster): BridgeUse[] {
  const uses: BridgeUse[] = [];
  const sets = [
    { network: cluster.network, nodes: cluster.controlPlaneTemplate.allowedNodes ?? cluster.allowedNodes },
    ...cluster.workerPools.map((p) => ({ network: p.network, nodes: p.machineTemplate.allowedNodes ?? cluster.allowedNodes })),
  ];
  for (const { network, nodes } of sets) {
    const nics = [{ bridge: network.bridge, vlan: network.vlan, mtu: network.mtu }, ...network.extraNics.map((n) => n.options)];
    for (const nic of nics) {
      let use = uses.find((u) => u.bridge === nic.bridge);
      if (!use) {
        use = { bridge: nic.bridge, nodes: [], vlans: [], mtus: [] };
        uses.push(use);
      }
      use.nodes.push(...nodes.filter((n) => !use.nodes.includes(n)));
      use.nodes.sort((a, b) => cluster.allowedNodes.indexOf(a) - cluster.allowedNodes.indexOf(b));
      if (nic.vlan !== undefined && !use.vlans.includes(nic.vlan)) use.vlans.push(nic.vlan);
      if (nic.mtu !== undefined && !use.mtus.includes(nic.mtu)) use.mtus.push(nic.mtu);
    }
  }
  return uses;
}

/** Whether the cluster uses a network option beyond one untagged NIC (the runbook then checks the bridges). */
function usesNetworkOptions(uses: readonly BridgeUse[]): boolean {
  return uses.length > 1 || uses.some((u) => u.vlans.length > 0 || u.mtus.length > 0);
}

/**
 * A check, pasted on any node, that each bridge exists on every node its machines may land on, is
 * VLAN-aware where a NIC on it is tagged (Proxmox tags a NIC only on a VLAN-aware Linux bridge),
 * and has an MTU at least that of its NICs (absent means 1500): `pvesh` answers for any node, and
 * the interface's config has `bridge_vlan_aware` and `mtu`.
 */
function bridgeChecks(uses: readonly BridgeUse[]): string[] {
  return uses.flatMap(({ bridge, nodes, vlans, mtus }) => {
    const mtu = mtus.length > 0 ? Math.max(...mtus) : undefined;
    return [
      `for node in ${nodes.map(sh).join(' ')}; do`,
      `  b=$(pvesh get "/nodes/$node/network/${bridge}" --output-format json 2>/dev/null) \\`,
      `    || { echo "MISSING: node $node has no bridge ${bridge}" >&2; continue; }`,
      ...(vlans.length > 0 ? [
        `  echo "$b" | grep -q '"bridge_vlan_aware":1' \\`,
        `    || echo "NOT VLAN-AWARE: bridge ${bridge} on node $node; VLAN ${vlans.join(', ')} needs bridge-vlan-aware yes" >&2`,
      ] : []),
      ...(mtu !== undefined ? [
        `  m=$(echo "$b" | grep -Eo '"mtu":"?[0-9]+' | grep -Eo '[0-9]+$'); [ "\${m:-1500}" -ge ${mtu} ] \\`,
        `    || echo "MTU: bridge ${bridge} on node $node has MTU \${m:-1500}; its NICs use ${mtu}" >&2`,
      ] : []),
      'done',
    ];
  });
}

/** The facts lines of the cluster's network options, when it uses any (none for one untagged IPv4 NIC). */
function networkFacts(cluster: TalosCluster): string[] {
  const n = cluster.network;
  const tagMtu = (o: { vlan?: number; mtu?: number }) => [
    ...(o.vlan !== undefined ? [`VLAN ${o.vlan}`] : []), ...(o.mtu !== undefined ? [`MTU ${o.mtu}`] : []),
  ];
  const net0 = tagMtu(n);
  return [
    ...(cluster.ipv6 ? [`- IPv6 node addresses ${cluster.ipv6.addresses.map(code).join(', ')}, gateway ${code(cluster.ipv6.gateway)}`] : []),
    ...(net0.length > 0 ? [`- \`net0\`: ${net0.join(', ')}`] : []),
    ...n.extraNics.map((nic) => `- ${code(nic.device)} ${code(nic.options.name)} on ${code(nic.options.bridge)}: `
      + `${[...tagMtu(nic.options), `addresses ${nic.options.addresses.map(code).join(', ')}`].join(', ')} (IPAM pool ${code(nic.ipPoolName)})`),
  ];
}

/** The VM's name in Proxmox: Talos release and schematic, so a glance at the VM list tells the images apart. */
function templateVmName(talosVersion: string, schematic: Schematic): string {
  return `talos-${talosVersion.replace(/\./g, '-')}-${schematic.id.slice(0, 8)}`;
}

/** Proxmox user of the global credentials, shared by every cluster without a Secret of its own. */
const GLOBAL_PROXMOX_USER = 'capmox@pve';

/** Proxmox user of the API token: one per cluster with its own Secret, one shared by the global credentials. */
function proxmoxUser(cluster: TalosCluster): string {
  return cluster.credentialsSecret !== undefined ? `capmox-${cluster.clusterName}@pve` : GLOBAL_PROXMOX_USER;
}

/** Name of the API token (`<user>!capi`), as README "Proxmox credentials" names it. */
const TOKEN_NAME = 'capi';

/** What {@link managementRunbook} needs besides the clusters. */
export interface ManagementRunbookOptions {
  /** Each cluster's source file, by cluster name, as the runbook names it. */
  readonly sourceFiles: ReadonlyMap<string, string>;
}

/** Where the management runbook is, from dist/<cluster>/RUNBOOK.md. */
const MANAGEMENT_RUNBOOK_LINK = '../management/RUNBOOK.md';

function kindSection(clusters: readonly TalosCluster[]): string[] {
  const config = `${MANAGEMENT_CLUSTER_NAME}.kind.yaml`;
  return [
    'Run kind on a host that reaches every cluster\'s node network: CACPPT talks to the Talos API of each',
    'control plane on TCP 50000, Cluster API reaches each API server through its VIP, and CAPMOX calls the',
    'Proxmox API (port 8006). The clusters of this repository:',
    '',
    ...clusters.map((c) => `- ${c.clusterName} (namespace ${code(c.namespace)}): nodes ${c.addresses.map(code).join(', ')}, VIP ${code(`${c.endpoint}:${c.endpointPort}`)}`),
    '',
    'The Talos bootstrap Secrets of each cluster live only in this cluster, so keep it (or back them up:',
    'each cluster\'s runbook, last step).',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      ...heredoc(`cat > ${config}`, [
        'kind: Cluster',
        'apiVersion: kind.x-k8s.io/v1alpha4',
        `name: ${MANAGEMENT_CLUSTER_NAME}`,
        'nodes:',
        '  - role: control-plane',
      ]),
      `kind create cluster --config ${config}`,
      `kubectl config use-context kind-${MANAGEMENT_CLUSTER_NAME}`,
    ]),
  ];
}

function providersSection(clusters: readonly TalosCluster[]): string[] {
  const v = STACK_VERSIONS;
  const init = [
    'clusterctl init \\',
    `  --core cluster-api:${v.clusterApi} \\`,
    `  --bootstrap talos:${v.cabpt} \\`,
    `  --control-plane talos:${v.cacppt} \\`,
    `  --infrastructure proxmox:${v.capmox} \\`,
    `  --ipam in-cluster:${v.ipamInCluster} \\`,
    '  --wait-providers',
    'kubectl get providers.clusterctl.cluster.x-k8s.io -A',
  ];
  const global = clusters.filter((c) => c.credentialsSecret === undefined);
  const link = (c: TalosCluster) => `[${c.clusterName}](../${c.clusterName}/RUNBOOK.md)`;
  const credentials = global.length > 0 ? [
    `${list(global.map(link))} ${global.length > 1 ? 'have' : 'has'} no credentials Secret, so CAPMOX uses its global credentials (Secret`,
    '`capmox-manager-credentials`, filled from these variables at init). They need the token of the user',
    `${code(GLOBAL_PROXMOX_USER)}: create it first (step 2 of ${global.length > 1 ? 'those runbooks' : 'that runbook'}).`,
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      'export PROXMOX_URL=https://<proxmox host>:8006     # adapt: no /api2/json',
      `export PROXMOX_TOKEN=${sh(`${GLOBAL_PROXMOX_USER}!${TOKEN_NAME}`)}`,
      'export PROXMOX_SECRET=\'<token secret>\'             # printed once by `pveum user token add`',
      ...init,
    ]),
  ] : [
    'Every cluster reads its token from a Secret of its own (the ProxmoxCluster\'s `credentialsRef`,',
    `${projectReadme('proxmox-credentials', 'Proxmox credentials')}), so run init without \`PROXMOX_*\``,
    'variables: no global credentials are installed.',
    '',
    WORKSTATION,
    '',
    ...block('sh', init),
  ];
  return [
    `The pinned providers, with clusterctl ${v.clusterApi}; all five are in clusterctl's built-in provider list under`,
    'these names.',
    '',
    ...credentials,
    '',
    'No `EXP_CLUSTER_RESOURCE_SET`: ClusterResourceSet is GA and its feature gate is gone in CAPI',
    '1.12, whatever the CAPMOX docs say.',
  ];
}

/**
 * The day-0 runbook of the management cluster, `dist/management/RUNBOOK.md`: what every workload
 * cluster needs once (kind, `clusterctl init` with the pinned providers, the GitOps agent); each
 * cluster's runbook links to it instead of repeating it.
 */
export function managementRunbook(clusters: readonly TalosCluster[], options: ManagementRunbookOptions): string {
  const sections = [
    { title: 'Management cluster with kind', body: kindSection(clusters) },
    { title: 'Cluster API providers', body: providersSection(clusters) },
    {
      title: 'GitOps agent',
      body: [
        `Install Flux or Fleet and apply its folder under \`dist/management/\` once, as ${projectReadme('how-dist-reaches-the-management-cluster', 'How dist/ reaches the management cluster')};`,
        'it then applies each cluster\'s folder. Without an agent, each cluster\'s runbook says what to apply.',
      ],
    },
  ];
  return [
    '# Runbook: management cluster',
    '',
    'Generated by `cdk8s synth` from the cluster files; do not edit. Day 0 of the management cluster, once,',
    'before the runbook of any workload cluster:',
    '',
    ...clusters.map((c) => `- [${c.clusterName}](../${c.clusterName}/RUNBOOK.md), from ${code(options.sourceFiles.get(c.clusterName) ?? '')}`),
    '',
    'Each command block says where it runs; here, all on your workstation, in a clone of this repository',
    'with `npm ci` done (kind, clusterctl, kubectl).',
    '',
    ...sections.flatMap((sec, i) => [`## ${i + 1}. ${sec.title}`, '', ...sec.body, '']),
  ].join('\n');
}

/** The storages a cluster's token needs, each once: the ISO storage, then the template disks' storages. */
function templateStorages(vms: readonly TemplateVmUsers[]): string[] {
  return [...new Set(vms.map((v) => v.vm.storage.name))];
}

/** One check per storage: a storage named twice (node-local templates on several nodes, a clone storage) is checked on every node named. */
function mergeStorageChecks(
  out: StorageCheck[], c: StorageCheck,
): StorageCheck[] {
  const i = out.findIndex((o) => o.storage === c.storage);
  if (i < 0) return [...out, c];
  const merged = { ...out[i], nodes: [...out[i].nodes, ...c.nodes.filter((n) => !out[i].nodes.includes(n))], shared: out[i].shared || c.shared };
  return out.map((o, k) => (k === i ? merged : o));
}

/** A storage, the content it must hold and the nodes it must be on. */
interface StorageCheck {
  readonly storage: string;
  readonly content: string;
  readonly nodes: readonly string[];
  readonly shared?: boolean;
}

/**
 * A check, pasted on any node, that each node has each storage active with the content type
 * CAPMOX or Proxmox needs there (and shared, where the config says so): `pvesh` answers for any
 * node of the Proxmox VE cluster, and the storage status has `content`, `active` and `shared`.
 */
function storageChecks(checks: readonly StorageCheck[]): string[] {
  return checks.flatMap(({ storage, content, nodes, shared }) => [
    `for node in ${nodes.map(sh).join(' ')}; do`,
    `  s=$(pvesh get "/nodes/$node/storage/${storage}/status" --output-format json 2>/dev/null)`,
    `  echo "$s" | grep -q '"active":1' && echo "$s" | grep -Eq '"content":"[^"]*${content}' \\`,
    `    || echo "MISSING: node $node has no active storage ${storage} with content ${content}" >&2`,
    ...(shared ? [
      `  echo "$s" | grep -q '"shared":1' || echo "NOT SHARED: storage ${storage} on node $node; clones to other nodes will fail" >&2`,
    ] : []),
    'done',
  ]);
}

/** Every machine template of the cluster, with the nodes its clones may land on: the control plane's, then each pool deployment's. */
function machineSets(cluster: TalosCluster): { template: ProxmoxMachineTemplate; nodes: readonly string[] }[] {
  const templates = [cluster.controlPlaneTemplate, ...cluster.workerPools.flatMap((p) => p.machineTemplates)];
  return templates.map((template) => ({ template, nodes: template.allowedNodes ?? cluster.allowedNodes }));
}

/** The storage a machine template's clones are written to when it names one: full clones only (a linked clone stays on its template's storage). */
function cloneTarget(template: ProxmoxMachineTemplate): TemplateStorage | undefined {
  return template.clone.full !== false ? template.clone.cloneStorage : undefined;
}

function proxmoxSection(cluster: TalosCluster, vms: readonly TemplateVmUsers[]): string[] {
  const user = proxmoxUser(cluster);
  const acl = (path: string, role: string, extra = '') => `pveum acl modify ${path} --users ${user} --roles ${role}${extra}`;
  const nodes = cluster.allowedNodes;
  const secretName = cluster.credentialsSecret;
  const iso = cluster.isoStorage;
  const disks = templateStorages(vms);
  const bridges = bridgeUses(cluster);
  const sets = machineSets(cluster);
  // Proxmox checks Datastore.AllocateSpace on the clone's target storage only: cloneStorage when given, else the template's.
  const targets = [...new Set(sets.map((s) => cloneTarget(s.template)?.name ?? s.template.template.storage.name))];
  const cloneStorages = [...new Set(sets.flatMap((s) => cloneTarget(s.template)?.name ?? []))];
  const pools = [...new Set(sets.flatMap((s) => s.template.clone.pool ?? []))];
  const unpooled = sets.some((s) => s.template.clone.pool === undefined);
  const commands = [
    `pveum user add ${user} --comment ${sh(secretName !== undefined ? `CAPMOX, cluster ${cluster.clusterName}` : 'CAPMOX, global credentials')}`,
    'pveum role add CapmoxSysAudit --privs Sys.Audit   # once per Proxmox cluster',
    acl('/', 'CapmoxSysAudit', ' --propagate 0'),
    ...nodes.map((n) => acl(sh(`/nodes/${n}`), 'CapmoxSysAudit')),
    // The pool must exist before a clone names it (Proxmox checks it); created only when missing.
    ...pools.map((p) => `pveum pool list --output-format json | grep -q ${sh(`"poolid":"${p}"`)} `
      + `|| pveum pool add ${sh(p)} --comment ${sh(`CAPMOX clones of cluster ${cluster.clusterName}`)}`),
    ...(unpooled ? [acl('/vms', 'PVEVMAdmin')] : []),
    ...pools.map((p) => acl(sh(`/pool/${p}`), 'PVEVMAdmin')),
    ...vms.map((vm) => acl(`/vms/${vm.vm.templateId}`, 'PVETemplateUser')),
    ...bridges.map((b) => acl(sh(`/sdn/zones/localnetwork/${b.bridge}`), 'PVESDNUser')),
    acl(sh(`/storage/${iso}`), 'PVEDatastoreAdmin'),
    ...targets.filter((d) => d !== iso).map((d) => acl(sh(`/storage/${d}`), 'PVEDatastoreUser')),
    `pveum user token add ${user} ${TOKEN_NAME} --privsep 0   # prints the token secret once`,
  ];
  // Each clone storage is checked on every node its clones may land on.
  const cloneChecks = cloneStorages.map((name) => {
    const using = sets.filter((s) => cloneTarget(s.template)?.name === name);
    const shared = using.some((s) => cloneTarget(s.template)!.shared);
    const on = cluster.allowedNodes.filter((n) => using.some((s) => (shared ? s.nodes : [s.template.template.sourceNode]).includes(n)));
    return { storage: name, content: 'images', shared, nodes: on };
  });
  // pveum writes the cluster-wide /etc/pve, so any node will do; the first one the cluster uses is named.
  const node = nodes[0] ?? vms[0].vm.sourceNode;
  const out = [
    `A user ${code(user)} with the least-privilege roles CAPMOX documents, scoped to this cluster's nodes, template`,
    `VM${vms.length > 1 ? 's' : ''}, bridge and storages, and a token that shares its rights (\`--privsep 0\`). Proxmox VE ≥ 8,`,
    'which has ACLs on bridges under `/sdn/zones/localnetwork`. The storages are the config\'s',
    `(${code('proxmox.isoStorage')} ${code(iso)}; template disks on ${list(disks.map(code))}`
      + `${cloneStorages.length > 0 ? `; clones written to ${list(cloneStorages.map(code))}` : ''}); the check below says`,
    'if a node lacks one.',
    '',
    onNode(node, 'or any other node of the Proxmox VE cluster: users, ACLs and storages are cluster-wide'),
    '',
    ...block('sh', commands),
    '',
    onNode(node, 'any node will do: `pvesh` answers for every node'),
    '',
    ...block('sh', storageChecks([
      { storage: iso, content: 'iso', nodes },
      ...vms.map((v) => ({
        storage: v.vm.storage.name, content: 'images', shared: v.vm.storage.shared,
        nodes: v.vm.storage.shared ? v.nodes : [v.vm.sourceNode],
      })),
      ...cloneChecks,
    ].reduce(mergeStorageChecks, []))),
    '',
    ...(pools.length === 0 ? ['- `/vms`, not a pool: the machine templates name no Proxmox pool, so clones join none.'] : [
      `- ${list(pools.map((p) => code(`/pool/${p}`)))}, not \`/vms\`: ${unpooled ? 'the machine templates that name a Proxmox pool' : 'every machine template names a Proxmox pool'}`,
      '  (`pool`), so each clone joins it as it is created (Proxmox checks `VM.Allocate` on the pool), and the token administers',
      `  the VMs of ${pools.length > 1 ? 'these pools' : 'this pool'} only, not every VM of the Proxmox cluster, as CAPMOX's own least-privilege table has it. The`,
      `  \`pveum pool list\` line creates ${pools.length > 1 ? 'each pool' : 'the pool'} only when missing (a nested pool \`a/b\` needs \`a\` first).`
        + (unpooled ? ' The machine sets without a pool still need `PVEVMAdmin` on `/vms`.' : ''),
    ]),
    `- ${code(iso)}: CAPMOX uploads each machine's NoCloud ISO (its machine config, cluster PKI included on`,
    '  control planes) to the first storage with `iso` content the token can see on the target node, and',
    `  attaches it on \`ide0\`: every node in ${code('proxmox.allowedNodes')} needs it, and the token sees this one only.`,
    cloneStorages.length === 0
      ? `- ${list(targets.map(code))}: Datastore.AllocateSpace for the full clones, which land on their template's storage.`
      : `- ${list(targets.filter((d) => d !== iso).map(code))}: Datastore.AllocateSpace where the clones are written, which is all Proxmox checks: `
        + '`cloneStorage` for the full clones that name one, else their template\'s storage (linked clones always).',
  ];
  // Only with more than one untagged NIC of default MTU, so such clusters keep their runbook.
  if (usesNetworkOptions(bridges)) {
    out.push(
      '',
      `The bridges ${list(bridges.map((b) => code(b.bridge)))} must exist on every node their machines may land on, be`,
      'VLAN-aware where a NIC on them is tagged (`bridge-vlan-aware yes` in `/etc/network/interfaces`; Proxmox',
      'tags a NIC only on a VLAN-aware bridge), and carry the MTU their NICs are given: a NIC MTU above the',
      'bridge\'s drops the larger frames. PVESDNUser on a bridge covers its VLANs (the ACL propagates).',
      '',
      onNode(node, 'any node will do: `pvesh` answers for every node'),
      '',
      ...block('sh', bridgeChecks(bridges)),
    );
  }
  if (secretName !== undefined) {
    const namespace = cluster.namespace;
    // The CA is copied beside the credentials the command writes, outside the repository, where no
    // `git add` picks it up; /etc/pve is the same on every node, so the node above will do.
    const ca = '"$HOME/.config/cdk8s-talos-proxmox/pve-root-ca.pem"';
    out.push(
      '',
      `Then the Secret ${code(secretName)} in ${code(namespace)}, as in ${projectReadme('proxmox-credentials', 'Proxmox credentials')}.`,
      `With sops and a \`.sops.yaml\` (Flux), the command writes it encrypted to \`secrets/${cluster.clusterName}/proxmox-credentials.sops.yaml\`:`,
      'commit that. Without sops (Fleet, plain kubectl) it writes plain text outside the repository only',
      `(\`~/.config/cdk8s-talos-proxmox/${cluster.clusterName}/\`, or \`--out\`): \`kubectl apply -f\` it, then delete the file.`,
      `The Proxmox CA (${code('/etc/pve/pve-root-ca.pem')}, the same on every node) is copied from ${node} first, so CAPMOX`,
      'verifies the API\'s certificate; without it the Secret says `insecure: "true"`.',
      '',
      WORKSTATION,
      '',
      ...block('sh', [
        'mkdir -p ~/.config/cdk8s-talos-proxmox',
        `scp ${sh(`root@${node}:/etc/pve/pve-root-ca.pem`)} ${ca}   # adapt: ${node}'s address if its name does not resolve`,
        'export PROXMOX_URL=https://<proxmox host>:8006     # adapt: no /api2/json',
        `export PROXMOX_TOKEN=${sh(`${user}!${TOKEN_NAME}`)}`,
        'export PROXMOX_SECRET=\'<token secret>\'             # printed by `pveum user token add` above',
        `export PROXMOX_ROOT_CA_FILE=${ca}`,
        `npm run credentials -- ${sh(cluster.clusterName)}`,
      ]),
    );
  }
  return out;
}

/**
 * The shell lines that build one template VM. A pasted block runs line by line in the reader's
 * interactive shell, where `exit` would close that shell and a failed line would not stop the next:
 * so the whole build is one subshell with `set -e`. A re-run finds the VM ID taken: by this very
 * template (same name, which carries the release and schematic, and a template already), the build
 * is done; by anything else (another image, a half-built VM, someone else's VM), it refuses.
 * `pvesh get /cluster/nextid --vmid` checks the whole Proxmox VE cluster (VMs and containers share
 * IDs); `qm config` runs on the template's own node.
 */
function templateBuild(cluster: TalosCluster, vm: TemplateVm, name: string, imageUrl: string, agent: boolean): string[] {
  const id = vm.templateId;
  // The body stays unindented, so each line reads (and greps) as the command it is.
  return [
    '(',
    'set -e',
    `if ! pvesh get /cluster/nextid --vmid ${id} >/dev/null 2>&1; then`,
    `  if qm config ${id} 2>/dev/null | grep -qx 'name: ${name}' && qm config ${id} | grep -qx 'template: 1'; then`,
    `    echo "VM ${id} is already the template ${name}: nothing to do"`,
    '    exit 0',
    '  fi',
    `  echo "VM ID ${id} is taken by another VM, image or an unfinished build (qm config ${id}): remove it, or pick another templateId" >&2`,
    '  exit 1',
    'fi',
    `IMAGE=/var/tmp/${name}.raw`,
    `curl -fL -o "$IMAGE.xz" ${imageUrl}`,
    'xz -d -f "$IMAGE.xz"',
    `qm create ${id} --name ${name} --ostype l26 --machine q35 --cpu host \\`,
    '  --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb \\',
    `  --scsihw virtio-scsi-pci --net0 ${sh(`virtio,bridge=${cluster.bridge}`)}${agent ? ' --agent enabled=1' : ''}`,
    `qm set ${id} --scsi0 ${sh(`${vm.storage.name}:0,import-from=`)}"$IMAGE"`,
    `qm set ${id} --boot order=scsi0`,
    `qm template ${id}`,
    'rm "$IMAGE"',
    ')',
  ];
}

function templateSection(cluster: TalosCluster, vms: readonly TemplateVmUsers[]): string[] {
  const version = cluster.talosVersion;
  const out = [
    `One template VM per ${code('templateId')}, from the Image Factory nocloud disk image its config declares`,
    `(${code('template.image')}: Talos ${version} and the schematic its machines boot). CAPMOX sets each clone's size and`,
    'grows its disk; the template needs no cloud-init drive, since CAPMOX attaches its own NoCloud ISO on `ide0`.',
    'Each build runs in a subshell with `set -e`: it stops at the first failing command, and it is safe to',
    're-run: a VM ID that already holds this template is left alone, any other VM under that ID stops the build.',
  ];
  for (const tvm of vms) {
    const { vm } = tvm;
    const schematic = tvm.users[0].schematic;
    const conflicting = tvm.users.filter((u) => u.schematic.id !== schematic.id);
    const yaml = schematic.toYaml().trimEnd().split('\n');
    const agent = schematic.hasExtension(QEMU_GUEST_AGENT_EXTENSION);
    const others = tvm.nodes.filter((n) => n !== vm.sourceNode);
    out.push(
      '',
      `### Template VM ${vm.templateId} on ${vm.sourceNode}`,
      '',
      `Used by the ${list(tvm.users.map((u) => u.what))}. Disk on ${vm.storage.shared ? 'shared' : 'node-local'} storage ${code(vm.storage.name)}`
        + (vm.storage.shared
          ? `${others.length > 0 ? `, so CAPMOX may clone it on ${list(others.map(code))} too` : ''}.`
          : `: every clone stays on ${code(vm.sourceNode)}.`)
        + ` Schematic ${code(schematic.id)}:`,
      '',
    );
    if (conflicting.length > 0) {
      // Synth refuses this; should it ever pass, the runbook must not quietly build one image for both.
      out.push(
        `> **CONFLICT: one template VM, two images.** ${list(conflicting.map((u) => `the ${u.what} boots schematic ${code(u.schematic.id)}`))},`,
        `> not ${code(schematic.id)}. A template VM holds one disk image: give ${conflicting.length > 1 ? 'them their' : 'it its'} own \`templateId\` and build it from`,
        ...conflicting.map((u) => `> ${u.schematic.diskImageUrl(version)}`),
        '',
      );
    }
    out.push(
      ...block('yaml', yaml),
      '',
      'The Image Factory must answer with the same ID (any machine with internet access will do).',
      '',
      WORKSTATION,
      '',
      ...block('sh', heredoc('curl -fsS -X POST --data-binary @- https://factory.talos.dev/schematics', yaml)),
      '',
      onNode(vm.sourceNode, `the template's ${code('sourceNode')}`),
      '',
      ...block('sh', templateBuild(cluster, vm, templateVmName(version, schematic), schematic.diskImageUrl(version), agent)),
      '',
      '- `--scsihw virtio-scsi-pci` is "VirtIO SCSI"; "VirtIO SCSI single" hangs the bootstrap.',
      '- `--balloon 0` and no memory hotplug: Talos does not see memory added later.',
      agent
        ? `- \`--agent enabled=1\`: the image has ${code(QEMU_GUEST_AGENT_EXTENSION)}, and CAPMOX waits for the agent.`
        : `- No \`--agent\`: the image lacks ${code(QEMU_GUEST_AGENT_EXTENSION)}; the machine templates skip CAPMOX's agent check.`,
    );
  }
  return out;
}

function longhornSection(cluster: TalosCluster, kubeconfig: string, applyStep: number): string[] {
  const pools = cluster.workerPools.filter((p) => p.longhorn);
  const ns = LONGHORN_NAMESPACE;
  const out = [
    `Longhorn needs ${list(LONGHORN_EXTENSIONS.map(code))} (iscsid, fstrim) in the image of its nodes, so ${pools.length > 1 ? 'these pools boot their' : 'this pool boots its'}`,
    `own schematic from ${pools.length > 1 ? 'their' : 'its'} own template VM (step 3); ${projectReadme('add-a-longhorn-pool', 'Add a Longhorn pool')}, has the details:`,
    '',
    ...pools.map((p) => `- pool ${code(p.poolName)}: schematic ${code(p.schematic.id)}, template VM ${p.template.templateId} on ${p.template.sourceNode}`),
  ];
  for (const p of pools) {
    const missing = LONGHORN_EXTENSIONS.filter((e) => !p.schematic.hasExtension(e));
    if (missing.length > 0) out.push('', `> **MISSING: pool ${code(p.poolName)} lacks ${list(missing.map(code))}**; Longhorn cannot attach volumes there.`);
  }
  out.push(
    '',
    `After step ${applyStep}, with the workload cluster's kubeconfig: Talos enforces the baseline pod security level, and`,
    'Longhorn\'s pods are privileged.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `kubectl --kubeconfig ${kubeconfig} create namespace ${ns}`,
      `kubectl --kubeconfig ${kubeconfig} label namespace ${ns} pod-security.kubernetes.io/enforce=privileged --overwrite`,
    ]),
    '',
    `Data path: ${code(LONGHORN_DATA_PATH)} on the system disk (CAPMOX can only grow the boot disk), bind-mounted`,
    'into the kubelet with `rshared` by the pool\'s machine config, so keep Longhorn\'s default data path',
    `(Helm value ${code(`defaultSettings.defaultDataPath=${LONGHORN_DATA_PATH}`)}) and size the pool's \`diskGiB\` for its replicas.`,
    'Schedule Longhorn only on these nodes: the others lack the extensions.',
  );
  return out;
}

function applySection(cluster: TalosCluster, options: ClusterRunbookOptions, kubeconfig: string): string[] {
  const name = cluster.clusterName;
  const ns = cluster.namespace;
  const clusterRes = `clusters.${API.Cluster.group}/${name}`;
  const tcpRes = `taloscontrolplanes.${API.TalosControlPlane.group}/${cluster.controlPlaneName}`;
  const machines = `machines.${API.Cluster.group}`;
  const talosconfig = `${name}.talosconfig`;
  const cpSelector = `${CLUSTER_NAME_LABEL}=${name},${CONTROL_PLANE_LABEL}`;
  return [
    `Commit and push ${code(options.sourceFile)} and ${code(`dist/${name}/`)}; the GitOps agent applies the folder`,
    `(${projectReadme('how-dist-reaches-the-management-cluster', 'How dist/ reaches the management cluster')}, installs Flux or Fleet`,
    'and applies `dist/management/` once), and the add-on renders it uses from `dist/_addons/` (shared by the clusters',
    `of namespace ${code(ns)} whose values render alike, selected by the Cluster's labels). Without an agent, apply them`,
    'yourself; server-side, since the resource-set ConfigMaps are large.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      ...cluster.addonRenders.map((r) => `kubectl apply --server-side -f dist/${ADDONS_OUTPUT}/${ns}/${r}.k8s.yaml`),
      `kubectl apply --server-side -f dist/${name}/`,
    ]),
    '',
    `Wait for the first control plane, take the kubeconfig, then wait for all of ${name} (when a wait times out,`,
    `\`clusterctl describe cluster ${name} -n ${ns}\` says where it stands).`,
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `kubectl wait -n ${ns} ${clusterRes} --for=condition=ControlPlaneInitialized --timeout=30m`,
      `clusterctl get kubeconfig ${name} -n ${ns} > ${kubeconfig}`,
      `kubectl wait -n ${ns} ${tcpRes} --for=condition=Ready --timeout=30m`,
      `kubectl wait -n ${ns} ${clusterRes} --for=condition=Available --timeout=30m`,
    ]),
    '',
    '`Available` on the Cluster needs the infrastructure, the control plane, every pool and the API through the VIP;',
    '`Ready` on the TalosControlPlane needs every control-plane machine ready. Once the first control plane has',
    'booted, the management cluster must reach the VIP:',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `docker exec ${MANAGEMENT_CLUSTER_NAME}-control-plane timeout 3 bash -c ${sh(`</dev/tcp/${cluster.endpoint}/${cluster.endpointPort}`)} && echo reachable`,
    ]),
    '',
    'Every node must carry `proxmox://<uuid>`; `talos://nocloud/<ip>` or an empty column means the Talos CCM',
    'did not get the provider ID from CAPMOX, and its Machine never gets a node.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `kubectl --kubeconfig ${kubeconfig} get nodes -o custom-columns=NAME:.metadata.name,PROVIDERID:.spec.providerID`,
      `kubectl get ${machines} -n ${ns} -l ${CLUSTER_NAME_LABEL}=${name} -o custom-columns=NAME:.metadata.name,NODE:.status.nodeRef.name,PROVIDERID:.spec.providerID,PHASE:.status.phase`,
    ]),
    '',
    `The talosconfig (Secret ${code(`${name}-talosconfig`)}, key \`talosconfig\`, written by CABPT) and, with talosctl`,
    `${cluster.talosVersion}, the etcd members: one per control-plane Machine, since a Machine can be ready while its`,
    'etcd member never joined.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `kubectl get secret -n ${ns} ${name}-talosconfig -o jsonpath='{.data.talosconfig}' | base64 -d > ${talosconfig}`,
      `CP_IP=$(kubectl get ${machines} -n ${ns} -l ${cpSelector} -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')`,
      `talosctl --talosconfig ${talosconfig} -e "$CP_IP" -n "$CP_IP" etcd members`,
    ]),
    '',
    `Back up the Secrets ${list([`${name}-talos`, `${name}-ca`, `${name}-talosconfig`].map(code))} of namespace ${code(ns)}: they exist only`,
    'on the management cluster.',
  ];
}

/** Step 1 of a cluster's runbook: the management cluster, set up once by its own runbook. */
function managementLinkSection(cluster: TalosCluster): string[] {
  return [
    'Once per management cluster, not per workload cluster: kind, `clusterctl init` with the pinned providers and',
    `the GitOps agent, in [the management runbook](${MANAGEMENT_RUNBOOK_LINK}). For ${cluster.clusterName}, its host must reach the`,
    `node addresses ${cluster.addresses.map(code).join(', ')} (Talos API, TCP 50000) and the VIP`,
    `${code(`${cluster.endpoint}:${cluster.endpointPort}`)}; the last step checks the VIP from inside kind.`,
  ];
}

/**
 * The day-0 runbook of one cluster: the exact commands that take an empty Proxmox VE and a
 * workstation to this cluster running, with every value (names, versions, schematic IDs, image
 * URLs, template VM IDs, nodes, storages, bridge, VIP, namespace, credentials Secret) taken from the
 * cluster construct and lib/core/stack.ts, so the runbook cannot drift from the manifests beside it.
 *
 * Sections: 1 the management cluster (a link to `dist/management/RUNBOOK.md`, {@link managementRunbook}),
 * 2 Proxmox API user and token with least privilege, and a check of the storages on every node,
 * 3 one template VM per `templateId`, 4 Longhorn (only when a pool has `longhorn`), then apply
 * and verify. Only what Proxmox knows and the project cannot (the API URL, the token secret) is
 * left to the reader, marked `adapt`. Every command block is preceded by the machine it runs on (a
 * Proxmox node's root shell or the workstation, in this repository), and every link resolves inside
 * the repository: the runbook is read on GitHub or in a clone, where nothing beside it exists.
 *
 * Deterministic: the same cluster gives byte-identical text.
 */
export function clusterRunbook(cluster: TalosCluster, options: ClusterRunbookOptions): string {
  const vms = templateVms(cluster);
  const kubeconfig = `${cluster.clusterName}.kubeconfig`;
  const longhorn = cluster.workerPools.some((p) => p.longhorn);
  const applyStep = longhorn ? 5 : 4;
  const sections: { title: string; body: string[] }[] = [
    { title: 'Management cluster', body: managementLinkSection(cluster) },
    { title: 'Proxmox API user and token', body: proxmoxSection(cluster, vms) },
    { title: `Talos template VM${vms.length > 1 ? 's' : ''}`, body: templateSection(cluster, vms) },
    // Numbered only when present, so the apply step is 5 with Longhorn and 4 without.
    ...(longhorn ? [{ title: 'Storage: Longhorn', body: longhornSection(cluster, kubeconfig, applyStep) }] : []),
    { title: 'Apply and verify', body: applySection(cluster, options, kubeconfig) },
  ];
  const credentials = cluster.credentialsSecret !== undefined
    ? `Secret ${code(cluster.credentialsSecret)}`
    : 'the provider\'s global credentials';
  return [
    `# Runbook: ${cluster.clusterName}`,
    '',
    `Generated by \`cdk8s synth\` from ${code(options.sourceFile)}; do not edit. Day 0 of this cluster, in order;`,
    `${projectReadme('day-0-create-the-management-cluster-and-prepare-proxmox', 'Day 0')}, explains the steps. Each command`,
    'block says where it runs: in a root shell on a Proxmox node (`pveum`, `pvesh`, `qm`), or on your workstation,',
    'in a clone of this repository with `npm ci` done (kind, clusterctl, kubectl, talosctl, npm).',
    '',
    `- namespace ${code(cluster.namespace)}, Kubernetes ${cluster.kubernetesVersion}, Talos ${cluster.talosVersion}`,
    `- VIP ${code(`${cluster.endpoint}:${cluster.endpointPort}`)}, node addresses ${cluster.addresses.map(code).join(', ')}, bridge ${code(cluster.bridge)}`,
    ...networkFacts(cluster),
    `- Proxmox nodes ${list(cluster.allowedNodes.map(code))}; ISO storage ${code(cluster.isoStorage)}; credentials: ${credentials}`,
    `- add-on renders (\`dist/${ADDONS_OUTPUT}/${cluster.namespace}/\`): ${list(cluster.addonRenders.map(code))}`,
    '',
    ...sections.flatMap((s, i) => [`## ${i + 1}. ${s.title}`, '', ...s.body, '']),
  ].join('\n');
}
