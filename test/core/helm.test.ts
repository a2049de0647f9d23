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

describe('helm render cache and helm output', () => {
  const saved = { ...process.env };
  let cache: string;
  let stderr: jest.SpyInstance;
  const notices = () => stderr.mock.calls.map((c) => String(c[0]));
  const opts = { chart: TALOS_CCM_CHART, releaseName: 'r', namespace: 'kube-system', values: { replicaCount: 2 }, kubeVersion: 'v1.35.4' };
  const helmDir = () => path.join(cache, 'helm');
  const cachedFiles = () => (fs.existsSync(helmDir()) ? fs.readdirSync(helmDir()) : []);
  /** renderChart of a fresh module, as a new synth run sees it (no renders kept in memory). */
  const freshRender = (o: typeof opts = opts) => {
    let render: typeof import('../../lib/core/helm');
    jest.isolateModules(() => { render = jest.requireActual('../../lib/core/helm'); });
    return render!.renderChart(o);
  };
  /** A helm that runs `script` (POSIX shell). */
  const fakeHelm = (script: string) => {
    const bin = path.join(cache, 'fake-helm');
    fs.writeFileSync(bin, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    process.env.HELM_BIN = bin;
  };
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-cache-test-'));
    process.env.CDK8S_TALOS_CACHE_DIR = cache;
    process.env.CHARTS_DIR = SHARED_CHARTS;
    delete process.env.HELM_BIN;
    delete process.env.CDK8S_TALOS_HELM_TIMEOUT_SECONDS;
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stderr.mockRestore();
    process.env = { ...saved };
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test.each([
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['replaced with garbage', () => '\u0000 not a render at all {{{'],
    // still valid JSON with the same shape: only the digest tells
    ['edited', (text: string) => text.replace('"replicas":2', '"replicas":7')],
  ])('a cached render %s is rendered again with one notice, never published; the next run is clean', (_name, corrupt) => {
    const good = freshRender();
    const deployment = (r: typeof good) => ({ spec: r.objects.find((o) => o.kind === 'Deployment')!.spec as { replicas: number } });
    expect(deployment(good).spec.replicas).toBe(2);
    const [file] = cachedFiles();
    const entry = path.join(helmDir(), file);
    const text = fs.readFileSync(entry, 'utf8');
    const edited = corrupt(text);
    expect(edited).not.toBe(text);
    fs.writeFileSync(entry, edited);

    const again = freshRender();
    expect(again).toEqual(good);
    expect(deployment(again).spec.replicas).toBe(2);
    expect(notices()).toEqual([expect.stringMatching(new RegExp(`^cdk8s-talos-proxmox: rebuilt corrupt cache entry \\S*${file} \\((digest mismatch|no digest header)\\)\\n$`))]);
    expect(fs.readFileSync(entry, 'utf8')).toBe(text);

    stderr.mockClear();
    // helm is not needed for an intact entry
    process.env.HELM_BIN = path.join(cache, 'no-such-helm');
    expect(freshRender()).toEqual(good);
    expect(notices()).toEqual([]);
  });

  test('a helm that never returns is stopped after the timeout: one-line error naming helm, the timeout and the setting', () => {
    // without a timeout, this sleep outlasts the test's own limit check below
    fakeHelm('exec sleep 30');
    process.env.CDK8S_TALOS_HELM_TIMEOUT_SECONDS = '2';
    const start = Date.now();
    let error: Error | undefined;
    try {
      freshRender();
    } catch (e) {
      error = e as Error;
    }
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(error?.name).toBe('UserError');
    expect(error?.message).toBe(`helm template (${process.env.HELM_BIN}) did not finish within 2 s and was stopped; check that \`${process.env.HELM_BIN} version\` returns, or set CDK8S_TALOS_HELM_TIMEOUT_SECONDS to allow longer`);
    expect(cachedFiles()).toEqual([]);
  });

  test('the timeout setting must be a positive number', () => {
    process.env.CDK8S_TALOS_HELM_TIMEOUT_SECONDS = 'soon';
    expect(() => freshRender()).toThrow('CDK8S_TALOS_HELM_TIMEOUT_SECONDS is "soon", expected a positive number of seconds');
  });

  test.each([
    // not YAML at all: an excerpt at most, never the whole output
    ['garbage', `printf 'key: [unclosed\\n'; head -c 20000 /dev/zero | tr '\\\\0' x`,
      /^helm template of chart talos-cloud-controller-manager 0\.5\.4 is not valid YAML \(document 1\): .{1,200}$/],
    ['a YAML scalar', 'echo "this is not a manifest"',
      /^helm template of chart talos-cloud-controller-manager 0\.5\.4 is not a list of Kubernetes objects: document 1 is a string \("this is not a manifest"\)$/],
    ['a list', 'printf -- "- a\\n- b\\n"',
      /^helm template of chart talos-cloud-controller-manager 0\.5\.4 is not a list of Kubernetes objects: document 1 is a list \(\["a","b"\]\)$/],
    ['an object without metadata.name', 'printf "apiVersion: v1\\nkind: ConfigMap\\n---\\napiVersion: v1\\nkind: Secret\\nmetadata: {}\\n"',
      /^helm template of chart talos-cloud-controller-manager 0\.5\.4 is not a list of Kubernetes objects: document 1 has no metadata\.name \(\{"apiVersion":"v1","kind":"ConfigMap"\}\)$/],
  ])('a helm that prints %s: a UserError naming the chart, and nothing is cached', (_name, script, message) => {
    fakeHelm(`cat > /dev/null; ${script}`);
    let error: Error | undefined;
    try {
      freshRender();
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe('UserError');
    expect(error?.message).toMatch(message);
    expect(error!.message.length).toBeLessThan(400);
    expect(cachedFiles()).toEqual([]);
    expect(notices()).toEqual([]);
  });

  test('a fake helm that prints valid objects is not consulted again once the real render is cached', () => {
    const good = freshRender();
    fakeHelm('cat > /dev/null; printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: fake\\n"');
    expect(freshRender()).toEqual(good);
  });
});
