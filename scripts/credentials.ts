/**
 * `npm run credentials -- <cluster> [--out <path>] [--age <recipient>]... [--force]`
 *
 * Writes the Proxmox credentials Secret a cluster config names (`proxmox.credentialsSecret`) from
 * PROXMOX_URL, PROXMOX_TOKEN, PROXMOX_SECRET and optionally PROXMOX_ROOT_CA_FILE. The plain text
 * never lands inside the repository (one `git add -A` would publish the token):
 * - with `sops` on PATH and a `.sops.yaml` rule for it (`--age` writes one), the Secret goes to sops
 *   on stdin and only the encrypted output is written, to `secrets/<cluster>/proxmox-credentials.sops.yaml`;
 * - otherwise, or with `--out`, it is written in plain text with mode 0600 (directory 0700) outside
 *   the repository: `$XDG_CONFIG_HOME/cdk8s-talos-proxmox/<cluster>/proxmox-credentials.yaml`
 *   (`~/.config/…` without XDG_CONFIG_HOME), or `--out`, which must be outside the repository.
 * It never replaces a SOPS-encrypted file without `--force`. Then it prints the next steps: commit
 * (Flux), or apply and delete (Fleet).
 *
 * Environment: CLUSTERS_DIR (default clusters/), DIST_DIR (also refused), CDK8S_TALOS_PROJECT_ROOT,
 * XDG_CONFIG_HOME, HOME, PATH (sops).
 * Exit codes: 0 written (or --help), 1 an error, explained on stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { App } from 'cdk8s';
import * as YAML from 'yaml';
import { buildClusters, findClusterSources } from '../lib/app/clusters';
import { MAX_YAML_ALIASES, parseClusterConfig, readConfigText } from '../lib/app/config/load';
import { TALOS_CLUSTER_DEFAULTS } from '../lib/constructs/talos-cluster';
import { UserError } from '../lib/core/errors';
import { SECRETS_FOLDER } from '../lib/core/naming';
import { PROJECT_ROOT } from '../lib/core/paths';
import {
  ageRecipientProblems,
  CREDENTIALS_ENV,
  CREDENTIALS_PLAIN_FILE,
  CREDENTIALS_SOPS_FILE,
  CredentialsProblem,
  excerpt,
  isSopsEncrypted,
  proxmoxCredentialsProblems,
  proxmoxCredentialsSecretYaml,
  sopsConfigProblems,
  sopsConfigRecipients,
  updateSopsConfig,
} from '../lib/credentials/secret';
import { findOnPath, sopsEncrypt } from '../lib/credentials/sops';

const USAGE = `usage: npm run credentials -- <cluster> [--out <path>] [--age <age1…>]... [--force]

Writes the Proxmox credentials Secret of <cluster> (its proxmox.credentialsSecret, in its namespace)
from the environment. With sops on PATH and a .sops.yaml rule for secrets/, it is encrypted on the
way and written to secrets/<cluster>/proxmox-credentials.sops.yaml, to commit; otherwise it is
written in plain text (mode 0600) outside the repository, to $XDG_CONFIG_HOME/cdk8s-talos-proxmox/
<cluster>/proxmox-credentials.yaml (~/.config/… without XDG_CONFIG_HOME).

  --out <path>      write it in plain text there instead; refused inside the repository
  --age <age1…>     age public key to encrypt secrets/ for, repeatable (or SOPS_AGE_RECIPIENTS,
                    comma-separated); writes the project's .sops.yaml
  --force           replace an existing SOPS-encrypted file (or a file that is not a Secret)

environment:
  PROXMOX_URL           https://<host>[:port], like https://pve.example.com:8006
  PROXMOX_TOKEN         API token ID user@realm!tokenname, like capmox@pve!capi
  PROXMOX_SECRET        API token secret (a UUID)
  PROXMOX_ROOT_CA_FILE  optional: PEM CA certificate of the Proxmox API (/etc/pve/pve-root-ca.pem);
                        without it the Secret says insecure: "true" (no TLS verification)
  CLUSTERS_DIR          cluster configs (default: clusters/)`;

/** A command line this script does not understand: the message, then the usage. */
class UsageError extends UserError {}

