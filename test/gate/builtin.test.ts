import { builtinViolations, MAX_OBJECT_BYTES } from '../../lib/gate/builtin';

describe('built-in object checks', () => {
  const cm = (name: string, data: Record<string, string> = {}, namespace = 'default') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });

  test('accepts DNS-1123 names and small objects', () => {
    expect(builtinViolations(cm('homelab-cilium', { a: 'b' }))).toEqual([]);
  });

  test('fails on a name that is not a DNS-1123 subdomain', () => {
    expect(builtinViolations(cm('Homelab_Cilium'))).toEqual([{
      object: 'ConfigMap default/Homelab_Cilium', field: 'metadata.name',
      message: '"Homelab_Cilium" must be a DNS-1123 subdomain (lower case, digits, "-" and ".", at most 253 characters)',
    }]);
  });

  test('fails on a namespace that is not a DNS-1123 label', () => {
    expect(builtinViolations(cm('x', {}, 'my.namespace'))[0].field).toBe('metadata.namespace');
  });

  test('fails on a ConfigMap over 1 MiB', () => {
    const [v] = builtinViolations(cm('big', { 'big.yaml': 'x'.repeat(MAX_OBJECT_BYTES) }));
    expect(v.field).toBe('data');
    expect(v.message).toMatch(/^the object is \d+ bytes; Kubernetes accepts at most 1048576$/);
  });
});
