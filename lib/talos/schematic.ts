import { createHash } from 'crypto';
import * as YAML from 'yaml';

/** Image Factory host that serves installer and disk images by schematic ID. */
export const IMAGE_FACTORY = 'factory.talos.dev';

/** The system extension that runs the QEMU guest agent; CAPMOX needs it unless its checks skip the agent. */
export const QEMU_GUEST_AGENT_EXTENSION = 'siderolabs/qemu-guest-agent';

/** The system extensions Longhorn needs on Talos: iscsid/iscsiadm and fstrim (STACK.md §6). */
export const LONGHORN_EXTENSIONS: readonly string[] = ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'];

/** The extensions a worker pool adds to the cluster's: its own, and Longhorn's when it stores data. */
export function poolExtensions(extensions: readonly string[], longhorn: boolean): string[] {
  return [...extensions, ...(longhorn ? LONGHORN_EXTENSIONS : [])];
}

/** Schematic IDs by the JSON of (extensions, kernel arguments): the ID is a function of those only. */
const SCHEMATIC_IDS = new Map<string, string>();

/** Props of a {@link Schematic}. */
export interface SchematicProps {
  /**
   * Official system extensions baked into the image, e.g. `siderolabs/qemu-guest-agent`.
   *
   * Order matters: it is part of the schematic, and so of its ID.
   * @default - none
   */
  readonly officialExtensions?: readonly string[];
  /**
   * Extra kernel arguments (honoured by disk images only; installer images ignore them).
   * @default - none
   */
  readonly extraKernelArgs?: readonly string[];
}

/**
 * A Talos Image Factory schematic: which extensions and kernel arguments an image carries.
 *
 * The ID is computed offline exactly as the Image Factory does: the sha256 of the schematic
 * serialized as YAML with 4-space indentation and empty fields omitted. The installer image
 * in the machine config and the template VM's disk image must come from the same schematic.
 *
 * @see https://docs.siderolabs.com/talos/v1.12/learn-more/image-factory
 */
export class Schematic {
  /** Extensions in schematic order. */
  public readonly officialExtensions: readonly string[];
  /** Kernel arguments in schematic order. */
  public readonly extraKernelArgs: readonly string[];
  private cachedId?: string;

  constructor(props: SchematicProps = {}) {
    this.officialExtensions = [...(props.officialExtensions ?? [])];
    this.extraKernelArgs = [...(props.extraKernelArgs ?? [])];
  }

  /** The schematic document the Image Factory hashes (`customization` is always present). */
  public toYaml(): string {
    const customization: Record<string, unknown> = {};
    if (this.extraKernelArgs.length > 0) customization.extraKernelArgs = [...this.extraKernelArgs];
    if (this.officialExtensions.length > 0) {
      customization.systemExtensions = { officialExtensions: [...this.officialExtensions] };
    }
    return YAML.stringify({ customization }, { indent: 4 });
  }

  /**
   * The schematic ID: hex sha256 of {@link toYaml}; computed once per content (a schematic never
   * changes, and a fleet's pools make the same few schematics again and again).
   */
  public get id(): string {
    if (this.cachedId === undefined) {
      const key = JSON.stringify([this.officialExtensions, this.extraKernelArgs]);
      let id = SCHEMATIC_IDS.get(key);
      if (id === undefined) {
        id = createHash('sha256').update(this.toYaml()).digest('hex');
        SCHEMATIC_IDS.set(key, id);
      }
      this.cachedId = id;
    }
    return this.cachedId;
  }

  /**
   * This schematic with more official extensions appended (each once, in order); this very
   * schematic when none is new, so an unchanged image keeps its ID.
   */
  public withExtensions(extensions: readonly string[]): Schematic {
    const added = [...new Set(extensions)].filter((e) => !this.officialExtensions.includes(e));
    if (added.length === 0) return this;
    return new Schematic({ officialExtensions: [...this.officialExtensions, ...added], extraKernelArgs: this.extraKernelArgs });
  }

  /** Whether the image carries the given official extension. */
  public hasExtension(name: string): boolean {
    return this.officialExtensions.includes(name);
  }

  /**
   * The nocloud installer image for a Talos version, e.g.
   * `factory.talos.dev/nocloud-installer/<id>:v1.13.9` (STACK.md §1.4: it must be the nocloud one).
   */
  public installerImage(talosVersion: string): string {
    return `${IMAGE_FACTORY}/nocloud-installer/${this.id}:${talosVersion}`;
  }

  /** URL of the nocloud disk image a Proxmox template VM is built from. */
  public diskImageUrl(talosVersion: string, arch: string = 'amd64'): string {
    return nocloudDiskImageUrl(this.id, talosVersion, arch);
  }
}

/** URL of the Image Factory's nocloud disk image of a schematic ID and Talos release. */
export function nocloudDiskImageUrl(schematicId: string, talosVersion: string, arch: string = 'amd64'): string {
  return `https://${IMAGE_FACTORY}/image/${schematicId}/${talosVersion}/nocloud-${arch}.raw.xz`;
}
