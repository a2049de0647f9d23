import * as fs from 'fs';
import { EXTENSION_NAME } from '../../lib/constructs/rules';
import { TALOS_KUBERNETES_SUPPORT } from '../../lib/core/stack';
import {
  closestNames, levenshtein, OfficialExtensionsFile, officialExtensions, officialExtensionsFileText, officialExtensionsPath,
} from '../../lib/talos/extensions';
import { LONGHORN_EXTENSIONS, QEMU_GUEST_AGENT_EXTENSION } from '../../lib/talos/schematic';

const minors = Object.keys(TALOS_KUBERNETES_SUPPORT);

describe('official extension lists', () => {
  test.each(minors)('%s: generated, sorted, duplicate-free, well-formed, source named', (minor) => {
    const text = fs.readFileSync(officialExtensionsPath(minor), 'utf8');
    const file = JSON.parse(text) as OfficialExtensionsFile;
    expect(file.talosMinor).toBe(minor);
    expect(file.source).toMatch(new RegExp(`^official-extensions\\.${minor.replace('.', '\\.')}\\.\\d+\\.txt$`));
    expect(file.$comment).toContain(file.source);
    expect(file.extensions.length).toBeGreaterThan(50);
    for (const name of file.extensions) expect(name).toMatch(EXTENSION_NAME);
    // the import script's own serialization of the same list: canonical order and format
    expect(text).toBe(officialExtensionsFileText(minor, file.source, file.extensions));
  });

  test('the file format sorts and deduplicates', () => {
    expect(JSON.parse(officialExtensionsFileText('v1.13', 'x.txt', ['siderolabs/b', 'siderolabs/a', 'siderolabs/b'])).extensions)
      .toEqual(['siderolabs/a', 'siderolabs/b']);
  });

  test.each(minors)('%s: the default, Longhorn and README extensions are official', (minor) => {
    const official = officialExtensions(`${minor}.0`)!;
    for (const name of [
      QEMU_GUEST_AGENT_EXTENSION, ...LONGHORN_EXTENSIONS,
      'siderolabs/nvidia-open-gpu-kernel-modules-production', 'siderolabs/nvidia-container-toolkit-production',
    ]) expect([minor, name, official.names.has(name)]).toEqual([minor, name, true]);
  });

  test('lists are per minor: 1.13 adds extensions 1.12 lacks', () => {
    expect(officialExtensions('v1.13.9')!.names.has('siderolabs/uhid')).toBe(true);
    expect(officialExtensions('v1.12.11')!.names.has('siderolabs/uhid')).toBe(false);
    expect(officialExtensions('v1.12.0')).toBe(officialExtensions('v1.12.11')); // cached per minor
  });

  test('no list for malformed versions or minors without one', () => {
    expect(officialExtensions('v1.13')).toBeUndefined();
    expect(officialExtensions('v1.11.5')).toBeUndefined();
  });
});

describe('suggestions', () => {
  test('levenshtein', () => {
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('agnet', 'agent')).toBe(2);
    expect(levenshtein('same', 'same')).toBe(0);
  });

  test('closest names, ties kept in order', () => {
    const official = officialExtensions('v1.13.9')!.names;
    expect(closestNames('siderolabs/qemu-guest-agnet', official)).toEqual(['siderolabs/qemu-guest-agent']);
    expect(closestNames('ab', ['ax', 'bb', 'abcd'])).toEqual(['ax', 'bb']);
  });
});
