import { Construct } from 'constructs';
import {
  ProxmoxMachineTemplate as ProxmoxMachineTemplateL1,
  ProxmoxMachineTemplateSpecTemplateSpec,
  ProxmoxMachineTemplateSpecTemplateSpecNetworkNetworkDevices as NetworkDevice,
  ProxmoxMachineTemplateSpecTemplateSpecFormat as CloneFormatL1,
  ProxmoxMachineTemplateSpecTemplateSpecNetworkNetworkDevicesModel as NicModel,
} from '../../imports/infrastructure.cluster.x-k8s.io';
import { throwErrors } from '../core/errors';
import { CLUSTER_NAME_LABEL, contentAddressedName } from '../core/naming';
import { API } from '../core/stack';
import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../talos/schematic';
import { ITalosCluster } from './cluster-ref';
import { MachineNetwork } from './networks';
import { cloneOptionProblems, machineSizeProblems, templateVmRefProblems } from './rules';

/**
 * The disk image a template VM holds: every clone boots it, whatever `machine.install.image` says
 * (STACK.md §9.1). Declared, not looked up, so synth stays a function of the repository and can
 * refuse a machine set whose image differs from its template's.
 */
export interface TemplateImage {
  /** Talos release of the image, e.g. `v1.13.9`. */
  readonly talosVersion: string;
  /** Image Factory schematic ID of the image (64 hex digits; the runbook and synth's messages print it). */
  readonly schematic: string;
}

/** The Proxmox storage that holds a template VM's disk; full clones land on it too. */
export interface TemplateStorage {
  /** Proxmox storage ID, e.g. `local-lvm` or `ceph-vm`. */
  readonly name: string;
  /**
   * Whether every Proxmox node the clones may land on reaches this storage (Ceph RBD, NFS, iSCSI, …).
   * Proxmox clones a VM to another node only from shared storage (STACK.md §9.1), so a node-local
   * template serves only machines that stay on its `sourceNode`.
   */
  readonly shared: boolean;
}

/** A Proxmox template VM: the VM that machines are cloned from, with the image and storage it has. */
export interface TemplateVm {
  /** Proxmox node that holds the template VM. */
  readonly sourceNode: string;
  /** VM ID of the template VM (Proxmox VM IDs are unique in the whole Proxmox cluster). */
  readonly templateId: number;
  /** The disk image the template VM holds; it must be the image of every machine set cloned from it. */
  readonly image: TemplateImage;
  /** The storage of the template VM's disk. */
  readonly storage: TemplateStorage;
}

/** Disk formats Proxmox can write a full clone in (`qm clone --format`); file storages only (dir, NFS, CIFS). */
export const CLONE_FORMATS = ['raw', 'qcow2', 'vmdk'] as const;
/** See {@link CLONE_FORMATS}. */
export type CloneFormat = typeof CLONE_FORMATS[number];

/** A range of Proxmox VM IDs, both ends included (CAPMOX `vmIDRange`). */
export interface VmIdRange {
  /** First VM ID of the range (100 to 999999999). */
  readonly start: number;
  /** Last VM ID of the range, at least `start`. */
  readonly end: number;
}

/**
 * How CAPMOX clones a machine set's VMs on Proxmox: the ProxmoxMachineTemplate fields `pool`, `tags`,
 * `full`, `storage`, `format`, `vmIDRange` and `description`. Set on `proxmox` for every machine set
 * of the cluster; `controlPlane` and each pool may set their own, which replaces the cluster's value.
 */
export interface ProxmoxCloneOptions {
  /**
   * Proxmox resource pool the VMs join (`pveum pool add`; up to three levels, `parent/child`). The
   * runbook then grants the token `PVEVMAdmin` on `/pool/<pool>` instead of on every VM (STACK.md §9.2).
   * @default - no pool: the runbook grants `PVEVMAdmin` on `/vms`
   */
  readonly pool?: string;
  /**
   * Proxmox tags of the VMs (letters, digits, `_`, `-`, `+`, `.`; a letter, digit or `_` first).
   * @default - no tags
   */
  readonly tags?: readonly string[];
  /**
   * Full clones (a copy of the template's disk) or linked clones (copy-on-write on the template's
   * storage, which must support them: LVM-thin, ZFS, Ceph RBD, qcow2 files). A linked clone stays on
   * its template's storage, so `cloneStorage` and `cloneFormat` are refused with `full: false`.
   * @default true
   */
  readonly full?: boolean;
  /**
   * Storage the full clones' disks are written to (CAPMOX `storage`). Proxmox writes a clone on
   * another node than the template's only to shared storage, so a node-local one is accepted only
   * when every machine of the set stays on its template's node.
   * @default - the template's storage
   */
  readonly cloneStorage?: TemplateStorage;
  /**
   * Disk format of the full clones (CAPMOX `format`): `raw`, `qcow2` or `vmdk`. Proxmox falls back
   * to the storage's default format when the storage does not support it (LVM, ZFS and RBD hold raw only).
   * @default - the target storage's default format
   */
  readonly cloneFormat?: CloneFormat;
  /**
   * VM IDs CAPMOX gives the clones: the lowest free one of the range (CAPMOX `vmIDRange`). It must
   * not contain a template VM ID of the cluster, and must hold every machine of the sets that use it
   * plus one rolling-update surge machine each.
   * @default - Proxmox's next free VM ID
   */
  readonly vmIdRange?: VmIdRange;
  /**
   * Description of the VMs, shown in the Proxmox UI (at most 8192 characters).
   * @default - none
   */
  readonly description?: string;
}

