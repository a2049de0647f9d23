import { UserError } from '../core/errors';
import { KubeObject } from '../core/kube-object';
import { builtinViolations } from './builtin';
import { CelValidator } from './cel';
import { CrdSchemaValidator, Violation } from './crd-schema';
import { referenceViolations } from './references';
import { TalosPatchValidator } from './talos-patches';

/** Output that the API server or the providers would reject; lists every violation. */
export class OutputGateError extends UserError {
  constructor(
    /** Where the output came from (a config file), for the message. */
    public readonly source: string,
    /** Every violation found. */
    public readonly violations: readonly Violation[],
  ) {
    super(violations.map((v) => `${source}: ${v.object}: ${v.field ? `${v.field}: ` : ''}${v.message}`).join('\n'));
    this.name = 'OutputGateError';
  }
}

/**
 * The output gate run before anything is written: the OpenAPI schema of each custom resource's
 * CRD (unknown fields are errors), its CEL rules, Talos patch schemas, the API server's built-in
 * checks, and references and selectors across the output.
 */
export class OutputGate {
  private readonly schema = new CrdSchemaValidator();
  private celValidator?: CelValidator;
  private readonly talos = new TalosPatchValidator();

  /** Made at first use: output the gate passed before needs no CEL (lib/gate/passes.ts). */
  private get cel(): CelValidator {
    this.celValidator ??= new CelValidator();
    return this.celValidator;
  }

  /**
   * Every violation of one output set (typically one cluster): each object's own checks, and the
   * references among the objects and `context`, objects checked elsewhere that they may reference or
   * be referenced by (the shared add-on renders a cluster uses, checked once for the fleet).
   */
  public violations(objects: readonly KubeObject[], context: readonly KubeObject[] = []): Violation[] {
    return [...this.objectViolations(objects), ...referenceViolations([...objects, ...context])];
  }

  /** The checks of each object on its own: built-ins, CRD schema, CEL rules, Talos patches. */
  public objectViolations(objects: readonly KubeObject[]): Violation[] {
    const out: Violation[] = [];
    for (const o of objects) {
      out.push(...builtinViolations(o));
      if (o.apiVersion === 'v1') continue;
      const schemaErrors = this.schema.validate(o);
      out.push(...schemaErrors);
      // CEL rules assume a schema-valid object, as they do in the API server.
      if (schemaErrors.length === 0) out.push(...this.cel.validate(o));
      out.push(...this.talos.validate(o));
    }
    return out;
  }

  /** @throws OutputGateError when the output has any violation */
  public check(source: string, objects: readonly KubeObject[], context: readonly KubeObject[] = []): void {
    const violations = this.violations(objects, context);
    if (violations.length > 0) throw new OutputGateError(source, violations);
  }
}
