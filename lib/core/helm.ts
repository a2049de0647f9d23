import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { cacheEntry } from './cache';
import { quote, UserError } from './errors';
import { KubeObject } from './kube-object';
import { cacheDir, INSTALLED_AS_DEPENDENCY, PROJECT_ROOT } from './paths';
import { PinnedChart } from './stack';
import { canonicalYaml, toYaml } from './yaml';

/** What to render: a pinned chart, a release and its values. */
export interface HelmRenderOptions {
  /** The chart, pinned by version and archive digest. */
  readonly chart: PinnedChart;
  /** Helm release name (`helm template <release>`). */
  readonly releaseName: string;
  /** Namespace of the release inside the workload cluster. */
  readonly namespace: string;
  /** Chart values. */
  readonly values: object;
  /** Kubernetes version the chart renders for (`--kube-version`). */
  readonly kubeVersion: string;
}


/**
 * The helm binary: `$HELM_BIN`, else the copy `npm ci` extracts into node_modules/.bin, else `helm` on PATH.
 */
export function helmBinary(): string {
  if (process.env.HELM_BIN) return process.env.HELM_BIN;
  const bundled = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'helm');
  return fs.existsSync(bundled) ? bundled : 'helm';
}

/**
 * Local directories searched for `<name>-<version>.tgz` before any download: `$CHARTS_DIR`
 * (a path list), else `charts/` and `../shared/charts` relative to this repository, or `charts/`
 * of the working directory when the constructs run as an installed package.
 */
export function chartSearchDirs(): string[] {
  const fromEnv = process.env.CHARTS_DIR;
  if (fromEnv) return fromEnv.split(path.delimiter).filter(Boolean).map((d) => path.resolve(d));
  // Installed as a package, `charts/` of the project that uses it; here, the repository's own and
  // the reference data beside it.
  if (INSTALLED_AS_DEPENDENCY) return [path.resolve('charts')];
  return [path.join(PROJECT_ROOT, 'charts'), path.resolve(PROJECT_ROOT, '..', 'shared', 'charts')];
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Default limit for one helm run, in seconds; `$CDK8S_TALOS_HELM_TIMEOUT_SECONDS` overrides it. */
export const DEFAULT_HELM_TIMEOUT_SECONDS = 120;

/**
 * How long one helm run may take, in seconds: `$CDK8S_TALOS_HELM_TIMEOUT_SECONDS` (a positive
 * number), else {@link DEFAULT_HELM_TIMEOUT_SECONDS}.
 */
export function helmTimeoutSeconds(): number {
  const raw = process.env.CDK8S_TALOS_HELM_TIMEOUT_SECONDS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_HELM_TIMEOUT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UserError(`CDK8S_TALOS_HELM_TIMEOUT_SECONDS is ${quote(raw)}, expected a positive number of seconds`);
  }
  return seconds;
}

function runHelm(args: string[], input?: string): string {
  const bin = helmBinary();
  const timeout = helmTimeoutSeconds();
  try {
    // A helm that never returns would hang synth forever: kill it after the timeout. SIGKILL, as a
    // hung process may ignore SIGTERM.
    return execFileSync(bin, args, {
      encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024,
      timeout: timeout * 1000, killSignal: 'SIGKILL',
    });
  } catch (e) {
    // execFileSync's error: ENOENT when the binary is missing, ETIMEDOUT when it was killed after
    // the timeout, else the child's output with it.
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer | string };
    if (err.code === 'ENOENT') {
      throw new UserError('helm not found (looked for $HELM_BIN, node_modules/.bin/helm and helm on PATH); run `npm ci` (its postinstall step extracts helm; approve the install script if npm skipped it), or set HELM_BIN');
    }
    if (err.code === 'ETIMEDOUT') {
      throw new UserError(`helm ${args[0]} (${bin}) did not finish within ${timeout} s and was stopped; check that \`${bin} version\` returns, or set CDK8S_TALOS_HELM_TIMEOUT_SECONDS to allow longer`);
    }
    const stderr = String(err.stderr ?? '').trim();
    throw new UserError(`helm ${args[0]} failed: ${stderr || err.message}`);
  }
}

/**
 * Finds the chart archive locally (search dirs, then the download cache), else pulls it from
 * the chart's repository into the cache; in every case checks the pinned sha256.
 */
export function resolveChart(chart: PinnedChart): string {
  const fileName = `${chart.name}-${chart.version}.tgz`;
  const downloads = path.join(cacheDir(), 'charts');
  const candidates = [...chartSearchDirs(), downloads].map((d) => path.join(d, fileName));
  let archive = candidates.find((f) => fs.existsSync(f));
  if (!archive) {
    fs.mkdirSync(downloads, { recursive: true });
    const source = chart.repository.startsWith('oci://')
      ? [chart.repository]
      : [chart.name, '--repo', chart.repository];
    runHelm(['pull', ...source, '--version', chart.version, '--destination', downloads]);
    archive = path.join(downloads, fileName);
  }
  const digest = sha256File(archive);
  if (digest !== chart.sha256) {
    throw new UserError(`chart ${archive} has sha256 ${digest}, expected ${chart.sha256} (${chart.name} ${chart.version} as pinned in lib/core/stack.ts); replace the file with the official archive`);
  }
  return archive;
}

