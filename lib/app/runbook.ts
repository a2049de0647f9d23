import { ProxmoxMachineTemplate, TemplateStorage, TemplateVm } from '../constructs/proxmox-machine-template';
import { TalosCluster } from '../constructs/talos-cluster';
import { joinList as list } from '../core/errors';
import { ADDONS_OUTPUT, CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, MANAGEMENT_OUTPUT } from '../core/naming';
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

/** The management runbook, relative to dist/: kind, `clusterctl init`, the GitOps agent, and what the cluster runbooks do. */
export const MANAGEMENT_RUNBOOK = `${MANAGEMENT_OUTPUT}/RUNBOOK.md`;

/** The template VM builds of every cluster, relative to dist/: each template VM once, however many clusters clone it. */
export const TEMPLATE_BUILDS = `${MANAGEMENT_OUTPUT}/TEMPLATES.md`;

/** A machine set cloned from a template VM, and the image it boots. */
interface TemplateVmUser {
  /** `control plane`, ``pool `default` `` (markdown). */
  readonly what: string;
  readonly talosVersion: string;
  readonly schematic: Schematic;
}

/** A Proxmox template VM and the machine sets of one cluster cloned from it, in the order they were added. */
interface TemplateVmUsers {
  /** The template VM as the first machine set declares it (synth made the others agree). */
  readonly vm: TemplateVm;
  readonly users: TemplateVmUser[];
  /** Every node CAPMOX may clone it on, in the cluster's node order. */
  readonly nodes: string[];
}

