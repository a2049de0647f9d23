import * as fs from 'fs';
import * as path from 'path';
import type * as Cel from '@bufbuild/cel';
import type * as CelExt from '@bufbuild/cel/ext';
import { describeObject, KubeObject } from '../core/kube-object';
import { CRD_SCHEMA_DIR, Violation } from './crd-schema';

/**
 * The CEL library, loaded at first use: its start (the CEL spec's protobuf descriptors) took 40 ms
 * of every synth, also of those whose output the gate had passed before (lib/gate/passes.ts).
 */
function cel(): typeof Cel & typeof CelExt {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily on purpose, see above
  celLibrary ??= { ...require('@bufbuild/cel') as typeof Cel, ...require('@bufbuild/cel/ext') as typeof CelExt };
  return celLibrary;
}
let celLibrary: (typeof Cel & typeof CelExt) | undefined;

/** One `x-kubernetes-validations` entry of a CRD schema. */
interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
}

/**
 * A node of a CRD's structural schema (OpenAPI v3), with the keywords CEL evaluation reads; the
 * others pass through untouched.
 */
export interface SchemaNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly [keyword: string]: unknown;
}

type Evaluator = (ctx: { self: unknown; oldSelf?: unknown }) => unknown;

/** Rules comparing with the stored object only run on updates; `npm run plan` checks them ({@link CelValidator.validateUpdate}). */
export function isTransitionRule(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/**
 * Converts a JSON value to a CEL input the way the API server types it from the structural
 * schema: objects become maps, `integer` fields become CEL ints (bigint), int-or-string numbers too.
 */
export function toCel(value: unknown, schema: SchemaNode | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === 'object') {
    const props = schema?.properties ?? {};
    const extra = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    return new Map(Object.entries(value as object).map(([k, v]) => [k, toCel(v, props[k] ?? extra)]));
  }
  if (typeof value === 'number' && Number.isInteger(value)
    && (schema?.type === 'integer' || schema?.['x-kubernetes-int-or-string'] === true)) {
    return BigInt(value);
  }
  return value;
}

/** The violation of a rule that did not evaluate to true at `field`. */
function violation(r: CelRule, result: unknown, field: string, object: string): Violation {
  const at = r.fieldPath ? `${field}${r.fieldPath}` : field;
  // The API server rejects on evaluation errors too (e.g. an absent field); say both.
  const why = `${r.message ?? 'failed'}${cel().isCelError(result) ? ` (evaluation error: ${result.message})` : ''}`;
  return { object, field: at.replace(/^\./, ''), message: `${why} [CEL: ${r.rule}]` };
}

/**
 * Evaluates the CEL rules (`x-kubernetes-validations`) of a CRD schema against objects, as the
 * API server does on create: each rule runs with `self` bound to the value at its schema node,
 * wherever that value is present. Transition rules (`oldSelf`) are skipped.
 */
export class CelValidator {
  private readonly env = cel().celEnv({ funcs: cel().strings });
  private readonly schemas = new Map<string, SchemaNode | undefined>();
  private readonly plans = new Map<string, Evaluator>();

  /** @param schemaDir directory of `<group>_<Kind>_<version>.json` files */
  constructor(private readonly schemaDir: string = CRD_SCHEMA_DIR) {}

  private schemaFor(o: KubeObject): SchemaNode | undefined {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    const key = `${group}_${o.kind}_${version}`;
    if (!this.schemas.has(key)) {
      const file = path.join(this.schemaDir, `${key}.json`);
      this.schemas.set(key, fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined);
    }
    return this.schemas.get(key);
  }

  private evaluator(rule: string): Evaluator {
    let fn = this.plans.get(rule);
    if (!fn) {
      fn = cel().plan(this.env, cel().parse(rule)) as unknown as Evaluator;
      this.plans.set(rule, fn);
    }
    return fn;
  }

  /** Every CEL rule the object breaks. Objects without a schema are reported by the schema check. */
  public validate(o: KubeObject): Violation[] {
    const schema = this.schemaFor(o);
    if (!schema) return [];
    const out: Violation[] = [];
    this.walk(schema, o, '', describeObject(o), out);
    return out;
  }

  /**
   * Every transition rule (`oldSelf`) an update from `old` to `o` breaks, as the API server
   * evaluates them on update: only where the old value is correlatable (object properties, and
   * items of `x-kubernetes-list-type: map` lists matched by their keys) and present on both sides.
   */
  public validateUpdate(o: KubeObject, old: KubeObject): Violation[] {
    const schema = this.schemaFor(o);
    if (!schema) return [];
    const out: Violation[] = [];
    this.walkUpdate(schema, o, old, '', describeObject(o), out);
    return out;
  }

  private walkUpdate(schema: SchemaNode | undefined, value: unknown, old: unknown, field: string, object: string, out: Violation[]): void {
    if (!schema || value === undefined || value === null || old === undefined || old === null) return;
    for (const r of (schema['x-kubernetes-validations'] ?? []) as CelRule[]) {
      if (!isTransitionRule(r.rule)) continue;
      const result = this.evaluator(r.rule)({ self: toCel(value, schema), oldSelf: toCel(old, schema) });
      if (result !== true) out.push(violation(r, result, field, object));
    }
    if (Array.isArray(value)) {
      const keys: readonly string[] | undefined = schema['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
      if (!keys || !Array.isArray(old)) return;
      const keyOf = (item: unknown) => JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null | undefined)?.[k]));
      value.forEach((v, i) => this.walkUpdate(schema.items, v, old.find((o) => keyOf(o) === keyOf(v)), `${field}[${i}]`, object, out));
    } else if (typeof value === 'object' && typeof old === 'object' && !Array.isArray(old)) {
      for (const [k, v] of Object.entries(value as object)) {
        const child = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        this.walkUpdate(child, v, (old as Record<string, unknown>)[k], `${field}.${k}`, object, out);
      }
    }
  }

  private walk(schema: SchemaNode | undefined, value: unknown, field: string, object: string, out: Violation[]): void {
    if (!schema || value === undefined || value === null) return;
    for (const r of (schema['x-kubernetes-validations'] ?? []) as CelRule[]) {
      if (isTransitionRule(r.rule)) continue;
      const result = this.evaluator(r.rule)({ self: toCel(value, schema) });
      if (result !== true) out.push(violation(r, result, field, object));
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => this.walk(schema.items, v, `${field}[${i}]`, object, out));
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as object)) {
        const child = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        this.walk(child, v, `${field}.${k}`, object, out);
      }
    }
  }
}
