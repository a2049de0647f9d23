import { Chart, Testing } from 'cdk8s';
import { ConfigError } from '../lib/app/config/load';
import { TalosCluster, TalosClusterProps } from '../lib';
import { ProxmoxCredentials } from '../lib/constructs/credentials';

/** A Kubernetes object of synthesized output. */
export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

/** Props of the seeds' homelab cluster, for constructs used directly. */
export function homelabProps(overrides: Partial<TalosClusterProps> = {}): TalosClusterProps {
  return {
    clusterName: 'homelab',
    namespace: 'default',
    endpoint: '192.168.0.30',
    addresses: ['192.168.0.20-192.168.0.29'],
    prefix: 24,
    gateway: '192.168.0.254',
    dnsServers: ['8.8.8.8', '8.8.4.4'],
    allowedNodes: ['K8S0', 'K8S1', 'K8S2'],
    sourceNode: 'K8S0',
    templateID: 8700,
    credentials: ProxmoxCredentials.fromSecretName('homelab-proxmox'),
    controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20 },
    ...overrides,
  };
}

/** A fresh chart to build constructs in. */
export function newChart(): Chart {
  return Testing.chart();
}

/** Synthesizes a chart into its objects. */
export function synth(chart: Chart): Obj[] {
  return Testing.synth(chart) as Obj[];
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

/** All objects of a kind. */
export function all(objects: Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

/** A homelab cluster with one default pool and Cilium, synthesized. */
export function homelabObjects(overrides: Partial<TalosClusterProps> = {}): Obj[] {
  return synthWith((chart) => {
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps(overrides));
    cluster.addWorkerPool('Default', { poolName: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 });
    cluster.addCilium();
  });
}

/** The lines of the ConfigError a call throws; fails when it throws nothing or something else. */
export function configErrorLines(call: () => unknown): string[] {
  try {
    call();
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}