/** A template VM of the fleet and the clusters that clone from it, in cluster order, each with its own use of it. */
interface FleetTemplateVm {
  /** The template VM as the first cluster declares it (synth made the others agree). */
  readonly vm: TemplateVm;
  readonly uses: { readonly cluster: TalosCluster; readonly use: TemplateVmUsers }[];
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

/** GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function headingAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** A link from a file in a folder of dist/ (a cluster's, `management/`) to a file of dist/, at a heading of it when given. */
function distLink(text: string, file: string, heading?: string): string {
  return `[${text}](../${file}${heading !== undefined ? `#${headingAnchor(heading)}` : ''})`;
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
  const add = (template: ProxmoxMachineTemplate, what: string, schematic: Schematic) => {
    const nodes = template.allowedNodes ?? cluster.allowedNodes;
    let vm = vms.find((v) => v.vm.templateId === template.template.templateId);
    if (!vm) {
      vm = { vm: template.template, users: [], nodes: [] };
      vms.push(vm);
    }
    vm.users.push({ what, talosVersion: cluster.talosVersion, schematic });
    vm.nodes.push(...nodes.filter((n) => !vm.nodes.includes(n)));
    vm.nodes.sort((a, b) => cluster.allowedNodes.indexOf(a) - cluster.allowedNodes.indexOf(b));
  };
  add(cluster.controlPlaneTemplate, 'control plane', cluster.schematic);
  for (const pool of cluster.workerPools) {
    for (const d of pool.deployments) {
      add(d.machineTemplate, `pool ${code(pool.poolName)}${d.node !== undefined ? ` on ${code(d.node)}` : ''}`, pool.schematic);
    }
  }
  return vms;
}

/** Every template VM of the fleet, by VM ID, in the order the clusters first use them. */
function fleetTemplateVms(clusters: readonly TalosCluster[]): FleetTemplateVm[] {
  const out = new Map<number, FleetTemplateVm>();
  for (const cluster of clusters) {
    for (const use of templateVms(cluster)) {
      const id = use.vm.templateId;
      if (!out.has(id)) out.set(id, { vm: use.vm, uses: [] });
      out.get(id)!.uses.push({ cluster, use });
    }
  }
  return [...out.values()];
}

/** The heading of a template VM's build in {@link TEMPLATE_BUILDS}; cluster runbooks link to its anchor. */
function templateHeading(vm: TemplateVm): string {
  return `Template VM ${vm.templateId} on ${vm.sourceNode}`;
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

/**
 * The variables `clusterctl init` (global credentials) and `npm run credentials` (a cluster's Secret)
 * read the token from: the token ID is the user's, the URL and the secret are the reader's (`adapt`).
 */
function tokenVariables(user: string): string[] {
  return [
    'export PROXMOX_URL=https://<proxmox host>:8006     # adapt: no /api2/json',
    `export PROXMOX_TOKEN=${sh(`${user}!${TOKEN_NAME}`)}`,
    'export PROXMOX_SECRET=\'<token secret>\'             # printed once by `pveum user token add`',
  ];
}

/** What {@link managementRunbook} needs besides the clusters. */
export interface ManagementRunbookOptions {
  /** Each cluster's source file, by cluster name, as the runbook names it. */
  readonly sourceFiles: ReadonlyMap<string, string>;
}

/** Step 1 of the management runbook: the kind cluster, on a host that reaches every cluster's nodes and VIP. */
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

/** Step 2 of the management runbook: `clusterctl init` with the pinned providers, and the global credentials only when a cluster needs them. */
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
    ...block('sh', [...tokenVariables(GLOBAL_PROXMOX_USER), ...init]),
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

/** The management runbook's section that says once what every cluster runbook does, and why. */
const ABOUT_CLUSTER_RUNBOOKS = 'About the cluster runbooks';

/** Its subsections, each the target of one-line pointers in every cluster runbook. */
const ABOUT = {
  proxmox: 'Proxmox user, grants and storages',
  credentials: 'Proxmox credentials Secret',
  templates: 'Template VMs',
  apply: 'Apply and verify',
} as const;

/** A link from a cluster runbook to a subsection of {@link ABOUT_CLUSTER_RUNBOOKS}. */
function aboutLink(text: string, subsection: string): string {
  return distLink(text, MANAGEMENT_RUNBOOK, subsection);
}

/**
 * What the cluster runbooks' steps do and why, said once for every cluster: the same for each of
 * them, so a cluster runbook keeps its own commands and a pointer here.
 */
function aboutClusterRunbooks(): { title: string; body: string[] }[] {
  return [
    {
      title: ABOUT.proxmox,
      body: [
        'Step 2. Each cluster with a credentials Secret has a Proxmox user of its own, `capmox-<cluster>@pve`; the',
        `clusters on CAPMOX's global credentials share ${code(GLOBAL_PROXMOX_USER)}. The user holds the least-privilege roles CAPMOX`,
        'documents, scoped to the cluster\'s nodes, template VMs, bridges and storages (the config\'s), and its token',
        `${code(TOKEN_NAME)} shares its rights (\`--privsep 0\`). Proxmox VE ≥ 8, which has ACLs on bridges under`,
        '`/sdn/zones/localnetwork`. Users, ACLs and storages are cluster-wide: any node will do. Paste the block whole:',
        'its first line names the user in `U` for the grants below it, and the storage check is one subshell.',
        '',
        '- `CapmoxSysAudit` (Sys.Audit) on `/` without propagation, and on each node of the cluster.',
        '- `PVEVMAdmin` on `/vms`, or on `/pool/<pool>` when the machine templates name a Proxmox pool (`pool`): each',
        '  clone joins it as it is created (Proxmox checks `VM.Allocate` on the pool), and the token administers the VMs',
        '  of that pool only, as CAPMOX\'s own least-privilege table has it. The `pveum pool list` line creates the pool',
        '  only when missing (a nested pool `a/b` needs `a` first); machine sets without a pool still need `/vms`.',
        '- `PVETemplateUser` on each template VM the cluster clones; `PVESDNUser` on each bridge (the ACL propagates',
        '  to its VLANs).',
        '- `PVEDatastoreAdmin` on the ISO storage (`proxmox.isoStorage`): CAPMOX uploads each machine\'s NoCloud ISO',
        '  (its machine config, cluster PKI included on control planes) to the first storage with `iso` content the',
        '  token can see on the target node, and attaches it on `ide0`: every node in `proxmox.allowedNodes` needs it,',
        '  and the token sees this one only.',
        '- `PVEDatastoreUser` (Datastore.AllocateSpace) where the clones are written, which is all Proxmox checks:',
        '  `cloneStorage` for the full clones that name one, else the template\'s storage (linked clones always).',
        '',
        'The storage check (`pvesh` answers for every node) reports a storage missing, inactive or without the content',
        'CAPMOX needs (`iso`, `images`) on a node the cluster\'s machines may land on, and one the config declares',
        'shared that Proxmox does not share (clones to other nodes would fail). With VLANs, MTUs or more NICs, the',
        'bridge check reports a bridge missing on such a node, not VLAN-aware where a NIC on it is tagged',
        '(`bridge-vlan-aware yes` in `/etc/network/interfaces`; Proxmox tags a NIC only on a VLAN-aware bridge), or',
        'with an MTU below its NICs\' (the larger frames would be dropped).',
      ],
    },
    {
      title: ABOUT.credentials,
      body: [
        'Step 2, for a cluster that names `proxmox.credentialsSecret` (the ProxmoxCluster\'s `credentialsRef`):',
        `\`npm run credentials\` builds the Secret from the token, as ${projectReadme('proxmox-credentials', 'Proxmox credentials')}, explains.`,
        'With sops and a `.sops.yaml` (Flux), it writes it encrypted to `secrets/<cluster>/proxmox-credentials.sops.yaml`:',
        'commit that. Without sops (Fleet, plain kubectl) it writes plain text outside the repository only',
        '(`~/.config/cdk8s-talos-proxmox/<cluster>/`, or `--out`): `kubectl apply -f` it, then delete the file. The',
        'Proxmox CA (`/etc/pve/pve-root-ca.pem`, the same on every node) is copied first, so CAPMOX verifies the API\'s',
        'certificate; without it the Secret says `insecure: "true"`.',
      ],
    },
    {
      title: ABOUT.templates,
      body: [
        `Step 3: ${distLink('the template VM builds', TEMPLATE_BUILDS)} build each template VM once, whichever cluster needs it first;`,
        'a cluster runbook lists the ones it clones, with links to their builds.',
      ],
    },
    {
      title: ABOUT.apply,
      body: [
        'The last step. The GitOps agent applies each cluster\'s folder and, from `dist/_addons/`, the add-on renders it',
        'uses (shared by the clusters of a namespace whose values render alike, selected by the Cluster\'s labels).',
        'Without an agent, apply them yourself, server-side: the resource-set ConfigMaps are large.',
        '',
        '- `ControlPlaneInitialized` on the Cluster: the first control plane is up, and the kubeconfig can be fetched.',
        '  `Ready` on the TalosControlPlane needs every control-plane machine ready; `Available` on the Cluster needs the',
        '  infrastructure, the control plane, every pool and the API through the VIP. When a wait times out,',
        '  `clusterctl describe cluster <cluster> -n <namespace>` says where it stands.',
        '- Once the first control plane has booted, the management cluster must reach the VIP: the check runs in',
        '  kind\'s node container.',
        '- Every node must carry the providerID `proxmox://<uuid>`; `talos://nocloud/<ip>` or an empty column means the',
        '  Talos CCM did not get the provider ID from CAPMOX, and its Machine never gets a node.',
        '- The talosconfig is in the Secret `<cluster>-talosconfig` (key `talosconfig`, written by CABPT). With it, etcd',
        '  must list one member per control-plane Machine: a Machine can be ready while its etcd member never joined.',
        '- The Secrets `<cluster>-talos`, `<cluster>-ca` and `<cluster>-talosconfig` exist only on the management',
        '  cluster: back them up.',
      ],
    },
  ];
}

/**
 * The day-0 runbook of the management cluster, `dist/management/RUNBOOK.md`: what every workload
 * cluster needs once (kind, `clusterctl init` with the pinned providers, the GitOps agent), then
 * what the cluster runbooks' steps do and why ({@link aboutClusterRunbooks}); each cluster's
 * runbook links to it instead of repeating it.
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
    `Their template VMs are built once for all of them: ${distLink('the template VM builds', TEMPLATE_BUILDS)}.`,
    'Each command block says where it runs; here, all on your workstation, in a clone of this repository',
    'with `npm ci` done (kind, clusterctl, kubectl).',
    '',
    ...sections.flatMap((sec, i) => [`## ${i + 1}. ${sec.title}`, '', ...sec.body, '']),
    `## ${ABOUT_CLUSTER_RUNBOOKS}`,
    '',
    'What each cluster runbook\'s steps do and why, said once here; the runbooks hold the commands.',
    '',
    ...aboutClusterRunbooks().flatMap((sec) => [`### ${sec.title}`, '', ...sec.body, '']),
  ].join('\n');
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
 * The shell function of {@link storageChecks}: `check_storage <node> <storage> <content> [shared]`
 * reports a node without the storage active and holding that content type (and shared, when asked):
 * `pvesh` answers for any node of the Proxmox VE cluster, and the storage status has `content`,
 * `active` and `shared`.
 */
const CHECK_STORAGE = [
  'check_storage() {  # node storage content [shared]',
  '  s=$(pvesh get "/nodes/$1/storage/$2/status" --output-format json 2>/dev/null)',
  '  echo "$s" | grep -q \'"active":1\' && echo "$s" | grep -Eq "\\"content\\":\\"[^\\"]*$3" \\',
  '    || echo "MISSING: node $1 has no active storage $2 with content $3" >&2',
  '  [ -z "$4" ] || echo "$s" | grep -q \'"shared":1\' || echo "NOT SHARED: storage $2 on node $1; clones to other nodes will fail" >&2',
  '}',
];

/**
 * A check, pasted on any node, that each node has each storage active with the content type
 * CAPMOX or Proxmox needs there (and shared, where the config says so): {@link CHECK_STORAGE} once,
 * then one loop per set of nodes. A subshell, so the function does not outlive the block.
 */
function storageChecks(checks: readonly StorageCheck[]): string[] {
  const byNodes = new Map<string, StorageCheck[]>();
  for (const c of checks) {
    const nodes = c.nodes.map(sh).join(' ');
    byNodes.set(nodes, [...(byNodes.get(nodes) ?? []), c]);
  }
  const call = (c: StorageCheck) => `check_storage "$node" ${sh(c.storage)} ${c.content}${c.shared ? ' shared' : ''}`;
  return [
    '(',
    ...CHECK_STORAGE,
    ...[...byNodes].map(([nodes, cs]) => `for node in ${nodes}; do ${cs.map(call).join('; ')}; done`),
    ')',
  ];
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

/**
 * Step 2: the cluster's Proxmox user, its grants and token, a check of the storages (and bridges,
 * when the cluster uses network options) on every node, then its credentials Secret when it has
 * one. What each grant is for is said once, in the management runbook ({@link aboutClusterRunbooks}).
 */
function proxmoxSection(cluster: TalosCluster, vms: readonly TemplateVmUsers[]): string[] {
  const user = proxmoxUser(cluster);
  // The user is named once, in $U: every grant below is for it.
  const acl = (path: string, role: string, extra = '') => `pveum acl modify ${path} --users $U --roles ${role}${extra}`;
  const nodes = cluster.allowedNodes;
  const secretName = cluster.credentialsSecret;
  const iso = cluster.isoStorage;
  const bridges = bridgeUses(cluster);
  const sets = machineSets(cluster);
  // Proxmox checks Datastore.AllocateSpace on the clone's target storage only: cloneStorage when given, else the template's.
  const targets = [...new Set(sets.map((s) => cloneTarget(s.template)?.name ?? s.template.template.storage.name))];
  const cloneStorages = [...new Set(sets.flatMap((s) => cloneTarget(s.template)?.name ?? []))];
  const pools = [...new Set(sets.flatMap((s) => s.template.clone.pool ?? []))];
  const unpooled = sets.some((s) => s.template.clone.pool === undefined);
  const commands = [
    `U=${sh(user)}`,
    `pveum user add $U --comment ${sh(secretName !== undefined ? `CAPMOX, cluster ${cluster.clusterName}` : 'CAPMOX, global credentials')}`,
    'pveum role add CapmoxSysAudit --privs Sys.Audit   # once per Proxmox cluster',
    acl('/', 'CapmoxSysAudit', ' --propagate 0'),
    `for node in ${nodes.map(sh).join(' ')}; do ${acl('"/nodes/$node"', 'CapmoxSysAudit')}; done`,
    // The pool must exist before a clone names it (Proxmox checks it); created only when missing.
    ...pools.map((p) => `pveum pool list --output-format json | grep -q ${sh(`"poolid":"${p}"`)} `
      + `|| pveum pool add ${sh(p)} --comment ${sh(`CAPMOX clones of cluster ${cluster.clusterName}`)}`),
    ...(unpooled ? [acl('/vms', 'PVEVMAdmin')] : []),
    ...pools.map((p) => acl(sh(`/pool/${p}`), 'PVEVMAdmin')),
    ...vms.map((vm) => acl(`/vms/${vm.vm.templateId}`, 'PVETemplateUser')),
    ...bridges.map((b) => acl(sh(`/sdn/zones/localnetwork/${b.bridge}`), 'PVESDNUser')),
    acl(sh(`/storage/${iso}`), 'PVEDatastoreAdmin'),
    ...targets.filter((d) => d !== iso).map((d) => acl(sh(`/storage/${d}`), 'PVEDatastoreUser')),
    `pveum user token add $U ${TOKEN_NAME} --privsep 0   # prints the token secret once`,
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
  const storages = storageChecks([
    { storage: iso, content: 'iso', nodes },
    ...vms.map((v) => ({
      storage: v.vm.storage.name, content: 'images', shared: v.vm.storage.shared,
      nodes: v.vm.storage.shared ? v.nodes : [v.vm.sourceNode],
    })),
    ...cloneChecks,
  ].reduce(mergeStorageChecks, []));
  // The bridges are checked only with more than one untagged NIC of default MTU, so such clusters keep their runbook.
  const network = usesNetworkOptions(bridges);
  return [
    `${secretName === undefined ? 'The Proxmox user of CAPMOX\'s global credentials' : 'The cluster\'s Proxmox user'}, its grants and token, then the check of the storages`
      + `${network ? ' and bridges' : ''} (${aboutLink('why', ABOUT.proxmox)}).`,
    '',
    onNode(node, 'any node will do'),
    '',
    ...block('sh', [...commands, ...storages, ...(network ? bridgeChecks(bridges) : [])]),
    ...(secretName !== undefined ? ['', ...credentialsLines(cluster, secretName, node)] : []),
  ];
}

/**
 * The cluster's credentials Secret: the Proxmox CA copied from `node`, then `npm run credentials`
 * with the token's variables. The CA goes beside the credentials the command writes, outside the
 * repository, where no `git add` picks it up; /etc/pve is the same on every node, so any will do.
 */
function credentialsLines(cluster: TalosCluster, secretName: string, node: string): string[] {
  const name = cluster.clusterName;
  const ca = '"$HOME/.config/cdk8s-talos-proxmox/pve-root-ca.pem"';
  return [
    `Then the Secret ${code(secretName)}; the command says what to do with the file it writes (${aboutLink('why', ABOUT.credentials)}).`,
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      'mkdir -p ~/.config/cdk8s-talos-proxmox',
      `scp ${sh(`root@${node}:/etc/pve/pve-root-ca.pem`)} ${ca}   # adapt: ${node}'s address if its name does not resolve`,
      ...tokenVariables(proxmoxUser(cluster)),
      `export PROXMOX_ROOT_CA_FILE=${ca}`,
      `npm run credentials -- ${sh(name)}`,
    ]),
  ];
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
function templateBuild(vm: TemplateVm, bridge: string, name: string, imageUrl: string, agent: boolean): string[] {
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
    `  --scsihw virtio-scsi-pci --net0 ${sh(`virtio,bridge=${bridge}`)}${agent ? ' --agent enabled=1' : ''}`,
    `qm set ${id} --scsi0 ${sh(`${vm.storage.name}:0,import-from=`)}"$IMAGE"`,
    `qm set ${id} --boot order=scsi0`,
    `qm template ${id}`,
    'rm "$IMAGE"',
    ')',
  ];
}

/** Whether two machine sets boot the same image: one Talos release, one schematic. */
function sameImage(a: TemplateVmUser, b: TemplateVmUser): boolean {
  return a.talosVersion === b.talosVersion && a.schematic.id === b.schematic.id;
}

/** Where a template VM's disk is, and so where its clones may land: `shared storage `ceph-vm`, cloned on …`. */
function templateDisk(vm: TemplateVm, nodes: readonly string[]): string {
  const others = nodes.filter((n) => n !== vm.sourceNode);
  return vm.storage.shared
    ? `shared storage ${code(vm.storage.name)}${others.length > 0 ? `, so CAPMOX may clone it on ${list(others.map(code))} too` : ''}`
    : `node-local storage ${code(vm.storage.name)}: every clone stays on ${code(vm.sourceNode)}`;
}

/**
 * The build of one template VM in {@link TEMPLATE_BUILDS}: its image and disk, its schematic (to
 * check against the Image Factory), the re-runnable build on its source node, and the clusters
 * that clone it. It is built from the image of its first user; a machine set of any cluster that
 * boots another one is shown as a conflict (synth refuses it), never built as the same VM.
 */
function templateVmBuild(t: FleetTemplateVm): string[] {
  const { vm } = t;
  const image = t.uses[0].use.users[0];
  const { talosVersion: version, schematic } = image;
  const conflicting = t.uses.flatMap(({ cluster, use }) => use.users.filter((u) => !sameImage(u, image)).map((u) => ({ cluster, u })));
  const nodes = [...new Set(t.uses.flatMap(({ use }) => use.nodes))];
  const bridges = [...new Set(t.uses.map(({ cluster }) => cluster.bridge))];
  const yaml = schematic.toYaml().trimEnd().split('\n');
  const name = templateVmName(version, schematic);
  return [
    `## ${templateHeading(vm)}`,
    '',
    `Talos ${version}, schematic ${code(schematic.id)}, as VM ${code(name)}. Disk on ${templateDisk(vm, nodes)}.`,
    ...(bridges.length > 1 ? [
      `Its clusters use the bridges ${list(bridges.map(code))}; the template's \`net0\` is on the first, and CAPMOX gives each clone the NICs of its machine template.`,
    ] : []),
    '',
    // Synth refuses this; should it ever pass, the runbook must not quietly build one image for both.
    ...(conflicting.length > 0 ? [
      `> **CONFLICT: one template VM, two images.** ${list(conflicting.map(({ cluster, u }) => `the ${u.what} of ${cluster.clusterName} boots Talos ${u.talosVersion}, schematic ${code(u.schematic.id)}`))},`,
      `> not this image. A template VM holds one disk image: give ${conflicting.length > 1 ? 'them their' : 'it its'} own \`templateId\` and build it from`,
      ...conflicting.map(({ u }) => `> ${u.schematic.diskImageUrl(u.talosVersion)}`),
      '',
    ] : []),
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
    ...block('sh', templateBuild(vm, bridges[0], name, schematic.diskImageUrl(version), schematic.hasExtension(QEMU_GUEST_AGENT_EXTENSION))),
    '',
    `Cloned by ${t.uses.length > 1 ? `these ${t.uses.length} clusters` : 'this cluster'}:`,
    '',
    ...t.uses.map(({ cluster }) => `- ${distLink(cluster.clusterName, `${cluster.clusterName}/RUNBOOK.md`)}`),
  ];
}

/**
 * The template VM builds of every cluster, `dist/management/TEMPLATES.md`: one section per
 * template VM (VM ID and source node, the heading the cluster runbooks link to), whatever number
 * of clusters clone it, so a fleet sharing one template VM has one build, not one per cluster.
 * Deterministic: the same clusters give byte-identical text.
 */
export function templateBuilds(clusters: readonly TalosCluster[]): string {
  return [
    '# Template VMs',
    '',
    'Generated by `cdk8s synth` from the cluster files; do not edit. Every Proxmox template VM the clusters clone,',
    'each built once, before the first cluster that clones it is applied; each cluster runbook (step 3) links to the',
    'ones it needs.',
    '',
    'One template VM per `templateId`, from the Image Factory nocloud disk image its config declares (`template.image`:',
    'a Talos release and the schematic its machines boot). CAPMOX sets each clone\'s size and grows its disk; the',
    'template needs no cloud-init drive, since CAPMOX attaches its own NoCloud ISO on `ide0`. Each build runs in a',
    'subshell with `set -e`: it stops at the first failing command, and it is safe to re-run: a VM ID that already',
    'holds this template is left alone, any other VM under that ID stops the build.',
    '',
    '- `--scsihw virtio-scsi-pci` is "VirtIO SCSI"; "VirtIO SCSI single" hangs the bootstrap.',
    '- `--balloon 0` and no memory hotplug: Talos does not see memory added later.',
    `- \`--agent enabled=1\` only when the image has ${code(QEMU_GUEST_AGENT_EXTENSION)}, and CAPMOX then waits for the agent;`,
    '  the machine templates of an image without it skip CAPMOX\'s agent check.',
    '',
    ...fleetTemplateVms(clusters).flatMap((t) => [...templateVmBuild(t), '']),
  ].join('\n');
}

/** Step 3: the template VMs the cluster clones, each a link to its build in {@link TEMPLATE_BUILDS}, with the machine sets that clone it. */
function templateSection(vms: readonly TemplateVmUsers[]): string[] {
  const item = ({ vm, users }: TemplateVmUsers) => {
    const image = users[0];
    const conflict = users.some((u) => !sameImage(u, image)) ? ' **CONFLICT: one template VM, two images**, see its build' : '';
    return `- ${distLink(`VM ${vm.templateId} on ${vm.sourceNode}`, TEMPLATE_BUILDS, templateHeading(vm))} ${code(templateVmName(image.talosVersion, image.schematic))}, `
      + `${vm.storage.shared ? 'shared' : 'node-local'} storage ${code(vm.storage.name)}: the ${list(users.map((u) => u.what))}${conflict}`;
  };
  return [
    'Each built once for all the clusters that clone it:',
    '',
    ...vms.map(item),
  ];
}

/** The Longhorn step of a cluster with a Longhorn pool: its pools' images, the privileged namespace, the data path. */
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

/**
 * The last step: apply (the GitOps agent does; without one, these commands), wait, then check the
 * VIP, the providerIDs, the Machines' nodes and the etcd members. What each wait and check means is
 * said once, in the management runbook ({@link aboutClusterRunbooks}).
 */
function applySection(cluster: TalosCluster, options: ClusterRunbookOptions, kubeconfig: string): string[] {
  const name = cluster.clusterName;
  const ns = cluster.namespace;
  const clusterRes = `clusters.${API.Cluster.group}/${name}`;
  const tcpRes = `taloscontrolplanes.${API.TalosControlPlane.group}/${cluster.controlPlaneName}`;
  const machines = `machines.${API.Cluster.group}`;
  const talosconfig = `${name}.talosconfig`;
  const cpSelector = `${CLUSTER_NAME_LABEL}=${name},${CONTROL_PLANE_LABEL}`;
  return [
    `Commit and push ${code(options.sourceFile)} and ${code(`dist/${name}/`)}: the GitOps agent applies them. Without one:`,
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      'kubectl apply --server-side \\',
      ...cluster.addonRenders.map((r) => `  -f dist/${ADDONS_OUTPUT}/${ns}/${r}.k8s.yaml \\`),
      `  -f dist/${name}/`,
    ]),
    '',
    `Then wait, and check the VIP from kind, the providerIDs, the Machines' nodes and etcd (${aboutLink('what to look for', ABOUT.apply)}):`,
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `kubectl wait -n ${ns} ${clusterRes} --for=condition=ControlPlaneInitialized --timeout=30m`,
      `clusterctl get kubeconfig ${name} -n ${ns} > ${kubeconfig}`,
      `kubectl wait -n ${ns} ${tcpRes} --for=condition=Ready --timeout=30m`,
      `kubectl wait -n ${ns} ${clusterRes} --for=condition=Available --timeout=30m`,
      `docker exec ${MANAGEMENT_CLUSTER_NAME}-control-plane timeout 3 bash -c ${sh(`</dev/tcp/${cluster.endpoint}/${cluster.endpointPort}`)} && echo reachable`,
      `kubectl --kubeconfig ${kubeconfig} get nodes -o custom-columns=NAME:.metadata.name,PROVIDERID:.spec.providerID`,
      `kubectl get ${machines} -n ${ns} -l ${CLUSTER_NAME_LABEL}=${name} -o custom-columns=NAME:.metadata.name,NODE:.status.nodeRef.name,PROVIDERID:.spec.providerID,PHASE:.status.phase`,
      `kubectl get secret -n ${ns} ${name}-talosconfig -o jsonpath='{.data.talosconfig}' | base64 -d > ${talosconfig}`,
      `CP_IP=$(kubectl get ${machines} -n ${ns} -l ${cpSelector} -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')`,
      `talosctl --talosconfig ${talosconfig} -e "$CP_IP" -n "$CP_IP" etcd members`,
    ]),
    '',
    `Back up the Secrets ${list([`${name}-talos`, `${name}-ca`, `${name}-talosconfig`].map(code))} of namespace ${code(ns)}.`,
  ];
}