/** What the command reads and writes besides its arguments, so that tests can run it in-process. */
export interface CredentialsIo {
  /** PROXMOX_*, SOPS_AGE_RECIPIENTS, CLUSTERS_DIR, DIST_DIR, XDG_CONFIG_HOME, HOME, PATH (sops); sops gets it too. */
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths (arguments, variables) resolve against it; messages show paths relative to it. */
  readonly cwd: string;
  /**
   * The project: its dist/ is refused, and so is any plain-text path inside it (or inside the git
   * repository around it); its secrets/ and .sops.yaml are where encrypted files and the rule go.
   */
  readonly projectRoot: string;
  /** Results and next steps. */
  readonly stdout: { write(text: string): unknown };
  /** Warnings and errors. */
  readonly stderr: { write(text: string): unknown };
}

interface Options {
  readonly cluster: string;
  readonly out?: string;
  readonly age: readonly string[];
  readonly force: boolean;
}

/** A stray argument for a message: a token secret put on the command line is not echoed. */
function shownArgument(arg: string): string {
  return /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(arg) || arg.includes('=') ? '(a value not shown)' : excerpt(arg);
}

function parseCommandLine(argv: readonly string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string' },
        age: { type: 'string', multiple: true },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    // parseArgs throws a TypeError with a user-facing message for unknown options and missing values.
    const err = e as NodeJS.ErrnoException;
    const option = /'([^']+)'/.exec(err.message)?.[1];
    throw new UsageError(err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option ? `unknown option ${option}` : err.message);
  }
  if (parsed.values.help) return undefined;
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`expected one cluster name, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map(shownArgument).join(' ')}`);
  }
  return {
    cluster: parsed.positionals[0],
    out: parsed.values.out,
    // `--age a,b` is accepted like SOPS_AGE_RECIPIENTS.
    age: (parsed.values.age ?? []).flatMap((a) => a.split(',')).map((a) => a.trim()).filter((a) => a !== ''),
    force: parsed.values.force ?? false,
  };
}

/** Path for messages: relative to the working directory when inside it. */
function display(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !isOutside(rel) ? rel : p;
}

function isOutside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** Whether `child` is `dir` or inside it (both absolute and resolved). */
function isWithin(child: string, dir: string): boolean {
  return !isOutside(path.relative(dir, child));
}

/** Quotes a path for the printed shell commands when it needs it. */
function shellQuote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/**
 * The real path of `p` (absolute: a relative one would resolve against the process's working
 * directory), whose tail need not exist yet: symlinks are followed (also dangling ones, which a
 * write would follow), so `secrets -> dist` cannot smuggle a file into dist/.
 */
function realPath(p: string, depth = 0): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    // Missing, or a dangling symlink: resolve what exists.
  }
  if (depth > 40) throw new UserError(`too many symbolic links under ${abs}`);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(abs);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) return realPath(path.resolve(path.dirname(abs), fs.readlinkSync(abs)), depth + 1);
  const parent = path.dirname(abs);
  return parent === abs ? abs : path.join(realPath(parent, depth), path.basename(abs));
}

/** What the command needs of a cluster. */
interface ClusterTarget {
  /** The cluster file, for messages. */
  readonly file: string;
  readonly clusterName: string;
  readonly namespace: string;
  readonly credentialsSecret: string | undefined;
}

/**
 * Finds the cluster file whose cluster is `cluster` (a config file by its `name`, a TypeScript
 * file by its file name) and reads only that file (others may be mid-edit). A config file is only
 * parsed, so no chart is rendered; a TypeScript file is built, as synth would.
 */
