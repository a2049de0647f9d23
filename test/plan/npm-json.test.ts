/**
 * `npm run -s plan -- --json`, the README's command for tools: npm without `-s` prints its banner
 * (`> cdk8s-talos-proxmox@… plan`) on stdout before the plan, so only the silent form is JSON.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

test('npm run -s plan -- --json writes only JSON to stdout', () => {
  // --dist plans the project's dist/ against dist/ at HEAD: no synth, so it is quick.
  const result = spawnSync('npm', ['run', '-s', 'plan', '--', '--json', '--dist', path.join(ROOT, 'dist')], {
    cwd: ROOT, encoding: 'utf8', timeout: 90_000,
  });
  expect(result.error).toBeUndefined();
  // 0 safe, 1 blocked: a plan either way (2, an error, would print no plan).
  expect([0, 1]).toContain(result.status);
  const plan = JSON.parse(result.stdout);
  expect(plan.against).toBe('dist/ at HEAD');
  expect(Array.isArray(plan.blocking)).toBe(true);
}, 120_000);