/** Step 1 of a cluster's runbook: the management cluster, set up once by its own runbook (which lists what it must reach of each cluster). */
function managementLinkSection(): string[] {
  return [
    `Once for all clusters: ${distLink('the management runbook', MANAGEMENT_RUNBOOK)}.`,
  ];
}

/**
 * The day-0 runbook of one cluster: the exact commands that take an empty Proxmox VE and a
 * workstation to this cluster running, with every value (names, versions, template VM IDs, nodes,
 * storages, bridges, VIP, namespace, credentials Secret) taken from the cluster construct and
 * lib/core/stack.ts, so the runbook cannot drift from the manifests beside it.
 *
 * Sections: 1 the management cluster (a link to `dist/management/RUNBOOK.md`, {@link managementRunbook}),
 * 2 Proxmox API user and token with least privilege, a check of the storages on every node, and the
 * credentials Secret, 3 the template VMs it clones (links to their builds in
 * `dist/management/TEMPLATES.md`, {@link templateBuilds}, shared by the fleet), 4 Longhorn (only when
 * a pool has `longhorn`), then apply and verify. Only the cluster's own commands are here; what a
 * step is for is said once, in the management runbook, which each step links to. Only what Proxmox
 * knows and the project cannot (the API URL, the token secret) is left to the reader, marked
 * `adapt`. Every command block is preceded by the machine it runs on (a Proxmox node's root shell
 * or the workstation, in this repository), and every link resolves inside the repository: the
 * runbook is read on GitHub or in a clone, where nothing beside it exists.
 *
 * Deterministic: the same cluster gives byte-identical text.
 */
