/**
 * The clusters of a project: one chart per cluster file in `clusters/`, whether the cluster is
 * described by a config file (`<name>.yaml`) or by TypeScript (`<name>.ts`). Both end in a
 * TalosCluster built by the same constructs, so they get the same rules, defaults and output.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { AddonRenders } from '../constructs/addons/chart-resource-set';
import { ClusterDefinition, TalosCluster, WARNING_METADATA } from '../constructs/talos-cluster';
import { Diagnostic, error, formatDiagnostic, quote, throwErrors, UserError, ValidationError } from '../core/errors';
import { MANAGEMENT_OUTPUT } from '../core/naming';
import { PROJECT_ROOT } from '../core/paths';
import { ClusterConfigFile, loadClusterConfig, unreadableFileProblem } from './config/load';
import { ParsedConfigs } from './config/parsed-cache';
import { configPath } from './config/renamed-keys';
import { patchSchemaProblems, withPatchFiles } from './patches';

/** A cluster file: a config file or a TypeScript module. */
export interface ClusterSource {
  /** Path for messages and headers, relative to the working directory, with `/` separators. */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
  /** How the file describes its cluster. */
  readonly kind: 'yaml' | 'typescript';
}

/** A cluster built from its file, in its own chart. */
export interface BuiltCluster {
  /** The file it came from. */
  readonly source: ClusterSource;
  /** The chart holding the cluster (its id is the cluster name). */
  readonly chart: Chart;
  /** The cluster. */
  readonly cluster: TalosCluster;
  /** Warnings of the file and of the constructs, with the file as their source. */
  readonly warnings: readonly Diagnostic[];
}

const YAML_FILE = /\.ya?ml$/;
const TYPESCRIPT_FILE = /(?<!\.d)\.ts$/;

/** What a directory entry that is not a file is, for a message. */
function entryKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * Why a directory entry named like a cluster file is not one, or undefined when it is: a regular
 * file, or for a config file also a symbolic link to one. A TypeScript cluster must be the file
 * itself, since synth compiles only regular `clusters/*.ts` files into its bundle (scripts/app.js).
 */
function notAClusterFile(abs: string, kind: ClusterSource['kind']): string | undefined {
  const rename = 'rename it so that its name does not end in .yaml, .yml or .ts, or move it';
  let link: fs.Stats;
  try {
    link = fs.lstatSync(abs);
  } catch (e) {
    return unreadableFileProblem(abs, e as NodeJS.ErrnoException); // gone since it was listed
  }
  if (link.isFile()) return undefined;
  if (!link.isSymbolicLink()) {
    return `is ${entryKind(link)}, not a cluster file; ${rename}${link.isDirectory() ? ' (a folder holds files that clusters refer to)' : ''}`;
  }
  let target: fs.Stats;
  try {
    target = fs.statSync(abs);
  } catch (e) {
    return unreadableFileProblem(abs, e as NodeJS.ErrnoException);
  }
  if (!target.isFile()) return `is a symbolic link to ${entryKind(target)}, not to a cluster file; ${rename}`;
  if (kind === 'typescript') return 'is a symbolic link; a TypeScript cluster must be the file itself (synth compiles only regular files into its bundle): replace the link with the file';
  return undefined;
}

/**
 * The cluster files of a directory, in name order. A cluster file is a regular file directly in
 * the directory named `*.yaml`, `*.yml` or `*.ts` (not `*.d.ts`) and not hidden: names starting
 * with `.` are skipped (`.x.yaml`, and editor lock files like `.#x.yaml`, which are dangling
 * links). A config file may also be a symbolic link to a regular file. Subfolders are not cluster
 * files; what clusters refer to (TypeScript helpers) goes there.
 *
 * @throws UserError when the directory does not exist or holds no cluster file; ValidationError
 *   naming every entry that is named like a cluster file but is not one (a directory, a FIFO, a
 *   symbolic link to nothing or in a loop, a symbolic link to a TypeScript file)
 */
