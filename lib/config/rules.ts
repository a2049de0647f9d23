import { ClusterConfig } from './schema';
import {
  autoscalingProblems, capacityProblems, CONFIG_NETWORK_FIELDS, controlPlaneReplicaProblems, MachineDemand, machineSizeProblems,
  nameLengthProblems, NetworkInput, networkProblems, poolVersionProblems, Problem, schematicProblems, uniquePoolProblems, versionProblems,
} from '../validation/cluster-rules';

/** What each machine set of a config needs from the address pool, for the capacity rule. */
export function machineDemands(config: ClusterConfig): MachineDemand[] {
  return [
    { what: 'control-plane', machines: config.controlPlane.replicas, surge: 1 },
    ...config.workers.map((w) => ({
      what: `${w.name}${w.autoscaling ? ' (autoscaler max)' : ''}`,
      machines: w.autoscaling ? w.autoscaling.max : w.replicas ?? 1,
      surge: 1,
    })),
  ];
}

/** The network of a config in the shape the rules and TalosClusterProps share. */
export function configNetwork(config: ClusterConfig): NetworkInput {
  return {
    endpoint: config.network.endpoint,
    addresses: config.network.addresses,
    prefix: config.network.prefix,
    gateway: config.network.gateway,
    podCidrs: [config.network.podCidr],
    serviceCidrs: [config.network.serviceCidr],
  };
}

/**
 * Every semantic rule of a structurally valid config, with config field paths. Formats and
 * per-field minimums are already checked by the zod schema.
 */
export function clusterConfigProblems(config: ClusterConfig): Problem[] {
  const pools = config.workers.map((w, i) => ({ name: w.name, field: `workers[${i}].name` }));
  return [
    ...networkProblems(configNetwork(config), CONFIG_NETWORK_FIELDS),
    ...capacityProblems(config.network.addresses, machineDemands(config), 'network.addresses'),
    ...controlPlaneReplicaProblems(config.controlPlane.replicas, 'controlPlane.replicas'),
    ...machineSizeProblems(config.controlPlane, 'controlPlane'),
    ...config.workers.flatMap((w, i) => machineSizeProblems(w, `workers[${i}]`)),
    ...versionProblems(config.talos.version, config.kubernetesVersion, { talos: 'talos.version', kubernetes: 'kubernetesVersion' }),
    ...schematicProblems(config.talos.extensions, config.talos.extraKernelArgs, { extensions: 'talos.extensions', kernelArgs: 'talos.extraKernelArgs' }),
    ...uniquePoolProblems(pools),
    ...nameLengthProblems(config.name, pools, 'name'),
    ...config.workers.flatMap((w, i) => w.kubernetesVersion === undefined ? [] : poolVersionProblems(
      config.talos.version, config.kubernetesVersion, w.kubernetesVersion,
      { talos: 'talos.version', kubernetes: 'kubernetesVersion', pool: `workers[${i}].kubernetesVersion` },
    )),
    ...config.workers.flatMap((w, i) => autoscalingProblems(
      { replicas: w.replicas, min: w.autoscaling?.min, max: w.autoscaling?.max },
      { replicas: `workers[${i}].replicas`, min: `workers[${i}].autoscaling.min`, max: `workers[${i}].autoscaling.max` },
    )),
  ];
}
