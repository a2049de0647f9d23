import { TalosCluster, TalosClusterProps, WorkerPoolOptions } from '../../lib';
import { spreadCounts } from '../../lib/constructs/worker-pool';
import { quote } from '../../lib/core/errors';
import {
  all, DEFAULT_POOL, HOMELAB_TEMPLATE, homelabProps, newChart, one, Obj, SHARED_STORAGE, synth, synthWith, templateVm, validationErrorLines,
} from '../util';

const NODES = ['K8S0', 'K8S1', 'K8S2'];
/** Room for the pools below: 40 node addresses. */
const NETWORK = { endpoint: '192.168.0.30', addresses: ['192.168.0.40-192.168.0.79'], prefix: 24, gateway: '192.168.0.254', dnsServers: ['8.8.8.8'] };
/** The homelab's template moved to shared storage, so machines may be cloned on every node. */
const SHARED_TEMPLATE = { ...HOMELAB_TEMPLATE, storage: SHARED_STORAGE };
const proxmox = (extra: Partial<TalosClusterProps['proxmox']> = {}): TalosClusterProps['proxmox'] => ({
  allowedNodes: NODES, template: SHARED_TEMPLATE, isoStorage: 'local', credentialsSecret: 'homelab-proxmox', ...extra,
});
const props = (overrides: Partial<TalosClusterProps> = {}): TalosClusterProps => homelabProps({
  network: NETWORK, proxmox: proxmox(), workers: [DEFAULT_POOL], ...overrides,
});
const objects = (overrides: Partial<TalosClusterProps> = {}) => synthWith((chart) => new TalosCluster(chart, 'Cluster', props(overrides)));
const errors = (overrides: Partial<TalosClusterProps> = {}) => validationErrorLines(() => objects(overrides));
/** `spec.template.spec` of a ProxmoxMachineTemplate whose name starts with `prefix-`. */
const machineSpec = (objs: Obj[], prefix: string) => {
  const found = all(objs, 'ProxmoxMachineTemplate').filter((o) => o.metadata.name.startsWith(`${prefix}-`) && /^[0-9a-f]{8}$/.test(o.metadata.name.slice(prefix.length + 1)));
  expect(found).toHaveLength(1);
  return found[0].spec.template.spec;
};
const SPREAD: WorkerPoolOptions = { name: 'spread', replicas: 5, cores: 2, memoryMiB: 4096, diskGiB: 20, spread: { nodes: NODES } };