export function findClusterSources(dir: string): ClusterSource[] {
  if (!fs.existsSync(dir)) throw new UserError(`config directory ${dir} does not exist; create it with one <cluster>.yaml or <cluster>.ts per cluster`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`config directory ${dir} is not a directory; it holds one <cluster>.yaml or <cluster>.ts per cluster`);
  const problems: Diagnostic[] = [];
  const sources = fs.readdirSync(dir)
    .filter((name) => !name.startsWith('.') && (YAML_FILE.test(name) || TYPESCRIPT_FILE.test(name)))
    .sort()
    .flatMap((name): ClusterSource[] => {
      const abs = path.join(dir, name);
      const source: ClusterSource = { file: displayPath(abs), path: abs, kind: YAML_FILE.test(name) ? 'yaml' : 'typescript' };
      const problem = notAClusterFile(abs, source.kind);
      if (problem === undefined) return [source];
      problems.push({ ...error('', problem), source: { file: source.file } });
      return [];
    });
  if (problems.length > 0) throw new ValidationError(problems);
  if (sources.length === 0) throw new UserError(`no cluster files (*.yaml or *.ts) in ${dir}`);
  return sources;
}

/** A path relative to the project root, with `/` separators, for messages and headers. */
export function displayPath(abs: string): string {
  // Relative to the project, not the working directory: the name lands in output headers and
  // runbooks, which must be the same wherever synth or plan was started from.
  return (path.relative(PROJECT_ROOT, abs) || abs).split(path.sep).join('/');
}

/**
 * TypeScript cluster modules compiled into the synth bundle (scripts/app.js), by path relative to
 * the project; elsewhere (tsx, jest) the files are required directly.
 */
const bundledModules = new Map<string, () => unknown>();

/** Registers a TypeScript cluster module of the synth bundle (called by the bundle's entry). */
export function registerClusterModule(relativePath: string, load: () => unknown): void {
  bundledModules.set(relativePath.split(path.sep).join('/'), load);
}

function loadModule(abs: string): unknown {
  const bundled = bundledModules.get(path.relative(PROJECT_ROOT, abs).split(path.sep).join('/'));
  // A TypeScript file is loaded by the runtime that runs us (tsx, ts-jest) when not bundled.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module path known only at run time, loaded synchronously
  return bundled ? bundled() : require(abs);
}

/** The diagnostics of a ValidationError, with the file as their source (config paths for config files). */
function fileDiagnostics(diagnostics: readonly Diagnostic[], file: string, config?: ClusterConfigFile): Diagnostic[] {
  return diagnostics.map((d) => ({
    ...d,
    path: config ? configPath(d.path, config.renamed) : d.path,
    source: d.source ?? { file },
  }));
}

function constructWarnings(chart: Chart, file: string, config?: ClusterConfigFile): Diagnostic[] {
  const warnings = chart.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === WARNING_METADATA).map((m) => m.data as Diagnostic));
  return fileDiagnostics(warnings, file, config);
}

/** Runs `build`; a ValidationError it throws is thrown again with the file (and config paths). */
function inFile<T>(file: string, config: ClusterConfigFile | undefined, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(fileDiagnostics(e.diagnostics, file, config));
    throw e;
  }
}

/**
 * Builds the cluster a config file describes into a new chart `chartId` of `scope`: the constructs check
 * and default the props, and their diagnostics name the config file and its fields.
 *
 * @throws ValidationError naming the file and the config paths
 */
export function buildConfigCluster(scope: Construct, config: ClusterConfigFile, chartId: string): Omit<BuiltCluster, 'source'> {
  const chart = new Chart(scope, chartId, { disableResourceNameHashes: true });
  const cluster = inFile(config.file, config, () => {
    const built = new TalosCluster(chart, 'Cluster', withPatchFiles(config.props, path.dirname(path.resolve(config.file))));
    throwErrors(patchSchemaProblems(built));
    return built;
  });
  return { chart, cluster, warnings: [...config.warnings, ...constructWarnings(chart, config.file, config)] };
}

