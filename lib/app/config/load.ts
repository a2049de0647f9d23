import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { TalosClusterProps } from '../../constructs/talos-cluster';
import { Diagnostic, error, quote, ValidationError, warning } from '../../core/errors';
import { applyRenamedKeys, dotted, RenamedKey } from './renamed-keys';
import { ClusterConfig, clusterConfigSchema, clusterProps } from './schema';

/** Where the cluster config's JSON Schema is published (`npm run import`). */
export const CLUSTER_JSON_SCHEMA = 'schemas/cluster-config.schema.json';

/**
 * The largest config file read, in bytes (1 MiB). A cluster config is a few KiB; a larger file is
 * the wrong one, and YAML parsing time grows with the text, so it is refused before parsing.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The most YAML aliases (`*name`) a config file may use, and the most values they may expand
 * into (yaml's `maxAliasCount`): a "billion laughs" file nests aliases to expand into billions.
 */
export const MAX_YAML_ALIASES = 100;

/** YAML syntax errors shown per file; a file that is not YAML at all has thousands. */
const MAX_SYNTAX_ERRORS = 10;

/** Unknown fields listed per mapping; a wrong file (someone else's YAML) can have thousands. */
const MAX_UNKNOWN_FIELDS = 10;

/** A key shown as written in a path (`labels.example.com/rack`); any other is quoted (`labels["a b"]`). */
const PLAIN_KEY = /^[A-Za-z0-9_$][A-Za-z0-9_$./-]{0,79}$/;

/**
 * `a.b[0].c` from a zod path. A key that is not a plain name (long, or with spaces, quotes or line
 * breaks: user-written keys such as labels) is shown quoted and cut short, as `a["x y"]`.
 */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => {
    if (typeof k === 'number') return `${acc}[${k}]`;
    const key = String(k);
    if (!PLAIN_KEY.test(key)) return `${acc}[${quote(key)}]`;
    return acc ? `${acc}.${key}` : key;
  }, '');
}

/** What a value that should have been a mapping is, for a message that does not echo it. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return 'a text (a YAML string)';
  return `a single value (a YAML ${typeof value})`;
}

function zodProblems(issues: readonly z.core.$ZodIssue[], jsonSchema: string): Diagnostic[] {
  return issues.flatMap((issue): Diagnostic[] => {
    const field = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const listed = issue.keys.slice(0, MAX_UNKNOWN_FIELDS)
        .map((k) => error(formatPath([...issue.path, k]), `is not a known field (check the spelling; see ${jsonSchema})`));
      const more = issue.keys.length - listed.length;
      return more > 0 ? [...listed, error(field, `has ${more} more unknown fields (is this the right file? see ${jsonSchema})`)] : listed;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [error(field, `is required (expected ${issue.expected})`)];
    }
    if (issue.code === 'invalid_type' && issue.path.length === 0) {
      // The whole file is not a mapping: echoing even part of it could show a file that was
      // never meant to be read (a symlink to the wrong file), so only its kind is named.
      if (issue.input === null) return [error('', `is empty; a config file is a mapping of fields (key: value lines; see ${jsonSchema})`)];
      return [error('', `holds ${kindOf(issue.input)}, not a mapping of fields (key: value lines); is this the right file? (see ${jsonSchema})`)];
    }
    return [error(field, `${quote(issue.input)} ${issue.message.replace(/^Invalid (input|option): /, '')}`)];
  });
}

/** Diagnostics of a file: each carries the file as its source. */
function inFile(file: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, source: { file } }));
}

/** A ValidationError with one problem of the whole file. */
function fileError(file: string, message: string): ValidationError {
  return new ValidationError(inFile(file, [error('', message)]));
}

/** `1.5 MiB`. */
function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
}

function tooLarge(size: string): string {
  return `is ${size}, larger than the ${mebibytes(MAX_CONFIG_BYTES)} a config file may have (a cluster config is a few KiB); is this the right file?`;
}

/**
 * Why a file cannot be opened, as a message that names no path (the diagnostic names the file):
 * a symbolic link to nothing, a loop of links, no permission.
 */
export function unreadableFileProblem(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': {
      let target: string | undefined;
      try {
        target = fs.readlinkSync(file);
      } catch {
        target = undefined;
      }
      return target === undefined ? 'does not exist' : `is a symbolic link to ${quote(target)}, which does not exist; fix or remove the link`;
    }
    case 'ELOOP': return 'is a symbolic link that never reaches a file (a loop of links); fix or remove the link';
    case 'EISDIR': return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM': return 'cannot be read (permission denied); check its permissions';
    default: return `cannot be read (${err.code ?? err.message})`;
  }
}

