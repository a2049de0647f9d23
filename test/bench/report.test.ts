import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { CHANGED_POOL_MEMORY_MIB, fleetClusterConfig } from '../../bench/fleet';
import { dirBytes, formatTable, Stats, stats, targetChecks, TARGETS } from '../../bench/report';

describe('bench report', () => {
  test('stats: median, min, max and the largest RSS of any sample', () => {
    expect(stats([{ seconds: 3, maxRssMiB: 100 }, { seconds: 1 }, { seconds: 2, maxRssMiB: 300 }])).toEqual({ median: 2, min: 1, max: 3, rss: 300 });
    expect(stats([{ seconds: 1 }]).rss).toBeUndefined();
    expect(() => stats([])).toThrow('no samples');
  });

  test('dirBytes counts the bytes of every file below a directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    try {
      fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'x'), '12345');
      fs.writeFileSync(path.join(dir, 'a', 'b', 'y'), 'abc');
      expect(dirBytes(dir)).toBe(8);
      expect(dirBytes(path.join(dir, 'missing'))).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('formatTable gives × floor against the paired floor, else the floor median, and dist/ in MB for synth rows', () => {
    const table = formatTable([
      { name: 'floor', stats: { median: 2, min: 1, max: 3, rss: 150 } },
      { name: 'fleet', stats: { median: 5, min: 4, max: 6 }, distBytes: 12_345_678 },
      { name: 'paired', stats: { median: 8, min: 8, max: 8 }, floor: 4 },
    ], 2);
    expect(table.split('\n')).toEqual([
      '| what | median s | min s | max s | floor s (paired) | × floor | peak RSS MiB | dist/ |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      '| floor | 2.00 | 1.00 | 3.00 | 2.00 | 1.00 | 150 |  |',
      '| fleet | 5.00 | 4.00 | 6.00 | 2.00 | 2.50 | n/a | 12.3 MB |',
      '| paired | 8.00 | 8.00 | 8.00 | 4.00 | 2.00 | n/a |  |',
    ]);
  });

  test('targetChecks: PASS at the limits, FAIL above, SKIP without the 1000-cluster rows', () => {
    const floor = 2;
    const at = {
      floor,
      defaults: { name: 'default', stats: { median: TARGETS.defaultFloors * floor, min: 0, max: 0 } },
      fleet1000: { name: '1000', stats: { median: TARGETS.synthFloors * floor, min: 0, max: 0, rss: TARGETS.synthMiB }, distBytes: TARGETS.distBytes },
      // At another load: its own paired floor of 3 s, 7 floors = the 5 of the synth + 2.
      plan: { name: 'plan', stats: { median: (TARGETS.synthFloors + TARGETS.planExtraFloors) * 3, min: 0, max: 0, rss: TARGETS.planMiB }, floor: 3 },
    };
    const pass = targetChecks(at);
    expect(pass).toHaveLength(6);
    expect(pass.every((l) => l.startsWith('PASS'))).toBe(true);

    const more = (row: { stats: Stats }, by: number) => ({ ...row.stats, median: row.stats.median + by });
    const over = targetChecks({
      floor,
      defaults: { ...at.defaults, stats: more(at.defaults, 0.01) },
      fleet1000: { ...at.fleet1000, stats: { ...more(at.fleet1000, 0.01), rss: 401 }, distBytes: 25e6 + 1 },
      plan: { ...at.plan, stats: { ...more(at.plan, 0.1), rss: 601 } },
    });
    expect(over.map((l) => l.slice(0, 4))).toEqual(['FAIL', 'FAIL', 'FAIL', 'FAIL', 'FAIL', 'FAIL']);
    expect(over[0]).toContain('5.00× floor (10.01 s, floor 2.00 s)');

    const quick = targetChecks({ floor, defaults: at.defaults });
    expect(quick.map((l) => l.slice(0, 4))).toEqual(['SKIP', 'SKIP', 'SKIP', 'SKIP', 'SKIP', 'PASS']);
  });

  test('the plan case changes only the general pool of a fleet cluster', () => {
    const before = YAML.parse(fleetClusterConfig(7));
    const after = YAML.parse(fleetClusterConfig(7, true));
    expect(after.workers[0]).toEqual({ ...before.workers[0], memoryMiB: CHANGED_POOL_MEMORY_MIB });
    expect({ ...after, workers: after.workers.slice(1) }).toEqual({ ...before, workers: before.workers.slice(1) });
    expect(before.workers[0].memoryMiB).not.toBe(CHANGED_POOL_MEMORY_MIB);
  });
});
