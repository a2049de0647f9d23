import { TalosPatchValidator } from '../../lib/gate/talos-patches';
import { homelabObjects, one } from '../util';

describe('TalosPatchValidator', () => {
  const talos = new TalosPatchValidator();
  const objects = homelabObjects();
  const tcp = one(objects, 'TalosControlPlane');
  const tct = one(objects, 'TalosConfigTemplate');
  const withPatches = (patches: string[], version = 'v1.13.9') => {
    const copy = structuredClone(tcp);
    copy.spec.controlPlaneConfig.controlplane.strategicPatches = patches;
    copy.spec.controlPlaneConfig.controlplane.talosVersion = version;
    return copy;
  };

  test('the homelab patches are valid Talos v1.13 and v1.12 machine config', () => {
    expect(talos.validate(tcp)).toEqual([]);
    expect(talos.validate(tct)).toEqual([]);
    expect(talos.validate(one(homelabObjects({ talos: { version: 'v1.12.11' } }), 'TalosControlPlane'))).toEqual([]);
  });

  test('fails on an unknown machine-config field', () => {
    expect(talos.validate(withPatches(['machine:\n  instal:\n    image: x\n']))).toEqual([{
      object: 'TalosControlPlane default/homelab-control-plane',
      field: 'spec.controlPlaneConfig.controlplane.strategicPatches[0]: machine.instal',
      message: 'unknown field in a Talos v1.13 v1alpha1 document',
    }]);
  });

  test('fails on a wrong type', () => {
    expect(talos.validate(withPatches(['cluster:\n  proxy:\n    disabled: "yes"\n'])).map((v) => `${v.field}: ${v.message}`)).toEqual([
      'spec.controlPlaneConfig.controlplane.strategicPatches[0]: cluster.proxy.disabled: must be boolean (Talos v1.13 machine-config schema)',
    ]);
  });

  test('fails on an unknown document kind and on document fields', () => {
    expect(talos.validate(withPatches(['apiVersion: v1alpha1\nkind: Layer3VIPConfig\nname: 1.2.3.4\n'])).map((v) => `${v.field}: ${v.message}`)).toEqual([
      'spec.controlPlaneConfig.controlplane.strategicPatches[0].kind: "Layer3VIPConfig" is not a Talos v1.13 machine-config document kind',
    ]);
    expect(talos.validate(withPatches(['apiVersion: v1alpha1\nkind: Layer2VIPConfig\nname: 1.2.3.4\ninterface: eth0\n'])).map((v) => v.field)).toEqual([
      'spec.controlPlaneConfig.controlplane.strategicPatches[0]: interface',
    ]);
  });

  test('fails on JSON6902 configPatches for Talos >= 1.12', () => {
    const copy = withPatches([]);
    copy.spec.controlPlaneConfig.controlplane.configPatches = [{ op: 'add', path: '/machine/install/image', value: 'x' }];
    expect(talos.validate(copy).map((v) => `${v.field}: ${v.message}`)).toEqual([
      'spec.controlPlaneConfig.controlplane.configPatches: JSON6902 patches are not supported for multi-document machine configuration (Talos >= 1.12); use strategicPatches',
    ]);
  });

  test('fails when talosVersion is missing or has no schema', () => {
    expect(talos.validate(withPatches([], '')).map((v) => v.message)).toEqual(['"" must be set explicitly to a Talos version like v1.13.9']);
    expect(talos.validate(withPatches([], 'v1.9.0'))[0].message).toMatch(/^v1\.9\.0: no machine-config schema for Talos v1\.9/);
  });

  test('fails on a patch that is not YAML', () => {
    expect(talos.validate(withPatches(['machine: [unclosed\n']))[0].message).toMatch(/^is not valid YAML: /);
  });
});
