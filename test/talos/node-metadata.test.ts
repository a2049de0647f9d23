import { nodeLabelProblems, nodeTaintProblems, routeNodeLabels, TaintEffect, taintString } from '../../lib/talos/node-metadata';

describe('node labels', () => {
  test('role labels go through Cluster API, the rest are set by the node', () => {
    expect(routeNodeLabels({ 'node-role.kubernetes.io/storage': '', 'example.com/tier': 'gold', 'zone.node.cluster.x-k8s.io/rack': 'a1' })).toEqual({
      machine: { 'node-role.kubernetes.io/storage': '', 'zone.node.cluster.x-k8s.io/rack': 'a1' },
      node: { 'example.com/tier': 'gold' },
    });
  });

  test('fails on labels nobody can set on a node, and on bad syntax', () => {
    expect(nodeLabelProblems({ 'kubernetes.io/role': 'x' }, 'labels').map((p) => `${p.path} ${p.message}`)).toEqual([
      expect.stringMatching(/^labels\.kubernetes\.io\/role cannot be set: NodeRestriction forbids a node to set labels under kubernetes\.io or k8s\.io/),
    ]);
    expect(nodeLabelProblems({ 'node.kubernetes.io/pool': 'big', 'topology.kubernetes.io/zone': 'z1' }, 'labels')).toEqual([]);
    expect(nodeLabelProblems({ '-bad': 'x', ok: 'not ok!' }, 'labels').map((p) => `${p.path} ${p.message}`)).toEqual([
      'labels.-bad key "-bad" is not a valid key: an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit',
      'labels.ok "not ok!" is not a valid value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ]);
  });
});

describe('node taints', () => {
  test('register-with-taints form, with and without a value', () => {
    expect(taintString({ key: 'dedicated', value: 'storage', effect: TaintEffect.NO_SCHEDULE })).toBe('dedicated=storage:NoSchedule');
    expect(taintString({ key: 'example.com/gpu', effect: TaintEffect.NO_EXECUTE })).toBe('example.com/gpu:NoExecute');
  });

  test('fails on a repeated key and effect, a bad key or an unknown effect', () => {
    const problems = nodeTaintProblems([
      { key: 'a', effect: TaintEffect.NO_SCHEDULE },
      { key: 'a', value: 'b', effect: TaintEffect.NO_SCHEDULE },
      { key: 'x/y/z', effect: 'Never' as TaintEffect },
    ], 'taints').map((p) => `${p.path} ${p.message}`);
    expect(problems).toEqual([
      'taints[1] "a=b:NoSchedule" repeats key a with effect NoSchedule',
      expect.stringMatching(/^taints\[2\]\.key "x\/y\/z" is not a valid key/),
      'taints[2].effect "Never" must be one of NoSchedule, PreferNoSchedule, NoExecute',
    ]);
  });
});
