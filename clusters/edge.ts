// A cluster written in TypeScript. `npm run synth` picks up clusters/<name>.ts beside the YAML
// files: the default export builds one TalosCluster in the scope it is given, and its output goes
// through the same checks and gate into dist/edge/. The props are the fields of clusters/*.yaml.
import { ClusterDefinition, TalosCluster } from '../lib';

const RACKS = ['a', 'b'];

const edge: ClusterDefinition = (scope) => new TalosCluster(scope, 'Cluster', {
  name: 'edge',
  network: {
    endpoint: '192.168.10.30',
    addresses: ['192.168.10.20-192.168.10.29'],
    prefix: 24,
    gateway: '192.168.10.1',
    dnsServers: ['192.168.10.1'],
  },
  proxmox: {
    allowedNodes: ['K8S0', 'K8S1', 'K8S2'],
    // On storage every node reaches (Ceph RBD), so CAPMOX may clone it on any of the three.
    template: {
      sourceNode: 'K8S0',
      templateId: 8710,
      image: { talosVersion: 'v1.13.9', schematic: 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515' },
      storage: { name: 'ceph-vm', shared: true },
    },
    isoStorage: 'local',
    credentialsSecret: 'edge-proxmox',
  },
  controlPlane: { cores: 2, memoryMiB: 4096, diskGiB: 20 },
  // One pool per rack, each labelled with its rack.
  workers: RACKS.map((rack) => ({
    name: `rack-${rack}`, replicas: 1, cores: 4, memoryMiB: 8192, diskGiB: 40, labels: { 'example.com/rack': rack },
  })),
});

export default edge;
