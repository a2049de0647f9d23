import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { configNetwork } from './rules';
import { ClusterConfig } from './schema';
import { ProxmoxCredentials } from '../../constructs/credentials';
import { TaintEffect } from '../../talos/node-metadata';
import { UserError } from '../../core/errors';
import { Schematic } from '../../talos/schematic';
import { TalosCluster } from '../../constructs/talos-cluster';

/** Construct ids are part of the API (they never reach object names, but keep the tree stable). */
function poolId(name: string): string {
  return `Pool-${name}`;
}

/**
 * Builds one cluster from its config: TalosCluster (with the Talos CCM), its worker pools and Cilium.
 *
 * @param scope where the cluster's constructs go (usually its own chart)
 */
export function buildCluster(scope: Construct, config: ClusterConfig): TalosCluster {
  const cluster = new TalosCluster(scope, 'Cluster', {
    clusterName: config.name,
    namespace: config.namespace,
    kubernetesVersion: config.kubernetesVersion,
    talosVersion: config.talos.version,
    schematic: new Schematic({ officialExtensions: config.talos.extensions, extraKernelArgs: config.talos.extraKernelArgs }),
    ...configNetwork(config),
    endpointPort: config.network.endpointPort,
    dnsServers: config.network.dnsServers,
    bridge: config.network.bridge,
    allowedNodes: config.proxmox.allowedNodes,
    sourceNode: config.proxmox.template.sourceNode,
    templateID: config.proxmox.template.templateId,
    credentials: config.proxmox.credentialsSecret !== undefined
      ? ProxmoxCredentials.fromSecretName(config.proxmox.credentialsSecret)
      : ProxmoxCredentials.providerDefault(),
    controlPlane: config.controlPlane,
  });
  for (const pool of config.workers) {
    cluster.addWorkerPool(poolId(pool.name), {
      poolName: pool.name,
      replicas: pool.autoscaling ? undefined : pool.replicas ?? 1,
      autoscalerMinReplicas: pool.autoscaling?.min,
      autoscalerMaxReplicas: pool.autoscaling?.max,
      cores: pool.cores,
      sockets: pool.sockets,
      memoryMiB: pool.memoryMiB,
      diskGiB: pool.diskGiB,
      sourceNode: pool.template?.sourceNode,
      templateID: pool.template?.templateId,
      healthCheck: pool.healthCheck,
      kubernetesVersion: pool.kubernetesVersion,
      extensions: pool.extensions,
      longhorn: pool.longhorn,
      nodeLabels: pool.labels,
      nodeTaints: pool.taints?.map((t) => ({ key: t.key, value: t.value, effect: t.effect as TaintEffect })),
    });
  }
  cluster.addCilium({ hubble: config.cilium.hubble });
  return cluster;
}

/**
 * A chart holding one cluster built from its config file. Errors the constructs raise are
 * prefixed with the file so the user knows where to look.
 */
export function clusterChart(scope: Construct, file: string, config: ClusterConfig): Chart {
  return clusterBuild(scope, file, config).chart;
}

/** {@link clusterChart}, with the cluster construct (for the runbook). */
export function clusterBuild(scope: Construct, file: string, config: ClusterConfig): { chart: Chart; cluster: TalosCluster } {
  const chart = new Chart(scope, config.name, { disableResourceNameHashes: true });
  try {
    return { chart, cluster: buildCluster(chart, config) };
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}
