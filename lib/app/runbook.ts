import { TemplateVm } from '../constructs/proxmox-machine-template';
import { TalosCluster } from '../constructs/talos-cluster';
import { CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL } from '../core/naming';
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
  readonly sourceNode: string;
  readonly templateId: number;
  readonly users: TemplateVmUser[];
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

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
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

/** The project README, from dist/<cluster>/RUNBOOK.md; "README" alone would be the diagram beside it. */
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
  const add = ({ sourceNode, templateId }: TemplateVm, user: TemplateVmUser) => {
    const vm = vms.find((v) => v.sourceNode === sourceNode && v.templateId === templateId);
    if (vm) vm.users.push(user);
    else vms.push({ sourceNode, templateId, users: [user] });
  };
  add(cluster.controlPlaneTemplate.template, { what: 'control plane', schematic: cluster.schematic });
  for (const pool of cluster.workerPools) {
    add(pool.template, { what: `pool ${code(pool.poolName)}`, schematic: pool.schematic });
  }
  return vms;
}

/** The VM's name in Proxmox: Talos release and schematic, so a glance at the VM list tells the images apart. */
function templateVmName(talosVersion: string, schematic: Schematic): string {
  return `talos-${talosVersion.replace(/\./g, '-')}-${schematic.id.slice(0, 8)}`;
}

/** Proxmox user of the API token: one per cluster with its own Secret, one shared by the global credentials. */
function proxmoxUser(cluster: TalosCluster): string {
  return cluster.credentialsSecret !== undefined ? `capmox-${cluster.clusterName}@pve` : 'capmox@pve';
}

/** Name of the API token (`<user>!capi`), as README "Proxmox credentials" names it. */
const TOKEN_NAME = 'capi';

function managementSection(cluster: TalosCluster): string[] {
  const config = `${MANAGEMENT_CLUSTER_NAME}.kind.yaml`;
  return [
    'Run kind on a host that reaches the node network: CACPPT talks to the Talos API of each control plane',
    `(addresses from ${cluster.addresses.map(code).join(', ')}) on TCP 50000, and Cluster API reaches the API server`,
    `through the VIP ${code(`${cluster.endpoint}:${cluster.endpointPort}`)}; CAPMOX calls the Proxmox API (port 8006).`,
    'The Talos bootstrap Secrets live only in this cluster, so keep it (or back them up, last step).',
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
    '',
    'Once the first control plane has booted (last step), check the VIP from inside kind.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      `docker exec ${MANAGEMENT_CLUSTER_NAME}-control-plane timeout 3 bash -c ${sh(`</dev/tcp/${cluster.endpoint}/${cluster.endpointPort}`)} && echo reachable`,
    ]),
  ];
}

