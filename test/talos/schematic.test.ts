import { QEMU_GUEST_AGENT_EXTENSION, Schematic } from '../../lib/talos/schematic';

describe('Schematic', () => {
  test('qemu-guest-agent schematic has the Image Factory ID of the seeds\' image', () => {
    const s = new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] });
    expect(s.id).toBe('ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515');
  });

  test('empty schematic has the Image Factory ID of the vanilla image', () => {
    expect(new Schematic().id).toBe('376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba');
    expect(new Schematic({ officialExtensions: [], extraKernelArgs: [] }).id).toBe('376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba');
  });

  test('serializes like the Image Factory: 4-space indent, kernel args before extensions, empty fields omitted', () => {
    const s = new Schematic({ officialExtensions: ['siderolabs/iscsi-tools'], extraKernelArgs: ['net.ifnames=0'] });
    expect(s.toYaml()).toBe([
      'customization:',
      '    extraKernelArgs:',
      '        - net.ifnames=0',
      '    systemExtensions:',
      '        officialExtensions:',
      '            - siderolabs/iscsi-tools',
      '',
    ].join('\n'));
    expect(new Schematic({ extraKernelArgs: ['a=b'] }).toYaml()).not.toContain('systemExtensions');
  });

  test('extension order is part of the ID', () => {
    const a = new Schematic({ officialExtensions: ['siderolabs/a', 'siderolabs/b'] });
    const b = new Schematic({ officialExtensions: ['siderolabs/b', 'siderolabs/a'] });
    expect(a.id).not.toBe(b.id);
  });

  test('installer image is the nocloud installer of the schematic at the Talos version', () => {
    const s = new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] });
    expect(s.installerImage('v1.13.9')).toBe('factory.talos.dev/nocloud-installer/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.13.9');
    expect(s.diskImageUrl('v1.13.9')).toBe('https://factory.talos.dev/image/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515/v1.13.9/nocloud-amd64.raw.xz');
  });

  test('hasExtension', () => {
    const s = new Schematic({ officialExtensions: [QEMU_GUEST_AGENT_EXTENSION] });
    expect(s.hasExtension(QEMU_GUEST_AGENT_EXTENSION)).toBe(true);
    expect(s.hasExtension('siderolabs/iscsi-tools')).toBe(false);
  });
});
