import { CelValidator, isTransitionRule, toCel } from '../../lib/gate/cel';
import { all, homelabObjects, one } from '../util';

describe('CelValidator', () => {
  const cel = new CelValidator();
  const objects = homelabObjects();

  test('the homelab objects satisfy every CEL rule of their CRDs', () => {
    expect(objects.filter((o) => o.apiVersion !== 'v1').flatMap((o) => cel.validate(o))).toEqual([]);
  });

  test('integers become CEL ints and objects maps, following the schema', () => {
    const schema = { type: 'object', properties: { port: { type: 'integer' }, ratio: { type: 'number' } } };
    expect(toCel({ port: 6443, ratio: 0.5 }, schema)).toEqual(new Map<string, unknown>([['port', 6443n], ['ratio', 0.5]]));
  });

  test('fails: ProxmoxCluster endpoint port out of range', () => {
    const pc = structuredClone(one(objects, 'ProxmoxCluster'));
    pc.spec.controlPlaneEndpoint.port = 70000;
    expect(cel.validate(pc)).toEqual([{
      object: 'ProxmoxCluster default/homelab',
      field: 'spec.controlPlaneEndpoint',
      message: 'port must be within 1-65535 [CEL: self.port > 0 && self.port < 65536]',
    }]);
  });

  test('fails: ProxmoxCluster without any IP config', () => {
    const pc = structuredClone(one(objects, 'ProxmoxCluster'));
    delete pc.spec.ipv4Config;
    expect(cel.validate(pc).map((v) => `${v.field}: ${v.message}`)).toEqual([
      'spec: at least one ip config must be set, either ipv4Config or ipv6Config (evaluation error: field not found: ipv4Config) [CEL: self.ipv4Config != null || self.ipv6Config != null]',
    ]);
  });

  test('fails: machine template without templateID or templateSelector', () => {
    const pmt = structuredClone(all(objects, 'ProxmoxMachineTemplate')[0]);
    delete pmt.spec.template.spec.templateID;
    expect(cel.validate(pmt).map((v) => `${v.field}: ${v.message}`)).toEqual([
      'spec.template.spec: Must specify either templateID or templateSelector [CEL: has(self.templateSelector) || (has(self.templateID) && has(self.sourceNode))]',
    ]);
  });

  test('fails: MachineDeployment taint key too long (string extension functions)', () => {
    const md = structuredClone(one(objects, 'MachineDeployment'));
    md.spec.template.spec.taints = [{ key: `example.com/${'k'.repeat(64)}`, effect: 'NoSchedule', propagation: 'Always' }];
    expect(cel.validate(md).map((v) => v.field)).toEqual(['spec.template.spec.taints[0].key']);
  });

  test('rules with oldSelf are update-only and skipped at synth', () => {
    expect(isTransitionRule('self == oldSelf')).toBe(true);
    expect(isTransitionRule('self.port > 0')).toBe(false);
    // bootVolume carries `self == oldSelf`; a create never fails it
    const pmt = structuredClone(all(objects, 'ProxmoxMachineTemplate')[0]);
    pmt.spec.template.spec.disks.bootVolume.sizeGb = 500;
    expect(cel.validate(pmt)).toEqual([]);
  });
});
