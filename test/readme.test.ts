import * as fs from 'fs';
import * as path from 'path';
import { configProblems, ROOT } from './util';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of a language in the README section under `heading`. */
function blocks(heading: string, lang: string): string[] {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\`\\n`, 'g'))].map((m) => m[1]);
}

describe('README examples run as written', () => {
  test('the TypeScript cluster is clusters/edge.ts, which synth builds into dist/edge/', () => {
    expect(blocks('From TypeScript', 'ts')[0]).toBe(fs.readFileSync(path.join(ROOT, 'clusters', 'edge.ts'), 'utf8'));
    expect(fs.existsSync(path.join(ROOT, 'dist', 'edge', 'edge.k8s.yaml'))).toBe(true);
  });

  test('the cluster config of "Adding a cluster" is valid as written', () => {
    const [config] = blocks('Adding a cluster', 'yaml');
    expect(config).toContain('name: homelab');
    expect(configProblems(config, 'README.md')).toEqual([]);
  });
});