/**
 * Parses a multi-document render into objects, dropping empty documents. Anything that is not a
 * list of Kubernetes objects (each with `apiVersion`, `kind` and `metadata.name`) is a
 * {@link UserError} naming `source`, with a short excerpt of the offending document at most.
 *
 * @param text helm's output
 * @param source what produced it, for messages (e.g. `helm template of chart cilium 1.20.0`)
 */
export function parseManifests(text: string, source: string = 'helm output'): KubeObject[] {
  const objects: KubeObject[] = [];
  YAML.parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new UserError(`${source} is not valid YAML (document ${i + 1}): ${doc.errors[0].message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const problem = notAKubeObject(value);
    if (problem) throw new UserError(`${source} is not a list of Kubernetes objects: document ${i + 1} ${problem} (${quote(value, 60)})`);
    objects.push(value as KubeObject);
  });
  return objects;
}

/** Why `value` is not a Kubernetes object, or `undefined` if it is one. */
function notAKubeObject(value: unknown): string | undefined {
  if (typeof value !== 'object' || Array.isArray(value)) return `is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`;
  const o = value as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || !o.apiVersion) return 'has no apiVersion';
  if (typeof o.kind !== 'string' || !o.kind) return 'has no kind';
  const metadata = o.metadata as Record<string, unknown> | undefined;
  if (typeof metadata !== 'object' || metadata === null || typeof metadata.name !== 'string' || !metadata.name) return 'has no metadata.name';
  return undefined;
}

/** A chart render: the objects, and each as a YAML document (what the resource sets carry). */
export interface ChartRender {
  /** Rendered objects in helm's order, frozen. */
  readonly objects: readonly KubeObject[];
  /** `objects[i]` serialized as YAML, without line folding. */
  readonly documents: readonly string[];
}

/**
 * Renders a chart with `helm template` and returns its objects.
 *
 * Renders are cached under {@link cacheDir} by chart digest + release + namespace + values +
 * kube version, so helm runs only for output it has not rendered before. The cache holds the
 * parsed objects and their YAML documents as JSON, which loads far faster than re-parsing YAML.
 * Each entry carries the sha256 of its content (lib/core/cache.ts): an entry that was truncated or
 * edited is discarded and rendered again, never published.
 */
export function renderChart(opts: HelmRenderOptions): ChartRender {
  const key = createHash('sha256')
    .update(canonicalYaml({
      // Entry format: 2 since entries carry a digest header (older entries are simply not found).
      format: 2,
      chart: opts.chart.sha256,
      release: opts.releaseName,
      namespace: opts.namespace,
      values: opts.values,
      kubeVersion: opts.kubeVersion,
    }))
    .digest('hex');
  const cached = path.join(cacheDir(), 'helm', `${opts.chart.name}-${key}.json`);
  // Loaded (and its digest checked) earlier in this process: at a thousand clusters, asking the
  // disk again whether the entry still exists took 75 ms.
  const inProcess = rendered.get(cached);
  if (inProcess) return inProcess;
  // A render that helm failed to produce, or that is not a list of objects, throws before anything
  // is stored; a cached render is used only when its digest matches.
  return remember(cached, cacheEntry<ChartRender>(cached, {
    decode: (payload) => checkRender(JSON.parse(payload)),
    build: () => {
      const archive = resolveChart(opts.chart);
      const output = runHelm([
        'template', opts.releaseName, archive,
        '--namespace', opts.namespace,
        '--kube-version', opts.kubeVersion,
        '--values', '-',
      ], canonicalYaml(opts.values));
      const objects = parseManifests(output, `helm template of chart ${opts.chart.name} ${opts.chart.version}`);
      const render: ChartRender = { objects, documents: objects.map((o) => toYaml(o)) };
      return { value: render, payload: JSON.stringify(render) };
    },
  }));
}

/** The shape of a cached render; a mismatch means the entry is unusable (it is rebuilt). */
function checkRender(value: unknown): ChartRender {
  const r = value as ChartRender;
  if (!r || !Array.isArray(r.objects) || !Array.isArray(r.documents) || r.objects.length !== r.documents.length) {
    throw new Error('not a chart render');
  }
  return r;
}

/** Renders already loaded in this process (many clusters share a chart, values and version). */
const rendered = new Map<string, ChartRender>();

function remember(file: string, render: ChartRender): ChartRender {
  const frozen = deepFreeze(render);
  rendered.set(file, frozen);
  return frozen;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