describe('clone options (pool, tags, full, cloneStorage, cloneFormat, vmIdRange, description)', () => {
  test('none set: the machine templates carry only full: true, as before', () => {
    const spec = machineSpec(objects(), 'homelab-control-plane');
    expect(spec.full).toBe(true);
    for (const key of ['pool', 'tags', 'storage', 'format', 'vmIDRange', 'description']) expect(spec).not.toHaveProperty(key);
  });

  test('set on proxmox: every machine template carries them, under CAPMOX\'s field names', () => {
    const objs = objects({
      proxmox: proxmox({
        pool: 'k8s/homelab', tags: ['k8s', 'homelab'], cloneStorage: { name: 'ceph-fast', shared: true }, cloneFormat: 'raw',
        vmIdRange: { start: 1000, end: 1099 }, description: 'homelab node',
      }),
    });
    for (const prefix of ['homelab-control-plane', 'homelab-default']) {
      expect(machineSpec(objs, prefix)).toMatchObject({
        full: true, pool: 'k8s/homelab', tags: ['k8s', 'homelab'], storage: 'ceph-fast', format: 'raw',
        vmIDRange: { start: 1000, end: 1099 }, description: 'homelab node',
      });
    }
  });

  test('the control plane and a pool replace the cluster\'s values with their own', () => {
    const objs = objects({
      proxmox: proxmox({ pool: 'k8s', tags: ['k8s'], vmIdRange: { start: 1000, end: 1099 } }),
      controlPlane: { replicas: 3, cores: 2, memoryMiB: 4096, diskGiB: 20, pool: 'k8s-cp', tags: ['k8s', 'control-plane'] },
      workers: [{ ...DEFAULT_POOL, tags: ['k8s', 'worker'], vmIdRange: { start: 2000, end: 2009 }, description: 'worker' }],
    });
    const cp = machineSpec(objs, 'homelab-control-plane');
    expect([cp.pool, cp.tags, cp.vmIDRange, cp.description]).toEqual(['k8s-cp', ['k8s', 'control-plane'], { start: 1000, end: 1099 }, undefined]);
    const pool = machineSpec(objs, 'homelab-default');
    expect([pool.pool, pool.tags, pool.vmIDRange, pool.description]).toEqual(['k8s', ['k8s', 'worker'], { start: 2000, end: 2009 }, 'worker']);
  });

  test('linked clones: full: false and no storage or format', () => {
    const spec = machineSpec(objects({ proxmox: proxmox({ full: false }) }), 'homelab-default');
    expect(spec.full).toBe(false);
    expect(spec).not.toHaveProperty('storage');
    expect(spec).not.toHaveProperty('format');
  });

  test('an option changes the template\'s name, so the machines roll (CAPMOX rejects edits in place)', () => {
    const before = machineSpec(objects(), 'homelab-default');
    const names = (o: Partial<TalosClusterProps>) => all(objects(o), 'ProxmoxMachineTemplate').map((x) => x.metadata.name);
    expect(before).toBeDefined();
    expect(names({ proxmox: proxmox({ tags: ['k8s'] }) })).not.toEqual(names({}));
  });

  describe('fails', () => {
    test('fails on a pool ID, tags, a storage ID, a format and a description Proxmox refuses', () => {
      expect(errors({
        proxmox: proxmox({
          pool: 'a b', tags: ['k8s', 'K8S', '-x'], cloneStorage: { name: '1st', shared: true },
          cloneFormat: 'vdi' as never, description: 'x'.repeat(8193),
        }),
      })).toEqual([
        'proxmox.pool "a b" must be a Proxmox pool ID: letters, digits, ".", "-" and "_", up to three levels joined by "/" (pveum pool add refuses others)',
        'proxmox.tags[1] "K8S" is listed twice (Proxmox tags ignore case)',
        'proxmox.tags[2] "-x" must be a Proxmox tag: letters, digits, "_", "-", "+" and ".", starting with a letter, digit or "_"',
        'proxmox.cloneStorage.name "1st" must be a Proxmox storage ID (the one the full clones are written to): letters, digits, "-", "_" and ".", a letter first',
        'proxmox.cloneFormat "vdi" must be one of raw, qcow2, vmdk',
        `proxmox.description ${quote('x'.repeat(8193))} must be a text of at most 8192 characters (Proxmox's limit for a VM description)`,
      ]);
    });

    test('fails on a pool nested deeper than three levels and on an empty tag list', () => {
      expect(errors({ workers: [{ ...DEFAULT_POOL, pool: 'a/b/c/d', tags: [] }] })).toEqual([
        'workers[0].pool "a/b/c/d" must be a Proxmox pool ID: letters, digits, ".", "-" and "_", up to three levels joined by "/" (pveum pool add refuses others)',
        'workers[0].tags must list at least one tag (leave it out for none)',
      ]);
    });

    test('fails on a clone storage or format with linked clones, on the field that set it', () => {
      expect(errors({ proxmox: proxmox({ full: false, cloneStorage: { name: 'ceph-fast', shared: true } }) })).toEqual([
        'proxmox.cloneStorage "ceph-fast" applies to full clones only, but proxmox.full false makes linked clones of the machine sets, which stay on the template\'s storage '
        + '(Proxmox refuses storage and format for linked clones): set proxmox.full true, or keep cloneStorage on the machine sets that make full clones',
      ]);
      expect(errors({ proxmox: proxmox({ cloneFormat: 'qcow2' }), workers: [{ ...DEFAULT_POOL, full: false }] })).toEqual([
        'workers[0].full false makes linked clones of the pool default, which stay on the template\'s storage, but proxmox.cloneFormat "qcow2" applies to full clones only '
        + '(Proxmox refuses storage and format for linked clones): set workers[0].full true, or keep cloneFormat on the machine sets that make full clones',
      ]);
    });

    test('fails on a node-local clone storage for machines on other nodes than their template\'s', () => {
      expect(errors({ proxmox: proxmox({ cloneStorage: { name: 'local-zfs', shared: false } }), controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20, allowedNodes: ['K8S0'] } })).toEqual([
        'proxmox.cloneStorage "local-zfs" is node-local, but proxmox.allowedNodes lets CAPMOX clone the pool default on K8S1 and K8S2, away from its template\'s node "K8S0", '
        + 'and Proxmox writes a clone on another node only to shared storage ("can\'t clone to non-shared storage"): name a shared storage (cloneStorage: { name: <shared storage>, shared: true }), '
        + 'or keep the pool default on "K8S0"',
      ]);
      // Pinned to the template's node: accepted.
      expect(() => objects({
        proxmox: proxmox({ cloneStorage: { name: 'local-zfs', shared: false } }),
        controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20, allowedNodes: ['K8S0'] }, workers: [{ ...DEFAULT_POOL, allowedNodes: ['K8S0'] }],
      })).not.toThrow();
    });

    test('fails on a VM ID range that holds a template VM, is reversed, or is too small for its machines', () => {
      expect(errors({ proxmox: proxmox({ vmIdRange: { start: 8000, end: 8999 } }) })).toEqual([
        'proxmox.vmIdRange 8000-8999 contains template VM 8700 (proxmox.template): keep clones and template VMs apart; choose a range without template VM IDs',
      ]);
      expect(errors({ workers: [{ ...DEFAULT_POOL, vmIdRange: { start: 2000, end: 1999 } }] })).toEqual([
        'workers[0].vmIdRange.end 1999 is below vmIdRange.start 2000; the range runs from start to end, both included',
      ]);
      expect(errors({ proxmox: proxmox({ vmIdRange: { start: 1000, end: 1005 } }) })).toEqual([
        'proxmox.vmIdRange 1000-1005 holds 6 VM ID(s), but the machine sets cloned into it need 7 at once: 3 + 1 (control plane) + 2 + 1 (pool default), '
        + 'counting each set at its maximum plus its rolling-update surge; widen the range',
      ]);
      expect(() => objects({ proxmox: proxmox({ vmIdRange: { start: 1000, end: 1006 } }) })).not.toThrow();
      expect(errors({ workers: [{ ...DEFAULT_POOL, vmIdRange: { start: 99, end: 100 } }] })).toEqual([
        'workers[0].vmIdRange.start 99 must be at least 100 (a Proxmox VM ID)',
      ]);
    });

    test('fails on a storage declared shared as a clone storage and node-local as a template storage', () => {
      expect(errors({
        proxmox: proxmox({ template: HOMELAB_TEMPLATE, allowedNodes: ['K8S0'], cloneStorage: { name: 'local-lvm', shared: true } }),
      })).toEqual([
        'proxmox.cloneStorage.shared true declares storage "local-lvm" shared, but proxmox.template.storage declares it node-local: a Proxmox storage is one or the other; '
        + 'declare it alike (pvesm status shows it)',
      ]);
    });

    test('warns on a shared clone storage named like a node-local one', () => {
      const chart = newChart();
      const cluster = new TalosCluster(chart, 'Cluster', props({ proxmox: proxmox({ cloneStorage: { name: 'local-lvm', shared: true } }) }));
      expect(cluster.node.metadata.filter((m) => m.type === 'cdk8s-talos-proxmox/warning').map((m) => (m.data as { path: string }).path)).toEqual(['proxmox.cloneStorage.shared']);
    });
  });
});

