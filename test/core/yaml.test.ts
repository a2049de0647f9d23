import * as fc from 'fast-check';
import * as YAML from 'yaml';
import { canonicalYaml, fastYaml, toYaml } from '../../lib/core/yaml';

const reference = (v: unknown) => YAML.stringify(v, { lineWidth: 0 });

/** Strings made of the characters that decide YAML styles: indicators, whitespace, quotes, digits, escapes. */
const tricky = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', '9', '.', '-', '+', '_', '/', ':', ' ', '\t', '\n', '#', '"', '\'', '|', '>', '&', '*', '!',
    '%', '@', '`', ',', '[', ']', '{', '}', '?', '~', 'e', 'x', 'o', '\u0001', '\u007f', 'é', '\u2028'),
  maxLength: 12,
});
const words = fc.constantFrom('', 'true', 'False', 'NULL', '~', 'null', '0x1F', '0o17', '1e3', '.inf', '-.Inf', '.nan', '1.5', '007', '+1', '-', '?',
  '---', '...', '% x', 'a: b', 'a #b', 'v1.35.4', '10.0.0.1', 'http://x:80/y', 'a:', 'yes', 'on');
const text = fc.oneof(tricky, words, fc.string({ maxLength: 6 }));
const multiLine = fc.array(fc.oneof(tricky, fc.constantFrom('', '  x', 'key: value', '- item', '---')), { minLength: 2, maxLength: 4 })
  .map((lines) => lines.join('\n'));
const scalar = fc.oneof(text, multiLine, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(-0));
const data = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 4 }),
}));

describe('toYaml', () => {
  test('writes what the yaml library writes with lineWidth 0, on generated data', () => {
    fc.assert(fc.property(fc.oneof(data.object, data.array), (v) => {
      expect(toYaml(v)).toBe(reference(v));
    }), { numRuns: 3000 });
  });

  test('the fast writer, when it answers, answers exactly the library (no fallback hides a difference)', () => {
    fc.assert(fc.property(fc.oneof(data.object, data.array), (v) => {
      const fast = fastYaml(v);
      if (fast !== undefined) expect(fast).toBe(reference(v));
    }), { numRuns: 3000 });
  });

  test('ordinary manifests are written without the library: nested maps, lists, block text, quoted values', () => {
    const manifest = {
      apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha3',
      kind: 'TalosControlPlane',
      metadata: { name: 'homelab-control-plane', labels: { 'cluster.x-k8s.io/cluster-name': 'homelab' }, annotations: {} },
      spec: {
        replicas: 3,
        version: 'v1.35.4',
        patches: ['machine:\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: "true"\n', 'a: 1\n---\nb: 2'],
        flags: { on: true, off: false, none: null, ratio: 0.5, port: 6443, empty: [], quoted: 'true', spaced: 'a b', ip: '10.0.0.1', time: '45m' },
        items: [{ name: 'a', list: [1, 2] }, [], [['x']]],
      },
    };
    const fast = fastYaml(manifest);
    expect(fast).toBe(reference(manifest));
    expect(fast).toContain('  patches:\n    - |\n      machine:\n        kubelet:');
    expect(fast).toContain('quoted: "true"');
  });

  test('hands the library what it writes in its own ways: shared objects (aliases), odd numbers, indentation indicators, instances', () => {
    const shared = { a: 1 };
    for (const v of [{ x: shared, y: shared }, { n: Number.NaN }, { n: Infinity }, { t: ' leading\nspace' }, { t: 'trailing\n\n' },
      { d: new Date(0) }, { '---': 1 }, { k: '%x' }]) {
      expect(fastYaml(v)).toBeUndefined();
      expect(toYaml(v)).toBe(reference(v));
    }
    expect(toYaml({ x: shared, y: shared })).toContain('&a1');
  });

  test('canonical text (content hashes): what the library writes with sorted keys and its 80-column folding', () => {
    const long = fc.string({ unit: fc.constantFrom('a', ' ', 'b', '\n', ':', '-'), minLength: 15, maxLength: 120 });
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, long, tie('a'), tie('o')),
      a: fc.array(tie('v'), { maxLength: 4 }),
      o: fc.dictionary(text, tie('v'), { maxKeys: 5 }),
    }));
    fc.assert(fc.property(fc.oneof(value.o, value.a), (v) => {
      expect(canonicalYaml(v)).toBe(YAML.stringify(v, { sortMapEntries: true }));
    }), { numRuns: 3000 });
    const spec = { template: { spec: { disks: { bootVolume: { disk: 'scsi0', sizeGb: 40 } }, sourceNode: 'pve1', templateID: 8700, format: 'raw' } } };
    expect(fastYaml(spec, { sortKeys: true, lineWidth: 80 })).toBe(YAML.stringify(spec, { sortMapEntries: true }));
  });

  test('a scalar at the top is the library\'s', () => {
    expect(toYaml('a: b')).toBe(reference('a: b'));
    expect(toYaml(3)).toBe('3\n');
  });
});
