/**
 * A small cdk8s app of another project: it knows cdk8s-talos-proxmox only as an installed package.
 * .ci/check-package installs the packed tarball here, type-checks this file and runs it offline.
 */
import { App, Chart, JsonPatch } from 'cdk8s';
import { TalosCluster, ValidationError, capi } from 'cdk8s-talos-proxmox';

const app = new App({ outdir: 'out' });
// The template VM, with the image it holds (release and Image Factory schematic) and its storage.
const template = {
  sourceNode: 'pve1', templateId: 8700,
  image: { talosVersion: 'v1.13.9', schematic: 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515' },
  storage: { name: 'local-lvm', shared: false },
};
const chart = new Chart(app, 'edge', { disableResourceNameHashes: true });

const cluster = new TalosCluster(chart, 'Cluster', {
  name: 'edge',
  network: { endpoint: '10.0.0.30', addresses: ['10.0.0.20-10.0.0.29'], prefix: 24, gateway: '10.0.0.1', dnsServers: ['10.0.0.1'] },
  proxmox: { allowedNodes: ['pve1'], template, isoStorage: 'local' },
  controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20 },
  workers: [{ name: 'default', replicas: 2, cores: 2, memoryMiB: 8192, diskGiB: 40 }],
});

// Escape hatch: the primary child is the CAPI Cluster L1 object.
const l1 = cluster.node.defaultChild as capi.Cluster;
l1.addJsonPatch(JsonPatch.add('/metadata/annotations', { 'consumer.example.com/escape-hatch': 'json-patch' }));

app.synth();

// The installed constructs check their props like the repository's synth does, extension names
// against the shipped official lists included: a typo is a ValidationError with the prop path.
try {
  new TalosCluster(new Chart(new App({ outdir: 'out-invalid' }), 'typo'), 'Cluster', {
    name: 'typo',
    talos: { extensions: ['siderolabs/qemu-guest-agnet'] },
    network: { endpoint: '10.0.1.30', addresses: ['10.0.1.20-10.0.1.29'], prefix: 24, gateway: '10.0.1.1', dnsServers: ['10.0.1.1'] },
    proxmox: { allowedNodes: ['pve1'], template, isoStorage: 'local' },
    controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20 },
  });
  throw new Error('an unknown extension was accepted');
} catch (e) {
  if (!(e instanceof ValidationError) || !e.message.includes('did you mean "siderolabs/qemu-guest-agent"')) throw e;
}
