/**
 * The part of a cluster's synth that needs only its objects: the output gate, the manifest file
 * and the diagram (and the same for the management cluster's GitOps objects, without a diagram).
 * At a thousand clusters this is a third of synth, and it needs no construct, so the app runs it
 * on a worker thread beside the one that builds the clusters ({@link ThreadedClusterOutputs};
 * `npm run plan` too, from its own bundle); tests and small fleets run it in line
 * ({@link InlineClusterOutputs}). Both run the same function ({@link clusterOutput}), so the
 * output is the same byte for byte.
 */
import { createHash } from 'crypto';
import * as os from 'os';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import { KubeObject } from '../core/kube-object';
import { toYaml } from '../core/yaml';
import { Violation } from '../gate/crd-schema';
import { OutputGate } from '../gate/gate';
import { GatePasses } from '../gate/passes';
import { clusterFiles, manifestFile, OutputFile } from './output';

/** A shared add-on render: its namespace, name and objects (ConfigMaps, then the resource set). */
export interface RenderOutput {
  readonly namespace: string;
  readonly name: string;
  readonly objects: KubeObject[];
}

/** One cluster's objects and the renders it uses. */
export interface ClusterOutputJob {
  /** The cluster's file, for headers. */
  readonly file: string;
  readonly clusterName: string;
  /** Its chart's objects. */
  readonly objects: KubeObject[];
  /** Renders it is the first to use: checked with it, then known to later jobs by key. */
  readonly fresh: readonly RenderOutput[];
  /** Keys (`<namespace>/<name>`) of every render it uses, in order. */
  readonly used: readonly string[];
}

/** Objects published as one manifest, without a diagram: the management cluster's GitOps objects of one agent. */
export interface ManifestJob {
  /** The file they come from, for the header and messages (`gitops.yaml`). */
  readonly file: string;
  /** The manifest's path under dist/ (`management/<agent>/gitops.k8s.yaml`). */
  readonly path: string;
  readonly objects: KubeObject[];
}

/** A job of {@link ClusterOutputs}. */
export type OutputJob = ClusterOutputJob | ManifestJob;

/** What the gate found in a cluster's output, and its manifest and diagram files. */
export interface ClusterOutputResult {
  readonly violations: Violation[];
  readonly files: OutputFile[];
  /**
   * The key under which the gate's pass of this output is remembered ({@link GatePasses}); none
   * when it did not pass or nothing is remembered.
   */
  readonly passKey?: string;
  /** Whether the pass is new: the store is written after the run. */
  readonly newPass?: boolean;
}

/** Key of a render: `<namespace>/<name>`. */
export function renderKey(r: { namespace: string; name: string }): string {
  return `${r.namespace}/${r.name}`;
}

/** What {@link clusterOutput} keeps from one job to the next, in one thread. */
export interface OutputState {
  readonly gate: OutputGate;
  /** The gate's earlier passes; the gate runs only on output it has not passed. */
  readonly passes: GatePasses;
  /** The renders seen so far, by key. */
  readonly renders: Map<string, RenderOutput>;
  /** Digests of the renders' YAML, by key, made when a key first needs one. */
  readonly renderDigests: Map<string, string>;
}

/**
 * A fresh {@link OutputState}.
 *
 * @param passes the gate's earlier passes: those of the running code by default; a gate other than
 *   the default one must bring its own (or none), since the stored passes are the default gate's
 */
export function outputState(gate: OutputGate = new OutputGate(), passes: GatePasses = GatePasses.forThisCode()): OutputState {
  return { gate, passes, renders: new Map(), renderDigests: new Map() };
}

/** The sha256 of a render's YAML, made once per thread. */
function renderDigest(state: OutputState, r: RenderOutput): string {
  const key = renderKey(r);
  let digest = state.renderDigests.get(key);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const o of r.objects) hash.update(toYaml(o)).update('\0');
    digest = hash.digest('hex');
    state.renderDigests.set(key, digest);
  }
  return digest;
}

/**
 * The gate's verdict (`check()`), or no violation without running it when the gate passed the
 * same output before; a new pass is remembered in this thread.
 *
 * @param parts what the output is, for its key: the YAML of the objects checked and the digests of the renders
 */
