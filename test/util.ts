import * as os from 'os';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import {
  QEMU_GUEST_AGENT_EXTENSION, Schematic, STACK_VERSIONS, TalosCluster, TalosClusterProps, TemplateVm, ValidationError, WorkerPoolOptions,
} from '../lib';
import { buildConfigCluster } from '../lib/app/clusters';
import { parseClusterConfig } from '../lib/app/config/load';
import { ADDON_RENDERS_ID } from '../lib/constructs/addons/chart-resource-set';

/** The project root. */
export const ROOT = path.resolve(__dirname, '..');

/** A Kubernetes object of synthesized output. */
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
};

/** The seeds' default pool. */
export const DEFAULT_POOL: WorkerPoolOptions = { name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 };

/** Schematic ID of the default image: the QEMU guest agent only. */
export const DEFAULT_SCHEMATIC_ID = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';

/** The homelab's template VM (clusters/homelab.yaml): the default image, on K8S0's local-lvm. */
export const HOMELAB_TEMPLATE: TemplateVm = {
  sourceNode: 'K8S0', templateId: 8700,
  image: { talosVersion: STACK_VERSIONS.talos, schematic: DEFAULT_SCHEMATIC_ID },
  storage: { name: 'local-lvm', shared: false },
};

/**
 * A template VM holding the default image plus `extensions` (a pool's, Longhorn's) at the default
 * Talos release, on K8S0's local-lvm unless told otherwise.
 */
export function templateVm(templateId: number, options: {
  extensions?: readonly string[]; sourceNode?: string; storage?: TemplateVm['storage']; talosVersion?: string;
} = {}): TemplateVm {
  const schematic = new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] }).withExtensions(options.extensions ?? []);
  return {
    sourceNode: options.sourceNode ?? 'K8S0', templateId,
    image: { talosVersion: options.talosVersion ?? STACK_VERSIONS.talos, schematic: schematic.id },
    storage: options.storage ?? { name: 'local-lvm', shared: false },
  };
}

/** Shared storage every node reaches. */
export const SHARED_STORAGE: TemplateVm['storage'] = { name: 'ceph-vm', shared: true };

/** The image a cluster's control plane boots with these Talos options: what its template VM must declare. */
export function imageOf(talos: TalosClusterProps['talos'] = {}): TemplateVm['image'] {
  const schematic = new Schematic({ officialExtensions: talos.extensions ?? [QEMU_GUEST_AGENT_EXTENSION], extraKernelArgs: talos.extraKernelArgs });
  return { talosVersion: talos.version ?? STACK_VERSIONS.talos, schematic: schematic.id };
}

/**
 * Props of the seeds' homelab cluster (clusters/homelab.yaml), without pools unless given. Overriding
 * `talos` alone also declares the matching image on the template VM, as a user rebuilding it would,
 * so tests about other things need not repeat it; tests of the image rule override `proxmox`.
 */
export function homelabProps(overrides: Partial<TalosClusterProps> = {}): TalosClusterProps {
  const template = overrides.talos !== undefined ? { ...HOMELAB_TEMPLATE, image: imageOf(overrides.talos) } : HOMELAB_TEMPLATE;
  return {
    name: 'homelab',
    namespace: 'default',
    network: {
      endpoint: '192.168.0.30',
      addresses: ['192.168.0.20-192.168.0.29'],
      prefix: 24,
      gateway: '192.168.0.254',
      dnsServers: ['8.8.8.8', '8.8.4.4'],
    },
    proxmox: {
      allowedNodes: ['K8S0'],
      template,
      isoStorage: 'local',
      credentialsSecret: 'homelab-proxmox',
    },
    controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20 },
    ...overrides,
  };
}

/**
 * Output folder of the tests' apps: never created, since tests read `chart.toJson()` and never call
 * `app.synth()` (`Testing.chart()` would make a `cdk8s.outdir.*` folder in the temp dir per chart).
 */
const UNUSED_OUTDIR = path.join(os.tmpdir(), `cdk8s-talos-test-outdir-${process.pid}`);

/** A fresh chart to build constructs in (as `Testing.chart()`, without its temp folder). */
export function newChart(): Chart {
  return new Chart(Testing.app({ outdir: UNUSED_OUTDIR }), 'test');
}

/**
 * Synthesizes a chart into its objects, followed by the shared add-on renders of its app (the
 * AddonRenders chart: ConfigMaps and ClusterResourceSets that synth writes to dist/_addons/), so a
 * test sees what a cluster needs, as the gate checks it.
 */
export function synth(chart: Chart): Obj[] {
  const renders = chart.node.root.node.tryFindChild(ADDON_RENDERS_ID) as Chart | undefined;
  return [...Testing.synth(chart), ...(renders && renders !== chart ? Testing.synth(renders) : [])] as Obj[];
}

/** Builds a cluster with a function and synthesizes it. */
export function synthWith(build: (chart: Chart) => void): Obj[] {
  const chart = newChart();
  build(chart);
  return synth(chart);
}

/** The one object of a kind (and optional name); fails when there is not exactly one. */
export function one(objects: Obj[], kind: string, name?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${found.map((o) => o.metadata.name).join(', ')}`);
  return found[0];
}

/** The one object of a kind of an add-on's shared render (`cilium-<hash>`, `cilium-jobs-<hash>`, `talos-ccm-<hash>`). */
export function addon(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.filter((o) => o.kind === kind && new RegExp(`^${name}-[0-9a-f]{10}(-\\d+)?$`).test(o.metadata.name));
  if (found.length !== 1) throw new Error(`expected one ${kind} of render ${name}-<hash>, found ${found.length}`);
  return found[0];
}

/** All objects of a kind. */
export function all(objects: Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

/** The homelab cluster with its default pool (and Cilium, always there), synthesized. */
export function homelabObjects(overrides: Partial<TalosClusterProps> = {}): Obj[] {
  return synthWith((chart) => new TalosCluster(chart, 'Cluster', homelabProps({ workers: [DEFAULT_POOL], ...overrides })));
}

/** The lines of the ValidationError a call throws; fails when it throws nothing or something else. */
export function validationErrorLines(call: () => unknown): string[] {
  try {
    call();
  } catch (e) {
    if (e instanceof ValidationError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ValidationError');
}

/**
 * What synth says of a cluster config file's text: its structure, then the constructs' rules on
 * the props it describes, each line `<file>: <config path> <message>`; [] when it is valid.
 */
export function configProblems(text: string, file = 'clusters/homelab.yaml'): string[] {
  try {
    buildConfigCluster(new App(), parseClusterConfig(text, file), 'Cluster');
  } catch (e) {
    if (e instanceof ValidationError) return e.message.split('\n');
    throw e;
  }
  return [];
}
