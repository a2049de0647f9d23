import { App, Chart } from 'cdk8s';
import { clusterChart } from './config/build';
import { loadClusterConfigs } from './config/load';
import { UserError } from './errors';
import { KubeObject } from './kube-object';
import { clusterFiles, OutputFile } from './output';
import { OutputGate } from './validation/gate';

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

/**
 * Synthesizes every cluster config of a directory, in memory, and passes each cluster's
 * objects through the output gate.
 *
 * Nothing is written: the caller publishes the files only when all of them were produced, so a
 * bad config never leaves a half-valid dist/.
 *
 * @throws UserError (ConfigError, OutputGateError) listing every problem found
 */
export function synthesizeClusters(configDir: string, gate: OutputGate = new OutputGate()): SynthResult {
  const app = new App({ outdir: 'unused' });
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  for (const { file, config } of loadClusterConfigs(configDir)) {
    const chart = clusterChart(app, file, config);
    const errors = constructErrors(chart);
    if (errors.length > 0) throw new UserError(errors.map((e) => `${file}: ${e}`).join('\n'));
    gate.check(file, chart.toJson() as KubeObject[]);
    warnings.push(...constructWarnings(chart).map((w) => `${file}: ${w}`));
    files.push(...clusterFiles(chart, file));
  }
  return { files, warnings };
}
