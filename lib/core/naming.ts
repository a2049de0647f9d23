import { createHash } from 'crypto';
import { canonicalYaml } from './yaml';

/** Label CAPI uses for the owning cluster; the ClusterResourceSets select clusters by it. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** Label CAPI puts on a MachineDeployment's Machines; the worker health checks select by it. */
export const DEPLOYMENT_NAME_LABEL = 'cluster.x-k8s.io/deployment-name';
/** Label CAPI puts on control-plane Machines. */
export const CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane';

/** DNS-1123 label: what Kubernetes accepts as a name that also becomes part of hostnames. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomain: what Kubernetes accepts as most object names and as label-key prefixes. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Longest DNS-1123 label. */
export const DNS1123_LABEL_MAX = 63;
/** Longest DNS-1123 subdomain. */
export const DNS1123_SUBDOMAIN_MAX = 253;

/** Number of hex digits of the content hash appended to template names. */
export const CONTENT_HASH_LENGTH = 8;

/**
 * Short, stable hash of a value's content, independent of key order.
 *
 * Templates are immutable (STACK.md §5.1): naming them by content makes every edit a new object
 * and a rolling update, while an unchanged spec keeps its name across runs and refactors.
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalYaml(value)).digest('hex').slice(0, CONTENT_HASH_LENGTH);
}

/**
 * Short hash of texts taken as they are (each ended by a NUL, so the parts cannot run together):
 * for content that is already text, like a chart's rendered manifests.
 */
export function textHash(texts: readonly string[], length: number = CONTENT_HASH_LENGTH): string {
  const hash = createHash('sha256');
  for (const t of texts) hash.update(t).update('\0');
  return hash.digest('hex').slice(0, length);
}

/** `<base>-<content hash>`, the name of an immutable template. */
export function contentAddressedName(base: string, spec: unknown): string {
  return `${base}-${contentHash(spec)}`;
}

/**
 * Folder of dist/ holding the management cluster's GitOps objects. Reserved as a cluster name,
 * since each cluster's manifests go to `dist/<cluster>/`.
 */
export const MANAGEMENT_OUTPUT = 'management';

/** Folder of dist/ with the shared add-on renders, `_addons/<namespace>/<render>.k8s.yaml`: no DNS label (a cluster name) starts with `_`. */
export const ADDONS_OUTPUT = '_addons';

/**
 * Folder (in the project) of the SOPS-encrypted Secrets, one subfolder per cluster: written by
 * `npm run credentials`, applied by Flux with decryption, never part of dist/.
 */
export const SECRETS_FOLDER = 'secrets';

/**
 * Orders two strings by UTF-16 code units, as `Array.prototype.sort` does by default: the same in
 * every locale, unlike `localeCompare`, so sorted output never depends on LANG or LC_ALL.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Annotation on a TalosControlPlane or TalosConfigTemplate listing the users' Talos patches it
 * carries, in order, each `<prop path>=<content hash>` (`talos.patches[0]=1a2b3c4d`), so that
 * `npm run plan` can say which patch rolls which machines.
 */
export const PATCHES_ANNOTATION = 'cdk8s-talos-proxmox.dev/patches';
