import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chartSearchDirs, renderChart, resolveChart } from '../../lib/core/helm';
import { CILIUM_CHART, TALOS_CCM_CHART } from '../../lib/core/stack';

// The local chart directory as synth finds it: $CHARTS_DIR, else charts/ or ../shared/charts.
const SHARED_CHARTS = chartSearchDirs().find((d) => fs.existsSync(path.join(d, `${CILIUM_CHART.name}-${CILIUM_CHART.version}.tgz`)))
  ?? 'no local chart directory (set CHARTS_DIR)';

describe('helm', () => {
  const saved = { ...process.env };
  let cache: string;
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-test-'));
    process.env.CDK8S_TALOS_CACHE_DIR = cache;
    process.env.CHARTS_DIR = SHARED_CHARTS;
  });
  afterEach(() => {
    process.env = { ...saved };
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test('resolves pinned charts from the local chart directory and checks their digest', () => {
    expect(resolveChart(CILIUM_CHART)).toBe(path.join(SHARED_CHARTS, 'cilium-1.20.0.tgz'));
    expect(resolveChart(TALOS_CCM_CHART)).toBe(path.join(SHARED_CHARTS, 'talos-cloud-controller-manager-0.5.4.tgz'));
  });

  test('fails when a chart archive does not match the pinned sha256', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charts-'));
    fs.writeFileSync(path.join(dir, 'cilium-1.20.0.tgz'), 'not the chart');
    process.env.CHARTS_DIR = dir;
    expect(() => resolveChart(CILIUM_CHART)).toThrow(
      `chart ${path.join(dir, 'cilium-1.20.0.tgz')} has sha256 744c689e34a9a19f32c18078cc5ef2aa36735fa022c0fcc4e45663847629c4da, expected c5f013912360d1a334f44ef25f36da59ba3414cdb48f466ee12d0c4fdff27883`,
    );
    fs.rmSync(dir, { recursive: true });
  });

  test('renders with the given kube version and values', () => {
    const { objects: objs, documents } = renderChart({ chart: TALOS_CCM_CHART, releaseName: 'talos-cloud-controller-manager', namespace: 'kube-system', values: { replicaCount: 2 }, kubeVersion: 'v1.35.4' });
    expect(documents).toHaveLength(objs.length);
    expect(documents[objs.indexOf(objs.find((o) => o.kind === 'Deployment')!)]).toContain('kind: Deployment');
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    expect(deploy.metadata).toMatchObject({ name: 'talos-cloud-controller-manager', namespace: 'kube-system' });
    expect((deploy.spec as any).replicas).toBe(2);
  });

  test('renders are cached: the same render never runs helm again, and the cache is safe to delete', () => {
    const opts = { chart: TALOS_CCM_CHART, releaseName: 'r', namespace: 'kube-system', values: {}, kubeVersion: 'v1.35.4' };
    const first = renderChart(opts);
    expect(fs.readdirSync(path.join(cache, 'helm'))).toHaveLength(1);

    process.env.HELM_BIN = path.join(cache, 'no-such-helm');
    expect(renderChart(opts)).toEqual(first);
    // a different kube version is a different render: helm must run, and is missing
    expect(() => renderChart({ ...opts, kubeVersion: 'v1.34.0' })).toThrow(/helm not found/);

    fs.rmSync(path.join(cache, 'helm'), { recursive: true });
    delete process.env.HELM_BIN;
    expect(renderChart(opts)).toEqual(first);
  });

  test('render is deterministic across cache directories', () => {
    const opts = { chart: CILIUM_CHART, releaseName: 'cilium', namespace: 'kube-system', values: { hubble: { tls: { auto: { method: 'cronJob' } } } }, kubeVersion: 'v1.35.4' };
    const a = renderChart(opts);
    process.env.CDK8S_TALOS_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-test-b-'));
    const b = renderChart(opts);
    fs.rmSync(process.env.CDK8S_TALOS_CACHE_DIR, { recursive: true, force: true });
    expect(b).toEqual(a);
  });
});
