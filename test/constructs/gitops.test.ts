import { celEnv, celError, isCelError, parse, plan } from '@bufbuild/cel';
import { CLUSTER_HEALTH_CHECKS, FleetDelivery, FLUX_WAIT_TIMEOUT, FluxDelivery, repositoryPath } from '../../lib/constructs/gitops';
import { CrdSchemaValidator } from '../../lib/gate/crd-schema';
import { OutputGate } from '../../lib/gate/gate';
import { homelabObjects, Obj, one, synthWith } from '../util';

const repository = { url: 'https://git.example.com/infra.git', branch: 'live', secretName: 'git-auth' };
const clusters = [
  { clusterName: 'alpha', manifestsPath: 'dist/alpha', secretsPath: 'secrets/alpha' },
  { clusterName: 'beta', manifestsPath: 'dist/beta' },
];

describe('FluxDelivery', () => {
  const objects = synthWith((chart) => new FluxDelivery(chart, 'Flux', {
    name: 'fleet-of-clusters', repository, managementPath: 'dist/management/flux', clusters,
  }));

  test('one GitRepository on the branch, with the git credentials', () => {
    expect(one(objects, 'GitRepository').spec).toEqual({
      url: 'https://git.example.com/infra.git', ref: { branch: 'live' }, interval: '5m', secretRef: { name: 'git-auth' },
    });
  });

  test('a Kustomization per cluster path with prune, wait, the cluster health checks and a timeout long enough for a bring-up', () => {
    const beta = one(objects, 'Kustomization', 'beta');
    expect(beta.metadata.namespace).toBe('flux-system');
    expect(beta.spec).toEqual({
      interval: '5m', path: './dist/beta', prune: true, wait: true, timeout: '45m',
      sourceRef: { kind: 'GitRepository', name: 'fleet-of-clusters' },
      healthCheckExprs: CLUSTER_HEALTH_CHECKS,
    });
    // No post-build substitution: the embedded manifests stay byte-for-byte what synth wrote.
    expect(beta.spec.postBuild).toBeUndefined();
  });

  test('SOPS-encrypted credentials are applied first, decrypted with the age key', () => {
    const secrets = one(objects, 'Kustomization', 'alpha-secrets');
    expect(secrets.spec.path).toBe('./secrets/alpha');
    expect(secrets.spec.decryption).toEqual({ provider: 'sops', secretRef: { name: 'sops-age' } });
    expect(one(objects, 'Kustomization', 'alpha').spec.dependsOn).toEqual([{ name: 'alpha-secrets' }]);
    expect(objects.filter((o) => o.metadata.name === 'beta-secrets')).toEqual([]);
    expect(one(objects, 'Kustomization', 'beta').spec.dependsOn).toBeUndefined();
  });

  test('the management folder is applied by Flux itself, so new clusters need no kubectl', () => {
    expect(one(objects, 'Kustomization', 'fleet-of-clusters-management').spec).toMatchObject({
      path: './dist/management/flux', prune: true, wait: false,
    });
  });

  test('every cluster Kustomization waits on Cluster, TalosControlPlane, MachineDeployment and ClusterResourceSet, and no other does', () => {
    for (const name of ['alpha', 'beta']) {
      const exprs = one(objects, 'Kustomization', name).spec.healthCheckExprs;
      expect(exprs.map((e: { apiVersion: string; kind: string }) => `${e.apiVersion} ${e.kind}`)).toEqual([
        'cluster.x-k8s.io/v1beta2 Cluster',
        'controlplane.cluster.x-k8s.io/v1alpha3 TalosControlPlane',
        'cluster.x-k8s.io/v1beta2 MachineDeployment',
        'addons.cluster.x-k8s.io/v1beta2 ClusterResourceSet',
      ]);
      for (const e of exprs) expect(Object.keys(e).sort()).toEqual(['apiVersion', 'current', 'failed', 'inProgress', 'kind']);
      expect(one(objects, 'Kustomization', name).spec.timeout).toBe(FLUX_WAIT_TIMEOUT);
    }
    expect(one(objects, 'Kustomization', 'alpha-secrets').spec.healthCheckExprs).toBeUndefined();
    expect(one(objects, 'Kustomization', 'fleet-of-clusters-management').spec.healthCheckExprs).toBeUndefined();
  });

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('passes the output gate (Flux CRD schemas and CEL rules)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });
});

describe('FleetDelivery', () => {
  const objects = synthWith((chart) => new FleetDelivery(chart, 'Fleet', {
    name: 'fleet-of-clusters', repository, managementPath: 'dist/management/fleet', clusters,
  }));

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('a GitRepo per cluster in fleet-local, deleting what leaves git', () => {
    const alpha = one(objects, 'GitRepo', 'alpha');
    expect(alpha.metadata.namespace).toBe('fleet-local');
    expect(alpha.spec).toEqual({
      repo: 'https://git.example.com/infra.git', branch: 'live', paths: ['dist/alpha'],
      pollingInterval: '5m', keepResources: false, clientSecretName: 'git-auth',
    });
    expect(one(objects, 'GitRepo', 'fleet-of-clusters-management').spec.paths).toEqual(['dist/management/fleet']);
  });

  test('passes the output gate (Fleet CRD schema)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });
});

test('repository paths honour the project folder inside the repository', () => {
  expect(repositoryPath('', 'dist/homelab')).toBe('dist/homelab');
  expect(repositoryPath('infra/clusters', 'dist/homelab')).toBe('infra/clusters/dist/homelab');
});

/**
 * The health checks evaluated as kustomize-controller does (fluxcd/pkg runtime/cel
 * `StatusEvaluator.Evaluate`, v0.110.0): the object's top-level fields are the CEL variables,
 * JSON integers are int64 (Go's unstructured); a differing `status.observedGeneration` is
 * InProgress before any expression runs; then `inProgress`, `failed`, `current` in order, the
 * first true wins; none true is InProgress; an evaluation error is Unknown (kstatus keeps polling).
 */
describe('cluster health checks (Flux healthCheckExprs)', () => {
  type Status = 'Current' | 'InProgress' | 'Failed' | 'Unknown';
  /** A live object: what synth emits plus what the API server and the controllers add. */
  type Fixture = Obj & { metadata: Obj['metadata'] & { generation: number } };
  const env = celEnv();
  const toGo = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(toGo);
    if (v !== null && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toGo(x)]));
    return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
  };
  /**
   * true, false, or 'error' (anything but a bool, as EvaluateBoolean). A top-level field the
   * object lacks is an error, as in cel-go ("no such attribute"), even inside `has()`;
   * @bufbuild/cel would call `has(status.x)` false there, so it is bound to an error value.
   */
  const evaluate = (expr: string, o: Obj): boolean | 'error' => {
    const vars = Object.fromEntries(['apiVersion', 'kind', 'metadata', 'spec', 'status']
      .map((k) => [k, k in o ? toGo(o[k]) : celError(`no such attribute: ${k}`)]));
    try {
      const r = plan(env, parse(expr))(vars as never);
      return typeof r === 'boolean' && !isCelError(r) ? r : 'error';
    } catch {
      return 'error';
    }
  };
  const checkFor = (kind: string) => CLUSTER_HEALTH_CHECKS.find((c) => c.kind === kind)!;
  const fluxStatus = (o: Fixture): Status => {
    const hc = checkFor(o.kind);
    if (typeof o.status?.observedGeneration === 'number' && o.status.observedGeneration !== o.metadata.generation) return 'InProgress';
    for (const [expr, status] of [[hc.inProgress, 'InProgress'], [hc.failed, 'Failed'], [hc.current, 'Current']] as const) {
      if (!expr) continue;
      const r = evaluate(expr, o);
      if (r === 'error') return 'Unknown';
      if (r) return status;
    }
    return 'InProgress';
  };

  // The objects a real cluster emits, with the status their controllers write.
  const emitted = homelabObjects();
  const at = '2026-12-02T06:00:00Z';
  const withStatus = (kind: string, status: object | undefined, metadata: object = {}): Fixture => {
    const o = emitted.find((e) => e.kind === kind)!;
    return { ...o, metadata: { ...o.metadata, generation: 2, ...metadata }, ...(status ? { status } : {}) };
  };
  const cond = (type: string, status: string, reason: string, observedGeneration = 2) => (
    { type, status, reason, message: '', lastTransitionTime: at, observedGeneration });
  const v1beta1Cond = (type: string, status: string, extra: object = {}) => ({ type, status, lastTransitionTime: at, ...extra });
  const deleting = { deletionTimestamp: at, finalizers: ['cluster.cluster.x-k8s.io'] };

  const tcpUp = {
    observedGeneration: 2, ready: true, initialized: true, bootstrapped: true, replicas: 3, readyReplicas: 3, unavailableReplicas: 0,
    version: 'v1.35.0', selector: 'cluster.x-k8s.io/cluster-name=homelab',
    conditions: ['Ready', 'Available', 'MachinesBootstrapped', 'MachinesCreated', 'MachinesReady', 'Resized', 'MachinesSpecUpToDate']
      .map((t) => v1beta1Cond(t, 'True')),
  };
  const fixtures: Record<string, Record<string, [Fixture, Status]>> = {
    Cluster: {
      'up: Available at this generation': [withStatus('Cluster', {
        observedGeneration: 2, phase: 'Provisioned',
        conditions: [cond('Available', 'True', 'Available'), cond('ControlPlaneAvailable', 'True', 'Available'), cond('WorkersAvailable', 'True', 'Available')],
      }), 'Current'],
      'coming up: just created, no status yet': [withStatus('Cluster', undefined), 'Unknown'],
      'coming up: Available False': [withStatus('Cluster', {
        observedGeneration: 2, phase: 'Provisioning',
        conditions: [cond('Available', 'False', 'NotAvailable'), cond('ControlPlaneAvailable', 'False', 'NotAvailable')],
      }), 'InProgress'],
      'stale: Available True from the previous generation': [withStatus('Cluster', {
        conditions: [cond('Available', 'True', 'Available', 1)],
      }), 'InProgress'],
      'stale: observedGeneration behind': [withStatus('Cluster', {
        observedGeneration: 1, conditions: [cond('Available', 'True', 'Available', 1)],
      }), 'InProgress'],
      'failed: terminal failure from the infrastructure provider': [withStatus('Cluster', {
        observedGeneration: 2, phase: 'Provisioning', conditions: [cond('Available', 'False', 'NotAvailable')],
        deprecated: { v1beta1: { failureReason: 'InvalidConfiguration', failureMessage: 'Failure detected from referenced resource ProxmoxCluster' } },
      }), 'Failed'],
      'failed: being deleted': [withStatus('Cluster', {
        observedGeneration: 2, phase: 'Deleting', conditions: [cond('Available', 'False', 'NotAvailable')],
      }, deleting), 'Failed'],
    },
    TalosControlPlane: {
      'up: every replica a Ready node, specs up to date': [withStatus('TalosControlPlane', tcpUp), 'Current'],
      'coming up: first machine, no node yet': [withStatus('TalosControlPlane', {
        observedGeneration: 2, ready: false, replicas: 1, readyReplicas: 0, unavailableReplicas: 1,
        conditions: [v1beta1Cond('Ready', 'False', { reason: 'WaitingForTalosBoot', severity: 'Info' }),
          v1beta1Cond('Available', 'False', { reason: 'WaitingForTalosBoot', severity: 'Info' })],
      }), 'InProgress'],
      'coming up: ready but still scaling up': [withStatus('TalosControlPlane', {
        ...tcpUp, replicas: 2, readyReplicas: 2,
      }), 'InProgress'],
      'rollout: surge machine, outdated specs': [withStatus('TalosControlPlane', {
        ...tcpUp, replicas: 4, readyReplicas: 3, unavailableReplicas: 1,
        conditions: [...tcpUp.conditions.filter((c) => c.type !== 'MachinesSpecUpToDate'),
          v1beta1Cond('MachinesSpecUpToDate', 'False', { reason: 'RollingUpdateInProgress', severity: 'Warning', message: 'Rolling 3 replicas' })],
      }), 'InProgress'],
      'rollout: old machine gone, one left to replace': [withStatus('TalosControlPlane', {
        ...tcpUp,
        conditions: [...tcpUp.conditions.filter((c) => c.type !== 'MachinesSpecUpToDate'),
          v1beta1Cond('MachinesSpecUpToDate', 'False', { reason: 'RollingUpdateInProgress', severity: 'Warning', message: 'Rolling 1 replicas' })],
      }), 'InProgress'],
      'stale: status of the previous generation': [withStatus('TalosControlPlane', { ...tcpUp, observedGeneration: 1 }), 'InProgress'],
      'failed: terminal failure': [withStatus('TalosControlPlane', {
        ...tcpUp, ready: false, readyReplicas: 0, unavailableReplicas: 3, failureReason: 'InvalidConfiguration', failureMessage: 'cannot proceed',
      }), 'Failed'],
    },
    MachineDeployment: {
      'up: Available at this generation': [withStatus('MachineDeployment', {
        observedGeneration: 2, phase: 'Running', replicas: 2, readyReplicas: 2, availableReplicas: 2, upToDateReplicas: 2,
        conditions: [cond('Available', 'True', 'Available'), cond('MachinesReady', 'True', 'Ready')],
      }), 'Current'],
      'coming up: waiting for machines': [withStatus('MachineDeployment', {
        observedGeneration: 2, phase: 'ScalingUp', replicas: 2, availableReplicas: 0,
        conditions: [cond('Available', 'False', 'WaitingForAvailableReplicasSet'), cond('ScalingUp', 'True', 'ScalingUp')],
      }), 'InProgress'],
      'stale: Available True from the previous generation': [withStatus('MachineDeployment', {
        conditions: [cond('Available', 'True', 'Available', 1)],
      }), 'InProgress'],
      'failed: being deleted': [withStatus('MachineDeployment', {
        observedGeneration: 2, phase: 'ScalingDown', conditions: [cond('Available', 'False', 'NotAvailable')],
      }, { ...deleting, finalizers: ['cluster.x-k8s.io/machinedeployment'] }), 'Failed'],
    },
    ClusterResourceSet: {
      'up: applied to the cluster': [withStatus('ClusterResourceSet', {
        observedGeneration: 2, conditions: [cond('ResourcesApplied', 'True', 'Applied')],
      }), 'Current'],
      'coming up: no cluster matched yet (no condition)': [withStatus('ClusterResourceSet', { observedGeneration: 2 }), 'InProgress'],
      'coming up: cluster not reachable yet (retried)': [withStatus('ClusterResourceSet', {
        conditions: [cond('ResourcesApplied', 'False', 'InternalError')],
      }), 'InProgress'],
      'coming up: an object failed to apply (retried)': [withStatus('ClusterResourceSet', {
        observedGeneration: 2, conditions: [cond('ResourcesApplied', 'False', 'NotApplied')],
      }), 'InProgress'],
      'failed: Secret of the wrong type': [withStatus('ClusterResourceSet', {
        conditions: [cond('ResourcesApplied', 'False', 'WrongSecretType')],
      }), 'Failed'],
    },
  };

  test('one entry per kind the cluster emits, matching its apiVersion (Flux matches group and kind, and rejects duplicates)', () => {
    for (const hc of CLUSTER_HEALTH_CHECKS) {
      expect(emitted.filter((o) => o.kind === hc.kind).map((o) => o.apiVersion)).toContain(hc.apiVersion);
    }
    const groupKinds = CLUSTER_HEALTH_CHECKS.map((hc) => `${hc.apiVersion.split('/')[0]}/${hc.kind}`);
    expect(new Set(groupKinds).size).toBe(groupKinds.length);
    expect(Object.keys(fixtures).sort()).toEqual(CLUSTER_HEALTH_CHECKS.map((hc) => hc.kind!).sort());
  });

  test('every expression parses as CEL', () => {
    for (const hc of CLUSTER_HEALTH_CHECKS) {
      for (const expr of [hc.current, hc.inProgress, hc.failed]) expect(() => parse(expr!)).not.toThrow();
    }
  });

  test('the fixtures are shaped by the CRDs (schema of spec and status, unknown fields rejected)', () => {
    const validator = new CrdSchemaValidator();
    for (const states of Object.values(fixtures)) {
      for (const [name, [o]] of Object.entries(states)) expect([name, validator.validate(o)]).toEqual([name, []]);
    }
  });

  test('every kind has fixtures for up, coming up and failed', () => {
    for (const [kind, states] of Object.entries(fixtures)) {
      const outcomes = new Set(Object.values(states).map(([, s]) => s));
      expect([kind, ['Current', 'InProgress', 'Failed'].every((s) => outcomes.has(s as Status))]).toEqual([kind, true]);
    }
  });

  describe.each(Object.entries(fixtures))('%s', (_kind, states) => {
    test.each(Object.entries(states))('%s', (_name, [o, expected]) => {
      expect(fluxStatus(o)).toBe(expected);
    });
  });

  test('each expression on its own: current only when up, failed only when failed, inProgress only while stale or unreported', () => {
    for (const [kind, states] of Object.entries(fixtures)) {
      const hc = checkFor(kind);
      for (const [name, [o, expected]] of Object.entries(states)) {
        const r = { current: evaluate(hc.current, o), failed: evaluate(hc.failed!, o), inProgress: evaluate(hc.inProgress!, o) };
        const where = `${kind}: ${name}`;
        if (expected === 'Current') expect([where, r]).toEqual([where, { current: true, failed: false, inProgress: false }]);
        if (expected === 'Failed') expect([where, r.failed]).toEqual([where, true]);
        if (expected === 'InProgress') expect([where, r.current]).toEqual([where, false]);
        if (expected === 'Unknown') expect([where, r.current]).toEqual([where, 'error']);
      }
    }
  });
});
