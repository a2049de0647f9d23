import { ApiObject, JsonPatch } from 'cdk8s';
import { TalosCluster } from '../../lib';
import { OutputGate, OutputGateError } from '../../lib/gate/gate';
import { homelabObjects, homelabProps, newChart, synth } from '../util';

describe('OutputGate', () => {
  const gate = new OutputGate();

  test('context objects take part in the references only: a shared render checked once, then used by another cluster', () => {
    const objects = homelabObjects();
    const isRender = (o: { kind: string }) => o.kind === 'ConfigMap' || o.kind === 'ClusterResourceSet';
    const own = objects.filter((o) => !isRender(o));
    const renders = objects.filter(isRender);
    // Without the renders the cluster's objects are fine; the renders alone select no Cluster.
    expect(gate.violations(own)).toEqual([]);
    expect(gate.violations(renders).map((v) => v.field)).toEqual(Array(3).fill('spec.clusterSelector'));
    expect(gate.violations(renders, own)).toEqual([]);
    // A render given as context is not checked itself: a broken one shows only where it is checked.
    const broken = renders.map((o) => (o.kind === 'ConfigMap' ? { ...o, metadata: { ...o.metadata, name: 'Not_A_Name' } } : o));
    expect(gate.violations(own, broken).map((v) => v.field)).toEqual(Array(3).fill('spec.resources[0]'));
    expect(gate.objectViolations(broken).map((v) => v.field)).toEqual(Array(3).fill('metadata.name'));
  });

  test('an escape-hatch edit that the API server would reject is caught, naming object, field and rule', () => {
    const chart = newChart();
    const cluster = new TalosCluster(chart, 'Cluster', homelabProps());
    const pool = cluster.addWorkerPool('Default', { name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 });
    (pool.machineTemplate.node.defaultChild as ApiObject).addJsonPatch(
      JsonPatch.add('/spec/template/spec/format', 'qcow2'),
      JsonPatch.replace('/spec/template/spec/full', false),
    );
    let error: unknown;
    try {
      gate.check('clusters/homelab.yaml', synth(chart));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutputGateError);
    expect((error as Error).message.split('\n')).toEqual([
      `clusters/homelab.yaml: ProxmoxMachineTemplate default/${pool.machineTemplate.name}: spec.template.spec: Must set full=true when specifying format [CEL: self.full || !has(self.format)]`,
    ]);
  });

  test('an unknown field in a hand-made object is caught before its CEL rules run', () => {
    const chart = newChart();
    new TalosCluster(chart, 'Cluster', homelabProps());
    const objects = synth(chart);
    const tcp = objects.find((o) => o.kind === 'TalosControlPlane')!;
    tcp.spec.replicass = 3;
    expect(gate.violations(objects).map((v) => `${v.object}: ${v.field}: ${v.message}`)).toEqual([
      'TalosControlPlane default/homelab-control-plane: spec.replicass: unknown field (not in the CRD schema)',
    ]);
  });

  test('a valid output passes', () => {
    const chart = newChart();
    new TalosCluster(chart, 'Cluster', homelabProps());
    expect(() => gate.check('x', synth(chart))).not.toThrow();
  });
});
