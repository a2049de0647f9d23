/**
 * What reading a config file can cost and what its messages can show: files are read with a size
 * limit before parsing, YAML aliases are capped, parsing takes time that grows with the text, and
 * no message shows more of a user's value than a short quoted excerpt.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadGitopsConfig } from '../../../lib/app/config/gitops';
import { loadClusterConfig, MAX_CONFIG_BYTES, MAX_YAML_ALIASES, parseClusterConfig, readConfigText } from '../../../lib/app/config/load';
import { quote, UserError, ValidationError } from '../../../lib/core/errors';
import { ROOT, validationErrorLines } from '../../util';

const HOMELAB = fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8');
const FILE = 'clusters/x.yaml';

const structure = (text: string) => validationErrorLines(() => parseClusterConfig(text, FILE));

/** A value no message may show more than an excerpt of: 500 KB, under the size limit. */
const LONG = 'Z'.repeat(500_000);

/** Every line is short and shows at most the 80-character excerpt of `value`. */
function expectExcerptOnly(lines: readonly string[], value: string): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line.length).toBeLessThan(400);
    expect(line).not.toContain(value.slice(0, 80));
  }
}

describe('config file size limit', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-limits-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a 50 MB config file is refused before it is parsed, naming the limit, in bounded time', () => {
    const file = path.join(dir, 'x.yaml');
    // Many distinct keys: what took yaml minutes to parse (its duplicate-key check is quadratic).
    const line = Buffer.from('secret-key-0000000: hunter2\n');
    fs.writeFileSync(file, Buffer.concat(Array.from({ length: Math.ceil(50 * 1024 * 1024 / line.length) }, () => line)));
    const started = Date.now();
    const lines = validationErrorLines(() => loadClusterConfig(file, FILE));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(lines).toEqual([`${FILE}: is 50 MiB, larger than the 1 MiB a config file may have (a cluster config is a few KiB); is this the right file?`]);
    expect(lines[0]).not.toContain('hunter2');
  }, 20_000);

  test('a file of exactly the limit is read; one byte more is refused', () => {
    const file = path.join(dir, 'x.yaml');
    const padded = `${HOMELAB}#${'-'.repeat(MAX_CONFIG_BYTES - Buffer.byteLength(HOMELAB) - 2)}\n`;
    expect(Buffer.byteLength(padded)).toBe(MAX_CONFIG_BYTES);
    fs.writeFileSync(file, padded);
    expect(loadClusterConfig(file, FILE).props.name).toBe('homelab');
    fs.appendFileSync(file, '\n');
    expect(validationErrorLines(() => loadClusterConfig(file, FILE))).toEqual([
      `${FILE}: is 1 MiB, larger than the 1 MiB a config file may have (a cluster config is a few KiB); is this the right file?`,
    ]);
  });

  test('text handed to the parser directly gets the same limit', () => {
    expect(structure(`${HOMELAB}#${'-'.repeat(2 * MAX_CONFIG_BYTES)}\n`)).toEqual([
      `${FILE}: is 2 MiB, larger than the 1 MiB a config file may have (a cluster config is a few KiB); is this the right file?`,
    ]);
  });

  test('a FIFO is refused at once, never waited on', () => {
    const fifo = path.join(dir, 'x.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(validationErrorLines(() => readConfigText(fifo, FILE))).toEqual([
      `${FILE}: is not a regular file (a FIFO, socket or device); a config file must be a regular file`,
    ]);
  });

  test('a file that cannot be read is named, with what to do', () => {
    fs.symlinkSync('missing.yaml', path.join(dir, 'x.yaml'));
    expect(validationErrorLines(() => readConfigText(path.join(dir, 'x.yaml'), FILE))).toEqual([
      `${FILE}: is a symbolic link to "missing.yaml", which does not exist; fix or remove the link`,
    ]);
    fs.mkdirSync(path.join(dir, 'd.yaml'));
    expect(validationErrorLines(() => readConfigText(path.join(dir, 'd.yaml'), FILE))).toEqual([`${FILE}: is a directory, not a file`]);
  });

  describe('gitops.yaml', () => {
    const gitops = (name = 'gitops.yaml') => path.join(dir, name);

    test('a 50 MB gitops.yaml is refused before it is parsed', () => {
      fs.writeFileSync(gitops(), `repository: { url: "https://h/x.git" }\nflux: {}\n#${'x'.repeat(50 * 1024 * 1024)}\n`);
      expect(validationErrorLines(() => loadGitopsConfig(gitops()))).toEqual([
        `${gitops()}: is 50 MiB, larger than the 1 MiB a config file may have (a cluster config is a few KiB); is this the right file?`,
      ]);
    }, 20_000);

    test('a dangling symbolic link is an error, not a project without GitOps objects; a directory is an error, not a crash', () => {
      fs.symlinkSync('elsewhere.yaml', gitops());
      expect(validationErrorLines(() => loadGitopsConfig(gitops()))).toEqual([
        `${gitops()}: is a symbolic link to "elsewhere.yaml", which does not exist; fix or remove the link`,
      ]);
      fs.mkdirSync(gitops('dir.yaml'));
      expect(validationErrorLines(() => loadGitopsConfig(gitops('dir.yaml')))).toEqual([`${gitops('dir.yaml')}: is a directory, not a file`]);
    });

    test('a symbolic link to a gitops.yaml is followed', () => {
      fs.writeFileSync(gitops('real.yaml'), 'repository: { url: "https://h/x.git" }\nfleet: {}\n');
      fs.symlinkSync('real.yaml', gitops());
      expect(loadGitopsConfig(gitops())?.repository.url).toBe('https://h/x.git');
    });
  });
});