function findCluster(dir: string, cluster: string, cwd: string): ClusterTarget {
  if (!fs.existsSync(dir)) throw new UserError(`config directory ${display(dir, cwd)} does not exist; set CLUSTERS_DIR or create it with one <cluster>.yaml per cluster`);
  // The cluster files as synth sees them (the one rule of lib/app/clusters.ts), read with the
  // config layer's size limit; a file's name is looked up without validating the rest of it.
  const sources = findClusterSources(dir);
  const files = sources.filter((s) => s.kind === 'yaml').map((s) => path.basename(s.path));
  const names = new Map<string, string[]>();
  for (const f of files) {
    let name: unknown;
    try {
      const text = readConfigText(path.join(dir, f), display(path.join(dir, f), cwd));
      name = (YAML.parse(text, { maxAliasCount: MAX_YAML_ALIASES }) as { name?: unknown } | null)?.name;
    } catch {
      continue; // a broken file is reported by synth; it cannot be the one asked for by name
    }
    if (typeof name === 'string') names.set(name, [...names.get(name) ?? [], f]);
  }
  if (sources.some((s) => s.kind === 'typescript' && path.basename(s.path) === `${cluster}.ts`)) {
    names.set(cluster, [...names.get(cluster) ?? [], `${cluster}.ts`]);
  }
  const matches = names.get(cluster) ?? [];
  const sameName = files.find((f) => f === `${cluster}.yaml` || f === `${cluster}.yml`);
  if (matches.length === 0 && sameName) {
    // Named like the cluster but unreadable as one: the loader says what is wrong with it.
    const file = display(path.join(dir, sameName), cwd);
    parseClusterConfig(readConfigText(path.join(dir, sameName), file), file);
  }
  if (matches.length === 0) {
    const known = [...names.keys()].sort();
    throw new UserError(`no cluster named ${excerpt(cluster)} in ${display(dir, cwd)}; ${known.length > 0 ? `known: ${known.join(', ')}` : 'it has no cluster configs'}`);
  }
  if (matches.length > 1) throw new UserError(`cluster name ${excerpt(cluster)} is used by ${matches.join(' and ')} in ${display(dir, cwd)}; cluster names must be unique`);
  const abs = path.join(dir, matches[0]);
  const file = display(abs, cwd);
  if (!matches[0].endsWith('.ts')) {
    const { props } = parseClusterConfig(readConfigText(abs, file), file);
    return {
      file,
      clusterName: props.name,
      namespace: props.namespace ?? TALOS_CLUSTER_DEFAULTS.namespace,
      credentialsSecret: props.proxmox.credentialsSecret,
    };
  }
  const [{ cluster: built }] = buildClusters(new App(), [{ file, path: abs, kind: 'typescript' }]);
  if (built.clusterName !== cluster) throw new UserError(`${file} defines cluster ${excerpt(built.clusterName)}, not ${excerpt(cluster)}`);
  return { file, clusterName: built.clusterName, namespace: built.namespace, credentialsSecret: built.credentialsSecret };
}

/** Reads the CA file; an unreadable file becomes a problem, reported with the others. */
function readRootCa(file: string | undefined, cwd: string): { rootCa?: string; problem?: CredentialsProblem } {
  if (file === undefined || file === '') return {};
  try {
    return { rootCa: fs.readFileSync(path.resolve(cwd, file), 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { problem: { severity: 'error', message: `${CREDENTIALS_ENV.rootCaFile} ${file} cannot be read (${code}); expected the path of a PEM CA certificate such as a copy of /etc/pve/pve-root-ca.pem from a Proxmox node` } };
  }
}

/**
 * Writes `text` with mode 0600 through a temporary file in the same directory, so the file never
 * exists with other permissions or half written, even when it replaces an older one. Directories
 * it creates get mode 0700.
 */
function writePrivate(file: string, text: string, cwd: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${display(file, cwd)}: ${(e as Error).message}`);
  }
}

/**
 * The repository the project is in: the nearest directory from the project up that holds `.git`
 * (a monorepo commits more than the project), else the project itself.
 */
function repositoryRoot(projectRoot: string): string {
  for (let dir = projectRoot; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return projectRoot;
  }
}

/**
 * Where the plain text goes by default: the user's config directory (XDG base directory spec),
 * private to the user and outside every checkout, so it survives a `git clean` and is never staged.
 */
function defaultPlainPath(env: NodeJS.ProcessEnv, cluster: string): { file: string; base: string } | undefined {
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  const configHome = xdg ?? (env.HOME && path.isAbsolute(env.HOME) ? path.join(env.HOME, '.config') : undefined);
  if (configHome === undefined) return undefined;
  const base = path.join(configHome, 'cdk8s-talos-proxmox');
  return { file: path.join(base, cluster, CREDENTIALS_PLAIN_FILE), base };
}

/** Refuses targets that would leak or destroy something, before anything is written. */
function checkTarget(out: string, force: boolean, io: CredentialsIo, plain: { repository: string; encryptHint: string } | undefined): void {
  const real = realPath(out);
  const distDirs = [path.resolve(io.cwd, io.projectRoot, 'dist'), ...(io.env.DIST_DIR ? [path.resolve(io.cwd, io.env.DIST_DIR)] : [])];
  for (const dist of distDirs) {
    if (isWithin(real, realPath(dist))) {
      throw new UserError(`refusing to write ${display(out, io.cwd)}: it is inside ${display(dist, io.cwd)}/, which is committed and applied by the GitOps agent, and the Proxmox token must never be there; use --out outside the repository, or let the command encrypt it into secrets/`);
    }
  }
  // Plain text anywhere in the repository is one `git add -A` away from being published.
  if (plain && isWithin(real, realPath(plain.repository))) {
    throw new UserError(`refusing to write the Proxmox token in plain text to ${display(out, io.cwd)}: it is inside the repository ${display(plain.repository, io.cwd)}, where one git add publishes it; use --out with a path outside the repository (like /tmp/proxmox-credentials.yaml), or ${plain.encryptHint}`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(out);
  } catch {
    return; // nothing there yet
  }
  if (stat.isDirectory()) throw new UserError(`--out ${display(out, io.cwd)} is a directory; give the path of a file, like ${display(path.join(out, CREDENTIALS_PLAIN_FILE), io.cwd)}`);
  if (force) return;
  const text = fs.readFileSync(out, 'utf8');
  if (isSopsEncrypted(text)) {
    throw new UserError(`${display(out, io.cwd)} is SOPS-encrypted already; to change the token edit it with \`sops ${shellQuote(display(out, io.cwd))}\`, or pass --force to replace it`);
  }
  let kind: unknown;
  try {
    kind = (YAML.parse(text) as { kind?: unknown } | null)?.kind;
  } catch {
    kind = undefined;
  }
  if (kind !== 'Secret') throw new UserError(`${display(out, io.cwd)} exists and is not a Secret; pass --force to replace it, or choose another --out`);
}

