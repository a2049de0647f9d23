/**
 * Users' own Talos settings: strategic patches (partial `v1alpha1` machine configs) and additional
 * config documents (`kind: …`), at cluster, control-plane and pool level. The project owns some
 * fields of the machine config (what makes a node boot, join and get its providerID): a patch may
 * not touch them, and each refusal names the config field to use instead.
 */
import * as YAML from 'yaml';
import { Diagnostic, error, joinPath } from '../core/errors';
import { contentHash } from '../core/naming';
import { toYaml } from '../core/yaml';

/**
 * YAML text of one or more patch documents, with the file it was read from, so that messages can
 * name the file and line. Config files get this from `- file: patches/x.yaml`.
 */
export interface TalosPatchText {
  /** The YAML text: one document, or several separated by `---`. */
  readonly yaml: string;
  /**
   * The file the text was read from, as messages name it.
   * @default - inline
   */
  readonly file?: string;
}

/**
 * A Talos patch: a partial `v1alpha1` machine config (`{ machine: { … } }`) or an additional config
 * document (`{ apiVersion: v1alpha1, kind: …, … }`) as an object, or YAML text of one or more.
 */
export type TalosPatch = Readonly<Record<string, unknown>> | TalosPatchText;

/** One document of a patch, with where it came from. */
export interface PatchDocument {
  /** The document. */
  readonly value: Record<string, unknown>;
  /** Prop path of the patch (`talos.patches[0]`). */
  readonly path: string;
  /** The file and the document's parsed YAML, for line numbers; absent for inline objects. */
  readonly text?: { readonly file?: string; readonly doc: YAML.Document.Parsed; readonly lines: YAML.LineCounter; readonly index: number };
}

/** Whether a patch is YAML text rather than a document object. */
export function isPatchText(patch: TalosPatch): patch is TalosPatchText {
  return typeof (patch as TalosPatchText).yaml === 'string' && Object.keys(patch).every((k) => k === 'yaml' || k === 'file');
}

/** A patch file or text may hold at most this many documents: a patch is a few settings. */
const MAX_DOCUMENTS = 50;

/**
 * The documents of a list of patches, each a mapping, or the problems that stop them: YAML that
 * does not parse, a document that is not a mapping.
 */
export function patchDocuments(patches: readonly TalosPatch[], path: string): { documents: PatchDocument[]; problems: Diagnostic[] } {
  const documents: PatchDocument[] = [];
  const problems: Diagnostic[] = [];
  patches.forEach((patch, i) => {
    const at = `${path}[${i}]`;
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      problems.push(error(at, 'must be a patch: a mapping (a partial machine config or a config document) or a file'));
      return;
    }
    if (!isPatchText(patch)) {
      documents.push({ value: patch as Record<string, unknown>, path: at });
      return;
    }
    const lines = new YAML.LineCounter();
    const docs = YAML.parseAllDocuments(patch.yaml, { lineCounter: lines, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    const where = (line?: number) => (patch.file ? ` (${patch.file}${line ? `:${line}` : ''})` : '');
    if (list.length > MAX_DOCUMENTS) {
      problems.push(error(at, `holds ${list.length} YAML documents${where()}; a patch may hold at most ${MAX_DOCUMENTS}`));
      return;
    }
    list.forEach((doc, d) => {
      if (doc.errors.length > 0) {
        const line = doc.errors[0].linePos?.[0]?.line;
        problems.push(error(at, `is not valid YAML${where(line)}: ${doc.errors[0].code}`));
        return;
      }
      const value = doc.toJS({ maxAliasCount: 100 });
      if (value === null && list.length > 1) return; // an empty document between `---`
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        const start = doc.contents?.range?.[0] ?? doc.range?.[0];
        problems.push(error(at, `document ${d + 1}${where(start !== undefined ? lines.linePos(start).line : undefined)} must be a mapping (a partial machine config or a config document)`));
        return;
      }
      documents.push({ value, path: at, text: { file: patch.file, doc, lines, index: d } });
    });
  });
  return { documents, problems };
}

