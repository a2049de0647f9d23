import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { ADDON_RENDERS_ID } from '../constructs/addons/chart-resource-set';
import { DeliveredCluster, FleetDelivery, FluxDelivery, repositoryPath } from '../constructs/gitops';
import { formatDiagnostic } from '../core/errors';
import { KubeObject } from '../core/kube-object';
import { ADDONS_OUTPUT, MANAGEMENT_OUTPUT, SECRETS_FOLDER } from '../core/naming';
import { OutputGate, OutputGateError } from '../gate/gate';
import { ClusterOutputs, InlineClusterOutputs, renderKey, RenderOutput, ThreadedClusterOutputs, useWorkerThread } from './cluster-output';
import { BuiltCluster, buildClusters, displayPath, findClusterSources } from './clusters';
import { GitopsConfig, loadGitopsConfig } from './config/gitops';
import { checkFleet } from './fleet';
import { FLEET_PAGE, fleetPage } from './fleet-page';
import { manifestFile, OutputFile, toYamlStream } from './output';
import { clusterRunbook, managementRunbook, TEMPLATE_BUILDS, templateBuilds } from './runbook';

/** The result of a synth: the files to publish and the warnings to print. */
export interface SynthResult {
  /** Output files, relative to dist/. */
  readonly files: OutputFile[];
  /** Warnings of the config files and the constructs (e.g. a single control plane), prefixed with the file. */
  readonly warnings: string[];
}

/** What to synthesize. */
export interface SynthOptions {
  /** Directory of the cluster files (`clusters/`: `<name>.yaml` and `<name>.ts`). */
  readonly configDir: string;
  /**
   * The GitOps config (`gitops.yaml`); messages and headers name it relative to the project.
   * @default - no management objects
   */
  readonly gitopsFile?: string;
  /**
   * The output gate.
   * @default - a new OutputGate
   */
  readonly gate?: OutputGate;
  /**
   * The app's bundle, run on a worker thread that checks and writes out the clusters while this
   * thread builds them (lib/app/cluster-output.ts), for fleets large enough to repay it.
   * @default - everything in this thread
   */
  readonly workerScript?: string;
}

/**
 * Synthesizes every cluster file of a directory (config files and TypeScript clusters alike) and,
 * when a GitOps config exists, the management cluster's Flux and Fleet objects, in memory; every
 * output set passes the output gate. The clusters are checked together first (lib/app/fleet.ts):
 * no shared VIPs, node ranges or credentials Secrets, and no object produced twice in dist/.
 *
 * Nothing is written: the caller publishes the files only when all of them were produced, so a
 * bad config never leaves a half-valid dist/.
 *
 * @throws UserError (ValidationError, OutputGateError) listing every problem found
 */
export function synthesize(options: SynthOptions): SynthResult {
  const gate = options.gate ?? new OutputGate();
  const app = new App({ outdir: 'unused' });
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  const built = buildClusters(app, findClusterSources(options.configDir));
  const gitopsFile = options.gitopsFile !== undefined ? path.resolve(options.gitopsFile) : undefined;
  // Named relative to the project (as the cluster files are), so headers never depend on the cwd.
  const gitopsName = gitopsFile !== undefined ? displayPath(gitopsFile) : '';
  const gitops = gitopsFile !== undefined ? loadGitopsConfig(gitopsFile, gitopsName) : undefined;
  const management = gitops ? managementCharts(app, gitops, built).map((chart) => ({ chart, file: gitopsName, name: gitops.name })) : [];
  // Before the gate: a clash between files is explained by naming both of them, which the gate,
  // seeing one file at a time, cannot do.
  const fleetWarnings = checkFleet(built, management);
  const renders = addonRenders(app);
  // The gate, manifests and diagrams of each cluster on a worker thread when that pays (large
  // fleets, the bundled app); the runbooks need the constructs and are made here meanwhile.
  const outputs: ClusterOutputs = options.workerScript && useWorkerThread(built.length)
    ? new ThreadedClusterOutputs(options.workerScript) : new InlineClusterOutputs(gate);
  const checked = new Set<string>();
  const runbooks: OutputFile[] = [];
  let runbookError: unknown;
  for (const { source, chart, cluster, warnings: w } of built) {
    const used = cluster.addonRenders.map((r) => `${cluster.namespace}/${r}`);
    const fresh = used.filter((k) => !checked.has(k)).map((k) => renders.get(k)!);
    fresh.forEach((r) => checked.add(renderKey(r)));
    outputs.add({ file: source.file, clusterName: cluster.clusterName, objects: chart.toJson() as KubeObject[], fresh, used });
    try {
      runbooks.push({ path: `${cluster.clusterName}/RUNBOOK.md`, content: clusterRunbook(cluster, { sourceFile: source.file }) });
    } catch (e) {
      // Reported after the gate's verdict on this and earlier clusters, which comes first in line.
      runbookError = e;
      break;
    }
    warnings.push(...w.map(formatDiagnostic));
  }
  outputs.results().forEach((r, i) => {
    if (r.violations.length > 0) throw new OutputGateError(built[i].source.file, r.violations);
    if (i === runbooks.length) throw runbookError;
    files.push(...r.files, runbooks[i]);
  });
  for (const r of renders.values()) files.push(renderFile(r));
  warnings.push(...fleetWarnings.map(formatDiagnostic));
  const sourceFiles = new Map(built.map(({ cluster, source }) => [cluster.clusterName, source.file]));
  files.push({ path: `${MANAGEMENT_OUTPUT}/RUNBOOK.md`, content: managementRunbook(built.map((b) => b.cluster), { sourceFiles }) });
  files.push({ path: TEMPLATE_BUILDS, content: templateBuilds(built.map((b) => b.cluster)) });
  // At the root of dist/: a file, so it never meets a cluster folder (cluster names are DNS labels, without a dot).
  files.push({ path: FLEET_PAGE, content: fleetPage(built.map((b) => b.cluster), { sourceFiles }) });
  for (const { chart } of management) {
    const objects = chart.toJson() as KubeObject[];
    gate.check(gitopsName, objects);
    files.push(manifestFile(`${MANAGEMENT_OUTPUT}/${chart.node.id}/gitops.k8s.yaml`, objects, gitopsName));
  }
  return { files, warnings };
}

