import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { clusterBuild } from './config/build';
import { GitopsConfig, loadGitopsConfig } from './config/gitops';
import { LoadedConfig, loadClusterConfigs } from './config/load';
import { UserError } from '../core/errors';
import { FleetDelivery, FluxDelivery, DeliveredCluster, repositoryPath } from '../constructs/gitops';
import { KubeObject } from '../core/kube-object';
import { MANAGEMENT_OUTPUT, SECRETS_FOLDER } from '../core/naming';
import { clusterFiles, manifestFile, OutputFile } from './output';
import { clusterRunbook } from './runbook';
import { OutputGate } from '../gate/gate';

/** The result of a synth: the files to publish and the warnings to print. */
export interface SynthResult {
  /** Output files, relative to dist/. */
  readonly files: OutputFile[];
  /** Warnings of the constructs (e.g. a single control plane), prefixed with the config file. */
  readonly warnings: string[];
}

/** Runs the constructs' deferred validations (e.g. address capacity once all pools exist). */
function constructErrors(chart: Chart): string[] {
  return chart.node.findAll().flatMap((c) => c.node.validate());
}

/** Warnings recorded as construct metadata of type `warning`. */
function constructWarnings(chart: Chart): string[] {
  return chart.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'warning').map((m) => String(m.data)));
}

/** What to synthesize. */
export interface SynthOptions {
  /** Directory of the cluster configs (`clusters/`). */
  readonly configDir: string;
  /**
   * The GitOps config (`gitops.yaml`), relative to the working directory for messages.
   * @default - no management objects
   */
  readonly gitopsFile?: string;
  /**
   * The output gate.
   * @default - a new OutputGate
   */
  readonly gate?: OutputGate;
}

/**
 * Synthesizes every cluster config of a directory and, when a GitOps config exists, the
 * management cluster's Flux and Fleet objects, in memory; every output set passes the output gate.
 *
 * Nothing is written: the caller publishes the files only when all of them were produced, so a
 * bad config never leaves a half-valid dist/.
 *
 * @throws UserError (ConfigError, OutputGateError) listing every problem found
 */
export function synthesize(options: SynthOptions): SynthResult {
  const gate = options.gate ?? new OutputGate();
  const app = new App({ outdir: 'unused' });
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  const loaded = loadClusterConfigs(options.configDir);
  for (const { file, config } of loaded) {
    const { chart, cluster } = clusterBuild(app, file, config);
    const errors = constructErrors(chart);
    if (errors.length > 0) throw new UserError(errors.map((e) => `${file}: ${e}`).join('\n'));
    const objects = chart.toJson() as KubeObject[];
    gate.check(file, objects);
    warnings.push(...constructWarnings(chart).map((w) => `${file}: ${w}`));
    files.push(...clusterFiles(chart.node.id, objects, file, clusterRunbook(cluster, { sourceFile: file.split(path.sep).join('/') })));
  }
  const gitops = options.gitopsFile !== undefined ? loadGitopsConfig(options.gitopsFile) : undefined;
  if (gitops) {
    for (const chart of managementCharts(app, gitops, loaded)) {
      const objects = chart.toJson() as KubeObject[];
      gate.check(options.gitopsFile!, objects);
      files.push(manifestFile(`${MANAGEMENT_OUTPUT}/${chart.node.id}/gitops.k8s.yaml`, objects, options.gitopsFile!));
    }
  }
  return { files, warnings };
}

/**
 * The management cluster's GitOps objects, one chart per agent (`flux`, `fleet`), each published
 * to its own folder so that either agent applies only its own objects.
 */
function managementCharts(app: App, gitops: GitopsConfig, loaded: readonly LoadedConfig[]): Chart[] {
  const inRepo = (p: string) => repositoryPath(gitops.repository.path, p);
  const repository = { url: gitops.repository.url, branch: gitops.repository.branch, secretName: gitops.repository.secretName };
  const clusters = (withSecrets: boolean): DeliveredCluster[] => loaded.map(({ config }) => ({
    clusterName: config.name,
    manifestsPath: inRepo(`dist/${config.name}`),
    ...(withSecrets && config.proxmox.credentialsSecret !== undefined ? { secretsPath: inRepo(`${SECRETS_FOLDER}/${config.name}`) } : {}),
  }));
  const charts: Chart[] = [];
  // One chart per agent: its id is the folder under dist/management/.
  const agentChart = (agent: string, build: (chart: Chart) => void) => {
    const chart = new Chart(app, agent, { disableResourceNameHashes: true });
    build(chart);
    charts.push(chart);
  };
  const flux = gitops.flux;
  if (flux) {
    agentChart('flux', (chart) => new FluxDelivery(chart, 'Delivery', {
      name: gitops.name, namespace: flux.namespace, repository, interval: flux.interval,
      managementPath: inRepo(`dist/${MANAGEMENT_OUTPUT}/flux`),
      decryptionSecretName: flux.decryptionSecret,
      clusters: clusters(true),
    }));
  }
  const fleet = gitops.fleet;
  if (fleet) {
    agentChart('fleet', (chart) => new FleetDelivery(chart, 'Delivery', {
      name: gitops.name, namespace: fleet.namespace, repository, interval: fleet.interval,
      managementPath: inRepo(`dist/${MANAGEMENT_OUTPUT}/fleet`),
      clusters: clusters(false),
    }));
  }
  return charts;
}