export function clusterRunbook(cluster: TalosCluster, options: ClusterRunbookOptions): string {
  const vms = templateVms(cluster);
  const kubeconfig = `${cluster.clusterName}.kubeconfig`;
  const longhorn = cluster.workerPools.some((p) => p.longhorn);
  const applyStep = longhorn ? 5 : 4;
  const sections: { title: string; body: string[] }[] = [
    { title: 'Management cluster', body: managementLinkSection() },
    { title: 'Proxmox API user and token', body: proxmoxSection(cluster, vms) },
    { title: `Talos template VM${vms.length > 1 ? 's' : ''}`, body: templateSection(vms) },
    // Numbered only when present, so the apply step is 5 with Longhorn and 4 without.
    ...(longhorn ? [{ title: 'Storage: Longhorn', body: longhornSection(cluster, kubeconfig, applyStep) }] : []),
    { title: 'Apply and verify', body: applySection(cluster, options, kubeconfig) },
  ];
  return [
    `# Runbook: ${cluster.clusterName}`,
    '',
    `Generated by \`cdk8s synth\` from ${code(options.sourceFile)}; do not edit. Day 0 of this cluster, in order`,
    `(${distLink('why each step', MANAGEMENT_RUNBOOK, ABOUT_CLUSTER_RUNBOOKS)}).`,
    '',
    `- namespace ${code(cluster.namespace)}, Kubernetes ${cluster.kubernetesVersion}, Talos ${cluster.talosVersion}`,
    ...networkFacts(cluster),
    '',
    ...sections.flatMap((s, i) => [`## ${i + 1}. ${s.title}`, '', ...s.body, '']),
  ].join('\n');
}