/** Default of {@link ProxmoxCloneOptions.full}. */
export const DEFAULT_FULL_CLONE = true;

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
  /**
   * Proxmox nodes CAPMOX may clone these machines on (the template's `allowedNodes`).
   * @default - the cluster's `proxmox.allowedNodes` (ProxmoxCluster)
   */
  readonly allowedNodes?: readonly string[];
  /**
   * The machines' NICs: the primary one (`net0`, bridge, VLAN, MTU, IPv4 and IPv6 node networks)
   * and the extra ones, each with its IPAM pool.
   * @default - the cluster's `network`
   */
  readonly network?: MachineNetwork;
  /**
   * How CAPMOX clones the machines (pool, tags, full or linked, storage, format, VM IDs, description).
   * @default - full clones on the template's storage, in no pool, without tags, description or VM ID range
   */
  readonly clone?: ProxmoxCloneOptions;
}

/** Name of the IPAM API group (`ipPoolRef.apiGroup`, which CAPMOX's CEL pins). */
const IPAM_GROUP = API.InClusterIPPool.group;

/**
 * The CAPMOX NICs of a machine: `net0` with the node networks (IPv4, and IPv6 when dual-stack),
 * then one device per extra NIC with its IPAM pool. VLAN and MTU are written only when set, so an
 * untagged single-NIC machine keeps its template (and its name); the MTU goes to the Proxmox NIC
 * (`mtu`) and to the guest link in CAPMOX's network-config (`linkMtu`).
 */
export function networkDevices(network: MachineNetwork): NetworkDevice[] {
  const tagMtu = (o: { vlan?: number; mtu?: number }) => ({
    ...(o.vlan !== undefined ? { vlan: o.vlan } : {}),
    ...(o.mtu !== undefined ? { mtu: o.mtu, linkMtu: o.mtu } : {}),
  });
  return [
    { name: 'net0', bridge: network.bridge, model: NicModel.VIRTIO, defaultIPv4: true, ...(network.ipv6 ? { defaultIPv6: true } : {}), ...tagMtu(network) },
    ...network.extraNics.map((nic) => ({
      name: nic.device,
      bridge: nic.options.bridge,
      model: NicModel.VIRTIO,
      ...tagMtu(nic.options),
      ipPoolRef: [{ apiGroup: IPAM_GROUP, kind: 'InClusterIPPool', name: nic.ipPoolName }],
    })),
  ];
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
  /** Nodes this template's machines may be cloned on, or undefined for the cluster's. */
  public readonly allowedNodes: readonly string[] | undefined;
  /** How CAPMOX clones the machines, as written into the template. */
  public readonly clone: ProxmoxCloneOptions;

  constructor(scope: Construct, id: string, props: ProxmoxMachineTemplateProps) {
    super(scope, id);
    const cluster = props.cluster;
    this.template = { ...(props.template ?? cluster.template) };
    throwErrors([...machineSizeProblems(props, ''), ...templateVmRefProblems(this.template, 'template'), ...cloneOptionProblems(props.clone ?? {}, 'clone')]);
    this.allowedNodes = props.allowedNodes !== undefined ? [...props.allowedNodes] : undefined;
    const clone = props.clone ?? {};
    this.clone = { ...clone };
    const hasAgent = (props.schematic ?? cluster.schematic).hasExtension(QEMU_GUEST_AGENT_EXTENSION);
    const spec: ProxmoxMachineTemplateSpecTemplateSpec = {
      sourceNode: this.template.sourceNode,
      templateId: this.template.templateId,
      ...(this.allowedNodes !== undefined ? { allowedNodes: [...this.allowedNodes] } : {}),
      // Only what is set is written, so templates without these options keep their names.
      full: clone.full ?? DEFAULT_FULL_CLONE,
      ...(clone.cloneStorage !== undefined ? { storage: clone.cloneStorage.name } : {}),
      ...(clone.cloneFormat !== undefined ? { format: clone.cloneFormat as CloneFormatL1 } : {}),
      ...(clone.pool !== undefined ? { pool: clone.pool } : {}),
      ...(clone.tags !== undefined ? { tags: [...clone.tags] } : {}),
      ...(clone.vmIdRange !== undefined ? { vmIdRange: { start: clone.vmIdRange.start, end: clone.vmIdRange.end } } : {}),
      ...(clone.description !== undefined ? { description: clone.description } : {}),
      numSockets: props.sockets ?? DEFAULT_SOCKETS,
      numCores: props.cores,
      memoryMiB: props.memoryMiB,
      disks: { bootVolume: { disk: BOOT_DISK, sizeGb: props.diskGiB } },
      network: { networkDevices: networkDevices(props.network ?? cluster.network) },
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
