import * as YAML from 'yaml';
import { controlPlaneStrategicPatches, workerStrategicPatches } from '../../lib/talos/machine-config';

const IMAGE = 'factory.talos.dev/nocloud-installer/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.13.9';
const parse = (patches: string[]) => patches.map((p) => YAML.parse(p));

describe('control-plane patches', () => {
  const patches = parse(controlPlaneStrategicPatches({ talosVersion: 'v1.13.9', installImage: IMAGE, vip: '192.168.0.30' }));

  test('Talos >= 1.12: VIP is a Layer2VIPConfig document on eth0, not an interface vip', () => {
    expect(patches).toContainEqual({ apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: '192.168.0.30', link: 'eth0' });
    expect(patches[0].machine.network).toBeUndefined();
  });

  test('Talos <= 1.11: VIP on interface eth0 in the v1alpha1 document', () => {
    const old = parse(controlPlaneStrategicPatches({ talosVersion: 'v1.11.5', installImage: IMAGE, vip: '192.168.0.30' }));
    expect(old).toHaveLength(1);
    expect(old[0].machine.network.interfaces).toEqual([{ interface: 'eth0', vip: { ip: '192.168.0.30' } }]);
  });

  test('the API server port goes into cluster.controlPlane.localAPIServerPort when it is not 6443 (STACK.md §9.6)', () => {
    const on = (apiServerPort?: number) => parse(controlPlaneStrategicPatches({ talosVersion: 'v1.13.9', installImage: IMAGE, vip: '192.168.0.30', apiServerPort }));
    expect(on(8443)[0].cluster.controlPlane).toEqual({ localAPIServerPort: 8443 });
    expect(on(6443)[0].cluster.controlPlane).toBeUndefined();
    expect(on(undefined)[0].cluster.controlPlane).toBeUndefined();
    expect(on(6443)).toEqual(patches);
  });

  test('CNI none, kube-proxy disabled, external cloud provider, nocloud installer', () => {
    expect(patches[0].cluster.network.cni.name).toBe('none');
    expect(patches[0].cluster.proxy.disabled).toBe(true);
    expect(patches[0].cluster.externalCloudProvider.enabled).toBe(true);
    expect(patches[0].machine.install.image).toBe(IMAGE);
  });

  test('Talos API access for the CCM: os:reader in kube-system', () => {
    expect(patches[0].machine.features.kubernetesTalosAPIAccess).toEqual({
      enabled: true, allowedRoles: ['os:reader'], allowedKubernetesNamespaces: ['kube-system'],
    });
  });

  test('kubelet serving certificates rotate (approved by the CCM)', () => {
    expect(patches[0].machine.kubelet.extraArgs['rotate-server-certificates']).toBe('true');
  });

  test('no node addresses, hostnames or interface addressing in patches', () => {
    const text = controlPlaneStrategicPatches({ talosVersion: 'v1.13.9', installImage: IMAGE, vip: '192.168.0.30' }).join('\n');
    expect(text).not.toMatch(/addresses|hostname|routes|nameservers|192\.168\.0\.2\d/);
  });
});

describe('worker patches', () => {
  const patches = parse(workerStrategicPatches({ talosVersion: 'v1.13.9', installImage: IMAGE }));

  test('external cloud provider, CNI none, proxy disabled, installer image; no VIP and no Talos API access', () => {
    expect(patches).toHaveLength(1);
    expect(patches[0].cluster.externalCloudProvider.enabled).toBe(true);
    expect(patches[0].cluster.network.cni.name).toBe('none');
    expect(patches[0].cluster.proxy.disabled).toBe(true);
    expect(patches[0].machine.install.image).toBe(IMAGE);
    expect(patches[0].machine.features).toBeUndefined();
    expect(JSON.stringify(patches)).not.toContain('Layer2VIPConfig');
  });
});
