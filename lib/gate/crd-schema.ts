import * as fs from 'fs';
import * as path from 'path';
import Ajv, { AnySchema, ValidateFunction } from 'ajv';
import { describeObject, KubeObject } from '../core/kube-object';
import { SCHEMAS_DIR } from '../core/paths';
import { compileCached, goPatternToJs } from './compiled';

/** Where `npm run import` writes the OpenAPI schema of each custom resource version. */
export const CRD_SCHEMA_DIR = path.join(SCHEMAS_DIR, 'crds');

/** One way an object breaks its schema. */
export interface Violation {
  /** `Kind namespace/name`. */
  readonly object: string;
  /** Field path in the object (`spec.template.spec.numCores`), empty for the whole object. */
  readonly field: string;
  /** What the rule requires. */
  readonly message: string;
}

/**
 * Turns a CRD's OpenAPI v3 schema into a JSON Schema that rejects unknown fields, as the API
 * server does for structural schemas with `kubectl --validate=strict`: every object with declared
 * properties gets `additionalProperties: false` unless it preserves unknown fields; `nullable`
 * becomes a `null` type; Go patterns become JavaScript ones.
 */
export function strictSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictSchema);
  if (node === null || typeof node !== 'object') return node;
  const keywords = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(keywords)) {
    // CEL rules are evaluated separately; x-kubernetes-* keywords are unknown to JSON Schema.
    if (k.startsWith('x-kubernetes-') || k === 'nullable') continue;
    if (k === 'pattern' && typeof v === 'string') {
      out[k] = goPatternToJs(v);
      continue;
    }
    out[k] = k === 'properties' || k === '$defs' || k === 'definitions'
      ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, strictSchema(pv)]))
      : strictSchema(v);
  }
  if (keywords.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const preserves = keywords['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserves) out.additionalProperties = false;
  return out;
}

/** Validates custom resources against the OpenAPI schema of their CRD version. */
export class CrdSchemaValidator {
  private readonly compiled = new Map<string, ValidateFunction | undefined>();

  /** @param schemaDir directory of `<group>_<Kind>_<version>.json` files */
  constructor(private readonly schemaDir: string = CRD_SCHEMA_DIR) {}

  /** Whether a schema exists for the object's apiVersion and kind. */
  public knows(o: { apiVersion: string; kind: string }): boolean {
    return this.validatorFor(o) !== undefined;
  }

  private validatorFor(o: { apiVersion: string; kind: string }): ValidateFunction | undefined {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    const key = `${group}_${o.kind}_${version}`;
    if (!this.compiled.has(key)) {
      const file = path.join(this.schemaDir, `${key}.json`);
      // Formats are not checked: the API server validates only a few, none of which we emit.
      // The validator is named by the schema file's text (strictSchema is a transform of
      // compiled.ts's TRANSFORM_VERSION): the file is parsed only to compile it.
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      const fn = text !== undefined
        ? compileCached(() => new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { source: true } }),
          () => strictSchema(JSON.parse(text)) as AnySchema, `crd-schema\n${text}`)
        : undefined;
      this.compiled.set(key, fn);
    }
    return this.compiled.get(key);
  }

  /** Every schema violation of one object (unknown fields included). */
  public validate(o: KubeObject): Violation[] {
    const object = describeObject(o);
    const fn = this.validatorFor(o);
    if (!fn) return [{ object, field: 'apiVersion', message: `no CRD schema for ${o.apiVersion} ${o.kind} in ${this.schemaDir}` }];
    if (fn(o)) return [];
    return (fn.errors ?? []).map((e) => {
      const base = e.instancePath.replace(/^\//, '').split('/').filter(Boolean)
        .map((s) => /^\d+$/.test(s) ? `[${s}]` : `.${s.replace(/~1/g, '/').replace(/~0/g, '~')}`).join('').replace(/^\./, '');
      if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        return { object, field: base ? `${base}.${extra}` : extra, message: 'unknown field (not in the CRD schema)' };
      }
      return { object, field: base, message: `${e.message ?? 'is invalid'}${e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}` : ''}` };
    });
  }
}