/** `file:line` of a field of a patch document read from text, when known. */
export function documentLine(d: PatchDocument, field: readonly (string | number)[]): string {
  if (!d.text) return '';
  const node = d.text.doc.getIn(field, true) as YAML.Node | undefined;
  const pos = node && YAML.isNode(node) && node.range ? d.text.lines.linePos(node.range[0]).line : undefined;
  const file = d.text.file ?? '';
  return ` (${file}${file && pos ? ':' : ''}${pos ? (file ? pos : `line ${pos}`) : ''})`.replace(' ()', '');
}

/** A field the project owns, and the config field that sets it instead. */
interface OwnedField {
  /** Path of the field in a `v1alpha1` document, keys from the root. */
  readonly path: readonly string[];
  /** What to use instead, in the config's words. */
  readonly instead: string;
}

/**
 * Fields of the `v1alpha1` machine config the project sets or relies on. A patch that changed them
 * would silently break what the constructs promise: the installed image, the VIP, Cilium's CNI and
 * kube-proxy replacement, the external cloud provider and the CCM's Talos API access (providerIDs),
 * node labels and taints (routed through Cluster API), node addresses and networks, the API port.
 */
const OWNED_FIELDS: readonly OwnedField[] = [
  { path: ['machine', 'install', 'image'], instead: 'talos.version, talos.extensions and extraKernelArgs (the image follows the schematic)' },
  { path: ['machine', 'network', 'interfaces'], instead: 'network (node addresses come from CAPMOX, the VIP from network.endpoint)' },
  { path: ['machine', 'network', 'hostname'], instead: 'nothing: every node takes its name from its VM' },
  { path: ['machine', 'features', 'kubernetesTalosAPIAccess'], instead: 'nothing: the Talos CCM needs this access for providerIDs' },
  { path: ['machine', 'nodeLabels'], instead: 'workers[].labels' },
  { path: ['machine', 'nodeTaints'], instead: 'workers[].taints' },
  { path: ['machine', 'kubelet', 'extraArgs', 'register-with-taints'], instead: 'workers[].taints' },
  { path: ['machine', 'kubelet', 'extraArgs', 'node-labels'], instead: 'workers[].labels' },
  { path: ['machine', 'kubelet', 'extraArgs', 'cloud-provider'], instead: 'nothing: the external cloud provider (Talos CCM) is required' },
  { path: ['machine', 'kubelet', 'extraArgs', 'rotate-server-certificates'], instead: 'nothing: the Talos CCM approves the serving certificates' },
  { path: ['machine', 'kubelet', 'nodeIP'], instead: 'network (the node IP stays on the primary network)' },
  { path: ['cluster', 'network', 'cni'], instead: 'cilium (Cilium is the CNI)' },
  { path: ['cluster', 'network', 'podSubnets'], instead: 'network.podCidrs' },
  { path: ['cluster', 'network', 'serviceSubnets'], instead: 'network.serviceCidrs' },
  { path: ['cluster', 'proxy'], instead: 'cilium (Cilium replaces kube-proxy)' },
  { path: ['cluster', 'externalCloudProvider'], instead: 'nothing: the Talos CCM sets the providerIDs Cluster API needs' },
  { path: ['cluster', 'controlPlane', 'endpoint'], instead: 'network.endpoint and network.endpointPort' },
  { path: ['cluster', 'controlPlane', 'localAPIServerPort'], instead: 'network.endpointPort' },
  { path: ['cluster', 'etcd', 'advertisedSubnets'], instead: 'network (etcd stays on the primary network)' },
  { path: ['cluster', 'clusterName'], instead: 'name' },
];

/** How {@link OWNED_FIELDS} marks a field no config field replaces. */
const NO_ALTERNATIVE = 'nothing: ';

/** Additional config documents the project owns, by kind. */
const OWNED_KINDS: Readonly<Record<string, string>> = {
  Layer2VIPConfig: 'network.endpoint (the VIP document is the project\'s)',
  HostnameConfig: 'nothing: every node takes its name from its VM',
  ResolverConfig: 'network.dnsServers (CAPMOX hands them to every node)',
};

