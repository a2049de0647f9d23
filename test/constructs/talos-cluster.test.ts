import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import {
  capi, capiAddons, capmox, Diagnostic, TalosCluster, TalosClusterProps, TemplateVm, UserError, ValidationError, WARNING_METADATA,
} from '../../lib';
import { KubeObject } from '../../lib/core/kube-object';
import { OutputGate } from '../../lib/gate/gate';
import {
  all, DEFAULT_POOL, DEFAULT_SCHEMATIC_ID, HOMELAB_TEMPLATE, homelabObjects, homelabProps, newChart, one, SHARED_STORAGE, synth, synthWith,
  templateVm,
} from '../util';

describe('TalosCluster', () => {
  const objects = homelabObjects();

  test('snapshot of the cluster\'s own objects (small: Cluster, ProxmoxCluster, control plane)', () => {
    const own = objects.filter((o) => ['Cluster', 'ProxmoxCluster', 'TalosControlPlane'].includes(o.kind));
    expect(own).toMatchSnapshot();
  });

  test('emits the pinned apiVersions', () => {
    expect(one(objects, 'Cluster').apiVersion).toBe('cluster.x-k8s.io/v1beta2');
    expect(one(objects, 'ProxmoxCluster').apiVersion).toBe('infrastructure.cluster.x-k8s.io/v1alpha2');
    expect(one(objects, 'TalosControlPlane').apiVersion).toBe('controlplane.cluster.x-k8s.io/v1alpha3');
    for (const t of all(objects, 'ProxmoxMachineTemplate')) expect(t.apiVersion).toBe('infrastructure.cluster.x-k8s.io/v1alpha2');
  });

  test('names derive from the cluster name, never from construct paths', () => {
    expect(one(objects, 'Cluster').metadata.name).toBe('homelab');
    expect(one(objects, 'ProxmoxCluster').metadata.name).toBe('homelab');
    expect(one(objects, 'TalosControlPlane').metadata.name).toBe('homelab-control-plane');
    const cpTemplate = all(objects, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-control-plane-'));
    expect(cpTemplate?.metadata.name).toMatch(/^homelab-control-plane-[0-9a-f]{8}$/);

    // the same cluster under a different construct id and scope synthesizes identical objects
    const chart = newChart();
    new TalosCluster(new Construct(chart, 'Nested'), 'SomethingElseEntirely', homelabProps({ workers: [DEFAULT_POOL] }));
    expect(synth(chart)).toEqual(objects);
    // a pool added later is the same pool (its objects come after Cilium's)
    const later = newChart();
    new TalosCluster(later, 'Cluster', homelabProps()).addWorkerPool('AnotherId', DEFAULT_POOL);
    const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;
    expect(synth(later).sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...objects].sort((a, b) => key(a).localeCompare(key(b))));
  });

  test('every object sits in the cluster namespace, written explicitly', () => {
    for (const o of objects) expect(o.metadata.namespace).toBe('default');
    const other = homelabObjects({ namespace: 'clusters' });
    for (const o of other) expect(o.metadata.namespace).toBe('clusters');
    expect(one(other, 'TalosControlPlane').spec.infrastructureTemplate.namespace).toBe('clusters');
  });

  test('Cluster references ProxmoxCluster and TalosControlPlane by apiGroup (v1beta2 refs)', () => {
    const spec = one(objects, 'Cluster').spec;
    expect(spec.infrastructureRef).toEqual({ apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'ProxmoxCluster', name: 'homelab' });
    expect(spec.controlPlaneRef).toEqual({ apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'TalosControlPlane', name: 'homelab-control-plane' });
    expect(spec.clusterNetwork).toEqual({ pods: { cidrBlocks: ['10.244.0.0/16'] }, services: { cidrBlocks: ['10.96.0.0/12'] }, serviceDomain: 'cluster.local' });
    expect(spec.controlPlaneEndpoint).toEqual({ host: '192.168.0.30', port: 6443 });
  });

  test('Cluster carries its name label and, per add-on, the render it uses (the label its shared resource set selects)', () => {
    const hash = expect.stringMatching(/^[0-9a-f]{10}$/);
    const labels = one(objects, 'Cluster').metadata.labels ?? {};
    expect(labels).toEqual({
      'cluster.x-k8s.io/cluster-name': 'homelab',
      'addons.cdk8s-talos-proxmox.dev/cilium': hash,
      'addons.cdk8s-talos-proxmox.dev/cilium-jobs': hash,
      'addons.cdk8s-talos-proxmox.dev/talos-ccm': hash,
    });
    for (const addon of ['cilium', 'cilium-jobs', 'talos-ccm']) {
      const value = labels[`addons.cdk8s-talos-proxmox.dev/${addon}`];
      expect(one(objects, 'ClusterResourceSet', `${addon}-${value}`).spec.clusterSelector).toEqual({ matchLabels: { [`addons.cdk8s-talos-proxmox.dev/${addon}`]: value } });
    }
  });

  test('ProxmoxCluster: VIP endpoint, static IPv4 pool, DNS, nodes, credentials reference only', () => {
    const spec = one(objects, 'ProxmoxCluster').spec;
    expect(spec.controlPlaneEndpoint).toEqual({ host: '192.168.0.30', port: 6443 });
    expect(spec.ipv4Config).toEqual({ addresses: ['192.168.0.20-192.168.0.29'], prefix: 24, gateway: '192.168.0.254', metric: 100 });
    expect(spec.dnsServers).toEqual(['8.8.8.8', '8.8.4.4']);
    expect(spec.allowedNodes).toEqual(['K8S0']);
    expect(spec.credentialsRef).toEqual({ name: 'homelab-proxmox', namespace: 'default' });
    expect(spec.externalManagedControlPlane).toBe(false);
  });

  test('without a credentials Secret, no credentialsRef (the provider\'s global credentials apply)', () => {
    const spec = one(homelabObjects({ proxmox: { ...homelabProps().proxmox, credentialsSecret: undefined } }), 'ProxmoxCluster').spec;
    expect(spec.credentialsRef).toBeUndefined();
  });

  test('TalosControlPlane: explicit replicas, rollout strategy, version and template namespace (no GitOps drift)', () => {
    const tcp = one(objects, 'TalosControlPlane');
    expect(tcp.spec.replicas).toBe(3);
    expect(tcp.spec.version).toBe('v1.35.4');
    expect(tcp.spec.rolloutStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } });
    const cpTemplate = all(objects, 'ProxmoxMachineTemplate').find((t) => t.metadata.name.startsWith('homelab-control-plane-'))!;
    expect(tcp.spec.infrastructureTemplate).toEqual({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha2', kind: 'ProxmoxMachineTemplate', name: cpTemplate.metadata.name, namespace: 'default',
    });
  });

  test('TalosControlPlane: talosVersion explicit, strategic patches only (no JSON6902 configPatches)', () => {
    const cfg = one(objects, 'TalosControlPlane').spec.controlPlaneConfig.controlplane;
    expect(cfg.generateType).toBe('controlplane');
    expect(cfg.talosVersion).toBe('v1.13.9');
    expect(cfg.configPatches).toBeUndefined();
    const docs = cfg.strategicPatches.map((p: string) => YAML.parse(p));
    expect(docs).toContainEqual({ apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: '192.168.0.30', link: 'eth0' });
    expect(docs[0].machine.install.image).toBe('factory.talos.dev/nocloud-installer/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.13.9');
    expect(docs[0].machine.features.kubernetesTalosAPIAccess.allowedRoles).toEqual(['os:reader']);
    expect(docs[0].cluster.externalCloudProvider.enabled).toBe(true);
  });

  test('Talos v1.12 works too: same shape, v1.12 installer', () => {
    const cfg = one(homelabObjects({ talos: { version: 'v1.12.11' } }), 'TalosControlPlane').spec.controlPlaneConfig.controlplane;
    expect(cfg.talosVersion).toBe('v1.12.11');
    expect(cfg.strategicPatches.join('\n')).toContain('kind: Layer2VIPConfig');
    expect(cfg.strategicPatches[0]).toContain(':v1.12.11');
  });

  test('an endpoint port other than 6443 moves the API server there (localAPIServerPort), and the output gate passes', () => {
    const out = homelabObjects({ network: { ...homelabProps().network, endpointPort: 8443 } });
    const cfg = one(out, 'TalosControlPlane').spec.controlPlaneConfig.controlplane;
    expect(YAML.parse(cfg.strategicPatches[0]).cluster.controlPlane).toEqual({ localAPIServerPort: 8443 });
    expect(one(out, 'Cluster').spec.controlPlaneEndpoint).toEqual({ host: '192.168.0.30', port: 8443 });
    expect(new OutputGate().violations(out as KubeObject[])).toEqual([]);
    const defaults = one(objects, 'TalosControlPlane').spec.controlPlaneConfig.controlplane;
    expect(YAML.parse(defaults.strategicPatches[0]).cluster.controlPlane).toBeUndefined();
  });

  test('the installer image follows the schematic', () => {
    const cfg = one(homelabObjects({ talos: { extensions: [] } }), 'TalosControlPlane').spec.controlPlaneConfig.controlplane;
    expect(cfg.strategicPatches[0]).toContain('nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.9');
  });

  test('control-plane MachineHealthCheck is opt-in and never short-circuits', () => {
    expect(all(objects, 'MachineHealthCheck').map((m) => m.metadata.name)).toEqual(['homelab-default']);
    const withCp = homelabObjects({ controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20, healthCheck: true } });
    const mhc = one(withCp, 'MachineHealthCheck', 'homelab-control-plane');
    expect(mhc.spec.selector.matchLabels).toEqual({ 'cluster.x-k8s.io/cluster-name': 'homelab', 'cluster.x-k8s.io/control-plane': '' });
    expect(mhc.spec.remediation.triggerIf.unhealthyLessThanOrEqualTo).toBe('100%');
  });

  test('the Talos CCM is always there: without it no Machine gets a nodeRef', () => {
    const chart = newChart();
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps());
    const out = synth(chart);
    const name = cluster.cloudControllerManager.name;
    expect(name).toMatch(/^talos-ccm-[0-9a-f]{10}$/);
    expect(one(out, 'ClusterResourceSet', name)).toBeDefined();
    expect(one(out, 'ConfigMap', name).data['talos-ccm.yaml']).toContain('kind: Deployment');
  });

  test('Talos patches from TypeScript: objects and YAML text, after the project\'s; owned fields refused with the prop path', () => {
    const time = { apiVersion: 'v1alpha1', kind: 'TimeSyncConfig', ntp: { servers: ['time.cloudflare.com'] } };
    const out = homelabObjects({
      talos: { patches: [time] },
      controlPlane: { ...homelabProps().controlPlane, patches: [{ yaml: 'cluster:\n  apiServer:\n    extraArgs: { audit-log-maxage: "30" }\n' }] },
    });
    const cp = one(out, 'TalosControlPlane').spec.controlPlaneConfig.controlplane.strategicPatches.map((p: string) => YAML.parse(p));
    expect(cp.slice(2)).toEqual([time, { cluster: { apiServer: { extraArgs: { 'audit-log-maxage': '30' } } } }]);
    const pool = one(out, 'TalosConfigTemplate').spec.template.spec.strategicPatches.map((p: string) => YAML.parse(p));
    expect(pool.slice(1)).toEqual([time]);
    expect(() => homelabObjects({ talos: { patches: [{ cluster: { proxy: { disabled: false } } }] } }))
      .toThrow('talos.patches[0].cluster.proxy is owned by the project: a patch may not set it; use cilium (Cilium replaces kube-proxy)');
  });

  describe('fails', () => {
    const network = (n: object) => ({ network: { ...homelabProps().network, ...n } });
    const build = (overrides: object) => () => new TalosCluster(newChart(), 'C', homelabProps(overrides));

    test('fails when the VIP lies inside the node address range, with the prop path and no stack of values', () => {
      expect(build(network({ endpoint: '192.168.0.25' }))).toThrow(new UserError('network.endpoint 192.168.0.25 lies inside network.addresses 192.168.0.20-192.168.0.29; the VIP must be outside the node range (CAPMOX rejects it)'));
    });

    test('fails when the VIP lies outside the node subnet', () => {
      expect(build(network({ endpoint: '10.0.0.30' }))).toThrow('network.endpoint 10.0.0.30 lies outside the node subnet 192.168.0.0/24 (network.gateway 192.168.0.254/24); the VIP must be in the nodes\' L2 subnet');
    });

    test('fails when the VIP is not an IPv4 address', () => {
      expect(build(network({ endpoint: 'api.example.com' }))).toThrow('network.endpoint "api.example.com" must be an IPv4 address (the control-plane VIP)');
    });

    test('fails on malformed versions', () => {
      expect(build({ talos: { version: '1.13' }, proxmox: homelabProps().proxmox }))
        .toThrow(new UserError('talos.version "1.13" must be a release version like v1.13.9'));
      expect(build({ kubernetesVersion: 'v1.35' })).toThrow(new UserError('kubernetesVersion "v1.35" must be a release version like v1.35.4'));
    });

    describe('template VMs: the image they hold, the storage they are on (STACK.md §9.1)', () => {
      const proxmox = (p: object) => ({ proxmox: { ...homelabProps().proxmox, ...p } });
      const errors = (overrides: object) => {
        try {
          build(overrides)();
        } catch (e) {
          return (e as ValidationError).diagnostics.map((d) => `${d.path} ${d.message}`);
        }
        return [];
      };

      test('a Talos bump on an unchanged template VM fails, naming the template, the image URL, the declaration and a free ID', () => {
        const bumped = { talos: { version: 'v1.13.10' }, proxmox: homelabProps().proxmox, workers: [DEFAULT_POOL] };
        expect(errors(bumped)).toEqual([
          'proxmox.template.image template VM 8700 holds Talos v1.13.9, schematic ce4c980550dd…, but the control plane boots Talos v1.13.10 '
          + 'with siderolabs/qemu-guest-agent (schematic ce4c980550dd…): build a template VM from '
          + `https://factory.talos.dev/image/${DEFAULT_SCHEMATIC_ID}/v1.13.10/nocloud-amd64.raw.xz under a free VM ID (8701 is free in this cluster) `
          + `and name it here, with image { talosVersion: v1.13.10, schematic: ${DEFAULT_SCHEMATIC_ID} }; a template VM is never rebuilt in place`,
          // The pool clones the cluster's template: one finding each, on the field a fix edits.
          expect.stringMatching(/^workers\[0\]\.template template VM 8700 holds .* but the pool default boots Talos v1\.13\.10 .*give the pool a template of its own/),
        ]);
        // Built and declared: accepted.
        expect(errors({ ...bumped, ...proxmox({ template: templateVm(8701, { talosVersion: 'v1.13.10' }) }) })).toEqual([]);
      });

      test('a node-local template with machines on other nodes fails with the ways out', () => {
        expect(errors(proxmox({ allowedNodes: ['K8S0', 'K8S1', 'K8S2'] }))).toEqual([
          'proxmox.template.storage template VM 8700 is on node-local storage "local-lvm" of "K8S0", but proxmox.allowedNodes lets CAPMOX clone '
          + 'the control plane on K8S1 and K8S2, and Proxmox refuses clones to another node from local storage. Ways out: put the template on '
          + 'storage every node reaches and declare it (storage: { name: <shared storage>, shared: true }); set proxmox.allowedNodes to [K8S0]; '
          + 'or build one template VM per node and spread the pools over the nodes (workers[].spread.nodes, with one template per node in '
          + 'workers[].spread.templates; the control plane stays on one node)',
        ]);
      });

      test('shared storage, or machines pinned to the template\'s node, let the clones happen', () => {
        const nodes = ['K8S0', 'K8S1', 'K8S2'];
        expect(errors(proxmox({ allowedNodes: nodes, template: templateVm(8700, { storage: SHARED_STORAGE }) }))).toEqual([]);
        // One node-local template VM and pool per node; the control plane stays on K8S0.
        const perNode = {
          ...proxmox({ allowedNodes: nodes }),
          controlPlane: { ...homelabProps().controlPlane, allowedNodes: ['K8S0'] },
          workers: nodes.map((n, i) => ({ ...DEFAULT_POOL, name: `on-${n.toLowerCase()}`, replicas: 1, allowedNodes: [n], template: templateVm(8700 + i, { sourceNode: n }) })),
        };
        expect(errors(perNode)).toEqual([]);
        const out = synthWith((chart) => new TalosCluster(chart, 'C', homelabProps(perNode as Partial<TalosClusterProps>)));
        const pmt = all(out, 'ProxmoxMachineTemplate').map((t) => t.spec.template.spec);
        expect(pmt.map((t) => [t.sourceNode, t.templateID, t.allowedNodes])).toEqual([
          ['K8S0', 8700, ['K8S0']], ['K8S0', 8700, ['K8S0']], ['K8S1', 8701, ['K8S1']], ['K8S2', 8702, ['K8S2']],
        ]);
      });

      test('a pool on a node the cluster does not allow, or with no node at all, fails', () => {
        const pool = (allowedNodes: string[]) => ({ workers: [{ ...DEFAULT_POOL, allowedNodes }] });
        expect(errors(pool(['K8S9']))).toEqual([
          'workers[0].allowedNodes[0] "K8S9" is not in proxmox.allowedNodes (K8S0): add it there first, so the runbook prepares it',
        ]);
        expect(errors(pool([]))).toEqual(['workers[0].allowedNodes must name at least one Proxmox node (leave it out to use proxmox.allowedNodes)']);
      });

      test('one VM ID, two declarations: the node, the image or the storage differ', () => {
        const pool = (template: TemplateVm) => ({ workers: [{ ...DEFAULT_POOL, template }] });
        expect(errors(pool(templateVm(8700, { sourceNode: 'K8S1', storage: SHARED_STORAGE })))).toContain(
          'workers[0].template.sourceNode 8700 is the template VM of the control plane too, on "K8S0", not "K8S1": one VM ID is one VM; if it is that VM, name "K8S0", '
          + `otherwise build a template VM from https://factory.talos.dev/image/${DEFAULT_SCHEMATIC_ID}/v1.13.9/nocloud-amd64.raw.xz under another VM ID (8701 is free in this cluster) and name it here`);
        expect(errors(pool(templateVm(8700, { storage: SHARED_STORAGE })))).toEqual([
          'workers[0].template.storage 8700 is the template VM of the control plane too, on storage "local-lvm" (node-local): a VM\'s disk is on one storage; declare it alike',
        ]);
      });

      test('malformed declarations and ISO storage: each field named', () => {
        const bad = { ...HOMELAB_TEMPLATE, image: { talosVersion: '1.13', schematic: 'ce4c98' }, storage: { name: 'local lvm', shared: false } };
        expect(errors(proxmox({ template: bad, isoStorage: '-iso' }))).toEqual([
          'proxmox.template.image.talosVersion "1.13" must be the Talos release of the template\'s image, like v1.13.9',
          'proxmox.template.image.schematic "ce4c98" must be the Image Factory schematic ID of the template\'s image (64 hex digits, lower case)',
          'proxmox.template.storage.name "local lvm" must be a Proxmox storage ID (the one that holds the template VM\'s disk): letters, digits, "-", "_" and ".", a letter first',
          'proxmox.isoStorage "-iso" must be a Proxmox storage ID (the one with ISO content on every allowed node): letters, digits, "-", "_" and ".", a letter first',
        ]);
      });

      test('local-lvm declared shared: a warning, since Proxmox cannot share LVM-thin', () => {
        const chart = newChart();
        const cluster = new TalosCluster(chart, 'C', homelabProps(proxmox({ template: { ...HOMELAB_TEMPLATE, storage: { name: 'local-lvm', shared: true } } })));
        const warnings = cluster.node.metadata.filter((m) => m.type === WARNING_METADATA).map((m) => (m.data as Diagnostic).path);
        expect(warnings).toEqual(['proxmox.template.storage.shared']);
      });
    });

    test('fails on an invalid namespace, which the API server would refuse', () => {
      expect(build({ namespace: 'My_Namespace' })).toThrow('namespace "My_Namespace" must be a DNS-1123 label');
    });

    test('reports every problem of the props at once, one diagnostic each, pools included', () => {
      try {
        build({ name: 'Home', controlPlane: { replicas: 2, cores: 1, memoryMiB: 4096, diskGiB: 20 }, workers: [{ name: 'a', cores: 2, memoryMiB: 100, diskGiB: 40 }] })();
        throw new Error('expected a ValidationError');
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).diagnostics.map((d) => d.path)).toEqual(['name', 'controlPlane.replicas', 'controlPlane.cores', 'workers[0].memoryMiB']);
      }
    });

    test('fails on duplicate pool names, numbering pools added later after the props\' pools', () => {
      const c = new TalosCluster(newChart(), 'C', homelabProps({ workers: [{ name: 'default', cores: 2, memoryMiB: 8192, diskGiB: 40 }] }));
      expect(() => c.addWorkerPool('B', { name: 'default', cores: 2, memoryMiB: 8192, diskGiB: 40 }))
        .toThrow(new UserError('workers[1].name "default" is used by workers[0].name too; pool names must be unique'));
      expect(c.workerPools.map((p) => p.poolName)).toEqual(['default']);
    });
  });

  test('records warnings as construct metadata instead of failing (a single control plane)', () => {
    const c = new TalosCluster(newChart(), 'C', homelabProps({ controlPlane: { replicas: 1, cores: 2, memoryMiB: 4096, diskGiB: 20 } }));
    const warnings = c.node.metadata.filter((m) => m.type === WARNING_METADATA).map((m) => m.data);
    expect(warnings).toEqual([expect.objectContaining({ severity: 'warning', path: 'controlPlane.replicas' })]);
  });

  test('the primary child is the CAPI Cluster, reachable as defaultChild for escape hatches', () => {
    const c = new TalosCluster(newChart(), 'C', homelabProps({ workers: [DEFAULT_POOL] }));
    expect(c.node.defaultChild).toBeInstanceOf(capi.Cluster);
    expect(c.workerPools[0].node.defaultChild).toBeInstanceOf(capi.MachineDeployment);
    expect(c.controlPlaneTemplate.node.defaultChild).toBeInstanceOf(capmox.ProxmoxMachineTemplate);
    // The add-ons' resource sets are shared renders, in the app's AddonRenders chart.
    expect(c.cilium.resourceSet).toBeInstanceOf(capiAddons.ClusterResourceSet);
    expect(c.cloudControllerManager.resourceSet).toBeInstanceOf(capiAddons.ClusterResourceSet);
    (c.node.defaultChild as ApiObject).addJsonPatch(JsonPatch.add('/metadata/annotations', { 'example.com/owner': 'team-a' }));
    expect(one(synth(c.node.scope as Chart), 'Cluster').metadata.annotations).toEqual({ 'example.com/owner': 'team-a' });
  });
});
