/**
 * The pinned, compatible stack: one place for every version this project emits or expects.
 *
 * Facts and sources are in STACK.md §0 (shipped beside the project as reference data). Changing a
 * version here is a product decision: regenerate imports/ and schemas/ (`npm run import`) and
 * re-run the tests, which pin the emitted apiVersions.
 */

/** A Kubernetes API group and version. */
export interface GroupVersion {
  /** API group, e.g. `cluster.x-k8s.io`. */
  readonly group: string;
  /** API version inside the group, e.g. `v1beta2`. */
  readonly version: string;
}

/** `group/version`, the form used in `apiVersion`. */
export function apiVersionOf(gv: GroupVersion): string {
  return gv.group === '' ? gv.version : `${gv.group}/${gv.version}`;
}

/** Provider and component releases of the compatible stack. */
export const STACK_VERSIONS = {
  /** Cluster API core (CAPI); CAPMOX v0.9 is declared compatible with CAPI v1.11 and v1.12 only. */
  clusterApi: 'v1.12.11',
  /** Cluster API Provider Proxmox (CAPMOX). */
  capmox: 'v0.9.0',
  /** Cluster API Bootstrap Provider Talos (CABPT); v0.6.12 is the stable release for Talos 1.13. */
  cabpt: 'v0.6.12',
  /** Cluster API Control Plane Provider Talos (CACPPT); v0.5.13 fixes the rollout deadlock of v0.5.12. */
  cacppt: 'v0.5.13',
  /** Cluster API IPAM provider in-cluster, required by CAPMOX v0.9. */
  ipamInCluster: 'v1.1.0',
  /** Default Talos Linux release. */
  talos: 'v1.13.9',
  /** Default Kubernetes release of workload clusters. */
  kubernetes: 'v1.35.4',
  /** Cilium release (and Helm chart version). */
  cilium: '1.20.0',
  /** Talos cloud controller manager release. */
  talosCcm: 'v1.12.0',
  /** Talos cloud controller manager Helm chart version (appVersion v1.12.0). */
  talosCcmChart: '0.5.4',
} as const;

/** The API group/version of every custom resource kind this project emits. */
export const API = {
  Cluster: { group: 'cluster.x-k8s.io', version: 'v1beta2' },
  MachineDeployment: { group: 'cluster.x-k8s.io', version: 'v1beta2' },
  MachineHealthCheck: { group: 'cluster.x-k8s.io', version: 'v1beta2' },
  ClusterResourceSet: { group: 'addons.cluster.x-k8s.io', version: 'v1beta2' },
  ProxmoxCluster: { group: 'infrastructure.cluster.x-k8s.io', version: 'v1alpha2' },
  ProxmoxMachineTemplate: { group: 'infrastructure.cluster.x-k8s.io', version: 'v1alpha2' },
  TalosControlPlane: { group: 'controlplane.cluster.x-k8s.io', version: 'v1alpha3' },
  TalosConfigTemplate: { group: 'bootstrap.cluster.x-k8s.io', version: 'v1alpha3' },
  InClusterIPPool: { group: 'ipam.cluster.x-k8s.io', version: 'v1alpha2' },
  GitRepository: { group: 'source.toolkit.fluxcd.io', version: 'v1' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1' },
  GitRepo: { group: 'fleet.cattle.io', version: 'v1alpha1' },
} as const satisfies Record<string, GroupVersion>;

/** A kind this project emits as a custom resource. */
export type CustomKind = keyof typeof API;

/**
 * Kubernetes minors each Talos minor supports (Talos support matrix, STACK.md §0).
 *
 * Only the Talos minors whose machine-config schema ships with this project are listed.
 */
export const TALOS_KUBERNETES_SUPPORT: Readonly<Record<string, { readonly min: string; readonly max: string }>> = {
  'v1.12': { min: 'v1.30', max: 'v1.35' },
  'v1.13': { min: 'v1.31', max: 'v1.36' },
};

/** A Helm chart pinned by version and archive digest. */
export interface PinnedChart {
  /** Chart name, as in `Chart.yaml` and in the archive file name. */
  readonly name: string;
  /** Chart version. */
  readonly version: string;
  /** sha256 of the chart archive (`<name>-<version>.tgz`); checked before every render. */
  readonly sha256: string;
  /** Where `helm pull` fetches the chart when no local copy exists (a `--repo` URL or an `oci://` ref). */
  readonly repository: string;
}

/** Cilium chart: digest of the official release archive (equals the cilium/charts index digest). */
export const CILIUM_CHART: PinnedChart = {
  name: 'cilium',
  version: STACK_VERSIONS.cilium,
  sha256: 'c5f013912360d1a334f44ef25f36da59ba3414cdb48f466ee12d0c4fdff27883',
  repository: 'https://helm.cilium.io',
};

/**
 * Talos CCM chart: digest of `helm package` of the upstream tag v1.12.0.
 *
 * The chart is published as an OCI artifact whose archive digest is not recorded upstream; if a
 * pulled archive differs, the digest check fails loudly rather than rendering unreviewed content.
 */
export const TALOS_CCM_CHART: PinnedChart = {
  name: 'talos-cloud-controller-manager',
  version: STACK_VERSIONS.talosCcmChart,
  sha256: '32fcfae0671dc660fe3fb922260d1ae4140b5184073e9cf0daa73cb3eff059d1',
  repository: 'oci://ghcr.io/siderolabs/charts/talos-cloud-controller-manager',
};
