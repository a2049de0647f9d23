import { goPatternToJs } from '../../lib/gate/compiled';
import { CrdSchemaValidator, strictSchema } from '../../lib/gate/crd-schema';
import { homelabObjects, one } from '../util';

describe('CrdSchemaValidator', () => {
  const validator = new CrdSchemaValidator();
  const objects = homelabObjects();

  test('strictSchema closes objects unless they preserve unknown fields, and maps nullable', () => {
    expect(strictSchema({ type: 'object', properties: { a: { type: 'string', nullable: true } } }))
      .toEqual({ type: 'object', properties: { a: { type: ['string', 'null'] } }, additionalProperties: false });
    expect(strictSchema({ type: 'object', properties: { a: { type: 'string' } }, 'x-kubernetes-preserve-unknown-fields': true }))
      .toEqual({ type: 'object', properties: { a: { type: 'string' } } });
  });

  test('rejects an unknown field, naming object and field', () => {
    const md = structuredClone(one(objects, 'MachineDeployment'));
    md.spec.template.spec.bootstrap.configRef.apiVersion = 'bootstrap.cluster.x-k8s.io/v1alpha3';
    expect(validator.validate(md)).toEqual([{
      object: 'MachineDeployment default/homelab-default',
      field: 'spec.template.spec.bootstrap.configRef.apiVersion',
      message: 'unknown field (not in the CRD schema)',
    }]);
  });

  test('rejects wrong types, enum values and missing required fields', () => {
    const pmt = structuredClone(one(objects, 'ProxmoxMachineTemplate', objects.find((o) => o.kind === 'ProxmoxMachineTemplate')!.metadata.name));
    pmt.spec.template.spec.numCores = '2';
    pmt.spec.template.spec.network.networkDevices[0].model = 'e1001';
    delete pmt.spec.template.spec.metadataSettings.providerIDInjection;
    const fields = validator.validate(pmt).map((v) => `${v.field}: ${v.message}`);
    expect(fields).toEqual(expect.arrayContaining([
      'spec.template.spec.numCores: must be integer',
      'spec.template.spec.network.networkDevices[0].model: must be equal to one of the allowed values ["e1000","virtio","rtl8139","vmxnet3"]',
      'spec.template.spec.metadataSettings: must have required property \'providerIDInjection\'',
    ]));
  });

  test('rejects kinds and versions it has no CRD schema for', () => {
    const cluster = { ...one(objects, 'Cluster'), apiVersion: 'cluster.x-k8s.io/v1beta1' };
    expect(validator.validate(cluster)[0].message).toMatch(/^no CRD schema for cluster\.x-k8s\.io\/v1beta1 Cluster/);
  });

  test('Go patterns with a case-insensitive flag become JavaScript patterns', () => {
    // from the Cluster v1beta2 schema
    const js = goPatternToJs('^(?i)[a-z0-9_][a-z0-9_\\-\\+\\.]*$');
    expect(js).toBe('^[a-zA-Z0-9_][a-zA-Z0-9_\\-\\+\\.]*$');
    const re = new RegExp(js, 'u');
    expect(re.test('My_Var.1')).toBe(true);
    expect(re.test('-x')).toBe(false);
    expect(goPatternToJs('(?i)ab[c]')).toBe('[aA][bB][cC]');
    expect(goPatternToJs('^[a-z]+$')).toBe('^[a-z]+$');
    expect(validator.knows({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster' })).toBe(true);
  });
});
