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
  /**
   * Median of the floor runs taken right before each of this row's runs: on a shared machine the
   * load drifts over a long bench, and a ratio to a floor taken minutes earlier measures the drift.
   */
  readonly floor?: number;
  /** Bytes of all files the synth wrote to its dist/ (synth rows only). */
  readonly distBytes?: number;
}

/** The row's median in floors: against its paired floor when it has one, else the run's floor row. */
export function floors(row: Row, floor: number): number {
  return row.stats.median / (row.floor ?? floor);
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

/** The markdown table; × floor against each row's paired floor, or the median of `floor`. */
export function formatTable(rows: readonly Row[], floor: number): string {
  const f = (x: number) => x.toFixed(2);
  return [
    '| what | median s | min s | max s | floor s (paired) | × floor | peak RSS MiB | dist/ |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row) => `| ${row.name} | ${f(row.stats.median)} | ${f(row.stats.min)} | ${f(row.stats.max)} | ${f(row.floor ?? floor)} `
      + `| ${floors(row, floor).toFixed(2)} | ${row.stats.rss?.toFixed(0) ?? 'n/a'} | ${row.distBytes === undefined ? '' : megabytes(row.distBytes)} |`),
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

/** The rows the targets are checked against; a missing one skips its checks. */
export interface Figures {
  /** The floor row's median, for rows without a paired floor. */
  readonly floor: number;
  readonly defaults: Row;
  readonly fleet1000?: Row;
  readonly plan?: Row;
}

/** One line per target: `PASS`/`FAIL`/`SKIP`, what was measured against the limit. */
export function targetChecks(f: Figures): string[] {
  const line = (ok: boolean | undefined, what: string, detail: string) => `${ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL'}  ${what}: ${detail}`;
  const x = (row: Row) => `${floors(row, f.floor).toFixed(2)}× floor (${row.stats.median.toFixed(2)} s, floor ${(row.floor ?? f.floor).toFixed(2)} s)`;
  const mib = (v: number | undefined) => (v === undefined ? 'not measured' : `${v.toFixed(0)} MiB`);
  const synth = f.fleet1000;
  // In floors, each against its own paired floor: the two rows may run at different loads.
  const planLimit = synth && floors(synth, f.floor) + TARGETS.planExtraFloors;
  const skipped = 'not measured (BENCH_SKIP_1000)';
  return [
    line(synth && floors(synth, f.floor) <= TARGETS.synthFloors, `synth 1000 clusters ≤ ${TARGETS.synthFloors}× floor`, synth ? x(synth) : skipped),
    line(synth?.stats.rss === undefined ? undefined : synth.stats.rss <= TARGETS.synthMiB, `synth 1000 clusters ≤ ${TARGETS.synthMiB} MiB`,
      synth ? mib(synth.stats.rss) : skipped),
    line(synth?.distBytes === undefined ? undefined : synth.distBytes <= TARGETS.distBytes, `dist/ of 1000 clusters ≤ ${megabytes(TARGETS.distBytes)}`,
      synth?.distBytes === undefined ? skipped : `${megabytes(synth.distBytes)} (${synth.distBytes} bytes)`),
    line(f.plan && planLimit !== undefined ? floors(f.plan, f.floor) <= planLimit : undefined,
      `plan (1 pool in 100 of 1000 clusters) ≤ synth 1000 + ${TARGETS.planExtraFloors}× floor`,
      f.plan && planLimit !== undefined ? `${x(f.plan)} against ${planLimit.toFixed(2)}× floor` : skipped),
    line(f.plan?.stats.rss === undefined ? undefined : f.plan.stats.rss <= TARGETS.planMiB, `plan ≤ ${TARGETS.planMiB} MiB`, f.plan ? mib(f.plan.stats.rss) : skipped),
    line(floors(f.defaults, f.floor) <= TARGETS.defaultFloors, `default clusters ≤ ${TARGETS.defaultFloors}× floor`, x(f.defaults)),
  ];
}