function recipientsFromEnvironment(options: Options, env: NodeJS.ProcessEnv): { recipients: string[]; source: string } {
  if (options.age.length > 0) return { recipients: [...options.age], source: '--age' };
  const fromEnv = (env.SOPS_AGE_RECIPIENTS ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  return { recipients: fromEnv, source: 'SOPS_AGE_RECIPIENTS' };
}

/**
 * Runs `npm run credentials` with the arguments after `--`.
 *
 * @returns the exit code: 0 written (or usage printed for --help), 1 a user error (bad command
 *   line, environment, config, target, or sops failing), whose message went to `io.stderr`
 * @throws anything that is not a {@link UserError}: a bug, which keeps its stack trace
 */
export function main(argv: readonly string[], io: CredentialsIo): number {
  try {
    run(argv, io);
    return 0;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    io.stderr.write(`error: ${e.message.split('\n').join('\nerror: ')}\n`);
    if (e instanceof UsageError) io.stderr.write(`${USAGE}\n`);
    return 1;
  }
}

function run(argv: readonly string[], io: CredentialsIo): void {
  const options = parseCommandLine(argv);
  if (!options) {
    io.stdout.write(`${USAGE}\n`);
    return;
  }
  const projectRoot = path.resolve(io.cwd, io.projectRoot);
  const clustersDir = path.resolve(io.cwd, io.env.CLUSTERS_DIR ?? path.join(projectRoot, 'clusters'));
  const cluster = findCluster(clustersDir, options.cluster, io.cwd);
  const configFile = cluster.file;
  const secretName = cluster.credentialsSecret;
  if (secretName === undefined) {
    throw new UserError(`${configFile} has no proxmox.credentialsSecret, so CAPMOX uses the provider's global credentials (Secret capmox-manager-credentials); to give ${cluster.clusterName} its own Secret, add \`credentialsSecret: ${cluster.clusterName}-proxmox\` under proxmox: in ${configFile}, run npm run synth, then run this again`);
  }

  const env = io.env;
  const rootCaFile = env[CREDENTIALS_ENV.rootCaFile] || undefined;
  const { rootCa, problem: caProblem } = readRootCa(rootCaFile, io.cwd);
  const input = { url: env[CREDENTIALS_ENV.url], token: env[CREDENTIALS_ENV.token], secret: env[CREDENTIALS_ENV.secret], rootCa, rootCaFile };
  const problems = [...proxmoxCredentialsProblems(input), ...caProblem ? [caProblem] : []];
  const { recipients, source } = recipientsFromEnvironment(options, env);
  const errors = [
    ...problems.filter((p) => p.severity === 'error').map((p) => p.message),
    ...recipients.length > 0 ? ageRecipientProblems(recipients, source) : [],
  ];
  if (errors.length > 0) throw new UserError(errors.join('\n'));

  const name = cluster.clusterName;
  const sopsFile = path.join(projectRoot, '.sops.yaml');
  const shownSops = shellQuote(display(sopsFile, io.cwd));
  const existingSops = fs.existsSync(sopsFile) ? fs.readFileSync(sopsFile, 'utf8') : undefined;
  const sopsText = recipients.length > 0 ? updateSopsConfig(existingSops, recipients, source) : undefined;
  const sopsConfig = sopsText ?? existingSops;
  const encryptedFile = path.join(projectRoot, SECRETS_FOLDER, name, CREDENTIALS_SOPS_FILE);
  const relEncrypted = path.relative(projectRoot, encryptedFile).split(path.sep).join('/');
  const shownEncrypted = shellQuote(display(encryptedFile, io.cwd));
  const sopsRuleProblems = sopsConfig !== undefined ? sopsConfigProblems(sopsConfig, relEncrypted) : [];
  const sops = findOnPath('sops', env);
  // Encrypt when everything sops needs is there; an explicit --out asks for plain text elsewhere.
  const encrypt = options.out === undefined && sops !== undefined && sopsConfig !== undefined && sopsRuleProblems.length === 0;
  const repository = repositoryRoot(projectRoot);
  const encryptHint = `let the command encrypt it into ${relEncrypted}: with sops on PATH and a .sops.yaml rule (npm run credentials -- ${name} --age <age1… public key>)`;

  let out: string;
  let configBase: string | undefined;
  if (encrypt) {
    out = encryptedFile;
    checkTarget(out, options.force, io, undefined);
  } else {
    const fallback = defaultPlainPath(env, name);
    if (options.out === undefined && fallback === undefined) {
      throw new UserError(`neither XDG_CONFIG_HOME nor HOME is set (as an absolute path), so there is no default place outside the repository for the plain-text Secret; pass --out <path outside the repository>, or ${encryptHint}`);
    }
    out = options.out !== undefined ? path.resolve(io.cwd, options.out) : fallback!.file;
    configBase = options.out === undefined ? fallback!.base : undefined;
    checkTarget(out, options.force, io, { repository, encryptHint });
  }

  // A Secret under the name used before *.sops.yaml: Flux would apply it beside the new one.
  const legacyFile = path.join(projectRoot, SECRETS_FOLDER, name, CREDENTIALS_PLAIN_FILE);
  const shownLegacy = shellQuote(display(legacyFile, io.cwd));
  const legacyText = fs.existsSync(legacyFile) ? fs.readFileSync(legacyFile, 'utf8') : undefined;
  const legacyProblem = legacyText === undefined ? undefined : isSopsEncrypted(legacyText)
    ? `${shownLegacy} is an encrypted Secret under the old name, which .gitignore no longer admits; rename it (git mv ${shownLegacy} ${shownEncrypted}), then edit it with sops ${shownEncrypted} or run this again with --force to replace it`
    : `${shownLegacy} holds the Proxmox token in plain text inside the repository; delete it (rm ${shownLegacy}; rotate the token if it was ever committed or pushed)`;
  if (encrypt && legacyProblem !== undefined) throw new UserError(legacyProblem);

  const text = proxmoxCredentialsSecretYaml({
    name: secretName,
    namespace: cluster.namespace,
    // Set: the checks above stop on a missing variable.
    url: input.url!,
    token: input.token!,
    secret: input.secret!,
    rootCa,
    rootCaFile,
  });

  const warnings = problems.filter((p) => p.severity === 'warning').map((p) => p.message);
  if (legacyProblem !== undefined) warnings.push(legacyProblem);
  if (!encrypt && options.out === undefined) {
    if (sopsConfig !== undefined) warnings.push(...sopsRuleProblems);
    if (sops === undefined && sopsConfig !== undefined && sopsRuleProblems.length === 0) {
      warnings.push(`sops is not on PATH, so the Secret is not encrypted into ${relEncrypted}; it goes in plain text outside the repository instead (install sops 3.9 or later and run this again to encrypt it)`);
    }
  }

  // .sops.yaml first: sops reads the rule from it.
  if (sopsText !== undefined && sopsText !== existingSops) {
    try {
      fs.writeFileSync(sopsFile, sopsText);
    } catch (e) {
      throw new UserError(`cannot write ${display(sopsFile, io.cwd)}: ${(e as Error).message}`);
    }
  }
  if (encrypt) {
    const encrypted = sopsEncrypt({
      sops: sops!, configFile: sopsFile, target: encryptedFile, plaintext: text, secrets: [input.secret!], env, shown: relEncrypted,
    });
    writePrivate(out, encrypted, io.cwd);
  } else {
    writePrivate(out, text, io.cwd);
    // The default folders are this tool's alone: keep them private even if they existed before.
    if (configBase !== undefined) for (const dir of [configBase, path.dirname(out)]) fs.chmodSync(dir, 0o700);
  }

  for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
  io.stdout.write(encrypt
    ? `wrote ${display(out, io.cwd)}: Secret ${cluster.namespace}/${secretName}, encrypted by sops (the plain text never touched the disk)\n`
    : `wrote ${display(out, io.cwd)}: Secret ${cluster.namespace}/${secretName} in plain text (mode 0600), outside the repository\n`);
  if (sopsText !== undefined) {
    const before = existingSops !== undefined ? sopsConfigRecipients(existingSops) : undefined;
    if (sopsText === existingSops) {
      io.stdout.write(`${display(sopsFile, io.cwd)} is up to date\n`);
    } else {
      const count = new Set(recipients).size;
      io.stdout.write(`${existingSops === undefined ? 'wrote' : 'updated'} ${display(sopsFile, io.cwd)}: files under secrets/ are encrypted for ${count} age recipient${count === 1 ? '' : 's'}\n`);
      if (before !== undefined && before.join(',') !== [...new Set(recipients)].join(',')) {
        io.stdout.write('files encrypted before keep their old recipients until you run: sops updatekeys <file>\n');
      }
    }
  }

  const shown = shellQuote(display(out, io.cwd));
  const flux = [
    `  git add ${shownSops} ${shownEncrypted} && git commit && git push`,
    `  (Flux's ${name}-secrets Kustomization applies secrets/${name}/ before the cluster and decrypts it with`,
    '  the age private key in its decryption Secret, flux-system/sops-age by default)',
  ];
  let lines: string[];
  if (encrypt) {
    lines = [
      '',
      'next steps, with Flux (SOPS): commit it',
      ...flux,
      `  to change it later: sops ${shownEncrypted}, or run this again with --force`,
      'or with Fleet (no SOPS): do not commit it; write it in plain text outside the repository, apply it, delete it',
      `  npm run credentials -- ${name} --out /tmp/${name}-proxmox.yaml`,
      `  kubectl apply -f /tmp/${name}-proxmox.yaml && rm /tmp/${name}-proxmox.yaml`,
    ];
  } else {
    lines = [
      '',
      'next steps, with Fleet (no SOPS): apply it, then delete it',
      `  kubectl apply -f ${shown}`,
      `  rm ${shown}`,
      `or with Flux (SOPS): commit it encrypted as ${relEncrypted}`,
    ];
    if (sopsConfig === undefined) {
      lines.push(
        `  ${display(sopsFile, io.cwd)} is missing, so sops does not know whom to encrypt for; create it first with your age public key:`,
        '    age-keygen -o age.agekey    # prints "Public key: age1…"; keep age.agekey out of git',
        `    npm run credentials -- ${name} --age <age1… public key>`,
      );
    }
    if (sops === undefined) {
      lines.push('  install sops (3.9 or later), then run this again: it encrypts the Secret into the repository itself', `    npm run credentials -- ${name}`);
    } else {
      lines.push(
        '  run this again without --out (once .sops.yaml has a rule for it), or encrypt this file into the repository:',
        `    sops --encrypt --filename-override ${shownEncrypted} --output ${shownEncrypted} ${shown}`,
      );
    }
    lines.push(...flux, `  rm ${shown}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) {
  // As with console.log and console.error, which wrote before: output to a closed pipe (`| head`)
  // is dropped instead of crashing with EPIPE.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  process.exitCode = main(process.argv.slice(2), {
    env: process.env, cwd: process.cwd(), projectRoot: PROJECT_ROOT, stdout: process.stdout, stderr: process.stderr,
  });
}