function providersSection(cluster: TalosCluster): string[] {
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
  const secretName = cluster.credentialsSecret;
  const credentials = secretName === undefined ? [
    `${cluster.clusterName} has no credentials Secret, so CAPMOX uses its global credentials (Secret`,
    '`capmox-manager-credentials`, filled from these variables at init). They need the token of',
    'step 3: create it first.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [
      'export PROXMOX_URL=https://<proxmox host>:8006     # adapt: no /api2/json',
      `export PROXMOX_TOKEN=${sh(`${proxmoxUser(cluster)}!${TOKEN_NAME}`)}              # step 3`,
      'export PROXMOX_SECRET=\'<token secret>\'             # printed once by `pveum user token add` (step 3)',
      ...init,
    ]),
  ] : [
    `CAPMOX reads the token of ${cluster.clusterName} from the Secret ${code(secretName)} in namespace`,
    `${code(cluster.namespace)} (the ProxmoxCluster's \`credentialsRef\`), created at the end of step 3 as in`,
    `${projectReadme('proxmox-credentials', 'Proxmox credentials')}. Run init without \`PROXMOX_*\``,
    'variables, so no global credentials are installed.',
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

function proxmoxSection(cluster: TalosCluster, vms: readonly TemplateVmUsers[]): string[] {
  const user = proxmoxUser(cluster);
  const acl = (path: string, role: string, extra = '') => `pveum acl modify ${path} --users ${user} --roles ${role}${extra}`;
  const nodes = cluster.allowedNodes;
  const secretName = cluster.credentialsSecret;
  const commands = [
    `ISO_STORAGE=local       # adapt: the first storage with content "iso" on ${list(nodes)}`,
    'DISK_STORAGE=local-lvm  # adapt: the storage of the template disks (step 4); full clones land there too',
    `pveum user add ${user} --comment ${sh(secretName !== undefined ? `CAPMOX, cluster ${cluster.clusterName}` : 'CAPMOX, global credentials')}`,
    'pveum role add CapmoxSysAudit --privs Sys.Audit   # once per Proxmox cluster',
    acl('/', 'CapmoxSysAudit', ' --propagate 0'),
    ...nodes.map((n) => acl(sh(`/nodes/${n}`), 'CapmoxSysAudit')),
    acl('/vms', 'PVEVMAdmin'),
    ...vms.map((vm) => acl(`/vms/${vm.templateId}`, 'PVETemplateUser')),
    acl(sh(`/sdn/zones/localnetwork/${cluster.bridge}`), 'PVESDNUser'),
    acl('"/storage/$ISO_STORAGE"', 'PVEDatastoreAdmin'),
    acl('"/storage/$DISK_STORAGE"', 'PVEDatastoreUser'),
    `pveum user token add ${user} ${TOKEN_NAME} --privsep 0   # prints the token secret once`,
  ];
  // pveum writes the cluster-wide /etc/pve, so any node will do; the first one the cluster uses is named.
  const node = nodes[0] ?? vms[0].sourceNode;
  const out = [
    `A user ${code(user)} with the least-privilege roles CAPMOX documents, scoped to this cluster's nodes, template`,
    `VM${vms.length > 1 ? 's' : ''}, bridge and storages, and a token that shares its rights (\`--privsep 0\`). Proxmox VE ≥ 8,`,
    'which has ACLs on bridges under `/sdn/zones/localnetwork`.',
    '',
    onNode(node, 'or any other node of the Proxmox VE cluster: users and ACLs are cluster-wide'),
    '',
    ...block('sh', commands),
    '',
    '- `/vms`, not a pool: the machine templates name no Proxmox pool, so clones join none.',
    `- ${code('$ISO_STORAGE')}: CAPMOX uploads each machine's NoCloud ISO (its machine config, cluster PKI included`,
    '  on control planes) to the first ISO-capable storage of the node and attaches it on `ide0`.',
    `- ${code('$DISK_STORAGE')}: Datastore.AllocateSpace for the full clones, which stay on the template's storage.`,
  ];
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
 * so the whole build is one subshell with `set -e`, and it refuses a VM ID that is taken, since
 * `qm create` on a reused ID would fail half-way on a re-run, or the ID may hold someone else's VM.
 * `pvesh get /cluster/nextid --vmid` checks the whole Proxmox VE cluster (VMs and containers share
 * IDs), where `qm status` sees only this node's VMs.
 */
function templateBuild(cluster: TalosCluster, id: number, name: string, imageUrl: string, agent: boolean): string[] {
  // The body stays unindented, so each line reads (and greps) as the command it is.
  return [
    '(',
    'set -e',
    `if ! pvesh get /cluster/nextid --vmid ${id} >/dev/null; then`,
    `  echo "VM ID ${id} is taken: check that it is the template ${name} (qm config ${id}), or pick another templateId" >&2`,
    '  exit 1',
    'fi',
    'DISK_STORAGE=local-lvm  # adapt: as in step 3',
    `IMAGE=/var/tmp/${name}.raw`,
    `curl -fL -o "$IMAGE.xz" ${imageUrl}`,
    'xz -d -f "$IMAGE.xz"',
    `qm create ${id} --name ${name} --ostype l26 --machine q35 --cpu host \\`,
    '  --cores 2 --memory 2048 --balloon 0 --hotplug network,disk,usb \\',
    `  --scsihw virtio-scsi-pci --net0 ${sh(`virtio,bridge=${cluster.bridge}`)}${agent ? ' --agent enabled=1' : ''}`,
    `qm set ${id} --scsi0 "$DISK_STORAGE:0,import-from=$IMAGE"`,
    `qm set ${id} --boot order=scsi0`,
    `qm template ${id}`,
    'rm "$IMAGE"',
    ')',
  ];
}

function templateSection(cluster: TalosCluster, vms: readonly TemplateVmUsers[]): string[] {
  const version = cluster.talosVersion;
  const out = [
    `One template VM per ${code('sourceNode')}/${code('templateId')}, from the Image Factory nocloud disk image of the`,
    `schematic its machines boot (Talos ${version}). CAPMOX sets each clone's size and grows its disk;`,
    'the template needs no cloud-init drive, since CAPMOX attaches its own NoCloud ISO on `ide0`.',
    'Each build runs in a subshell with `set -e`: it stops at the first failing command, and before',
    '`qm create` when the VM ID is already taken anywhere in the Proxmox VE cluster, without closing your shell.',
  ];
  const otherNodes = (vm: TemplateVmUsers) => cluster.allowedNodes.filter((n) => n !== vm.sourceNode);
  for (const vm of vms) {
    const schematic = vm.users[0].schematic;
    const conflicting = vm.users.filter((u) => u.schematic.id !== schematic.id);
    const yaml = schematic.toYaml().trimEnd().split('\n');
    const agent = schematic.hasExtension(QEMU_GUEST_AGENT_EXTENSION);
    out.push(
      '',
      `### Template VM ${vm.templateId} on ${vm.sourceNode}`,
      '',
      `Used by the ${list(vm.users.map((u) => u.what))}. Schematic ${code(schematic.id)}:`,
      '',
    );
    if (conflicting.length > 0) {
      // Synth refuses this; should it ever pass, the runbook must not quietly build one image for both.
      out.push(
        `> **CONFLICT: one template VM, two images.** ${list(conflicting.map((u) => `the ${u.what} boots schematic ${code(u.schematic.id)}`))},`,
        `> not ${code(schematic.id)}. A template VM holds one disk image: give ${conflicting.length > 1 ? 'them their' : 'it its'} own \`templateID\` and build it from`,
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
      ...block('sh', templateBuild(cluster, vm.templateId, templateVmName(version, schematic), schematic.diskImageUrl(version), agent)),
      '',
      '- `--scsihw virtio-scsi-pci` is "VirtIO SCSI"; "VirtIO SCSI single" hangs the bootstrap.',
      '- `--balloon 0` and no memory hotplug: Talos does not see memory added later.',
      agent
        ? `- \`--agent enabled=1\`: the image has ${code(QEMU_GUEST_AGENT_EXTENSION)}, and CAPMOX waits for the agent.`
        : `- No \`--agent\`: the image lacks ${code(QEMU_GUEST_AGENT_EXTENSION)}; the machine templates skip CAPMOX's agent check.`,
    );
    const others = otherNodes(vm);
    if (others.length > 0) {
      out.push(
        `- CAPMOX also places clones on ${list(others)}, and Proxmox clones to another node only from shared`,
        `  storage: put ${code('$DISK_STORAGE')} on storage ${vm.sourceNode} shares with ${list(others)}.`,
      );
    }
  }
  return out;
}

function longhornSection(cluster: TalosCluster, kubeconfig: string, applyStep: number): string[] {
  const pools = cluster.workerPools.filter((p) => p.longhorn);
  const ns = LONGHORN_NAMESPACE;
  const out = [
    `Longhorn needs ${list(LONGHORN_EXTENSIONS.map(code))} (iscsid, fstrim) in the image of its nodes, so ${pools.length > 1 ? 'these pools boot their' : 'this pool boots its'}`,
    `own schematic from ${pools.length > 1 ? 'their' : 'its'} own template VM (step 4); ${projectReadme('add-a-longhorn-pool', 'Add a Longhorn pool')}, has the details:`,
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
    'and applies `dist/management/` once). Without an agent, apply it yourself; server-side, since the',
    'resource-set ConfigMaps are large.',
    '',
    WORKSTATION,
    '',
    ...block('sh', [`kubectl apply --server-side -f dist/${name}/`]),
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
    '`Ready` on the TalosControlPlane needs every control-plane machine ready.',
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

/**
 * The day-0 runbook of one cluster: the exact commands that take an empty Proxmox VE and a
 * workstation to this cluster running, with every value (names, versions, schematic IDs, image
 * URLs, template VM IDs, nodes, bridge, VIP, namespace, credentials Secret) taken from the cluster
 * construct and lib/stack.ts, so the runbook cannot drift from the manifests synthesized beside it.
 *
 * Sections: 1 management cluster with kind, 2 `clusterctl init` with the pinned providers,
 * 3 Proxmox API user and token with least privilege, 4 one template VM per `sourceNode`/
 * `templateId`, 5 Longhorn (only when a pool has `longhorn`), then apply and verify. Only what
 * Proxmox knows and the project cannot (storage names, the API URL, the token secret) is left to
 * the reader, marked `adapt`. Every command block is preceded by the machine it runs on (a Proxmox
 * node's root shell or the workstation, in this repository), and every link resolves inside the
 * repository: the runbook is read on GitHub or in a clone, where nothing beside the repository exists.
 *
 * Deterministic: the same cluster gives byte-identical text.
 */
export function clusterRunbook(cluster: TalosCluster, options: ClusterRunbookOptions): string {
  const vms = templateVms(cluster);
  const kubeconfig = `${cluster.clusterName}.kubeconfig`;
  const sections: { title: string; body: string[] }[] = [
    { title: 'Management cluster with kind', body: managementSection(cluster) },
    { title: 'Cluster API providers', body: providersSection(cluster) },
    { title: 'Proxmox API user and token', body: proxmoxSection(cluster, vms) },
    { title: `Talos template VM${vms.length > 1 ? 's' : ''}`, body: templateSection(cluster, vms) },
    // Numbered only when present, so the apply step is 6 with Longhorn and 5 without.
    ...(cluster.workerPools.some((p) => p.longhorn) ? [{ title: 'Storage: Longhorn', body: longhornSection(cluster, kubeconfig, 6) }] : []),
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
    'block says where it runs: in a root shell on a Proxmox node (`pveum`, `qm`), or on your workstation, in',
    'a clone of this repository with `npm ci` done (kind, clusterctl, kubectl, talosctl, npm).',
    '',
    `- namespace ${code(cluster.namespace)}, Kubernetes ${cluster.kubernetesVersion}, Talos ${cluster.talosVersion}`,
    `- VIP ${code(`${cluster.endpoint}:${cluster.endpointPort}`)}, node addresses ${cluster.addresses.map(code).join(', ')}, bridge ${code(cluster.bridge)}`,
    `- Proxmox nodes ${list(cluster.allowedNodes.map(code))}; credentials: ${credentials}`,
    '',
    ...sections.flatMap((s, i) => [`## ${i + 1}. ${s.title}`, '', ...s.body, '']),
  ].join('\n');
}