describe('YAML aliases', () => {
  const laughs = [
    'lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
  ].join('\n');

  test('a "billion laughs" file is refused with a message, not a crash', () => {
    expect(structure(laughs)).toEqual([
      `${FILE}: has YAML aliases that expand into too many values (more than ${MAX_YAML_ALIASES}; a "billion laughs" file?): write the values out`,
    ]);
  });

  test('at most 100 aliases per file', () => {
    const aliases = (n: number) => `${HOMELAB}extra: [${Array(n).fill('*anchor').join(', ')}]\n`.replace('name: homelab', 'name: &anchor homelab');
    expect(structure(aliases(MAX_YAML_ALIASES))).toEqual([
      `${FILE}: extra is not a known field (check the spelling; see schemas/cluster-config.schema.json)`,
    ]);
    expect(structure(aliases(MAX_YAML_ALIASES + 1))).toEqual([
      `${FILE}: uses 101 YAML aliases (*name); a config file may use at most 100: write the values out`,
    ]);
  });

  test('an alias used as a value keeps working', () => {
    const text = HOMELAB.replace('storage: { name: local-lvm, shared: false }', 'storage: &disk { name: local-lvm, shared: false }')
      .replace('diskGiB: 40 }', 'diskGiB: 40, template: { sourceNode: K8S1, templateId: 8701, image: { talosVersion: v1.13.9, schematic: s }, storage: *disk } }');
    expect(parseClusterConfig(text, FILE).props.workers?.[0].template?.storage).toEqual({ name: 'local-lvm', shared: false });
  });

  test('an alias to nothing is a syntax error with its position and a short name; a circular alias is a type error', () => {
    expect(structure(`name: homelab\nnetwork: *${LONG}\n`)).toEqual([
      `${FILE}: YAML syntax error at line 2, column 10: Unresolved alias (the anchor must be set before the alias): ${quote(LONG)}`,
    ]);
    expect(structure(HOMELAB.replace('name: homelab', 'name: &n [*n]'))).toEqual([`${FILE}: name […] expected string, received array`]);
    expect(structure(HOMELAB.replace('name: homelab', 'name: &n { a: *n }'))).toEqual([`${FILE}: name {"a":…} expected string, received object`]);
  });
});

describe('parsing time', () => {
  test('a file of 1 MiB of distinct keys is parsed in seconds, and its unknown fields listed up to 10', () => {
    const keys: string[] = [];
    for (let i = 0, size = 0; size < MAX_CONFIG_BYTES - 100; i++) {
      keys.push(`k${i}: 1`);
      size += keys[keys.length - 1].length + 1;
    }
    const lines = structure(`${keys.join('\n')}\n`);
    expect(lines).toEqual([
      `${FILE}: name is required (expected string)`,
      `${FILE}: network is required (expected object)`,
      `${FILE}: proxmox is required (expected object)`,
      `${FILE}: controlPlane is required (expected object)`,
      ...keys.slice(0, 10).map((k) => `${FILE}: ${k.split(':')[0]} is not a known field (check the spelling; see schemas/cluster-config.schema.json)`),
      `${FILE}: has ${keys.length - 10} more unknown fields (is this the right file? see schemas/cluster-config.schema.json)`,
    ]);
  }, 30_000);

  test('duplicate keys are still refused where yaml reports them, in block and flow mappings', () => {
    expect(structure('name: homelab\nnetwork: {}\nname: again\n')).toEqual([
      `${FILE}: YAML syntax error at line 3, column 1: Map keys must be unique`,
    ]);
    expect(structure('name: homelab\ncilium: { hubble: true, "hubble": false }\n')).toEqual([
      `${FILE}: YAML syntax error at line 2, column 25: Map keys must be unique`,
    ]);
  });

  test('a file that is not YAML at all shows 10 syntax errors and a count', () => {
    const lines = structure(Array.from({ length: 40 }, (_, i) => `"unclosed ${i}\n: x: y: [\n`).join(''));
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatch(new RegExp(`^${FILE}: and \\d+ more YAML syntax errors$`));
  });
});

