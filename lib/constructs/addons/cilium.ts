import { Construct } from 'constructs';
import { CILIUM_CHART } from '../../core/stack';
import { KUBEPRISM_PORT } from '../../talos/machine-config';
import { ITalosCluster } from '../cluster-ref';
import { ChartResourceSet, ResourceSetStrategy } from './chart-resource-set';

/** Options of Cilium on a cluster (`cilium` in the cluster props and config file). */
export interface CiliumOptions {
  /**
   * Deploy Hubble with its relay and UI. Hubble's TLS certificates are generated in the cluster,
   * never by helm, so no key material reaches dist/: by a Job at install, created once by the
   * `<cluster>-cilium-jobs` resource set (ApplyOnce; a re-applied finished Job would be refused),
   * and renewed by a CronJob.
   * @default true
   */
  readonly hubble?: boolean;
  /**
   * Extra chart values, merged over the Talos values (objects deep-merged, other values replaced).
   * @default - none
   */
  readonly values?: Record<string, unknown>;
  /**
   * How the resource set applies the manifests.
   * @default ResourceSetStrategy.RECONCILE
   */
  readonly strategy?: ResourceSetStrategy;
}

/** Props of a {@link CiliumCRS}. */
export interface CiliumCRSProps extends CiliumOptions {
  /** The workload cluster Cilium is installed into. */
  readonly cluster: ITalosCluster;
  /**
   * Whether the cluster is dual-stack: Cilium then runs IPv6 too (`ipv6.enabled`), taking each
   * node's IPv6 pod network from Kubernetes like the IPv4 one (`ipam.mode: kubernetes`).
   * @default false
   */
  readonly ipv6?: boolean;
}

/** Whether Hubble is deployed unless the options say otherwise. */
export const DEFAULT_HUBBLE = true;

/**
 * Cilium values Talos requires (STACK.md §4.1): Kubernetes IPAM, kube-proxy replacement through
 * KubePrism on localhost:7445, no SYS_MODULE capability (Talos forbids module loading), and the
 * cgroup v2 mount Talos already provides.
 */
export function talosCiliumValues(hubble: boolean, ipv6 = false): Record<string, unknown> {
  return {
    // Only when dual-stack, so IPv4 clusters keep their render (the chart's default is false).
    ...(ipv6 ? { ipv6: { enabled: true } } : {}),
    ipam: { mode: 'kubernetes' },
    kubeProxyReplacement: true,
    k8sServiceHost: 'localhost',
    k8sServicePort: KUBEPRISM_PORT,
    securityContext: {
      capabilities: {
        ciliumAgent: ['CHOWN', 'KILL', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'SYS_ADMIN', 'SYS_RESOURCE', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'],
        cleanCiliumState: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE'],
      },
    },
    cgroup: { autoMount: { enabled: false }, hostRoot: '/sys/fs/cgroup' },
    hubble: {
      enabled: hubble,
      relay: { enabled: hubble },
      ui: { enabled: hubble },
      // The chart default (`helm`) puts a generated CA and keys into the render: secret, and new on every run.
      tls: { auto: { method: 'cronJob' } },
    },
  };
}

/** Deep-merges plain objects; arrays and scalars of `over` replace those of `base`. */
export function mergeValues(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeValues(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Cilium as the workload cluster's CNI, from the pinned chart with the Talos values, delivered by
 * a ClusterResourceSet (`strategy: Reconcile`; the `Resource` child, `node.defaultChild`). The
 * Talos machine configs set `cni: none` and disable kube-proxy, so nodes stay NotReady until this
 * arrives. The Hubble certificate Job (named by Cilium after a hash of its spec) is in a second,
 * ApplyOnce resource set whose ConfigMap is named after its content ({@link ChartResourceSet.jobs}).
 */
export class CiliumCRS extends ChartResourceSet {
  constructor(scope: Construct, id: string, props: CiliumCRSProps) {
    super(scope, id, {
      cluster: props.cluster,
      addonName: 'cilium',
      chart: CILIUM_CHART,
      releaseName: 'cilium',
      releaseNamespace: 'kube-system',
      values: mergeValues(talosCiliumValues(props.hubble ?? DEFAULT_HUBBLE, props.ipv6 ?? false), props.values ?? {}),
      strategy: props.strategy,
    });
  }
}
