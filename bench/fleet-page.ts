/**
 * `npx tsx bench/fleet-page.ts [clusters]`: how long the fleet page (dist/README.md) takes for a
 * large fleet. Builds the fleet's clusters (default 1000, configs of bench/fleet.ts) in one app,
 * then times `fleetPage` alone, several runs after a warm-up; building the clusters (chart
 * renders included) is timed apart, since synth does it anyway. Nothing is committed; nothing here
 * is a test.
 */
import { App } from 'cdk8s';
import { buildConfigCluster } from '../lib/app/clusters';
import { parseClusterConfig } from '../lib/app/config/load';
import { fleetPage } from '../lib/app/fleet-page';
import { TalosCluster } from '../lib/constructs/talos-cluster';
import { fleetClusterConfig } from './fleet';

const COUNT = Number(process.argv[2] ?? 1000);
const RUNS = 5;

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

const app = new App({ outdir: 'unused' });
const buildStart = process.hrtime.bigint();
const clusters: TalosCluster[] = [];
const sourceFiles = new Map<string, string>();
for (let i = 0; i < COUNT; i++) {
  const file = `clusters/fleet-${i}.yaml`;
  const { cluster } = buildConfigCluster(app, parseClusterConfig(fleetClusterConfig(i), file), `fleet-${i}`);
  clusters.push(cluster);
  sourceFiles.set(cluster.clusterName, file);
}
const built = seconds(buildStart);

fleetPage(clusters, { sourceFiles });
const samples = Array.from({ length: RUNS }, () => {
  const start = process.hrtime.bigint();
  const page = fleetPage(clusters, { sourceFiles });
  return { s: seconds(start), bytes: Buffer.byteLength(page) };
}).sort((a, b) => a.s - b.s);
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
console.log(`${COUNT} clusters built in ${built.toFixed(1)} s`);
console.log(`fleetPage: median ${ms(samples[Math.floor(RUNS / 2)].s)}, min ${ms(samples[0].s)}, max ${ms(samples[RUNS - 1].s)}; ${samples[0].bytes} bytes`);
