import { Construct } from 'constructs';
import { ITalosCluster } from './cluster-ref';
import { CLUSTER_NAME_LABEL, contentAddressedName } from '../core/naming';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';
import { API } from '../core/stack';
import {
  ProxmoxMachineTemplate as ProxmoxMachineTemplateL1,
  ProxmoxMachineTemplateSpecTemplateSpec,
  ProxmoxMachineTemplateSpecTemplateSpecNetworkNetworkDevicesModel as NicModel,
} from '../../imports/infrastructure.cluster.x-k8s.io';

/** Size and source of a Proxmox VM; shared by the control plane and worker pools. */
export interface ProxmoxMachineOptions {
  /** vCPU cores per socket. */
  readonly cores: number;
  /**
   * CPU sockets.
   * @default 1
   */
  readonly sockets?: number;
  /** Memory in MiB (a multiple of 8; ballooning stays off in the template VM, STACK.md §1.4). */
  readonly memoryMiB: number;
  /** Size of the boot disk in GiB; CAPMOX grows the template's disk to it. */
  readonly diskGiB: number;
  /**
   * Proxmox node holding the template VM.
   * @default - the cluster's sourceNode
   */
  readonly sourceNode?: string;
  /**
   * VM ID of the template VM.
   * @default - the cluster's templateID
   */
  readonly templateID?: number;
}

/** Props of a {@link ProxmoxMachineTemplate}. */
export interface ProxmoxMachineTemplateProps extends ProxmoxMachineOptions {
  /** Cluster whose machines are cloned from this template. */
  readonly cluster: ITalosCluster;
  /** Name prefix; the content hash of the spec is appended (`<prefix>-<hash>`). */
  readonly namePrefix: string;
  /**
   * Image Factory schematic of the template VM's disk image (decides the QEMU agent check).
   * @default - the cluster's schematic
   */
  readonly schematic?: Schematic;
}

/** Boot disk of a clone of a Talos template VM built with the "VirtIO SCSI" controller. */
export const BOOT_DISK = 'scsi0';

/**
 * A CAPMOX ProxmoxMachineTemplate for Talos nodes (L2).
 *
 * Always sets `checks.skipCloudInitStatus` (Talos has no cloud-init, STACK.md §1.4) and
 * `metadataSettings.providerIDInjection` (the Talos CCM reads `proxmox://<uuid>` from nocloud
 * meta-data, STACK.md §2); skips the QEMU agent check when the schematic has no agent extension.
 * The name ends in a hash of the spec, because CAPMOX rejects any edit of a template in place.
 */
export class ProxmoxMachineTemplate extends Construct {
  /** Name of the template object (content-addressed). */
  public readonly name: string;
  /** The template object. */
  public readonly resource: ProxmoxMachineTemplateL1;
  /** Proxmox node holding the template VM that machines are cloned from. */
  public readonly sourceNode: string;
  /** VM ID of the template VM that machines are cloned from. */
  public readonly templateID: number;

  constructor(scope: Construct, id: string, props: ProxmoxMachineTemplateProps) {
    super(scope, id);
    const cluster = props.cluster;
    const hasAgent = (props.schematic ?? cluster.schematic).hasExtension(QEMU_GUEST_AGENT_EXTENSION);
    this.sourceNode = props.sourceNode ?? cluster.sourceNode;
    this.templateID = props.templateID ?? cluster.templateID;
    const spec: ProxmoxMachineTemplateSpecTemplateSpec = {
      sourceNode: this.sourceNode,
      templateId: this.templateID,
      full: true,
      numSockets: props.sockets ?? 1,
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
    this.resource = new ProxmoxMachineTemplateL1(this, 'Resource', {
      metadata: { name: this.name, namespace: cluster.namespace, labels: { [CLUSTER_NAME_LABEL]: cluster.clusterName } },
      spec: { template: { spec } },
    });
  }

  /** Reference in the CAPI v1beta2 form (`apiGroup`, `kind`, `name`). */
  public get ref(): { apiGroup: string; kind: string; name: string } {
    return { apiGroup: API.ProxmoxMachineTemplate.group, kind: 'ProxmoxMachineTemplate', name: this.name };
  }
}
