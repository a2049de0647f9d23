import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { ADDON_RENDERS_ID } from '../constructs/addons/chart-resource-set';
import { DeliveredCluster, FleetDelivery, FluxDelivery, repositoryPath } from '../constructs/gitops';
import { formatDiagnostic } from '../core/errors';
import { KubeObject } from '../core/kube-object';
import { ADDONS_OUTPUT, MANAGEMENT_OUTPUT, SECRETS_FOLDER } from '../core/naming';
import { OutputGate, OutputGateError } from '../gate/gate';
import { GatePasses } from '../gate/passes';
import { ClusterOutputs, InlineClusterOutputs, outputState, renderKey, RenderOutput, ThreadedClusterOutputs, useWorkerThread } from './cluster-output';
import { BuiltCluster, buildClusters, ClusterSource, displayPath, findClusterSources } from './clusters';
import { GitopsConfig, loadGitopsConfig } from './config/gitops';
import { checkFleet } from './fleet';
import { FLEET_PAGE, fleetPage } from './fleet-page';
import { OutputFile, toYamlStream } from './output';
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
   * The output gate (in this thread; the worker thread of a large fleet makes its own).
   * @default - a new OutputGate
   */
  readonly gate?: OutputGate;
  /**
   * The app's bundle, run on a worker thread that checks and renders the clusters while this
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
  const app = new App({ outdir: 'unused' });
  const sources = findClusterSources(options.configDir);
  // The gate, manifests and diagrams of each cluster on a worker thread when that pays (large
  // fleets, the bundled app): it starts now, and takes each cluster as soon as it is built; the
  // runbooks need the constructs and are made here.
  const outputs: ClusterOutputs = options.workerScript && useWorkerThread(sources.length)
    ? new ThreadedClusterOutputs(options.workerScript)
    // The stored passes are the default gate's: another gate checks everything.
    : new InlineClusterOutputs(options.gate ? outputState(options.gate, GatePasses.none()) : outputState());
  try {
    return synthesizeInto(app, sources, outputs, options);
  } finally {
    outputs.close();
  }
}

function synthesizeInto(app: App, sources: readonly ClusterSource[], outputs: ClusterOutputs, options: SynthOptions): SynthResult {
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  const renders = new Map<string, RenderOutput>();
  const checked = new Set<string>();
  const built = buildClusters(app, sources, ({ source, chart, cluster }) => {
    const used = cluster.addonRenders.map((r) => `${cluster.namespace}/${r}`);
    const fresh = used.filter((k) => !checked.has(k)).map((k) => {
      // A render is made with the first cluster that uses it: new ones are found here.
      if (!renders.has(k)) addonRenders(app, renders);
      return renders.get(k)!;
    });
    fresh.forEach((r) => checked.add(renderKey(r)));
    outputs.add({ file: source.file, clusterName: cluster.clusterName, objects: chartObjects(chart), fresh, used });
  });
  const gitopsFile = options.gitopsFile !== undefined ? path.resolve(options.gitopsFile) : undefined;
  // Named relative to the project (as the cluster files are), so headers never depend on the cwd.
  const gitopsName = gitopsFile !== undefined ? displayPath(gitopsFile) : '';
  const gitops = gitopsFile !== undefined ? loadGitopsConfig(gitopsFile, gitopsName) : undefined;
  const management = gitops ? managementCharts(app, gitops, built).map((chart) => ({ chart, file: gitopsName, name: gitops.name })) : [];
  // Checked and written beside the fleet-wide checks below, after every cluster.
  for (const { chart } of management) {
    outputs.add({ file: gitopsName, path: `${MANAGEMENT_OUTPUT}/${chart.node.id}/gitops.k8s.yaml`, objects: chartObjects(chart) });
  }
  // Before the gate's verdict: a clash between files is explained by naming both of them, which
  // the gate, seeing one file at a time, cannot do.
  const fleetWarnings = checkFleet(built, management);
  // Every render of the store is published, also one no cluster listed among those it uses.
  addonRenders(app, renders);
  const runbooks: OutputFile[] = [];
  let runbookError: unknown;
  for (const { source, cluster, warnings: w } of built) {
    try {
      runbooks.push({ path: `${cluster.clusterName}/RUNBOOK.md`, content: clusterRunbook(cluster, { sourceFile: source.file }) });
    } catch (e) {
      // Reported after the gate's verdict on this and earlier clusters, which comes first.
      runbookError = e;
      break;
    }
    warnings.push(...w.map(formatDiagnostic));
  }
  const results = outputs.results();
  outputs.savePasses(results);
  results.slice(0, built.length).forEach((r, i) => {
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
  for (const r of results.slice(built.length)) {
    if (r.violations.length > 0) throw new OutputGateError(gitopsName, r.violations);
    files.push(...r.files);
  }
  return { files, warnings };
}

/**
 * `chart.toJson()`, without its app-wide work where it has none to do. cdk8s orders a chart's
 * objects by a dependency graph of every construct, after it ran the validations and resolved
 * the dependencies of the whole app; for a chart without nested charts, dependencies or
 * validations that order is the constructs' own (tree order), and the app-wide pass took 0.2 s
 * of a 1000-cluster synth. Any other chart goes through cdk8s.
 */
export function chartObjects(chart: Chart): KubeObject[] {
  const constructs = chart.node.findAll();
  const plain = constructs.every((c) => (c === chart || !Chart.isChart(c)) && c.node.dependencies.length === 0 && c.node.validate().length === 0);
  if (!plain) return chart.toJson() as KubeObject[];
  return constructs.filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson() as KubeObject);
}

/**
 * Adds the renders of the app's {@link AddonRenders} chart that `into` does not hold yet, by
 * `<namespace>/<name>`, in creation order (renders are only ever added to the chart).
 */
function addonRenders(app: App, into: Map<string, RenderOutput>): void {
  const store = app.node.tryFindChild(ADDON_RENDERS_ID);
  for (const scope of (store?.node.children ?? []).slice(into.size)) {
    const objects = scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson() as KubeObject);
    const { namespace, name } = objects[objects.length - 1].metadata as { namespace: string; name: string };
    into.set(`${namespace}/${name}`, { namespace, name, objects });
  }
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
