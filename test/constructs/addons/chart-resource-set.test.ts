import { Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { AddonRenders, ChartResourceSet, chunkDocuments, ResourceSetStrategy, TalosCluster, TalosClusterProps } from '../../../lib';
import { CILIUM_CHART, TALOS_CCM_CHART } from '../../../lib/core/stack';
import { OutputGate } from '../../../lib/gate/gate';
import { addon, homelabObjects, homelabProps, newChart, Obj, one, synth } from '../../util';

describe('CiliumCRS', () => {
  const objects = homelabObjects();
  const cm = addon(objects, 'ConfigMap', 'cilium');
  const crs = addon(objects, 'ClusterResourceSet', 'cilium');
  const manifests = YAML.parseAllDocuments(cm.data['cilium.yaml']).map((d) => d.toJS());

  test('snapshot of the resource set and its ConfigMap\'s envelope (the render itself is the pinned chart\'s)', () => {
    expect([crs, { ...cm, data: Object.keys(cm.data) }]).toMatchSnapshot();
  });

  test('ClusterResourceSet: Reconcile, named after its render, selects the Clusters labelled with that render, lists the ConfigMap', () => {
    const hash = crs.metadata.name.slice('cilium-'.length);
    expect(crs.apiVersion).toBe('addons.cluster.x-k8s.io/v1beta2');
    expect(crs.spec.strategy).toBe('Reconcile');
    expect(crs.spec.clusterSelector).toEqual({ matchLabels: { 'addons.cdk8s-talos-proxmox.dev/cilium': hash } });
    expect(one(objects, 'Cluster').metadata.labels).toMatchObject(crs.spec.clusterSelector.matchLabels);
    expect(crs.spec.resources).toEqual([{ kind: 'ConfigMap', name: crs.metadata.name }]);
    expect(cm.metadata.name).toBe(crs.metadata.name);
    expect(cm.metadata.namespace).toBe(crs.metadata.namespace);
  });

  test('ConfigMap holds the Cilium 1.20.0 render in kube-system', () => {
    const ds = manifests.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'cilium');
    expect(ds.metadata.namespace).toBe('kube-system');
    expect(ds.spec.template.spec.containers[0].image).toContain('quay.io/cilium/cilium:v1.20.0');
    expect(cm.metadata.annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' });
  });

  test('rendered with the Talos values (STACK.md §4.1)', () => {
    const config = manifests.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cilium-config').data;
    expect(config['ipam']).toBe('kubernetes');
    expect(config['kube-proxy-replacement']).toBe('true');
    const ds = manifests.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'cilium');
    const agent = ds.spec.template.spec.containers.find((c: any) => c.name === 'cilium-agent');
    expect(agent.env).toEqual(expect.arrayContaining([
      { name: 'KUBERNETES_SERVICE_HOST', value: 'localhost' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '7445' },
    ]));
    expect(agent.securityContext.capabilities.add).not.toContain('SYS_MODULE');
    const clean = ds.spec.template.spec.initContainers.find((c: any) => c.name === 'clean-cilium-state');
    expect(clean.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE']);
    expect(ds.spec.template.spec.initContainers.map((c: any) => c.name)).not.toContain('mount-cgroup');
  });

  test('Hubble certificates come from an in-cluster CronJob: no Secret, no key material in the render', () => {
    expect(manifests.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(cm.data['cilium.yaml']).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE/);
    expect(manifests.find((o) => o.kind === 'CronJob')?.metadata.name).toBe('hubble-generate-certs');
    expect(manifests.some((o) => o.kind === 'Deployment' && o.metadata.name === 'hubble-relay')).toBe(true);
  });

  describe('the Hubble certificate Job: created once per Job spec by an ApplyOnce resource set', () => {
    const jobsCrs = addon(objects, 'ClusterResourceSet', 'cilium-jobs');
    const jobsCm = one(objects, 'ConfigMap', jobsCrs.spec.resources[0].name);
    const jobDocs = YAML.parseAllDocuments(jobsCm.data['cilium-jobs.yaml']).map((d) => d.toJS());
    const jobsOf = (o: Obj[]) => addon(o, 'ClusterResourceSet', 'cilium-jobs');

    test('snapshot of the jobs resource set and its ConfigMap\'s envelope', () => {
      expect([jobsCrs, { ...jobsCm, data: Object.keys(jobsCm.data) }]).toMatchSnapshot();
    });

    test('ApplyOnce, same cluster selector, one ConfigMap named after its content holding only the Job', () => {
      const hash = jobsCrs.metadata.name.slice('cilium-jobs-'.length);
      expect(jobsCrs.spec).toEqual({
        clusterSelector: { matchLabels: { 'addons.cdk8s-talos-proxmox.dev/cilium-jobs': hash } },
        resources: [{ kind: 'ConfigMap', name: jobsCrs.metadata.name }],
        strategy: 'ApplyOnce',
      });
      expect(one(objects, 'Cluster').metadata.labels?.['addons.cdk8s-talos-proxmox.dev/cilium-jobs']).toBe(hash);
      expect(jobsCm.metadata.namespace).toBe(crs.metadata.namespace);
      expect(jobsCm.metadata.annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' });
      expect(jobDocs.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([expect.stringMatching(/^Job kube-system\/hubble-generate-certs-[0-9a-f]{10}$/)]);
      expect(jobDocs[0].spec.template.spec.serviceAccountName).toBe('hubble-generate-certs');
    });

    test('the Reconcile payload keeps what the Job needs and the renewing CronJob, not the Job', () => {
      const names = manifests.map((o) => `${o.kind} ${o.metadata.name}`);
      expect(names).toEqual(expect.arrayContaining([
        'ServiceAccount hubble-generate-certs', 'Role hubble-generate-certs', 'RoleBinding hubble-generate-certs', 'CronJob hubble-generate-certs',
      ]));
      expect(manifests.filter((o) => o.kind === 'Job')).toEqual([]);
    });

    test('a value change that leaves the Job alone keeps its ConfigMap (nothing is applied again)', () => {
      const changed = homelabObjects({ cilium: { values: { operator: { replicas: 1 } } } });
      expect(addon(changed, 'ConfigMap', 'cilium').data).not.toEqual(cm.data);
      expect(jobsOf(changed).spec.resources).toEqual(jobsCrs.spec.resources);
    });

    test('a new Job spec makes a new ConfigMap and a new Job name, so it is created as a new object', () => {
      const changed = homelabObjects({ cilium: { values: { hubble: { tls: { auto: { certValidityDuration: 730 } } } } } });
      const name = jobsOf(changed).spec.resources[0].name;
      expect(name).not.toBe(jobsCm.metadata.name);
      const [job] = YAML.parseAllDocuments(one(changed, 'ConfigMap', name).data['cilium-jobs.yaml']).map((d) => d.toJS());
      expect(job.metadata.name).not.toBe(jobDocs[0].metadata.name);
      expect(job.spec.template.spec.containers[0].env[0].value).toContain('validity: 17520h');
    });

    test('no Jobs, no jobs resource set: Hubble off, the CCM, or a chart applied with ApplyOnce anyway', () => {
      expect(homelabObjects({ cilium: { hubble: false } }).filter((o) => o.metadata.name.startsWith('cilium-jobs-'))).toEqual([]);
      expect(objects.filter((o) => o.metadata.name.startsWith('talos-ccm-jobs-'))).toEqual([]);
      const applyOnce = homelabObjects({ cilium: { strategy: ResourceSetStrategy.APPLY_ONCE } });
      expect(applyOnce.filter((o) => o.metadata.name.startsWith('cilium-jobs-'))).toEqual([]);
      expect(addon(applyOnce, 'ConfigMap', 'cilium').data['cilium.yaml']).toMatch(/kind: Job\n/);
    });

    test('the cluster with both resource sets passes the output gate', () => {
      expect(new OutputGate().violations(objects)).toEqual([]);
    });
  });

  test('hubble can be turned off', () => {
    const chart = newChart();
    new TalosCluster(chart, 'C', homelabProps({ cilium: { hubble: false } }));
    const text = addon(synth(chart), 'ConfigMap', 'cilium').data['cilium.yaml'];
    expect(text).not.toContain('hubble-relay');
  });

  test('Talos CCM is delivered the same way', () => {
    const ccm = addon(objects, 'ClusterResourceSet', 'talos-ccm');
    expect(ccm.spec).toEqual({
      clusterSelector: { matchLabels: { 'addons.cdk8s-talos-proxmox.dev/talos-ccm': ccm.metadata.name.slice('talos-ccm-'.length) } },
      resources: [{ kind: 'ConfigMap', name: ccm.metadata.name }],
      strategy: 'Reconcile',
    });
    const docs = YAML.parseAllDocuments(addon(objects, 'ConfigMap', 'talos-ccm').data['talos-ccm.yaml']).map((d) => d.toJS());
    const deploy = docs.find((o) => o.kind === 'Deployment');
    expect(deploy.spec.template.spec.containers[0].image).toBe('ghcr.io/siderolabs/talos-cloud-controller-manager:v1.12.0');
    expect(docs.find((o) => o.kind === 'ServiceAccount' && o.apiVersion === 'talos.dev/v1alpha1')?.spec.roles).toEqual(['os:reader']);
  });
});

describe('ChartResourceSet', () => {
  test('strategy is configurable', () => {
    const chart = newChart();
    const cluster = new TalosCluster(chart, 'C', homelabProps());
    new ChartResourceSet(chart, 'X', { cluster, addonName: 'extra', chart: TALOS_CCM_CHART, strategy: ResourceSetStrategy.APPLY_ONCE });
    expect(addon(synth(chart), 'ClusterResourceSet', 'extra').spec.strategy).toBe('ApplyOnce');
  });

  test('fails when a chart renders a Secret: dist/ is committed to git', () => {
    const cluster = new TalosCluster(newChart(), 'C', homelabProps());
    // Cilium's chart defaults generate the Hubble CA with helm, into a Secret
    expect(() => new ChartResourceSet(cluster, 'X', { cluster, addonName: 'raw-cilium', chart: CILIUM_CHART }))
      .toThrow('chart cilium renders Secret cilium-ca with data; nothing secret may be synthesized into dist/');
  });

  test('splits large renders over several ConfigMaps, keeping document order', () => {
    const docs = ['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60)];
    expect(chunkDocuments(docs, 130)).toEqual([[docs[0], docs[1]], [docs[2]]]);
    expect(chunkDocuments(docs, 1000)).toEqual([docs]);
    expect(() => chunkDocuments(['x'.repeat(200)], 100)).toThrow('a single rendered manifest is 204 bytes, more than a ConfigMap can carry (100)');
  });
});

describe('add-on renders are stored once per namespace (AddonRenders)', () => {
  /** Clusters of one app, each in its own chart as synth builds them; the renders chart's objects last. */
  const fleet = (...clusters: Partial<TalosClusterProps>[]) => {
    const app = Testing.app();
    const charts = clusters.map((c, i) => {
      const chart = new Chart(app, `c${i}`, { disableResourceNameHashes: true });
      new TalosCluster(chart, 'Cluster', homelabProps({ ...c, name: c.name ?? `lab${i}`, ...net(i) }));
      return chart;
    });
    return { clusters: charts.map((c) => Testing.synth(c) as Obj[]), renders: Testing.synth(AddonRenders.of(app)) as Obj[] };
  };
  const net = (i: number): Partial<TalosClusterProps> => ({ network: {
    ...homelabProps().network, endpoint: `192.168.${i}.30`, addresses: [`192.168.${i}.20-192.168.${i}.29`], gateway: `192.168.${i}.254`,
  } });
  const names = (objs: Obj[]) => objs.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);

  test('two clusters with the same values share one render: one ConfigMap and resource set per add-on, both Clusters labelled alike', () => {
    const { clusters, renders } = fleet({}, {});
    expect(names(renders)).toEqual([
      expect.stringMatching(/^ConfigMap default\/talos-ccm-[0-9a-f]{10}$/), expect.stringMatching(/^ClusterResourceSet default\/talos-ccm-/),
      expect.stringMatching(/^ConfigMap default\/cilium-[0-9a-f]{10}$/), expect.stringMatching(/^ClusterResourceSet default\/cilium-/),
      expect.stringMatching(/^ConfigMap default\/cilium-jobs-/), expect.stringMatching(/^ClusterResourceSet default\/cilium-jobs-/),
    ]);
    const labels = clusters.map((c) => one(c, 'Cluster').metadata.labels);
    expect(labels[0]).toEqual({ ...labels[1], 'cluster.x-k8s.io/cluster-name': 'lab0' });
    // No ConfigMap or resource set is a cluster's own any more.
    expect(clusters.flat().filter((o) => ['ConfigMap', 'ClusterResourceSet'].includes(o.kind))).toEqual([]);
  });

  test('one cluster\'s Cilium values change: its label and a new render; the other cluster\'s objects and the old render stay byte-identical', () => {
    const before = fleet({}, {});
    const after = fleet({}, { cilium: { values: { operator: { replicas: 1 } } } });
    expect(JSON.stringify(after.clusters[0])).toBe(JSON.stringify(before.clusters[0]));
    for (const o of before.renders) expect(after.renders).toContainEqual(o);
    const added = after.renders.filter((o) => !before.renders.some((b) => JSON.stringify(b) === JSON.stringify(o)));
    expect(names(added)).toEqual([expect.stringMatching(/^ConfigMap default\/cilium-/), expect.stringMatching(/^ClusterResourceSet default\/cilium-/)]);
    const label = 'addons.cdk8s-talos-proxmox.dev/cilium';
    expect(one(after.clusters[1], 'Cluster').metadata.labels?.[label]).toBe(added[1].metadata.name.slice('cilium-'.length));
    expect(one(after.clusters[0], 'Cluster').metadata.labels?.[label]).not.toBe(one(after.clusters[1], 'Cluster').metadata.labels?.[label]);
  });

  test('a render no cluster uses any more disappears; another namespace gets its own copy', () => {
    const changedBoth = fleet({ cilium: { values: { operator: { replicas: 1 } } } }, { cilium: { values: { operator: { replicas: 1 } } } });
    const base = fleet({}, {});
    const ciliumOf = (r: Obj[]) => r.filter((o) => o.kind === 'ClusterResourceSet' && /^cilium-[0-9a-f]{10}$/.test(o.metadata.name)).map((o) => o.metadata.name);
    expect(ciliumOf(changedBoth.renders)).toHaveLength(1);
    expect(ciliumOf(changedBoth.renders)).not.toEqual(ciliumOf(base.renders));
    const twoNamespaces = fleet({}, { namespace: 'other' });
    expect(twoNamespaces.renders.filter((o) => o.kind === 'ClusterResourceSet').map((o) => o.metadata.namespace))
      .toEqual(['default', 'default', 'default', 'other', 'other', 'other']);
  });
});
