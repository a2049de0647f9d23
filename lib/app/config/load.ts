import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { TalosClusterProps } from '../../constructs/talos-cluster';
import { Diagnostic, error, quote, ValidationError, warning } from '../../core/errors';
import { applyRenamedKeys, dotted, RenamedKey } from './renamed-keys';
import { ClusterConfig, clusterConfigSchema, clusterProps } from './schema';

/** Where the cluster config's JSON Schema is published (`npm run import`). */
export const CLUSTER_JSON_SCHEMA = 'schemas/cluster-config.schema.json';

/** `a.b[0].c` from a zod path. */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k), '');
}

function zodProblems(issues: readonly z.core.$ZodIssue[], jsonSchema: string): Diagnostic[] {
  return issues.flatMap((issue): Diagnostic[] => {
    const field = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => error(formatPath([...issue.path, k]), `is not a known field (check the spelling; see ${jsonSchema})`));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [error(field, `is required (expected ${issue.expected})`)];
    }
    return [error(field, `${quote(issue.input)} ${issue.message.replace(/^Invalid (input|option): /, '')}`)];
  });
}

/** Diagnostics of a file: each carries the file as its source. */
function inFile(file: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, source: { file } }));
}

/** Parses YAML text into plain data. @throws ValidationError on syntax errors, with line and column */
function parseYaml(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(inFile(file, doc.errors.map((e) => error('',
      `YAML syntax error at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`))));
  }
  return doc.toJS();
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
 * {@link parseClusterConfig} of a file on disk.
 *
 * @param file where to read it
 * @param displayFile how messages name it (relative to the working directory)
 */
export function loadClusterConfig(file: string, displayFile: string = file): ClusterConfigFile {
  return parseClusterConfig(fs.readFileSync(file, 'utf8'), displayFile);
}