/**
 * Builds the cluster of one file into a new chart of `scope`; errors are thrown, not collected.
 *
 * @param parsed the parses kept from earlier synths, if any
 */
function buildOne(parent: Construct, source: ClusterSource, chartId: string, parsed?: ParsedConfigs): BuiltCluster {
  // An app per cluster: cdk8s resolves a whole app to synthesize one of its charts, so one app for
  // the fleet would make synth quadratic in the clusters. The add-on renders stay shared.
  const scope = new App({ outdir: 'unused' });
  AddonRenders.shareWith(scope, AddonRenders.of(parent));
  if (source.kind === 'yaml') {
    const config = parsed ? parsed.load(source.path, source.file) : loadClusterConfig(source.path, source.file);
    return { source, ...buildConfigCluster(scope, config, chartId) };
  }
  const definition = (loadModule(source.path) as { default?: unknown }).default;
  const fail = (message: string) => new ValidationError([{ ...error('', message), source: { file: source.file } }]);
  if (typeof definition !== 'function') throw fail('must export a default function (scope) => TalosCluster (see README, "From TypeScript")');
  const chart = new Chart(scope, chartId, { disableResourceNameHashes: true });
  const cluster = inFile(source.file, undefined, () => (definition as ClusterDefinition)(chart));
  if (!(cluster instanceof TalosCluster) || cluster.node.scope !== chart) {
    throw fail(`its default export must create a TalosCluster in the scope it is given and return it; it returned ${cluster instanceof TalosCluster ? 'one created elsewhere' : quote(typeof cluster)}`);
  }
  inFile(source.file, undefined, () => throwErrors(patchSchemaProblems(cluster)));
  return { source, chart, cluster, warnings: constructWarnings(chart, source.file) };
}

/**
 * Builds every cluster file into its own chart of `app` (chart id: the cluster name). Every file
 * is tried, and every problem of every file is thrown together, so one run shows them all; cluster
 * names must be unique across files and may not be `management` (dist/management/ holds the
 * GitOps objects).
 *
 * @param onBuilt called with each cluster that joins the result, as soon as it is built, while no
 *   file had a problem (synth hands the clusters to its worker thread while it builds the next ones)
 * @throws UserError (ValidationError for invalid props or configs) listing every problem found
 */
export function buildClusters(app: Construct, sources: readonly ClusterSource[], onBuilt?: (b: BuiltCluster) => void): BuiltCluster[] {
  const built: BuiltCluster[] = [];
  const problems: string[] = [];
  const names = new Map<string, ClusterSource>();
  const parsed = ParsedConfigs.forBundle();
  sources.forEach((source, i) => {
    let joined: BuiltCluster | undefined;
    try {
      // Chart ids are positional: a TypeScript file's cluster name is known only once it is
      // built, and two files of one name must reach the check below rather than collide.
      const b = buildOne(app, source, `cluster-file-${i}`, parsed);
      const name = b.cluster.clusterName;
      const other = names.get(name);
      if (name === MANAGEMENT_OUTPUT) {
        problems.push(formatDiagnostic({ ...error('name', `${quote(name)} is reserved: dist/${MANAGEMENT_OUTPUT}/ holds the GitOps objects of the management cluster; choose another cluster name`), source: { file: source.file } }));
      } else if (other) {
        problems.push(formatDiagnostic({ ...error('name', `${quote(name)} is already used by ${other.file}; cluster names must be unique`), source: { file: source.file } }));
      } else {
        names.set(name, source);
        built.push(b);
        joined = b;
      }
    } catch (e) {
      if (e instanceof UserError) problems.push(e.message); else throw e;
    }
    // Outside the try: what the caller does with a cluster is not a problem of its file.
    if (joined && problems.length === 0) onBuilt?.(joined);
  });
  parsed?.save();
  if (problems.length > 0) throw new UserError(problems.join('\n'));
  return built;
}