/** The renders of the app's {@link AddonRenders} chart, by `<namespace>/<name>`, in creation order. */
function addonRenders(app: App): Map<string, RenderOutput> {
  const out = new Map<string, RenderOutput>();
  const store = app.node.tryFindChild(ADDON_RENDERS_ID);
  for (const scope of store?.node.children ?? []) {
    const objects = scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson() as KubeObject);
    const { namespace, name } = objects[objects.length - 1].metadata as { namespace: string; name: string };
    out.set(`${namespace}/${name}`, { namespace, name, objects });
  }
  return out;
}

/**
 * The file of one render, `_addons/<namespace>/<name>.k8s.yaml`: a folder no cluster can take (an
 * underscore is not in a DNS label), and one file per render, so a render a cluster starts or stops
 * using is a file added or removed, and the others stay byte-identical.
 */
function renderFile(r: RenderOutput): OutputFile {
  const header = `Generated by cdk8s synth: add-on render ${r.name}, shared by the clusters of namespace ${r.namespace} that select it by label; do not edit.`;
  return { path: `${ADDONS_OUTPUT}/${r.namespace}/${r.name}.k8s.yaml`, content: toYamlStream(r.objects, header) };
}

/**
 * The management cluster's GitOps objects, one chart per agent (`flux`, `fleet`), each published
 * to its own folder so that either agent applies only its own objects.
 */
function managementCharts(app: App, gitops: GitopsConfig, built: readonly BuiltCluster[]): Chart[] {
  const inRepo = (p: string) => repositoryPath(gitops.repository.path, p);
  const repository = { url: gitops.repository.url, branch: gitops.repository.branch, secretName: gitops.repository.secretName };
  const clusters = (withSecrets: boolean): DeliveredCluster[] => built.map(({ cluster }) => ({
    clusterName: cluster.clusterName,
    manifestsPath: inRepo(`dist/${cluster.clusterName}`),
    ...(withSecrets && cluster.credentialsSecret !== undefined ? { secretsPath: inRepo(`${SECRETS_FOLDER}/${cluster.clusterName}`) } : {}),
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
      addonsPath: inRepo(`dist/${ADDONS_OUTPUT}`),
      decryptionSecretName: flux.decryptionSecret,
      clusters: clusters(true),
    }));
  }
  const fleet = gitops.fleet;
  if (fleet) {
    agentChart('fleet', (chart) => new FleetDelivery(chart, 'Delivery', {
      name: gitops.name, namespace: fleet.namespace, repository, interval: fleet.interval,
      managementPath: inRepo(`dist/${MANAGEMENT_OUTPUT}/fleet`),
      addonsPath: inRepo(`dist/${ADDONS_OUTPUT}`),
      clusters: clusters(false),
    }));
  }
  return charts;
}
