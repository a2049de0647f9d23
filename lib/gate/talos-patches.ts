import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import * as YAML from 'yaml';
import { describeObject, KubeObject } from '../core/kube-object';
import { SCHEMAS_DIR } from '../core/paths';
import { isMultiDocTalos, releaseVersion } from '../core/versions';
import { compileCached } from './compiled';
import { Violation } from './crd-schema';

/** Where `npm run import` writes the Talos machine-config JSON Schema per Talos minor. */
export const TALOS_SCHEMA_DIR = path.join(SCHEMAS_DIR, 'talos');

/** A Talos config spec (TalosConfigSpec) as CABPT/CACPPT read it. */
interface TalosConfigSpec {
  readonly talosVersion?: string;
  readonly strategicPatches?: string[];
  readonly configPatches?: unknown[];
}

/** Where TalosControlPlanes and TalosConfigTemplates hold their Talos config specs. */
interface TalosConfigHolderSpec {
  readonly controlPlaneConfig?: { readonly controlplane?: TalosConfigSpec; readonly init?: TalosConfigSpec };
  readonly template?: { readonly spec?: TalosConfigSpec };
}

/** A problem of one machine-config document: the field's path inside it, and what is wrong. */
export interface DocumentProblem {
  /** Keys (and list indexes, as strings) from the document's root to the field; empty for the whole document. */
  readonly path: readonly string[];
  readonly message: string;
  /** Whether the problem is the document's `kind` itself. */
  readonly kindProblem: boolean;
}

/** A `$defs` entry of the machine-config schema; a separate document's `kind` is an enum of its one kind. */
interface DocumentDef {
  readonly properties?: { readonly kind?: { readonly enum?: readonly unknown[] } };
}

/**
 * Validates the Talos machine-config patches of TalosControlPlanes and TalosConfigTemplates
 * against the machine-config JSON Schema of their `talosVersion` minor (STACK.md §3.2).
 *
 * A strategic patch is a partial document: a `v1alpha1` config (no `kind`) or one of the
 * separate documents (`kind: Layer2VIPConfig`, …). Unknown fields are errors; required fields
 * are not, because CABPT merges the patch onto a generated config.
 */
export class TalosPatchValidator {
  private readonly schemas = new Map<string, { text: string; defs: Record<string, DocumentDef> }>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly patchResults = new Map<string, readonly { where: string; message: string }[]>();
  private readonly schemaFiles = new Map<string, boolean>();

  /** @param schemaDir directory of `v<major>.<minor>.json` schemas */
  constructor(private readonly schemaDir: string = TALOS_SCHEMA_DIR) {}

  /** Every problem of the Talos config specs in one object (none for other kinds). */
  public validate(o: KubeObject & { spec?: TalosConfigHolderSpec }): Violation[] {
    const specs: { field: string; spec: TalosConfigSpec }[] = [];
    if (o.kind === 'TalosControlPlane') {
      for (const k of ['controlplane', 'init'] as const) {
        const spec = o.spec?.controlPlaneConfig?.[k];
        if (spec) specs.push({ field: `spec.controlPlaneConfig.${k}`, spec });
      }
    } else if (o.kind === 'TalosConfigTemplate' && o.spec?.template?.spec) {
      specs.push({ field: 'spec.template.spec', spec: o.spec.template.spec });
    }
    return specs.flatMap(({ field, spec }) => this.validateSpec(describeObject(o), field, spec));
  }

  private validateSpec(object: string, field: string, spec: TalosConfigSpec): Violation[] {
    const version = spec.talosVersion;
    const minor = /^v(\d+)\.(\d+)/.exec(version ?? '');
    if (!version || !minor) {
      return [{ object, field: `${field}.talosVersion`, message: `${JSON.stringify(version)} must be set explicitly to a Talos version like v1.13.9` }];
    }
    const out: Violation[] = [];
    if ((spec.configPatches?.length ?? 0) > 0 && releaseVersion(version) && isMultiDocTalos(version)) {
      out.push({ object, field: `${field}.configPatches`, message: 'JSON6902 patches are not supported for multi-document machine configuration (Talos >= 1.12); use strategicPatches' });
    }
    const schemaKey = `v${minor[1]}.${minor[2]}`;
    if (!this.hasSchema(schemaKey)) {
      return [...out, { object, field: `${field}.talosVersion`, message: `${version}: no machine-config schema for Talos ${schemaKey} in ${this.schemaDir}` }];
    }
    (spec.strategicPatches ?? []).forEach((patch, i) => {
      const at = `${field}.strategicPatches[${i}]`;
      for (const p of this.patchProblems(schemaKey, patch)) out.push({ object, field: `${at}${p.where}`, message: p.message });
    });
    return out;
  }

