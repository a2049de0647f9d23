/** A Kubernetes object as plain data: rendered by helm, synthesized, or read back from dist/. */
export interface KubeObject {
  /** `group/version`, or `v1` for the core group. */
  readonly apiVersion: string;
  /** Object kind. */
  readonly kind: string;
  /** Object metadata; name and namespace are what messages and references use. */
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** The API group of a `group/version`; the core group (`v1`) is the empty string. */
export function apiGroupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** `Kind namespace/name` of an object, for messages. */
export function describeObject(o: KubeObject): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}
