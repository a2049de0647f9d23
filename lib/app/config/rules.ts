import { ClusterConfig } from './schema';
import { NodeTaint, nodeLabelProblems, nodeTaintProblems } from '../../talos/node-metadata';
import { poolExtensions, Schematic } from '../../talos/schematic';
import {
  autoscalingProblems, capacityProblems, CONFIG_NETWORK_FIELDS, controlPlaneReplicaProblems, MachineDemand, machineSizeProblems,
  nameLengthProblems, NetworkInput, networkProblems, poolVersionProblems, Problem, schematicProblems, TemplateVmUser, templateVmProblems, templateVmUser,
  uniquePoolProblems, versionProblems,
} from '../../constructs/rules';

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

/** The control plane and every pool as users of their template VMs, for the one-image rule. */
function templateVmUsers(config: ClusterConfig): TemplateVmUser[] {
  const cluster = new Schematic({ officialExtensions: config.talos.extensions, extraKernelArgs: config.talos.extraKernelArgs });
  return [
    templateVmUser('control plane', 'proxmox.template', config.proxmox.template, cluster, config.talos.version),
    ...config.workers.map((w, i) => templateVmUser(`pool ${w.name}`, `workers[${i}].template`, w.template ?? config.proxmox.template,
      cluster.withExtensions(poolExtensions(w.extensions ?? [], w.longhorn ?? false)), config.talos.version)),
  ];
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
    ...config.workers.flatMap((w, i) => [
      ...nodeLabelProblems(w.labels ?? {}, `workers[${i}].labels`),
      ...nodeTaintProblems((w.taints ?? []) as NodeTaint[], `workers[${i}].taints`),
      ...schematicProblems(w.extensions ?? [], [], { extensions: `workers[${i}].extensions`, kernelArgs: '' }),
    ]),
    ...templateVmProblems(templateVmUsers(config)),
    ...config.workers.flatMap((w, i) => autoscalingProblems(
      { replicas: w.replicas, min: w.autoscaling?.min, max: w.autoscaling?.max },
      { replicas: `workers[${i}].replicas`, min: `workers[${i}].autoscaling.min`, max: `workers[${i}].autoscaling.max` },
    )),
  ];
}
