import { FleetDelivery, FluxDelivery, repositoryPath } from '../../lib/constructs/gitops';
import { OutputGate } from '../../lib/gate/gate';
import { one, synthWith } from '../util';

const repository = { url: 'https://git.example.com/infra.git', branch: 'live', secretName: 'git-auth' };
const clusters = [
  { clusterName: 'alpha', manifestsPath: 'dist/alpha', secretsPath: 'secrets/alpha' },
  { clusterName: 'beta', manifestsPath: 'dist/beta' },
];

describe('FluxDelivery', () => {
  const objects = synthWith((chart) => new FluxDelivery(chart, 'Flux', {
    name: 'fleet-of-clusters', repository, managementPath: 'dist/management/flux', clusters,
  }));

  test('one GitRepository on the branch, with the git credentials', () => {
    expect(one(objects, 'GitRepository').spec).toEqual({
      url: 'https://git.example.com/infra.git', ref: { branch: 'live' }, interval: '5m', secretRef: { name: 'git-auth' },
    });
  });

  test('a Kustomization per cluster path with prune, wait and a timeout long enough for a bring-up', () => {
    const beta = one(objects, 'Kustomization', 'beta');
    expect(beta.metadata.namespace).toBe('flux-system');
    expect(beta.spec).toEqual({
      interval: '5m', path: './dist/beta', prune: true, wait: true, timeout: '30m',
      sourceRef: { kind: 'GitRepository', name: 'fleet-of-clusters' },
    });
    // No post-build substitution: the embedded manifests stay byte-for-byte what synth wrote.
    expect(beta.spec.postBuild).toBeUndefined();
  });

  test('SOPS-encrypted credentials are applied first, decrypted with the age key', () => {
    const secrets = one(objects, 'Kustomization', 'alpha-secrets');
    expect(secrets.spec.path).toBe('./secrets/alpha');
    expect(secrets.spec.decryption).toEqual({ provider: 'sops', secretRef: { name: 'sops-age' } });
    expect(one(objects, 'Kustomization', 'alpha').spec.dependsOn).toEqual([{ name: 'alpha-secrets' }]);
    expect(objects.filter((o) => o.metadata.name === 'beta-secrets')).toEqual([]);
    expect(one(objects, 'Kustomization', 'beta').spec.dependsOn).toBeUndefined();
  });

  test('the management folder is applied by Flux itself, so new clusters need no kubectl', () => {
    expect(one(objects, 'Kustomization', 'fleet-of-clusters-management').spec).toMatchObject({
      path: './dist/management/flux', prune: true, wait: false,
    });
  });

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('passes the output gate (Flux CRD schemas and CEL rules)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });
});

describe('FleetDelivery', () => {
  const objects = synthWith((chart) => new FleetDelivery(chart, 'Fleet', {
    name: 'fleet-of-clusters', repository, managementPath: 'dist/management/fleet', clusters,
  }));

  test('snapshot', () => {
    expect(objects).toMatchSnapshot();
  });

  test('a GitRepo per cluster in fleet-local, deleting what leaves git', () => {
    const alpha = one(objects, 'GitRepo', 'alpha');
    expect(alpha.metadata.namespace).toBe('fleet-local');
    expect(alpha.spec).toEqual({
      repo: 'https://git.example.com/infra.git', branch: 'live', paths: ['dist/alpha'],
      pollingInterval: '5m', keepResources: false, clientSecretName: 'git-auth',
    });
    expect(one(objects, 'GitRepo', 'fleet-of-clusters-management').spec.paths).toEqual(['dist/management/fleet']);
  });

  test('passes the output gate (Fleet CRD schema)', () => {
    expect(new OutputGate().violations(objects)).toEqual([]);
  });
});

test('repository paths honour the project folder inside the repository', () => {
  expect(repositoryPath('', 'dist/homelab')).toBe('dist/homelab');
  expect(repositoryPath('infra/clusters', 'dist/homelab')).toBe('infra/clusters/dist/homelab');
});
