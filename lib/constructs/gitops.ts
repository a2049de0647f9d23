import * as path from 'path';
import { Construct } from 'constructs';
import { GitRepo } from '../../imports/fleet.cattle.io';
import {
  Kustomization,
  KustomizationSpecDecryptionProvider,
  KustomizationSpecHealthCheckExprs,
  KustomizationSpecSourceRefKind,
} from '../../imports/kustomize.toolkit.fluxcd.io';
import { GitRepository } from '../../imports/source.toolkit.fluxcd.io';
import { API, apiVersionOf } from '../core/stack';

/** The git repository holding dist/, as the management cluster reaches it. */
export interface GitSourceOptions {
  /** Clone URL. */
  readonly url: string;
  /**
   * Branch to follow.
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * Secret with git credentials, in the GitOps agent's namespace.
   * @default - none (a public repository)
   */
  readonly secretName?: string;
}

/** One workload cluster whose manifests a GitOps agent applies. */
export interface DeliveredCluster {
  /** Cluster name; names the agent's objects. */
  readonly clusterName: string;
  /** Folder of the cluster's manifests in the repository (`dist/<cluster>`). */
  readonly manifestsPath: string;
  /**
   * Folder of the cluster's SOPS-encrypted Secrets (the Proxmox credentials), applied before the
   * manifests. Only Flux decrypts SOPS; Fleet users apply the Secret out of band.
   * @default - the cluster has no Secrets in git
   */
  readonly secretsPath?: string;
}

/** Props of a {@link FluxDelivery}. */
export interface FluxDeliveryProps {
  /** Name of the GitRepository; the Kustomization that applies the management folder is `<name>-management`. */
  readonly name: string;
  /**
   * Namespace of the Flux objects.
   * @default 'flux-system'
   */
  readonly namespace?: string;
  /** The repository. */
  readonly repository: GitSourceOptions;
  /**
   * Folder of the Flux objects themselves in the repository (`dist/management/flux`): a
   * Kustomization applies it, so clusters added later are picked up without another kubectl apply.
   */
  readonly managementPath: string;
  /**
   * Folder of the shared add-on renders in the repository (`dist/_addons`): the ClusterResourceSets
   * and ConfigMaps every cluster's Cluster object selects by label, stored once per render.
   * @default - none (a library user delivering the renders another way)
   */
  readonly addonsPath?: string;
  /**
   * How often Flux fetches and reconciles.
   * @default '5m'
   */
  readonly interval?: string;
  /**
   * Secret (in the Flux namespace) with the age key that decrypts SOPS-encrypted Secrets.
   * @default 'sops-age'
   */
  readonly decryptionSecretName?: string;
  /** The clusters to deliver. */
  readonly clusters: readonly DeliveredCluster[];
}

/**
 * How long a cluster's Kustomization waits for its objects to become healthy (Flux's default is the
 * 5m interval). The health checks below wait until the cluster is up, so the timeout covers a
 * bring-up and a control-plane rollout: CACPPT replaces control-plane machines one at a time
 * (clone, Talos install, etcd join, Node Ready, old machine removed), some 6-10 minutes each on
 * Proxmox, so three replicas take up to half an hour, plus margin. Without kustomize-controller's
 * `CancelHealthCheckOnNewRevision` feature gate a fix commit waits until this runs out.
 */
export const FLUX_WAIT_TIMEOUT = '45m';

/**
 * CEL: the object carries condition `type` with `status`, set for its current generation. CAPI
 * v1beta2 conditions (metav1.Condition) record the generation they were computed from, so a
 * condition left over from before a spec change does not count.
 */
function freshCondition(type: string, status?: 'True' | 'False'): string {
  const statusTest = status ? ` && c.status == '${status}'` : '';
  return `(has(status.conditions) && status.conditions.exists(c, c.type == '${type}'${statusTest}`
    + ' && has(c.observedGeneration) && c.observedGeneration == metadata.generation))';
}

/** CEL: a v1beta1-style condition (no observedGeneration of its own) has `status`. */
function v1beta1Condition(type: string, status: 'True' | 'False'): string {
  return `(has(status.conditions) && status.conditions.exists(c, c.type == '${type}' && c.status == '${status}'))`;
}

/** CEL: the object is being deleted; what Flux applied cannot come up. */
const DELETING = 'has(metadata.deletionTimestamp)';