function gateVerdict(state: OutputState, parts: readonly string[], check: () => Violation[]): Pick<ClusterOutputResult, 'violations' | 'passKey' | 'newPass'> {
  const key = state.passes.key(parts);
  if (state.passes.passed(key)) return { violations: [], passKey: key, newPass: false };
  const violations = check();
  if (violations.length > 0 || key === undefined) return { violations };
  state.passes.add(key);
  return { violations, passKey: key, newPass: true };
}

/**
 * The gate's verdict and the files of one cluster. A render's own objects are checked once, with
 * the first cluster that uses it; each cluster's references are checked against every render it
 * uses, so their selectors find its Cluster. Output the gate passed before (the same bytes, the
 * same code and schemas: {@link GatePasses}) is not checked again.
 *
 * A {@link ManifestJob}'s objects are checked on their own, and make its one manifest.
 */
export function clusterOutput(state: OutputState, job: OutputJob): ClusterOutputResult {
  const docs = job.objects.map((o) => toYaml(o));
  if ('path' in job) {
    const verdict = gateVerdict(state, ['manifest', ...docs], () => state.gate.violations(job.objects));
    return { ...verdict, files: verdict.violations.length > 0 ? [] : [manifestFile(job.path, job.objects, job.file, docs)] };
  }
  for (const r of job.fresh) state.renders.set(renderKey(r), r);
  const fresh = new Set(job.fresh.map(renderKey));
  const used = job.used.map((k) => state.renders.get(k)!);
  // Fresh renders are checked with this cluster, the others only referenced: both kinds named.
  const renderParts = [...job.fresh.map((r) => `fresh ${renderDigest(state, r)}`),
    ...used.filter((r) => !fresh.has(renderKey(r))).map((r) => `used ${renderDigest(state, r)}`)];
  const verdict = gateVerdict(state, ['cluster', ...docs, ...renderParts], () => state.gate.violations(
    [...job.objects, ...job.fresh.flatMap((r) => r.objects)],
    used.filter((r) => !fresh.has(renderKey(r))).flatMap((r) => r.objects)));
  if (verdict.violations.length > 0) return { ...verdict, files: [] };
  return { ...verdict, files: clusterFiles(job.clusterName, job.objects, job.file, used.flatMap((r) => r.objects), docs) };
}

/**
 * Writes the gate's passes of a run to `passes()` (made only then) when any is new.
 */
function savePasses(results: readonly ClusterOutputResult[], passes: () => GatePasses): void {
  if (!results.some((r) => r.newPass)) return;
  passes().save(results.flatMap((r) => (r.passKey !== undefined ? [r.passKey] : [])));
}

/**
 * Where cluster outputs are computed. Synth adds each cluster as soon as it is built, before the
 * fleet-wide checks; results come back in the order the jobs went in, and are read only after
 * those checks, so that a clash between files is reported before a gate violation.
 */
export interface ClusterOutputs {
  add(job: OutputJob): void;
  /** The jobs' results in order, up to the first with a violation at least; blocks until they are done. */
  results(): ClusterOutputResult[];
  /** Stores the gate's new passes among `results` (from {@link results}), so later synths skip their checks. */
  savePasses(results: readonly ClusterOutputResult[]): void;
  /** Stops what is still running (the worker thread); results are no longer needed. Idempotent. */
  close(): void;
}

/** In this thread, at once. */
export class InlineClusterOutputs implements ClusterOutputs {
  private readonly done: ClusterOutputResult[] = [];
  private violated = false;

  constructor(private readonly state: OutputState) {}

  /** Computed now; after a job with a violation, nothing more (its verdict ends the synth). */
  public add(job: OutputJob): void {
    if (this.violated) return;
    const result = clusterOutput(this.state, job);
    this.violated = result.violations.length > 0;
    this.done.push(result);
  }

  public results(): ClusterOutputResult[] {
    return this.done;
  }

  public savePasses(results: readonly ClusterOutputResult[]): void {
    savePasses(results, () => this.state.passes);
  }

  public close(): void {
    // nothing runs elsewhere
  }
}

