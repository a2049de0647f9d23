/**
 * The pure part of `npm run bench`: statistics of the samples, the table, and the targets
 * checked against the figures of one run (ratios to the CLI floor of that run, so that the
 * machine's speed cancels out). bench/bench.ts does the measuring.
 */
import * as fs from 'fs';
import * as path from 'path';

/** One timed run. */
export interface Sample {
  /** Wall time. */
  readonly seconds: number;
  /** Max RSS of the largest process of the run (GNU time), when measured. */
  readonly maxRssMiB?: number;
}

/** Median, min, max wall time and the peak RSS of a row's samples. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rss?: number;
}

/** One line of the table. */
export interface Row {
  /** What was run. */
  readonly name: string;
  /** Its timings. */
  readonly stats: Stats;
  /** Bytes of all files the synth wrote to its dist/ (synth rows only). */
  readonly distBytes?: number;
}

/**
 * Median (the upper one of an even count), min, max of the wall times; the largest RSS.
 *
 * @throws Error when there are no samples
 */
export function stats(samples: readonly Sample[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = samples.map((x) => x.seconds).sort((a, b) => a - b);
  const rss = samples.map((x) => x.maxRssMiB).filter((x): x is number => x !== undefined);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], rss: rss.length ? Math.max(...rss) : undefined };
}

/** Bytes of every file below `dir` (what dist/ weighs on the wire, not its disk blocks); 0 when missing. */
export function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const p = path.join(dir, e.name);
    return sum + (e.isDirectory() ? dirBytes(p) : e.isFile() ? fs.statSync(p).size : 0);
  }, 0);
}

/** `12.3 MB`: decimal megabytes, as the issue counts dist/. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The markdown table, × floor against the median of `floor`. */
export function formatTable(rows: readonly Row[], floor: number): string {
  const f = (x: number) => x.toFixed(2);
  return [
    '| what | median s | min s | max s | × floor | peak RSS MiB | dist/ |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ name, stats: s, distBytes }) => `| ${name} | ${f(s.median)} | ${f(s.min)} | ${f(s.max)} | ${(s.median / floor).toFixed(2)} `
      + `| ${s.rss?.toFixed(0) ?? 'n/a'} | ${distBytes === undefined ? '' : megabytes(distBytes)} |`),
  ].join('\n');
}

/** The targets (issue 18, "Fleet ×10"): limits in floors, MiB and bytes. */
export const TARGETS = {
  /** cdk8s synth of 1000 clusters × 3 pools, in CLI floors. */
  synthFloors: 5,
  /** Its peak RSS. */
  synthMiB: 400,
  /** Its dist/: manifests, runbooks, diagrams, fleet page. */
  distBytes: 25e6,
  /** The plan case: at most the 1000-cluster synth plus this many floors. */
  planExtraFloors: 2,
  /** The plan case's peak RSS. */
  planMiB: 600,
  /** The default clusters' synth, in CLI floors. */
  defaultFloors: 1.3,
} as const;

/** The figures the targets are checked against (medians in seconds); a missing one skips its checks. */
export interface Figures {
  readonly floor: number;
  readonly defaults: Stats;
  readonly fleet1000?: Row;
  readonly plan?: Stats;
}

/** One line per target: `PASS`/`FAIL`/`SKIP`, what was measured against the limit. */
export function targetChecks(f: Figures): string[] {
  const line = (ok: boolean | undefined, what: string, detail: string) => `${ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL'}  ${what}: ${detail}`;
  const x = (s: number) => `${(s / f.floor).toFixed(2)}× floor (${s.toFixed(2)} s, floor ${f.floor.toFixed(2)} s)`;
  const mib = (v: number | undefined) => (v === undefined ? 'not measured' : `${v.toFixed(0)} MiB`);
  const synth = f.fleet1000?.stats;
  const planLimit = synth && synth.median + TARGETS.planExtraFloors * f.floor;
  const skipped = 'not measured (BENCH_SKIP_1000)';
  return [
    line(synth && synth.median <= TARGETS.synthFloors * f.floor, `synth 1000 clusters ≤ ${TARGETS.synthFloors}× floor`, synth ? x(synth.median) : skipped),
    line(synth?.rss === undefined ? undefined : synth.rss <= TARGETS.synthMiB, `synth 1000 clusters ≤ ${TARGETS.synthMiB} MiB`, synth ? mib(synth.rss) : skipped),
    line(f.fleet1000?.distBytes === undefined ? undefined : f.fleet1000.distBytes <= TARGETS.distBytes, `dist/ of 1000 clusters ≤ ${megabytes(TARGETS.distBytes)}`,
      f.fleet1000?.distBytes === undefined ? skipped : `${megabytes(f.fleet1000.distBytes)} (${f.fleet1000.distBytes} bytes)`),
    line(f.plan && planLimit !== undefined ? f.plan.median <= planLimit : undefined, `plan (1 pool in 100 of 1000 clusters) ≤ synth 1000 + ${TARGETS.planExtraFloors}× floor`,
      f.plan && planLimit !== undefined ? `${f.plan.median.toFixed(2)} s against ${planLimit.toFixed(2)} s (${x(f.plan.median)})` : skipped),
    line(f.plan?.rss === undefined ? undefined : f.plan.rss <= TARGETS.planMiB, `plan ≤ ${TARGETS.planMiB} MiB`, f.plan ? mib(f.plan.rss) : skipped),
    line(f.defaults.median <= TARGETS.defaultFloors * f.floor, `default clusters ≤ ${TARGETS.defaultFloors}× floor`, x(f.defaults.median)),
  ];
}