describe('messages show at most a short excerpt of a user value', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-leaks-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a file that is not a mapping (a symlink to some text file, a scalar, a list) is named by its kind, never echoed', () => {
    const secret = 'db_password hunter2 and the private notes of someone';
    fs.writeFileSync(path.join(dir, 'notes.txt'), `${secret}\n${secret}\n`);
    fs.symlinkSync('notes.txt', path.join(dir, 'x.yaml'));
    const lines = validationErrorLines(() => loadClusterConfig(path.join(dir, 'x.yaml'), FILE));
    expect(lines).toEqual([`${FILE}: holds a text (a YAML string), not a mapping of fields (key: value lines); is this the right file? (see schemas/cluster-config.schema.json)`]);
    expect(structure(`- ${secret}\n- two\n`)).toEqual([`${FILE}: holds a list, not a mapping of fields (key: value lines); is this the right file? (see schemas/cluster-config.schema.json)`]);
    expect(structure('42\n')).toEqual([`${FILE}: holds a single value (a YAML number), not a mapping of fields (key: value lines); is this the right file? (see schemas/cluster-config.schema.json)`]);
    expect(structure('# only a comment\n')).toEqual([`${FILE}: is empty; a config file is a mapping of fields (key: value lines; see schemas/cluster-config.schema.json)`]);
  });

  test('a long value: wrong type, wrong option, a construct rule', () => {
    expectExcerptOnly(structure(HOMELAB.replace('templateId: 8700', `templateId: ${LONG}`)), LONG);
    expectExcerptOnly(structure(HOMELAB.replace('diskGiB: 40 }', `diskGiB: 40, deletionOrder: ${LONG} }`)), LONG);
    expectExcerptOnly(validationErrorLines(() => { throw new ValidationError([{ severity: 'error', path: 'name', message: `${quote(LONG)} is wrong` }]); }), LONG);
  });

  test('a long unknown key, and a key of a record (labels), are quoted and cut; a line break in a key starts no line', () => {
    const unknown = structure(`${HOMELAB}? ${LONG}\n: 1\n`);
    expectExcerptOnly(unknown, LONG);
    expect(unknown).toEqual([`${FILE}: [${quote(LONG)}] is not a known field (check the spelling; see schemas/cluster-config.schema.json)`]);
    expectExcerptOnly(structure(HOMELAB.replace('diskGiB: 40 }', `diskGiB: 40, labels: { ${LONG}: 1 } }`)), LONG);
    expect(structure(`${HOMELAB}"a\\nerror: fake": 1\n`)).toEqual([
      `${FILE}: ["a\\nerror: fake"] is not a known field (check the spelling; see schemas/cluster-config.schema.json)`,
    ]);
  });

  test('a YAML syntax error that names a piece of the file quotes it short', () => {
    expectExcerptOnly(structure(`%${LONG} x\n---\nname: a\n`), LONG);
    expectExcerptOnly(structure(`name: *${LONG}\n`), LONG);
  });

  test('gitops.yaml: every kind of zod issue (type, format, size, refinement, unknown key) shows an excerpt only', () => {
    const file = path.join(dir, 'gitops.yaml');
    const cases = [
      `repository: { url: ${LONG} }\nflux: {}\n`,
      `name: ${LONG}\nrepository: { url: "https://h/x.git" }\nflux: {}\n`,
      `repository: { url: "https://h/x.git", path: ../${LONG} }\nflux: {}\n`,
      `repository: { url: "https://h/x.git", branch: [${LONG}] }\nflux: {}\n`,
      `repository: { url: "https://h/x.git" }\nflux: { ${LONG}: 1 }\n`,
      LONG,
    ];
    for (const text of cases) {
      fs.writeFileSync(file, text);
      expectExcerptOnly(validationErrorLines(() => loadGitopsConfig(file)), LONG);
    }
  });

  test('every error of these files is a UserError: printed without a stack trace', () => {
    for (const text of ['a: *x\n', '[[[['.repeat(5_000), `${'- '.repeat(5000)}x\n`]) {
      expect(() => parseClusterConfig(text, FILE)).toThrow(UserError);
    }
  });
});
