import { selectorMatches } from '../../lib/core/selectors';
import { referenceViolations } from '../../lib/gate/references';
import { addon, all, homelabObjects, one, Obj } from '../util';

const objects = homelabObjects();
const edit = (kind: string, fn: (o: Obj) => void, name?: string): Obj[] => objects.map((o) => {
  if (o.kind !== kind || (name !== undefined && o.metadata.name !== name)) return o;
  const copy = structuredClone(o);
  fn(copy);
  return copy;
});
const messages = (objs: Obj[]) => referenceViolations(objs).map((v) => `${v.object}: ${v.field}: ${v.message}`);

describe('references and selectors', () => {
  test('the homelab output resolves completely', () => {
    expect(messages(objects)).toEqual([]);
  });

  test('fails when the Cluster references a missing ProxmoxCluster', () => {
    expect(messages(edit('Cluster', (c) => { c.spec.infrastructureRef.name = 'other'; }))).toEqual([
      'Cluster default/homelab: spec.infrastructureRef: references infrastructure.cluster.x-k8s.io ProxmoxCluster default/other, which is not in the output',
    ]);
  });

  test('fails when a reference has the wrong apiGroup', () => {
    expect(messages(edit('Cluster', (c) => { c.spec.controlPlaneRef.apiGroup = 'controlplane.cluster.x-k8s.io.example'; }))).toEqual([
      'Cluster default/homelab: spec.controlPlaneRef: references controlplane.cluster.x-k8s.io.example TalosControlPlane default/homelab-control-plane, which is not in the output',
    ]);
  });

  test('fails when the TalosControlPlane template lives in another namespace', () => {
    expect(messages(edit('TalosControlPlane', (t) => { t.spec.infrastructureTemplate.namespace = 'elsewhere'; }))[0])
      .toMatch(/^TalosControlPlane default\/homelab-control-plane: spec\.infrastructureTemplate: references infrastructure\.cluster\.x-k8s\.io\/v1alpha2 ProxmoxMachineTemplate elsewhere\/homelab-control-plane-[0-9a-f]{8}, which is not in the output$/);
  });

  test('fails when a MachineDeployment names a missing config template', () => {
    expect(messages(edit('MachineDeployment', (m) => { m.spec.template.spec.bootstrap.configRef.name = 'gone'; }))).toEqual([
      'MachineDeployment default/homelab-default: spec.template.spec.bootstrap.configRef: references bootstrap.cluster.x-k8s.io TalosConfigTemplate default/gone, which is not in the output',
    ]);
  });

  test('fails when a MachineDeployment selector does not match its machine labels', () => {
    expect(messages(edit('MachineDeployment', (m) => { m.spec.selector.matchLabels['cluster.x-k8s.io/deployment-name'] = 'x'; }))).toEqual([
      'MachineDeployment default/homelab-default: spec.selector: does not match spec.template.metadata.labels; the MachineDeployment would own none of its Machines',
    ]);
  });

  test('fails when a health check selects no machines', () => {
    expect(messages(edit('MachineHealthCheck', (m) => { m.spec.selector.matchLabels['cluster.x-k8s.io/deployment-name'] = 'nope'; }))).toEqual([
      'MachineHealthCheck default/homelab-default: spec.selector: selects no Machines of cluster homelab: it matches no MachineDeployment\'s machine labels and is not a control-plane selector',
    ]);
  });

  test('fails when two health checks select the same pool', () => {
    const extra = structuredClone(one(objects, 'MachineHealthCheck'));
    extra.metadata.name = 'homelab-default-2';
    expect(messages([...objects, extra])).toEqual([
      'MachineDeployment default/homelab-default: spec.template.metadata.labels: selected by 2 MachineHealthChecks (homelab-default, homelab-default-2); they must not overlap',
    ]);
  });

  test('fails when a resource set names a missing ConfigMap', () => {
    const crs = addon(objects, 'ClusterResourceSet', 'cilium').metadata.name;
    expect(messages(edit('ClusterResourceSet', (c) => { c.spec.resources[0].name = 'cilium'; }, crs))).toEqual([
      `ClusterResourceSet default/${crs}: spec.resources[0]: names ConfigMap default/cilium, which is not in the output (it must be in the resource set's namespace)`,
    ]);
  });

  test('fails when a resource set selects no Cluster', () => {
    const crs = addon(objects, 'ClusterResourceSet', 'cilium').metadata.name;
    expect(messages(edit('ClusterResourceSet', (c) => { c.spec.clusterSelector = { matchLabels: { cni: 'cilium' } }; }, crs))).toEqual([
      `ClusterResourceSet default/${crs}: spec.clusterSelector: selects no Cluster of the output in its namespace; its resources would never be applied`,
    ]);
    expect(all(objects, 'ClusterResourceSet')).toHaveLength(3);
  });

  test('label selector semantics', () => {
    const labels = { a: '1', b: '2' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '2' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches(undefined, labels)).toBe(false);
  });
});
