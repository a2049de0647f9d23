import { all, homelabObjects } from '../util';

describe('ProxmoxMachineTemplate', () => {
  const templates = all(homelabObjects(), 'ProxmoxMachineTemplate');

  test('snapshot', () => {
    expect(templates).toMatchSnapshot();
  });

  test('one for the control plane, one per pool', () => {
    expect(templates.map((t) => t.metadata.name.replace(/-[0-9a-f]{8}$/, ''))).toEqual(['homelab-control-plane', 'homelab-default']);
  });

  test.each(['homelab-control-plane', 'homelab-default'])('%s: skips the cloud-init check and injects the providerID', (prefix) => {
    const spec = templates.find((t) => t.metadata.name.startsWith(prefix))!.spec.template.spec;
    expect(spec.checks.skipCloudInitStatus).toBe(true);
    expect(spec.metadataSettings).toEqual({ providerIDInjection: true });
  });

  test('clones the template VM fully, sized as asked, NIC on the bridge', () => {
    const cp = templates[0].spec.template.spec;
    expect(cp).toMatchObject({ sourceNode: 'K8S0', templateID: 8700, full: true, numSockets: 1, numCores: 2, memoryMiB: 4096 });
    expect(cp.disks).toEqual({ bootVolume: { disk: 'scsi0', sizeGb: 20 } });
    expect(cp.network).toEqual({ networkDevices: [{ name: 'net0', bridge: 'vmbr0', model: 'virtio', defaultIPv4: true }] });
    expect(templates[1].spec.template.spec).toMatchObject({ numCores: 2, memoryMiB: 8192, disks: { bootVolume: { disk: 'scsi0', sizeGb: 40 } } });
  });

  test('waits for the QEMU agent only when the image has it', () => {
    expect(templates[0].spec.template.spec.checks.skipQemuGuestAgent).toBe(false);
    const noAgent = all(homelabObjects({ talos: { extensions: [] } }), 'ProxmoxMachineTemplate');
    for (const t of noAgent) expect(t.spec.template.spec.checks).toEqual({ skipCloudInitStatus: true, skipQemuGuestAgent: true });
  });

  test('name is content-addressed: a different schematic gives a different template name', () => {
    const noAgent = all(homelabObjects({ talos: { extensions: [] } }), 'ProxmoxMachineTemplate');
    expect(noAgent[0].metadata.name).not.toBe(templates[0].metadata.name);
  });
});