/**
 * Flux `healthCheckExprs` that make a cluster's Kustomization Ready only when the cluster is up
 * (STACK.md §9.4): kstatus alone calls CAPI v1beta2 objects Current at once, as they have no `Ready`
 * condition. Flux evaluates them on the object itself (`metadata`, `spec`, `status` at top level):
 * InProgress while `status.observedGeneration` differs from `metadata.generation`, then
 * `inProgress`, `failed`, `current` in that order, the first true one wins, none true is
 * InProgress; an evaluation error (no `status` yet) is Unknown, and it keeps waiting. Failed ends
 * the wait at once (fail-fast).
 *
 * CAPI v1beta2 has no terminal failures any more (a False `Available` is retried, not final), so
 * `failed` matches only what cannot heal without a change in git: a terminal failure reported by
 * the infrastructure or control-plane provider (the Cluster's deprecated v1beta1 failure fields,
 * the TalosControlPlane's own), a Secret of the wrong type in a resource set, or an object being
 * deleted.
 */
export const CLUSTER_HEALTH_CHECKS: readonly KustomizationSpecHealthCheckExprs[] = [
  {
    apiVersion: apiVersionOf(API.Cluster),
    kind: 'Cluster',
    // Available: infrastructure ready, control plane available, workers available, API reachable.
    current: freshCondition('Available', 'True'),
    inProgress: `!${freshCondition('Available')}`,
    failed: `${DELETING} || (has(status.deprecated) && has(status.deprecated.v1beta1)`
      + ' && (has(status.deprecated.v1beta1.failureReason) || has(status.deprecated.v1beta1.failureMessage)))',
  },
  {
    apiVersion: apiVersionOf(API.TalosControlPlane),
    kind: 'TalosControlPlane',
    // Ready (CACPPT's summary), every desired replica a Ready Node, no surge machine left and no
    // machine with an outdated spec: a rollout is finished, not just started.
    current: [
      'has(status.observedGeneration) && status.observedGeneration == metadata.generation',
      v1beta1Condition('Ready', 'True'),
      'has(status.ready) && status.ready',
      'has(status.readyReplicas) && status.readyReplicas == (has(spec.replicas) ? spec.replicas : 1)',
      'has(status.replicas) && status.replicas == (has(spec.replicas) ? spec.replicas : 1)',
      '(!has(status.unavailableReplicas) || status.unavailableReplicas == 0)',
      `!${v1beta1Condition('MachinesSpecUpToDate', 'False')}`,
    ].join(' && '),
    // CACPPT patches observedGeneration on every reconcile; Flux's own check skips a missing one.
    inProgress: '!has(status.observedGeneration) || status.observedGeneration != metadata.generation',
    failed: `${DELETING} || has(status.failureReason) || has(status.failureMessage)`,
  },
  {
    apiVersion: apiVersionOf(API.MachineDeployment),
    kind: 'MachineDeployment',
    current: freshCondition('Available', 'True'),
    inProgress: `!${freshCondition('Available')}`,
    failed: DELETING,
  },
  {
    apiVersion: apiVersionOf(API.ClusterResourceSet),
    kind: 'ClusterResourceSet',
    // False with other reasons is retried: the cluster not reachable yet, a CRD not there yet.
    current: freshCondition('ResourcesApplied', 'True'),
    inProgress: `!${freshCondition('ResourcesApplied')}`,
    failed: `${DELETING} || (has(status.conditions) && status.conditions.exists(c, c.type == 'ResourcesApplied'`
      + " && c.status == 'False' && c.reason == 'WrongSecretType'))",
  },
];

/** `./<path>`: Flux paths are relative to the repository root. */
function fluxPath(p: string): string {
  return `./${p}`;
}

/**
 * Flux objects that apply dist/ to the management cluster: one GitRepository and, per cluster, a
 * Kustomization on `dist/<cluster>` with prune and wait on, whose health checks
 * ({@link CLUSTER_HEALTH_CHECKS}) wait until the cluster is up, plus one for its SOPS-encrypted
 * Secrets, which the cluster's Kustomization depends on. A last Kustomization applies the folder
 * of these objects, so after one `kubectl apply` the repository manages its own delivery.
 *
 * Pruning is what deletes a cluster whose config was removed; `npm run plan` reports that before
 * it is committed. Post-build substitution stays off; the resource-set ConfigMaps also carry
 * `kustomize.toolkit.fluxcd.io/substitute: disabled`, so enabling it later cannot mangle the
 * `${...}` in the manifests they embed (STACK.md §4.2).
 */