describe('spread pools: one deployment per Proxmox node', () => {
  test('spreadCounts: the count divided by the nodes, the first nodes taking the remainder', () => {
    expect(spreadCounts(5, 3)).toEqual([2, 2, 1]);
    expect(spreadCounts(6, 3)).toEqual([2, 2, 2]);
    expect(spreadCounts(2, 3)).toEqual([1, 1, 0]);
    expect(spreadCounts(0, 3)).toEqual([0, 0, 0]);
    expect(spreadCounts(7, 1)).toEqual([7]);
  });

  test('5 replicas over 3 nodes: per node a machine template pinned to it, a MachineDeployment of 2, 2 and 1, a health check; one TalosConfigTemplate', () => {
    const objs = objects({ workers: [SPREAD] });
    expect(all(objs, 'MachineDeployment').map((o) => [o.metadata.name, o.spec.replicas])).toEqual([
      ['homelab-spread-k8s0', 2], ['homelab-spread-k8s1', 2], ['homelab-spread-k8s2', 1],
    ]);
    expect(all(objs, 'MachineHealthCheck').map((o) => [o.metadata.name, o.spec.selector.matchLabels['cluster.x-k8s.io/deployment-name']])).toEqual([
      ['homelab-spread-k8s0', 'homelab-spread-k8s0'], ['homelab-spread-k8s1', 'homelab-spread-k8s1'], ['homelab-spread-k8s2', 'homelab-spread-k8s2'],
    ]);
    const configs = all(objs, 'TalosConfigTemplate');
    expect(configs).toHaveLength(1);
    for (const [i, node] of NODES.entries()) {
      const md = one(objs, 'MachineDeployment', `homelab-spread-${node.toLowerCase()}`);
      const spec = machineSpec(objs, md.metadata.name);
      expect(md.spec.template.spec.infrastructureRef.name).toMatch(new RegExp(`^homelab-spread-${node.toLowerCase()}-[0-9a-f]{8}$`));
      expect([spec.allowedNodes, spec.sourceNode, spec.templateID]).toEqual([[node], 'K8S0', 8700]);
      expect(md.spec.template.spec.bootstrap.configRef.name).toBe(configs[0].metadata.name);
      expect(md.spec.selector.matchLabels['cluster.x-k8s.io/deployment-name']).toBe(md.metadata.name);
      expect(i).toBeLessThan(3);
    }
    // The default health-check threshold counts each node's own share: at least 1.
    expect(all(objs, 'MachineHealthCheck').map((o) => o.spec.remediation.triggerIf.unhealthyLessThanOrEqualTo)).toEqual([1, 1, 1]);
  });

  test('the construct tree: Node-<node> scopes under the pool, each with MachineTemplate, Resource and HealthCheck', () => {
    const cluster = new TalosCluster(newChart(), 'Cluster', props({ workers: [SPREAD] }));
    const pool = cluster.workerPools[0];
    expect(pool.node.children.map((c) => c.node.id)).toEqual(['ConfigTemplate', 'Node-K8S0', 'Node-K8S1', 'Node-K8S2']);
    expect(pool.node.findChild('Node-K8S1').node.children.map((c) => c.node.id)).toEqual(['MachineTemplate', 'Resource', 'HealthCheck']);
    expect(pool.deployments.map((d) => [d.node, d.name, d.replicas])).toEqual([
      ['K8S0', 'homelab-spread-k8s0', 2], ['K8S1', 'homelab-spread-k8s1', 2], ['K8S2', 'homelab-spread-k8s2', 1],
    ]);
  });

  test('autoscaled: bounds split like replicas; minimum 0 lets every node scale from zero, minimum 1 keeps one machine on the first node', () => {
    const bounds = (min: number, max: number) => all(objects({ workers: [{ ...SPREAD, replicas: undefined, autoscaling: { min, max } }] }), 'MachineDeployment')
      .map((o) => [o.metadata.annotations!['cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size'], o.metadata.annotations!['cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size'], o.spec.replicas]);
    expect(bounds(0, 4)).toEqual([['0', '2', undefined], ['0', '1', undefined], ['0', '1', undefined]]);
    expect(bounds(1, 6)).toEqual([['1', '2', undefined], ['0', '2', undefined], ['0', '2', undefined]]);
  });

  test('names are stable: more replicas, or a node added, never rename or drop a surviving node\'s objects', () => {
    const names = (pool: WorkerPoolOptions) => Object.fromEntries(objects({ workers: [pool] })
      .filter((o) => ['MachineDeployment', 'MachineHealthCheck', 'ProxmoxMachineTemplate'].includes(o.kind) && o.metadata.name.startsWith('homelab-spread'))
      .map((o) => [`${o.kind} ${o.metadata.name}`, o.spec.replicas ?? null]));
    const two = names({ ...SPREAD, replicas: 4, spread: { nodes: ['K8S0', 'K8S1'] } });
    const moreReplicas = names({ ...SPREAD, replicas: 6, spread: { nodes: ['K8S0', 'K8S1'] } });
    const three = names({ ...SPREAD, replicas: 6, spread: { nodes: ['K8S0', 'K8S1', 'K8S2'] } });
    expect(Object.keys(moreReplicas)).toEqual(Object.keys(two));
    expect(Object.values(moreReplicas).filter((r) => r !== null)).toEqual([3, 3]);
    // Every object of the two nodes is still there, under the same name; K8S2 adds its own.
    for (const key of Object.keys(two)) expect(Object.keys(three)).toContain(key);
    expect(Object.keys(three).filter((k) => !(k in two)).map((k) => k.replace(/-[0-9a-f]{8}$/, '-<hash>'))).toEqual([
      'ProxmoxMachineTemplate homelab-spread-k8s2-<hash>', 'MachineDeployment homelab-spread-k8s2', 'MachineHealthCheck homelab-spread-k8s2',
    ]);
    expect([three['MachineDeployment homelab-spread-k8s0'], three['MachineDeployment homelab-spread-k8s1'], three['MachineDeployment homelab-spread-k8s2']]).toEqual([2, 2, 2]);
  });

  test('node-local templates: each node clones its own template VM, the others the pool\'s', () => {
    const local = { name: 'local-lvm', shared: false };
    const objs = objects({
      proxmox: proxmox({ template: HOMELAB_TEMPLATE }),
      controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20, allowedNodes: ['K8S0'] },
      workers: [{ ...SPREAD, spread: { nodes: NODES, templates: [templateVm(8711, { sourceNode: 'K8S1', storage: local }), templateVm(8712, { sourceNode: 'K8S2', storage: local })] } }],
    });
    expect(NODES.map((n) => machineSpec(objs, `homelab-spread-${n.toLowerCase()}`)).map((s) => [s.sourceNode, s.templateID, s.allowedNodes])).toEqual([
      ['K8S0', 8700, ['K8S0']], ['K8S1', 8711, ['K8S1']], ['K8S2', 8712, ['K8S2']],
    ]);
  });

  test('clone options apply to every node\'s template', () => {
    const objs = objects({ workers: [{ ...SPREAD, pool: 'k8s', tags: ['spread'] }] });
    for (const n of NODES) expect(machineSpec(objs, `homelab-spread-${n.toLowerCase()}`)).toMatchObject({ pool: 'k8s', tags: ['spread'], allowedNodes: [n] });
  });

  test('the pool\'s network (VLAN, MTU, extra NICs) reaches every node\'s template, with one IPAM pool for the pool', () => {
    const objs = objects({
      workers: [{ ...SPREAD, network: { vlan: 30, mtu: 9000, extraNics: [{ name: 'san', bridge: 'vmbr2', addresses: ['10.40.0.10-10.40.0.30'], prefix: 24 }] } }],
    });
    for (const n of NODES) {
      const nics = machineSpec(objs, `homelab-spread-${n.toLowerCase()}`).network.networkDevices;
      expect(nics[0]).toMatchObject({ name: 'net0', vlan: 30, mtu: 9000, linkMtu: 9000 });
      expect(nics[1]).toMatchObject({ name: 'net1', bridge: 'vmbr2', ipPoolRef: [{ kind: 'InClusterIPPool', name: 'homelab-spread-san' }] });
    }
    expect(all(objs, 'InClusterIPPool').map((o) => o.metadata.name)).toEqual(['homelab-spread-san']);
  });

  describe('fails', () => {
    test('fails on a node-local template cloned on other nodes of the spread, naming spread.templates', () => {
      expect(errors({
        proxmox: proxmox({ template: HOMELAB_TEMPLATE }),
        controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20, allowedNodes: ['K8S0'] },
        workers: [{ ...SPREAD, spread: { nodes: NODES, templates: [templateVm(8711, { sourceNode: 'K8S1' })] } }],
      })).toEqual([
        'workers[0].template template VM 8700 is on node-local storage "local-lvm" of "K8S0", but workers[0].spread.nodes[2] puts the pool spread on K8S2, and Proxmox refuses '
        + 'clones to another node from local storage. Ways out: declare a template VM on "K8S2" in workers[0].spread.templates (sourceNode K8S2, a free templateId, the pool\'s image; '
        + 'the runbook then has its build commands); or put the template on storage every node reaches and declare it (storage: { name: <shared storage>, shared: true })',
      ]);
    });

    test('fails on allowedNodes beside spread, a node outside proxmox.allowedNodes or listed twice, a template on a node outside the spread or twice', () => {
      expect(errors({
        workers: [{
          ...SPREAD, allowedNodes: ['K8S0'],
          spread: { nodes: ['K8S0', 'K8S9', 'k8s0'], templates: [templateVm(8711, { sourceNode: 'K8S2', storage: SHARED_STORAGE }), templateVm(8712, { sourceNode: 'K8S0', storage: SHARED_STORAGE }), templateVm(8713, { sourceNode: 'K8S0', storage: SHARED_STORAGE })] },
        }],
      })).toEqual([
        'workers[0].allowedNodes cannot be set together with spread: spread.nodes names the nodes, one deployment on each; leave allowedNodes out',
        'workers[0].spread.nodes[1] "K8S9" is not in proxmox.allowedNodes (K8S0, K8S1, K8S2): add it there first, so the runbook prepares it',
        'workers[0].spread.nodes[2] "k8s0" is not in proxmox.allowedNodes (K8S0, K8S1, K8S2): add it there first, so the runbook prepares it',
        'workers[0].spread.nodes[2] "k8s0" is listed twice (object names take node names in lower case); list each node once',
        'workers[0].spread.templates[0].sourceNode "K8S2" is not in spread.nodes (K8S0, K8S9, k8s0): a node template serves the node it is on; add the node or remove the template',
        'workers[0].spread.templates[2].sourceNode "K8S0" already has a template in spread.templates: one template VM per node',
      ]);
    });

    test('fails on an autoscaler maximum below the number of nodes', () => {
      expect(errors({ workers: [{ ...SPREAD, replicas: undefined, autoscaling: { min: 0, max: 2 } }] })).toEqual([
        'workers[0].autoscaling.max 2 is below the 3 nodes of spread.nodes: each node\'s deployment needs a maximum of at least 1; raise the maximum or spread over fewer nodes',
      ]);
    });

    test('fails on a maxUnhealthy percentage that rounds to 0 at a node\'s share', () => {
      expect(errors({ workers: [{ ...SPREAD, maxUnhealthy: '50%' }] })).toEqual([
        'workers[0].maxUnhealthy 50% of 1 machine(s) is 0 once Cluster API rounds it down, so a failed machine would never be replaced; use a count (1 or more) or at least 100% '
        + '(health check of spread node K8S2)',
      ]);
    });

    test('fails when the node addresses cannot hold one surge machine per node deployment', () => {
      expect(errors({ network: { ...NETWORK, addresses: ['192.168.0.40-192.168.0.50'] }, workers: [SPREAD] })).toEqual([
        'network.addresses holds 11 address(es) but the cluster needs 12: 3 control-plane + 5 spread machines + 4 for rolling updates '
        + '(maxSurge 1 per control plane and per deployment: one per pool, one per node of a spread pool); add addresses or shrink the cluster',
      ]);
    });

    test('fails on names too long for a node\'s Machine hostnames', () => {
      const node = `N${'x'.repeat(30)}`;
      expect(errors({ proxmox: proxmox({ allowedNodes: [...NODES, node] }), workers: [{ ...SPREAD, name: 'spread-pool-with-long-name', spread: { nodes: ['K8S0', node] } }] })).toEqual([
        `workers[0].spread.nodes[1] "spread-pool-with-long-name-n${'x'.repeat(30)}" makes Machine names (<cluster>-<pool>-xxxxx-xxxxx) 78 characters; hostnames allow 63, `
        + 'so cluster and pool name together may have at most 50',
      ]);
    });
  });

  test('the synthesized spread pool passes the output gate (schemas, CEL, references)', () => {
    const chart = newChart();
    new TalosCluster(chart, 'Cluster', props({
      proxmox: proxmox({ pool: 'k8s', tags: ['homelab'], cloneStorage: { name: 'ceph-fast', shared: true }, vmIdRange: { start: 1000, end: 1099 } }),
      workers: [SPREAD],
    }));
    const objs = synth(chart);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OutputGate } = require('../../lib/gate/gate') as typeof import('../../lib/gate/gate');
    expect(() => new OutputGate().check('test', objs as never)).not.toThrow();
  });
});