/**
 * The text of a config file, read with a size limit: a file over {@link MAX_CONFIG_BYTES} is
 * refused before it is read, and a directory, FIFO or device before anything waits on it.
 *
 * @param file where to read it
 * @param displayFile how messages name it (relative to the working directory)
 * @throws ValidationError naming the file when it is missing, unreadable, not a regular file or too large
 */
export function readConfigText(file: string, displayFile: string = file): string {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO must not wait for a writer (it is refused below); no effect on files.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fileError(displayFile, unreadableFileProblem(file, e as NodeJS.ErrnoException));
  }
  try {
    // The opened file itself is checked, so it cannot change between the check and the read.
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw fileError(displayFile, 'is a directory, not a file');
    if (!stat.isFile()) throw fileError(displayFile, 'is not a regular file (a FIFO, socket or device); a config file must be a regular file');
    if (stat.size > MAX_CONFIG_BYTES) throw fileError(displayFile, tooLarge(mebibytes(stat.size)));
    // The size can be wrong (a file still growing, a /proc file): read at most one byte past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, MAX_CONFIG_BYTES + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > MAX_CONFIG_BYTES) throw fileError(displayFile, tooLarge(`more than ${mebibytes(MAX_CONFIG_BYTES)}`));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw fileError(displayFile, unreadableFileProblem(file, e as NodeJS.ErrnoException));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * yaml messages that end in a piece of the file (a tag, an alias or directive name, a token):
 * that piece is quoted and cut short like any other value.
 */
const ECHOING_YAML_MESSAGE = /^(Unresolved alias \(the anchor must be set before the alias\)|Not a valid tag|Could not resolve tag|Unresolved tag|Not a YAML token|Block scalar header includes extra characters|Anchor must not contain whitespace or control characters|Unknown directive|Unsupported YAML version|Unresolved plain scalar|Ordered maps must not include duplicate keys):? (.*)$/s;

/** The longest YAML message shown, a safety net for messages not in {@link ECHOING_YAML_MESSAGE}. */
const MAX_YAML_MESSAGE = 200;

/** One yaml error message as shown: its first line, without its position, with no long piece of the file. */
function yamlMessage(message: string): string {
  const text = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  // The parser's own stack overflow (a file nested thousands deep) says nothing to a user.
  if (/^Maximum call stack size exceeded/.test(text)) return 'the file is nested too deeply to read';
  const echoing = ECHOING_YAML_MESSAGE.exec(text);
  if (echoing) return `${echoing[1]}: ${quote(echoing[2])}`;
  return text.length > MAX_YAML_MESSAGE ? `${text.slice(0, MAX_YAML_MESSAGE - 1)}…` : text;
}

interface YamlProblem {
  readonly offset: number;
  readonly message: string;
}

/**
 * Keys repeated in one mapping. yaml's own check (uniqueKeys) compares every key with every
 * earlier one, which takes minutes for a file of many keys; this one takes a Set per mapping and
 * reports what yaml reports, where it would.
 */
function duplicateKeys(doc: YAML.Document): YamlProblem[] {
  const problems: YamlProblem[] = [];
  YAML.visit(doc, (_, node) => {
    if (!YAML.isMap(node)) return;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = pair.key;
      // As yaml's uniqueKeys: scalars are equal by value, anything else only to itself.
      if (!YAML.isScalar(key) || Number.isNaN(key.value)) continue;
      if (seen.has(key.value)) problems.push({ offset: key.range?.[0] ?? 0, message: 'Map keys must be unique' });
      seen.add(key.value);
    }
  });
  return problems;
}

/**
 * Aliases that name no earlier anchor, and too many aliases: yaml resolves each alias by a walk of
 * the whole document, so their number bounds the time toJS takes.
 */
function aliasProblems(doc: YAML.Document, file: string): { problems: YamlProblem[]; tooMany?: ValidationError } {
  const anchors = new Set<string>();
  const problems: YamlProblem[] = [];
  let aliases = 0;
  YAML.visit(doc, (_, node) => {
    if (YAML.isAlias(node)) {
      aliases++;
      if (!anchors.has(node.source)) {
        problems.push({ offset: node.range?.[0] ?? 0, message: `Unresolved alias (the anchor must be set before the alias): ${node.source}` });
      }
    } else if (YAML.isNode(node) && node.anchor) {
      anchors.add(node.anchor);
    }
  });
  if (aliases <= MAX_YAML_ALIASES) return { problems };
  return { problems, tooMany: fileError(file, `uses ${aliases} YAML aliases (*name); a config file may use at most ${MAX_YAML_ALIASES}: write the values out`) };
}