/** `workerData` of the worker thread: marks the bundle's run as the worker's. */
export const WORKER_ROLE = 'cdk8s-talos-proxmox/cluster-output';

interface WorkerData {
  readonly role: typeof WORKER_ROLE;
  readonly port: MessagePort;
  /** Counts the results posted: the main thread waits on it. */
  readonly posted: Int32Array;
}

type Reply = { index: number; result: ClusterOutputResult } | { index: number; error: string };

/**
 * On a worker thread running `script` (the app's bundle, whose entry calls {@link runClusterOutputWorker}
 * there). The main thread keeps building clusters while the worker checks and renders earlier
 * ones; {@link results} waits for the last. Synth stays synchronous: results are taken off the port
 * with `receiveMessageOnPort`, and the main thread sleeps on a shared counter between them.
 */
export class ThreadedClusterOutputs implements ClusterOutputs {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly posted = new Int32Array(new SharedArrayBuffer(4));
  private sent = 0;
  private closed = false;

  constructor(script: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: WorkerData = { role: WORKER_ROLE, port: port2, posted: this.posted };
    // The environment as this thread sees it now (the project root, the cache, the Talos schemas).
    this.worker = new Worker(script, { workerData: data, transferList: [port2], env: { ...process.env } });
    // Never what keeps the process alive: the main thread exits when synth is done.
    this.worker.unref();
  }

  public add(job: OutputJob): void {
    this.port.postMessage({ index: this.sent++, job });
  }

  public results(): ClusterOutputResult[] {
    const out: ClusterOutputResult[] = [];
    let received = 0;
    let lastProgress = Date.now();
    try {
      while (received < this.sent) {
        const seen = Atomics.load(this.posted, 0);
        const message = receiveMessageOnPort(this.port);
        if (message === undefined) {
          // Woken by the worker's next result. Short naps: a result counted before its message
          // is visible on the port is then picked up at the next round, never waited on.
          if (Date.now() - lastProgress > WORKER_SILENCE_MS) throw new Error('the cluster output worker stopped answering');
          Atomics.wait(this.posted, 0, seen, 50);
          continue;
        }
        const reply = message.message as Reply;
        if ('error' in reply) throw new Error(`cluster output worker: ${reply.error}`);
        out[reply.index] = reply.result;
        received++;
        lastProgress = Date.now();
      }
    } finally {
      this.close();
    }
    return out;
  }

  /** The worker's passes are known here only from its results; the store's identity is made only when one is new. */
  public savePasses(results: readonly ClusterOutputResult[]): void {
    savePasses(results, () => GatePasses.forThisCode());
  }

  public close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}

/** How long the main thread waits for the worker's next result before it gives up. */
const WORKER_SILENCE_MS = 120_000;

/**
 * Whether synth of `clusters` clusters should use a worker thread: with two cores or more and a
 * fleet large enough to repay the worker's start (loading the app and the gate's validators).
 * `CDK8S_TALOS_THREADS=0` or `=1` decides instead.
 */
export function useWorkerThread(clusters: number, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.CDK8S_TALOS_THREADS === '0') return false;
  if (env.CDK8S_TALOS_THREADS === '1') return true;
  return clusters >= WORKER_MIN_CLUSTERS && os.availableParallelism() >= 2;
}

/** Below this many clusters the worker's start costs more than it saves. */
export const WORKER_MIN_CLUSTERS = 20;

/**
 * The worker thread's loop: computes each job's output with its own gate and posts it back. Called
 * by main.ts when the bundle runs on the worker thread.
 */
export function runClusterOutputWorker(data: unknown): void {
  const { port, posted } = data as WorkerData;
  const state = outputState();
  port.on('message', ({ index, job }: { index: number; job: OutputJob }) => {
    let reply: Reply;
    try {
      reply = { index, result: clusterOutput(state, job) };
    } catch (e) {
      reply = { index, error: e instanceof Error ? e.stack ?? e.message : String(e) };
    }
    port.postMessage(reply);
    Atomics.add(posted, 0, 1);
    Atomics.notify(posted, 0);
  });
}

/** Whether this thread's `workerData` is the cluster-output worker's. */
export function isClusterOutputWorker(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { role?: unknown }).role === WORKER_ROLE;
}