  /**
   * The problems of one strategic patch under a release's schema, each with where it is after the
   * patch's own field (`" (document 2): machine.foo"`). Remembered by text: a fleet's clusters carry
   * the same patches, and each is parsed and checked once.
   */
  private patchProblems(schemaKey: string, patch: string): readonly { where: string; message: string }[] {
    const key = `${schemaKey}\0${patch}`;
    const known = this.patchResults.get(key);
    if (known) return known;
    const out: { where: string; message: string }[] = [];
    const docs = YAML.parseAllDocuments(patch);
    docs.forEach((doc, d) => {
      const where = docs.length > 1 ? ` (document ${d + 1})` : '';
      if (doc.errors.length > 0) {
        out.push({ where, message: `is not valid YAML: ${doc.errors[0].message.split('\n')[0]}` });
        return;
      }
      const value = doc.toJS();
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        out.push({ where, message: 'must be a YAML mapping (a partial machine-config document)' });
        return;
      }
      for (const p of this.documentProblems(schemaKey, value)) {
        out.push({ where: p.path.length > 0 || p.kindProblem ? `${where}${p.kindProblem ? '.kind' : `: ${p.path.join('.')}`}` : `${where}: (document)`, message: p.message });
      }
    });
    this.patchResults.set(key, out);
    return out;
  }

  /**
   * The problems of one machine-config document (a partial `v1alpha1` config, or a document with
   * `kind`) under the schema of a Talos release: each with the path of the field inside the
   * document, for callers that report against their own source (a config file, a patch file's line).
   *
   * @returns nothing when the document is valid; one entry when the release has no shipped schema
   */
  public validateDocument(talosVersion: string, value: Record<string, unknown>): DocumentProblem[] {
    const minor = /^v(\d+)\.(\d+)/.exec(talosVersion);
    if (!minor) return [{ path: [], message: `${JSON.stringify(talosVersion)} is not a Talos release`, kindProblem: false }];
    const schemaKey = `v${minor[1]}.${minor[2]}`;
    if (!this.hasSchema(schemaKey)) {
      return [{ path: [], message: `no machine-config schema for Talos ${schemaKey}`, kindProblem: false }];
    }
    return this.documentProblems(schemaKey, value);
  }

  /** Whether the release has a shipped schema file; asked once per release. */
  private hasSchema(schemaKey: string): boolean {
    let has = this.schemaFiles.get(schemaKey);
    if (has === undefined) {
      has = fs.existsSync(path.join(this.schemaDir, `${schemaKey}.json`));
      this.schemaFiles.set(schemaKey, has);
    }
    return has;
  }

  private documentProblems(schemaKey: string, value: Record<string, unknown>): DocumentProblem[] {
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    const fn = this.validatorFor(schemaKey, kind);
    if (!fn) return [{ path: [], message: `${JSON.stringify(kind)} is not a Talos ${schemaKey} machine-config document kind`, kindProblem: true }];
    if (fn(value)) return [];
    return (fn.errors ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
      const segments = [...e.instancePath.split('/').filter(Boolean).map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~')), ...(extra ? [extra] : [])];
      const message = extra ? `unknown field in a Talos ${schemaKey} ${kind ?? 'v1alpha1'} document` : `${e.message} (Talos ${schemaKey} machine-config schema)`;
      return { path: segments, message, kindProblem: false };
    });
  }

  private validatorFor(schemaKey: string, kind: string | undefined): ValidateFunction | undefined {
    const key = `${schemaKey}/${kind ?? ''}`;
    if (this.compiled.has(key)) return this.compiled.get(key);
    let schema = this.schemas.get(schemaKey);
    if (!schema) {
      const text = fs.readFileSync(path.join(this.schemaDir, `${schemaKey}.json`), 'utf8');
      schema = { text, defs: JSON.parse(text).$defs ?? {} };
      this.schemas.set(schemaKey, schema);
    }
    const defs = schema.defs;
    const def = kind === undefined
      ? 'v1alpha1.Config'
      : Object.keys(defs).find((k) => defs[k]?.properties?.kind?.enum?.includes(kind));
    if (!def) return undefined;
    const id = `talos-${schemaKey}`;
    const text = schema.text;
    const fn = compileCached(() => {
      const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false, code: { source: true } });
      const full = JSON.parse(text);
      delete full.$schema;
      ajv.addSchema({ ...full, $id: id });
      return ajv;
    }, { $ref: `${id}#/$defs/${def}` }, createHash('sha256').update(text).digest('hex'));
    this.compiled.set(key, fn);
    return fn;
  }
}
