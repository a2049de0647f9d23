import { formatDiagnostic } from '../../lib/core/errors';
import { ownedFieldProblems, patchDocuments, patchesAnnotation, serializePatch, TalosPatch } from '../../lib/talos/patches';

/** The messages of a list of patches: parse problems, then owned and secret fields. */
function problems(patches: TalosPatch[]): string[] {
  const { documents, problems: parse } = patchDocuments(patches, 'talos.patches');
  return [...parse, ...documents.flatMap(ownedFieldProblems)].map(formatDiagnostic);
}

describe('Talos patches (lib/talos/patches.ts)', () => {
  test('objects are one document each; YAML text may hold several, each with its file and index', () => {
    const { documents, problems: none } = patchDocuments([
      { machine: { sysctls: { 'vm.max_map_count': '262144' } } },
      { yaml: 'apiVersion: v1alpha1\nkind: TimeSyncConfig\nntp: { servers: [time.cloudflare.com] }\n---\nmachine:\n  kernel: { modules: [{ name: nvidia }] }\n', file: 'clusters/patches/gpu.yaml' },
    ], 'talos.patches');
    expect(none).toEqual([]);
    expect(documents.map((d) => [d.path, d.text?.file, d.text?.index])).toEqual([
      ['talos.patches[0]', undefined, undefined],
      ['talos.patches[1]', 'clusters/patches/gpu.yaml', 0],
      ['talos.patches[1]', 'clusters/patches/gpu.yaml', 1],
    ]);
    expect(serializePatch(documents[2])).toBe('machine:\n  kernel:\n    modules:\n      - name: nvidia\n');
  });

  test('YAML that does not parse, and documents that are not mappings, are refused with the file and line', () => {
    expect(problems([{ yaml: 'machine:\n  sysctls: [unclosed\n', file: 'clusters/patches/x.yaml' }])).toEqual([
      expect.stringMatching(/^talos\.patches\[0\] is not valid YAML \(clusters\/patches\/x\.yaml:\d+\): [A-Z_]+$/),
    ]);
    expect(problems([{ yaml: 'machine: {}\n---\n- a list\n', file: 'clusters/patches/x.yaml' }])).toEqual([
      'talos.patches[0] document 2 (clusters/patches/x.yaml:3) must be a mapping (a partial machine config or a config document)',
    ]);
    expect(problems(['text' as unknown as TalosPatch])).toEqual([
      'talos.patches[0] must be a patch: a mapping (a partial machine config or a config document) or a file',
    ]);
  });

  test.each([
    [{ machine: { install: { image: 'ghcr.io/siderolabs/installer:v1.13.9' } } }, 'machine.install.image', 'talos.version, talos.extensions and extraKernelArgs'],
    [{ machine: { network: { interfaces: [{ interface: 'eth0', vip: { ip: '10.0.0.9' } }] } } }, 'machine.network.interfaces', 'network (node addresses'],
    [{ cluster: { network: { cni: { name: 'flannel' } } } }, 'cluster.network.cni', 'cilium (Cilium is the CNI)'],
    [{ cluster: { proxy: { disabled: false } } }, 'cluster.proxy', 'cilium (Cilium replaces kube-proxy)'],
    [{ cluster: { externalCloudProvider: { enabled: false } } }, 'cluster.externalCloudProvider', undefined],
    [{ machine: { features: { kubernetesTalosAPIAccess: { enabled: false } } } }, 'machine.features.kubernetesTalosAPIAccess', undefined],
    [{ machine: { nodeLabels: { zone: 'a' } } }, 'machine.nodeLabels', 'workers[].labels'],
    [{ machine: { nodeTaints: { gpu: 'true:NoSchedule' } } }, 'machine.nodeTaints', 'workers[].taints'],
    [{ machine: { kubelet: { extraArgs: { 'register-with-taints': 'a=b:NoSchedule' } } } }, 'machine.kubelet.extraArgs.register-with-taints', 'workers[].taints'],
    [{ machine: { kubelet: { nodeIP: { validSubnets: ['10.0.0.0/8'] } } } }, 'machine.kubelet.nodeIP', 'network (the node IP stays on the primary network)'],
    [{ cluster: { etcd: { advertisedSubnets: ['10.0.0.0/8'] } } }, 'cluster.etcd.advertisedSubnets', 'network (etcd stays on the primary network)'],
    [{ cluster: { network: { podSubnets: ['10.1.0.0/16'] } } }, 'cluster.network.podSubnets', 'network.podCidrs'],
    [{ cluster: { controlPlane: { localAPIServerPort: 7443 } } }, 'cluster.controlPlane.localAPIServerPort', 'network.endpointPort'],
  ])('an owned field is refused with the field to use instead: %#', (patch, field, instead) => {
    const [message] = problems([patch]);
    expect(message).toContain(instead === undefined
      ? `talos.patches[0].${field} is owned by the project and cannot be changed: the Talos CCM`
      : `talos.patches[0].${field} is owned by the project: a patch may not set it; use ${instead}`);
  });

  test('owned documents: the VIP, the hostname, the resolver, the primary link; other links are the user\'s', () => {
    expect(problems([{ apiVersion: 'v1alpha1', kind: 'Layer2VIPConfig', name: '10.0.0.9', link: 'eth0' }])).toEqual([
      'talos.patches[0] sets a Layer2VIPConfig document, which the project owns: use network.endpoint (the VIP document is the project\'s)',
    ]);
    expect(problems([{ apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'eth0', mtu: 9000 }])).toEqual([
      'talos.patches[0] sets a LinkConfig document, which the project owns: use network (CAPMOX configures the primary link\'s addresses and routes)',
    ]);
    expect(problems([{ apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'eth1', mtu: 9000 }])).toEqual([]);
    expect(problems([{ apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'node' }])).toEqual([
      'talos.patches[0] sets a HostnameConfig document, which the project owns and cannot be changed: every node takes its name from its VM',
    ]);
    expect(problems([{ apiVersion: 'v1alpha1', kind: 'ResolverConfig', nameservers: [{ address: '1.1.1.1' }] }])).toEqual([
      'talos.patches[0] sets a ResolverConfig document, which the project owns: use network.dnsServers (CAPMOX hands them to every node)',
    ]);
  });

  test('secrets are refused wherever they are: dist/ is committed', () => {
    expect(problems([
      { cluster: { aescbcEncryptionSecret: 'x' } },
      { yaml: 'apiVersion: v1alpha1\nkind: RegistryAuthConfig\nname: ghcr.io\nusername: me\npassword: hunter2\n', file: 'clusters/patches/auth.yaml' },
    ])).toEqual([
      expect.stringMatching(/^talos\.patches\[0\]\.cluster\.aescbcEncryptionSecret is a secret: dist\/ is committed/),
      expect.stringMatching(/^talos\.patches\[1\]\.password is a secret \(clusters\/patches\/auth\.yaml:5\): dist\/ is committed/),
    ]);
    // The message never echoes the secret.
    expect(problems([{ yaml: 'apiVersion: v1alpha1\nkind: RegistryAuthConfig\nname: r\npassword: hunter2\n', file: 'f' }]).join('\n')).not.toContain('hunter2');
  });

  test('an owned field in a file names the file and line', () => {
    expect(problems([{ yaml: '# registry settings\nmachine:\n  install:\n    image: x\n', file: 'clusters/patches/bad.yaml' }])).toEqual([
      expect.stringMatching(/^talos\.patches\[0\]\.machine\.install\.image is owned by the project \(clusters\/patches\/bad\.yaml:4\): /),
    ]);
  });

  test('the annotation lists each patch with a hash of its content, and nothing without patches', () => {
    const { documents } = patchDocuments([{ machine: { sysctls: { a: '1' } } }, { machine: { sysctls: { a: '2' } } }], 'talos.patches');
    expect(patchesAnnotation(documents)).toMatch(/^talos\.patches\[0\]=[0-9a-f]{8},talos\.patches\[1\]=[0-9a-f]{8}$/);
    expect(patchesAnnotation([])).toBeUndefined();
  });
});