/**
 * Parses YAML text into plain data, in time that grows with the text's size, which is bounded.
 *
 * @throws ValidationError on a text over {@link MAX_CONFIG_BYTES}, syntax errors (with line and
 *   column), unresolved or too many aliases, and aliases that expand too far
 */
function parseYaml(text: string, file: string): unknown {
  // A text handed over directly (not read by readConfigText) gets the same limit.
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) throw fileError(file, tooLarge(mebibytes(bytes)));
  const lineCounter = new YAML.LineCounter();
  // uniqueKeys is checked by duplicateKeys (yaml's own check takes quadratic time).
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  const aliases = aliasProblems(doc, file);
  const problems = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message })),
    ...duplicateKeys(doc),
    ...aliases.problems,
  ].sort((a, b) => a.offset - b.offset);
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_SYNTAX_ERRORS).map((p) => {
      const { line, col } = lineCounter.linePos(p.offset);
      return error('', `YAML syntax error at line ${line}, column ${col}: ${yamlMessage(p.message)}`);
    });
    const more = problems.length - shown.length;
    throw new ValidationError(inFile(file, more > 0 ? [...shown, error('', `and ${more} more YAML syntax errors`)] : shown));
  }
  if (aliases.tooMany) throw aliases.tooMany;
  try {
    // yaml counts the anchored value itself too: + 1 lets 100 aliases of one scalar through.
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES + 1 });
  } catch (e) {
    // yaml throws a ReferenceError for aliases that expand too far, and deep nesting can
    // overflow the stack: both are the file's doing, not a bug.
    if (e instanceof ReferenceError && /Excessive alias count/.test(e.message)) {
      throw fileError(file, `has YAML aliases that expand into too many values (more than ${MAX_YAML_ALIASES}; a "billion laughs" file?): write the values out`);
    }
    if (e instanceof RangeError) throw fileError(file, 'is nested too deeply to read');
    throw e;
  }
}

/**
 * Parses a YAML config file and checks it against a zod schema, applying the schema's defaults.
 *
 * @param jsonSchema the published JSON Schema of the file, named in unknown-field messages
 * @throws ValidationError with every problem of the file: YAML syntax (with line and column),
 *   unknown fields, wrong types and the schema's own rules
 */
export function parseYamlConfig<S extends z.ZodType>(text: string, file: string, schema: S, jsonSchema: string): z.output<S> {
  const result = schema.safeParse(parseYaml(text, file), { reportInput: true });
  if (!result.success) throw new ValidationError(inFile(file, zodProblems(result.error.issues, jsonSchema)));
  return result.data;
}

/** A cluster config file, parsed into the props of its cluster. */
export interface ClusterConfigFile {
  /** Path of the file, relative to the working directory. */
  readonly file: string;
  /** The config as written (renamed keys moved to their new names). */
  readonly config: ClusterConfig;
  /** The TalosCluster props the file describes; the constructs check and default them. */
  readonly props: TalosClusterProps;
  /** Renamed keys the file still uses (see lib/app/config/renamed-keys.ts). */
  readonly renamed: readonly RenamedKey[];
  /** Warnings about the file itself (renamed keys). */
  readonly warnings: readonly Diagnostic[];
}

/**
 * Parses one cluster config file: YAML, renamed keys, structure. The values are checked by the
 * constructs when the cluster is built (lib/app/clusters.ts).
 *
 * @throws ValidationError with every structural problem of the file
 */
export function parseClusterConfig(text: string, file: string): ClusterConfigFile {
  const data = parseYaml(text, file);
  const { applied, conflicts } = applyRenamedKeys(data);
  const result = clusterConfigSchema.safeParse(data, { reportInput: true });
  const errors = [
    ...conflicts.map((r) => error(dotted(r.from), `is the old name of ${dotted(r.to)}, which is set too; keep ${dotted(r.to)} only`)),
    ...(result.success ? [] : zodProblems(result.error.issues, CLUSTER_JSON_SCHEMA)),
  ];
  if (!result.success || errors.length > 0) throw new ValidationError(inFile(file, errors));
  return {
    file,
    config: result.data,
    props: clusterProps(result.data),
    renamed: applied,
    warnings: inFile(file, applied.map((r) => warning(dotted(r.from),
      `is renamed to ${dotted(r.to)} (${r.hint}); rename it in this file: the old key is refused from version ${r.removeIn} on`))),
  };
}

/**
 * {@link parseClusterConfig} of a file on disk, read by {@link readConfigText} (at most
 * {@link MAX_CONFIG_BYTES}, a regular file).
 *
 * @param file where to read it
 * @param displayFile how messages name it (relative to the working directory)
 */
export function loadClusterConfig(file: string, displayFile: string = file): ClusterConfigFile {
  return parseClusterConfig(readConfigText(file, displayFile), displayFile);
}
