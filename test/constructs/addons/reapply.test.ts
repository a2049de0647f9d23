import { isDeepStrictEqual } from 'util';
import * as YAML from 'yaml';
import { homelabObjects, Obj } from '../../util';

/**
 * CAPI's ClusterResourceSet `Reconcile` re-apply, played offline (STACK.md §9.5): on a change of
 * the ConfigMap content, each payload object is read from the workload cluster and patched with
 * `client.MergeFrom(current)` (`internal/controllers/clusterresourceset/clusterresourceset_scope.go@v1.12.11`
 * `reconcileStrategyScope.applyObj`), a JSON merge patch from the live object to the payload
 * object, whose resourceVersion CAPI sets to the live one. What the API server populated and the
 * payload omits is set to null; the server then restores what it keeps on updates and refuses a
 * change of an immutable field.
 *
 * JSON merge patch (RFC 7386) is written here: no library for it is installed, and it is a dozen
 * lines. Arrays are replaced whole, as in evanphx/json-patch's CreateMergePatch.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isMap = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The merge patch that turns `from` into `to`. */
export function createMergePatch(from: Json, to: Json): Json | undefined {
  if (!isMap(from) || !isMap(to)) return isDeepStrictEqual(from, to) ? undefined : to;
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    const p = k in from ? createMergePatch(from[k], v) : v;
    if (p !== undefined) patch[k] = p;
  }
  return Object.keys(patch).length ? patch : undefined;
}

/** RFC 7386 MergePatch(target, patch). */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isMap(patch)) return patch;
  const out: Record<string, Json> = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

type Path = readonly string[];
const get = (o: Json | undefined, path: Path): Json | undefined => path.reduce<Json | undefined>((v, k) => (isMap(v) ? v[k] : undefined), o);
function set(o: Record<string, Json>, path: Path, value: Json | undefined): void {
  let node = o;
  for (const k of path.slice(0, -1)) node = (isMap(node[k]) ? node[k] : (node[k] = {})) as Record<string, Json>;
  if (value === undefined) delete node[path[path.length - 1]];
  else node[path[path.length - 1]] = value;
}

/** What the API server does with an object of one kind. */
interface ServerBehaviour {
  /** Adds the fields the server populates on create (to the live copy). */
  readonly populate?: (live: Record<string, any>, uid: string) => void;
  /** Fields the server takes from the stored object when an update leaves them out. */
  readonly kept?: readonly Path[];
  /** Fields an update may not change (the request fails with "field is immutable"). */
  readonly immutable?: (live: Record<string, any>) => readonly Path[];
}

/**
 * The table: which kinds get which server fields, which the server keeps, which are immutable
 * (Kubernetes API validation and registry strategies). Defaulted fields (a Service's
 * sessionAffinity, a pod template's dnsPolicy, …) are left out: an update that omits them is
 * defaulted to the same value again.
 */
const EVERY_KIND: ServerBehaviour = {
  populate: (o, uid) => {
    Object.assign(o.metadata, {
      uid, resourceVersion: '4711', creationTimestamp: '2026-12-01T00:00:00Z', generation: 1,
      managedFields: [{ manager: 'cluster-api', operation: 'Update', apiVersion: o.apiVersion }],
    });
  },
  // uid and creationTimestamp come from the stored object, generation is the server's,
  // managedFields stay when the request has none, status is a subresource (or the controller's).
  kept: [['metadata', 'uid'], ['metadata', 'creationTimestamp'], ['metadata', 'generation'], ['metadata', 'managedFields'], ['status']],
};
const SERVER: Readonly<Record<string, ServerBehaviour>> = {
  'batch/v1 Job': {
    populate: (o, uid) => {
      o.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      o.spec.template.metadata ??= {};
      o.spec.template.metadata.labels = {
        ...o.spec.template.metadata.labels,
        'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': o.metadata.name,
        'controller-uid': uid, 'job-name': o.metadata.name,
      };
      o.status = { succeeded: 1, completionTime: '2026-12-01T00:02:00Z' };
    },
    immutable: () => [['spec', 'selector'], ['spec', 'template'], ['spec', 'completionMode']],
  },
  'v1 Service': {
    populate: (o) => {
      if (o.spec.type === 'ExternalName' || o.spec.clusterIP === 'None') return;
      o.spec.clusterIP = '10.96.7.13';
      o.spec.clusterIPs = ['10.96.7.13'];
    },
    // The registry patches allocated values back in (`patchAllocatedValues`).
    kept: [['spec', 'clusterIP'], ['spec', 'clusterIPs']],
    immutable: () => [['spec', 'clusterIP'], ['spec', 'clusterIPs']],
  },
  'v1 Namespace': {
    populate: (o) => {
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec = { finalizers: ['kubernetes'] };
    },
    // The label is set on every write; finalizers change only through the finalize subresource.
    kept: [['metadata', 'labels', 'kubernetes.io/metadata.name'], ['spec', 'finalizers']],
  },
  'apps/v1 Deployment': {
    populate: (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, 'deployment.kubernetes.io/revision': '1' };
    },
    immutable: () => [['spec', 'selector']],
  },
  'apps/v1 DaemonSet': {
    populate: (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, 'deprecated.daemonset.template.generation': '1' };
    },
    immutable: () => [['spec', 'selector']],
  },
  'apps/v1 StatefulSet': {
    immutable: () => [['spec', 'selector'], ['spec', 'serviceName'], ['spec', 'volumeClaimTemplates'], ['spec', 'podManagementPolicy']],
  },
  'v1 ConfigMap': { immutable: (o) => (o.immutable ? [['data'], ['binaryData'], ['immutable']] : []) },
  'v1 Secret': { immutable: (o) => (o.immutable ? [['data'], ['stringData'], ['immutable'], ['type']] : [['type']]) },
  'rbac.authorization.k8s.io/v1 RoleBinding': { immutable: () => [['roleRef']] },
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': { immutable: () => [['roleRef']] },
};

