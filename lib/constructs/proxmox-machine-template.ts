import { Construct } from 'constructs';
import {
  ProxmoxMachineTemplate as ProxmoxMachineTemplateL1,
  ProxmoxMachineTemplateSpecTemplateSpec,
  ProxmoxMachineTemplateSpecTemplateSpecNetworkNetworkDevicesModel as NicModel,
} from '../../imports/infrastructure.cluster.x-k8s.io';
import { throwErrors } from '../core/errors';
import { CLUSTER_NAME_LABEL, contentAddressedName } from '../core/naming';
import { API } from '../core/stack';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';
import { ITalosCluster } from './cluster-ref';
import { machineSizeProblems, templateVmRefProblems } from './rules';

/** A Proxmox template VM: the VM that machines are cloned from. */
export interface TemplateVm {
  /** Proxmox node that holds the template VM. */
  readonly sourceNode: string;
  /** VM ID of the template VM (Proxmox VM IDs are unique in the whole Proxmox cluster). */
  readonly templateId: number;
}

/** Size of a Proxmox VM; shared by the control plane and worker pools. */
export interface MachineSize {
  /** vCPU cores per socket (at least 2 vCPUs in all, STACK.md §1.4). */
  readonly cores: number;
  /**
   * CPU sockets.
   * @default 1
   */
  readonly sockets?: number;
  /** Memory in MiB (at least 2048, a multiple of 8; ballooning stays off in the template VM, STACK.md §1.4). */
  readonly memoryMiB: number;
  /** Size of the boot disk in GiB (at least 10); CAPMOX grows the template's disk to it. */
  readonly diskGiB: number;
}

/** Props of a {@link ProxmoxMachineTemplate}. */
export interface ProxmoxMachineTemplateProps extends MachineSize {
  /** Cluster whose machines are cloned from this template. */
  readonly cluster: ITalosCluster;
  /** Name prefix; the content hash of the spec is appended (`<prefix>-<hash>`). */
  readonly namePrefix: string;
  /**
   * The template VM the machines are cloned from.
   * @default - the cluster's template
   */
  readonly template?: TemplateVm;
  /**
   * Image Factory schematic of the template VM's disk image (decides the QEMU agent check).
   * @default - the cluster's schematic
   */
  readonly schematic?: Schematic;
}

/** Boot disk of a clone of a Talos template VM built with the "VirtIO SCSI" controller. */
export const BOOT_DISK = 'scsi0';

/** Default CPU sockets of a machine. */
export const DEFAULT_SOCKETS = 1;

/**
 * A CAPMOX ProxmoxMachineTemplate for Talos nodes (L2); its `Resource` child (`node.defaultChild`)
 * is the generated L1 object.
 *
 * Always sets `checks.skipCloudInitStatus` (Talos has no cloud-init, STACK.md §1.4) and
 * `metadataSettings.providerIDInjection` (the Talos CCM reads `proxmox://<uuid>` from nocloud
 * meta-data, STACK.md §2); skips the QEMU agent check when the schematic has no agent extension.
 * The name ends in a hash of the spec, because CAPMOX rejects any edit of a template in place.
 */
export class ProxmoxMachineTemplate extends Construct {
  /** Name of the template object (content-addressed). */
  public readonly name: string;
  /** The template VM that machines are cloned from. */
  public readonly template: TemplateVm;

  constructor(scope: Construct, id: string, props: ProxmoxMachineTemplateProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.template = { ...(props.template ?? cluster.template) };
    throwErrors([...machineSizeProblems(props, ''), ...templateVmRefProblems(this.template, 'template')]);
    const hasAgent = (props.schematic ?? cluster.schematic).hasExtension(QEMU_GUEST_AGENT_EXTENSION);
    const spec: ProxmoxMachineTemplateSpecTemplateSpec = {
      sourceNode: this.template.sourceNode,
      templateId: this.template.templateId,
      full: true,
      numSockets: props.sockets ?? DEFAULT_SOCKETS,
      numCores: props.cores,
      memoryMiB: props.memoryMiB,
      disks: { bootVolume: { disk: BOOT_DISK, sizeGb: props.diskGiB } },
      network: {
        networkDevices: [{ name: 'net0', bridge: cluster.bridge, model: NicModel.VIRTIO, defaultIPv4: true }],
      },
      checks: { skipCloudInitStatus: true, skipQemuGuestAgent: !hasAgent },
      metadataSettings: { providerIdInjection: true },
    };
    this.name = contentAddressedName(props.namePrefix, spec);
    new ProxmoxMachineTemplateL1(this, 'Resource', {
      metadata: { name: this.name, namespace: cluster.namespace, labels: { [CLUSTER_NAME_LABEL]: cluster.clusterName } },
      spec: { template: { spec } },
    });
  }

  /** Reference in the CAPI v1beta2 form (`apiGroup`, `kind`, `name`). */
  public get ref(): { apiGroup: string; kind: string; name: string } {
    return { apiGroup: API.ProxmoxMachineTemplate.group, kind: 'ProxmoxMachineTemplate', name: this.name };
  }
}