/** The link CAPMOX's nocloud network-config configures (addresses, routes): a LinkConfig of it is owned. */
const PRIMARY_LINK = 'eth0';

/**
 * Secret values a machine config can hold. dist/ is committed, so a patch must never carry one:
 * Cluster API generates the cluster's PKI and tokens on the management cluster.
 */
const SECRET_FIELDS: readonly (readonly string[])[] = [
  ['machine', 'token'], ['machine', 'ca', 'key'], ['cluster', 'token'], ['cluster', 'secret'], ['cluster', 'ca', 'key'],
  ['cluster', 'aggregatorCA', 'key'], ['cluster', 'serviceAccount', 'key'], ['cluster', 'etcd', 'ca', 'key'],
  ['cluster', 'aescbcEncryptionSecret'], ['cluster', 'secretboxEncryptionSecret'],
];

/** Secret fields of additional documents, by kind. */
const SECRET_DOCUMENT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  RegistryAuthConfig: ['password', 'auth', 'identityToken'],
  WireguardConfig: ['privateKey'],
  SideroLinkConfig: ['uniqueToken'],
};

const SECRET_ADVICE = 'dist/ is committed, so a patch may not hold a secret; keep it out of the repository (Talos reads registry credentials and keys from documents you apply to the nodes yourself)';

/** What is said of an owned field or document: the config field to use, or why nothing replaces it. */
function ownedMessage(owned: string, instead: string, refusal: string): string {
  return instead.startsWith(NO_ALTERNATIVE)
    ? `${owned} and cannot be changed: ${instead.slice(NO_ALTERNATIVE.length)}`
    : `${owned}: ${refusal}use ${instead}`;
}

/** Whether `value` has a field at `path` (keys from the root). */
function hasPath(value: unknown, path: readonly string[]): boolean {
  if (path.length === 0) return true;
  if (value === null || typeof value !== 'object') return false;
  return Object.prototype.hasOwnProperty.call(value, path[0]) && hasPath((value as Record<string, unknown>)[path[0]], path.slice(1));
}

/** Every owned field a patch document touches, refused with the config field to use instead. */
export function ownedFieldProblems(d: PatchDocument): Diagnostic[] {
  const kind = d.value.kind;
  if (typeof kind === 'string') {
    const instead = kind === 'LinkConfig' && d.value.name === PRIMARY_LINK
      ? 'network (CAPMOX configures the primary link\'s addresses and routes)'
      : OWNED_KINDS[kind];
    const secrets = (SECRET_DOCUMENT_FIELDS[kind] ?? []).filter((f) => hasPath(d.value, [f]));
    return [
      ...(instead ? [error(d.path, ownedMessage(`sets a ${kind} document${documentLine(d, ['kind'])}, which the project owns`, instead, ''))] : []),
      ...secrets.map((f) => error(joinPath(d.path, f), `is a secret${documentLine(d, [f])}: ${SECRET_ADVICE}`)),
    ];
  }
  return [
    ...OWNED_FIELDS.filter((f) => hasPath(d.value, f.path)).map((f) => error(
      joinPath(d.path, f.path.join('.')),
      ownedMessage(`is owned by the project${documentLine(d, f.path)}`, f.instead, 'a patch may not set it; '),
    )),
    ...SECRET_FIELDS.filter((f) => hasPath(d.value, f)).map((f) => error(joinPath(d.path, f.join('.')), `is a secret${documentLine(d, f)}: ${SECRET_ADVICE}`)),
  ];
}

/** A patch document as the strategic patch string CABPT and CACPPT take. */
export function serializePatch(d: PatchDocument): string {
  return toYaml(d.value);
}

/**
 * The value of {@link PATCHES_ANNOTATION} for some patch documents: each one's prop path and a short
 * hash of its content; undefined when there are none, so output without patches is unchanged.
 */
export function patchesAnnotation(documents: readonly PatchDocument[]): string | undefined {
  if (documents.length === 0) return undefined;
  return documents.map((d) => `${d.path}=${contentHash(d.value)}`).join(',');
}
