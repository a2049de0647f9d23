import { App } from 'cdk8s';
import { clusterChart } from './config/build';
import { loadClusterConfigs } from './config/load';
import { clusterFiles, OutputFile } from './output';

/**
 * Synthesizes every cluster config of a directory into output files, in memory.
 *
 * Nothing is written: the caller publishes the files only when all of them were produced, so a
 * bad config never leaves a half-valid dist/.
 */
export function synthesizeClusters(configDir: string): OutputFile[] {
  const app = new App({ outdir: 'unused' });
  return loadClusterConfigs(configDir).flatMap(({ file, config }) => clusterFiles(clusterChart(app, file, config), file));
}
