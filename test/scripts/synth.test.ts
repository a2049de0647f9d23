import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const SYNTH = path.join(ROOT, 'scripts', 'synth.js');
const CLI = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { refusal } = require(SYNTH) as { refusal: (args: string[], env: Record<string, string | undefined>) => string | undefined };

describe('npm run synth refuses another output directory (scripts/synth.js)', () => {
  test.each([
    [['-o', 'dist']], [['-odist']], [['-o=dist']], [['-po', 'x']], [['--output', 'clusters']], [['--output=dist']],
    [['--o', 'dist']], [['--o=dist']], [['--no-output']], [['--app', 'node x', '-o', 'dist']],
  ])('%j', (args) => {
    expect(refusal(args, {})).toMatch(/^error: refusing -.*: the cdk8s CLI empties its output directory before synth starts/);
  });

  test.each(['CDK8S_OUTPUT', 'CDK8S_O', 'CDK8S_output'])('the variable %s, even empty', (name) => {
    expect(refusal([], { [name]: '' })).toMatch(new RegExp(`^error: refusing ${name}: .*; unset it and run \`npm run synth\` without it`));
  });

  test('other options and variables pass, and nothing after --', () => {
    expect(refusal(['--stdout', '-p', '--validate', '--app', 'node scripts/app.js', '--', '-o', 'x'], { CDK8S_OUTDIR: 'x', CDK8S_CHECK_UPGRADE: 'true' })).toBeUndefined();
  });
});

describe('scripts/synth.js and the cdk8s CLI, in a project folder of their own', () => {
  let work: string;
  beforeEach(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-cli-')); });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));
  const project = (app: string) => fs.writeFileSync(path.join(work, 'cdk8s.yaml'), `language: typescript\napp: ${JSON.stringify(app)}\noutput: .cdk8s.out\n`);
  const run = (command: string, args: string[], env: Record<string, string> = {}) => spawnSync(command, args, {
    cwd: work, encoding: 'utf8', env: { ...process.env, ...env },
  });
  // An app that reports what the CLI hands it and creates the output directory the CLI expects.
  const probe = `node -e "process.stderr.write('upgrade check: ' + process.env.CDK8S_CHECK_UPGRADE + '\\\\n'); require('fs').mkdirSync(process.env.CDK8S_OUTDIR, { recursive: true })"`;

  test.each([
    [['-o', 'victim'], {}], [['-ovictim'], {}], [['--output', 'victim'], {}], [['--output=victim'], {}], [[], { CDK8S_OUTPUT: 'victim' }],
  ])('%j %j: one line, exit 2, the directory untouched, the CLI never started', (args, env) => {
    project(probe);
    fs.mkdirSync(path.join(work, 'victim'));
    fs.writeFileSync(path.join(work, 'victim', 'keep.yaml'), 'keep\n');
    const r = run(process.execPath, [SYNTH, ...args], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: refusing [^\n]*; [^\n]*\n$/);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(path.join(work, 'victim', 'keep.yaml'), 'utf8')).toBe('keep\n');
  });

  test('the CLI gets CDK8S_CHECK_UPGRADE=false', () => {
    project(probe);
    const r = run(process.execPath, [SYNTH]);
    expect(r.stderr).toContain('upgrade check: false\n');
  });

  test('a failed app: its messages, without the CLI\'s stack trace', () => {
    project('node -e "console.error(\'error: bad config\'); process.exit(1)"');
    const r = run(process.execPath, [SYNTH]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: bad config\n');
  });

  test('the real app under the CLI says on stderr (which the CLI shows; it drops stdout) where dist/ was written', () => {
    project(`node ${JSON.stringify(path.join(ROOT, 'scripts', 'app.js'))}`);
    const r = run(process.execPath, [SYNTH], { DIST_DIR: path.join(work, 'dist') });
    expect(r.status).toBe(0);
    const count = (fs.readdirSync(path.join(work, 'dist'), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(work, 'dist', f)).isFile()).length;
    expect(r.stderr).toBe(`wrote ${count} file(s) to dist/ (the cdk8s CLI lists its scratch copy of the manifests in .cdk8s.out/)\n`);
    // The CLI lists one file: every manifest of dist/, as one stream (runbooks and diagrams are not the CLI's).
    expect(r.stdout).toBe('Synthesizing application\n  - .cdk8s.out/manifests.k8s.yaml\n');
    const files = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
    expect(files(path.join(work, '.cdk8s.out'))).toEqual(['manifests.k8s.yaml']);
    const stream = fs.readFileSync(path.join(work, '.cdk8s.out', 'manifests.k8s.yaml'), 'utf8');
    const manifests = files(path.join(work, 'dist')).filter((f) => f.endsWith('.k8s.yaml'))
      .map((f) => fs.readFileSync(path.join(work, 'dist', f), 'utf8'));
    expect(manifests.length).toBeGreaterThan(2);
    // Each manifest whole, after a document separator from the one before; nothing else.
    const pieces = stream.split(/^---\n(?=# Generated by cdk8s synth)/m);
    expect([...pieces].sort()).toEqual([...manifests].sort());
    expect(YAML.parseAllDocuments(stream).map((d) => d.toJS())).toEqual(pieces.flatMap((p) => YAML.parseAllDocuments(p).map((d) => d.toJS())));

    // `--stdout` prints that stream, and only it.
    const printed = run(process.execPath, [SYNTH, '--stdout'], { DIST_DIR: path.join(work, 'dist') });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toBe(stream);
  });

  test('plain `cdk8s synth -o X` (the CLI itself): the app warns that X was emptied', () => {
    project(`node ${JSON.stringify(path.join(ROOT, 'scripts', 'app.js'))}`);
    const r = run(CLI, ['synth', '-o', 'other'], { DIST_DIR: path.join(work, 'dist'), CDK8S_CHECK_UPGRADE: 'false' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('warning: the cdk8s CLI emptied other before this app ran (`cdk8s synth -o`); run `npm run synth`');
  });
});