export class FluxDelivery extends Construct {
  constructor(scope: Construct, id: string, props: FluxDeliveryProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'flux-system';
    const interval = props.interval ?? '5m';
    new GitRepository(this, 'Resource', {
      metadata: { name: props.name, namespace },
      spec: {
        url: props.repository.url,
        ref: { branch: props.repository.branch ?? 'main' },
        interval,
        ...(props.repository.secretName ? { secretRef: { name: props.repository.secretName } } : {}),
      },
    });
    const sourceRef = { kind: KustomizationSpecSourceRefKind.GIT_REPOSITORY, name: props.name };
    for (const c of props.clusters) {
      const scope = new Construct(this, c.clusterName);
      const secretsName = `${c.clusterName}-secrets`;
      if (c.secretsPath) {
        new Kustomization(scope, 'Secrets', {
          metadata: { name: secretsName, namespace },
          spec: {
            interval, sourceRef, path: fluxPath(c.secretsPath), prune: true, wait: true,
            decryption: { provider: KustomizationSpecDecryptionProvider.SOPS, secretRef: { name: props.decryptionSecretName ?? 'sops-age' } },
          },
        });
      }
      new Kustomization(scope, 'Manifests', {
        metadata: { name: c.clusterName, namespace },
        spec: {
          interval, sourceRef, path: fluxPath(c.manifestsPath), prune: true, wait: true, timeout: FLUX_WAIT_TIMEOUT,
          healthCheckExprs: [...CLUSTER_HEALTH_CHECKS],
          ...(c.secretsPath ? { dependsOn: [{ name: secretsName }] } : {}),
        },
      });
    }
    if (props.addonsPath !== undefined) {
      // No wait: a resource set is applied once a cluster it selects is up, so this would wait for
      // bring-ups; each cluster's Kustomization already waits for its own (CLUSTER_HEALTH_CHECKS).
      new Kustomization(this, 'Addons', {
        metadata: { name: `${props.name}-addons`, namespace },
        spec: { interval, sourceRef, path: fluxPath(props.addonsPath), prune: true, wait: false },
      });
    }
    // No wait here: it would wait for the clusters' Kustomizations, i.e. for whole bring-ups.
    new Kustomization(this, 'Management', {
      metadata: { name: `${props.name}-management`, namespace },
      spec: { interval, sourceRef, path: fluxPath(props.managementPath), prune: true, wait: false },
    });
  }
}

/** Props of a {@link FleetDelivery}. */
export interface FleetDeliveryProps {
  /** Prefix of the GitRepo that applies the management folder (`<name>-management`). */
  readonly name: string;
  /**
   * Namespace of the GitRepos; `fleet-local` targets the management cluster itself.
   * @default 'fleet-local'
   */
  readonly namespace?: string;
  /** The repository. */
  readonly repository: GitSourceOptions;
  /** Folder of the Fleet objects themselves in the repository (`dist/management/fleet`). */
  readonly managementPath: string;
  /**
   * Folder of the shared add-on renders in the repository (`dist/_addons`): the ClusterResourceSets
   * and ConfigMaps every cluster's Cluster object selects by label, stored once per render.
   * @default - none (a library user delivering the renders another way)
   */
  readonly addonsPath?: string;
  /**
   * How often Fleet polls the repository.
   * @default '5m'
   */
  readonly interval?: string;
  /** The clusters to deliver. */
  readonly clusters: readonly DeliveredCluster[];
}

/**
 * The Fleet alternative to {@link FluxDelivery}: one GitRepo per cluster on `dist/<cluster>`, in
 * `fleet-local` so the bundles land on the management cluster, with resources removed from git
 * deleted (`keepResources: false`), plus one GitRepo for the folder of these objects.
 *
 * Fleet does not decrypt SOPS: with Fleet, apply the credentials Secrets out of band (README,
 * "Proxmox credentials").
 */
export class FleetDelivery extends Construct {
  constructor(scope: Construct, id: string, props: FleetDeliveryProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'fleet-local';
    const repo = (name: string, scope: Construct, cid: string, folder: string) => new GitRepo(scope, cid, {
      metadata: { name, namespace },
      spec: {
        repo: props.repository.url,
        branch: props.repository.branch ?? 'main',
        paths: [folder],
        pollingInterval: props.interval ?? '5m',
        keepResources: false,
        ...(props.repository.secretName ? { clientSecretName: props.repository.secretName } : {}),
      },
    });
    for (const c of props.clusters) repo(c.clusterName, this, c.clusterName, c.manifestsPath);
    if (props.addonsPath !== undefined) repo(`${props.name}-addons`, this, 'Addons', props.addonsPath);
    // The GitRepo of the management folder is the primary child (`node.defaultChild`).
    repo(`${props.name}-management`, this, 'Resource', props.managementPath);
  }
}

/** A path inside the repository, from a path inside the project and the project's folder in the repository. */
export function repositoryPath(projectFolder: string, p: string): string {
  return path.posix.join(projectFolder || '.', p);
}
