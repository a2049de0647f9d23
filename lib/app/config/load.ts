import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';
import { clusterConfigProblems } from './rules';
import { ClusterConfig, clusterConfigSchema } from './schema';
import { UserError } from '../../core/errors';

/** One problem in a config file. */
export interface ConfigProblem {
  /** Dotted field path (`network.endpoint`, `workers[0].name`), empty for the whole file. */
  readonly field: string;
  /** What is wrong, with the value received and what is expected. */
  readonly message: string;
}

/** Every problem of one config file; its message lists them all, one per line. */
export class ConfigError extends UserError {
  constructor(
    /** The config file, relative to the working directory. */
    public readonly file: string,
    /** The problems found. */
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(problems.map((p) => `${file}: ${p.field ? `${p.field} ` : ''}${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** `a.b[0].c` from a zod path. */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k), '');
}

function describeValue(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function zodProblems(error: z.ZodError, jsonSchema: string): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const field = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({
        field: formatPath([...issue.path, k]),
        message: `is not a known field (check the spelling; see ${jsonSchema})`,
      }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [{ field, message: `is required (expected ${issue.expected})` }];
    }
    return [{ field, message: `${describeValue(issue.input)} ${issue.message.replace(/^Invalid input: /, '')}` }];
  });
}

/**
 * Parses a YAML config file and validates it against a zod schema, applying defaults.
 *
 * @param jsonSchema the published JSON Schema of the file, named in unknown-field messages
 * @throws ConfigError with every problem of the file: YAML syntax (with line and column), unknown
 *   fields, wrong types and out-of-range values
 */
export function parseYamlConfig<S extends z.ZodType>(text: string, file: string, schema: S, jsonSchema: string): z.output<S> {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => ({
      field: '',
      message: `YAML syntax error at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`,
    })));
  }
  const result = schema.safeParse(doc.toJS(), { reportInput: true });
  if (!result.success) throw new ConfigError(file, zodProblems(result.error, jsonSchema));
  return result.data;
}

/**
 * Parses and validates one cluster config file, applying defaults.
 *
 * @throws ConfigError with every problem of the file: those of {@link parseYamlConfig}, then the
 *   semantic rules (IP math, capacity, versions, names; lib/validation/cluster-rules.ts)
 */
export function parseClusterConfig(text: string, file: string): ClusterConfig {
  const config = parseYamlConfig(text, file, clusterConfigSchema, 'schemas/cluster-config.schema.json');
  // Warnings (e.g. a single control plane) are reported by the constructs at synth.
  const errors = clusterConfigProblems(config).filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new ConfigError(file, errors);
  return config;
}

/** A loaded config and where it came from. */
export interface LoadedConfig {
  /** Path of the file, relative to the working directory. */
  readonly file: string;
  /** The validated config, defaults applied. */
  readonly config: ClusterConfig;
}

/**
 * Loads every `*.yaml`/`*.yml` file of a directory, in name order.
 *
 * @throws UserError listing every problem of every file, so one run shows them all
 */
export function loadClusterConfigs(dir: string): LoadedConfig[] {
  if (!fs.existsSync(dir)) throw new UserError(`config directory ${dir} does not exist; create it with one <cluster>.yaml per cluster`);
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new UserError(`no cluster configs (*.yaml) in ${dir}`);
  const loaded: LoadedConfig[] = [];
  const errors: ConfigError[] = [];
  for (const f of files) {
    const file = path.relative(process.cwd(), path.join(dir, f)) || f;
    try {
      loaded.push({ file, config: parseClusterConfig(fs.readFileSync(path.join(dir, f), 'utf8'), file) });
    } catch (e) {
      if (e instanceof ConfigError) errors.push(e); else throw e;
    }
  }
  const seen = new Map<string, string>();
  for (const { file, config } of loaded) {
    const other = seen.get(config.name);
    if (other) errors.push(new ConfigError(file, [{ field: 'name', message: `${JSON.stringify(config.name)} is already used by ${other}; cluster names must be unique` }]));
    seen.set(config.name, file);
  }
  if (errors.length > 0) throw new UserError(errors.map((e) => e.message).join('\n'));
  return loaded;
}