/** The immutable fields one object's `Reconcile` re-apply would change ([] when it survives). */
export function reapplyViolations(payload: Obj): string[] {
  const key = `${payload.apiVersion} ${payload.kind}`;
  const behaviours = [EVERY_KIND, SERVER[key] ?? {}];
  const live = structuredClone(payload) as Record<string, any>;
  behaviours.forEach((b) => b.populate?.(live, '5f1c2a6e-0000-4000-8000-000000000001'));
  const desired = structuredClone(payload) as Record<string, any>;
  desired.metadata.resourceVersion = live.metadata.resourceVersion;
  const patch = createMergePatch(live, desired);
  const updated = (patch === undefined ? structuredClone(live) : applyMergePatch(structuredClone(live), patch)) as Record<string, Json>;
  for (const path of behaviours.flatMap((b) => b.kept ?? [])) {
    if (get(updated, path) === undefined) set(updated, path, get(live, path));
  }
  return behaviours.flatMap((b) => b.immutable?.(live) ?? [])
    .filter((path) => !isDeepStrictEqual(get(updated, path), get(live, path)))
    .map((path) => `${payload.kind} ${payload.metadata.namespace ?? ''}/${payload.metadata.name}: ${path.join('.')} is immutable`);
}

/** The objects of each ConfigMap a resource set with the given strategy lists. */
function payloads(objects: Obj[], strategy: 'Reconcile' | 'ApplyOnce'): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>();
  for (const crs of objects.filter((o) => o.kind === 'ClusterResourceSet' && o.spec.strategy === strategy)) {
    for (const ref of crs.spec.resources) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name)!;
      const docs = Object.values(cm.data as Record<string, string>).flatMap((text) => YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj));
      out.set(`${crs.metadata.name}: ${ref.name}`, docs);
    }
  }
  return out;
}

describe('ClusterResourceSet Reconcile re-apply (Get + merge patch from the live object)', () => {
  test('the simulation catches a Job: its selector and the controller-uid labels of its pod template are server-generated', () => {
    const job = homelabObjects().flatMap((o) => (o.kind === 'ConfigMap' ? Object.values(o.data as Record<string, string>) : []))
      .flatMap((text) => YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj))
      .find((o) => o.kind === 'Job')!;
    expect(job.metadata.name).toMatch(/^hubble-generate-certs-[0-9a-f]{10}$/);
    expect(reapplyViolations(job)).toEqual([
      `Job kube-system/${job.metadata.name}: spec.selector is immutable`,
      `Job kube-system/${job.metadata.name}: spec.template is immutable`,
    ]);
  });

  test('the simulation keeps what the server keeps: a Service keeps its allocated cluster IP, a Namespace its finalizers', () => {
    const service: Obj = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { ports: [{ port: 80 }], selector: { a: 'b' } } };
    expect(reapplyViolations(service)).toEqual([]);
    expect(reapplyViolations({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } })).toEqual([]);
    // A Service whose payload names another cluster IP than the live one fails like the API server does.
    expect(reapplyViolations({ ...service, spec: { ...service.spec, clusterIP: '10.96.0.99' } })).toEqual(['Service n/s: spec.clusterIP is immutable']);
  });

  test('the merge patch nulls what the payload omits and replaces arrays whole (RFC 7386)', () => {
    const live = { a: 1, b: { c: 2, d: 3 }, e: [1, 2] };
    const patch = createMergePatch(live, { a: 1, b: { c: 2 }, e: [1] });
    expect(patch).toEqual({ b: { d: null }, e: [1] });
    expect(applyMergePatch(live, patch!)).toEqual({ a: 1, b: { c: 2 }, e: [1] });
  });

  describe.each([
    ['default values (Hubble on)', {}],
    ['Hubble off', { cilium: { hubble: false } }],
  ])('%s', (_name, overrides) => {
    const objects = homelabObjects(overrides);

    test('every object of every Reconcile payload survives a re-apply', () => {
      const reconciled = payloads(objects, 'Reconcile');
      expect([...reconciled.keys()].sort()).toEqual([
        expect.stringMatching(/^(cilium-[0-9a-f]{10}): \1$/), expect.stringMatching(/^(talos-ccm-[0-9a-f]{10}): \1$/),
      ]);
      const violations = [...reconciled.values()].flat().flatMap(reapplyViolations);
      expect(violations).toEqual([]);
    });

    test('no Reconcile payload holds a Job: one-shot Jobs are created once, by an ApplyOnce resource set', () => {
      expect([...payloads(objects, 'Reconcile').values()].flat().filter((o) => o.kind === 'Job')).toEqual([]);
    });
  });
});
