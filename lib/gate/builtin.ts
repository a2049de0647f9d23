import { describeObject, KubeObject } from '../core/kube-object';
import { DNS1123_LABEL, DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MAX } from '../core/naming';
import { Violation } from './crd-schema';

/** Kubernetes rejects objects larger than this (etcd's request limit). */
export const MAX_OBJECT_BYTES = 1024 * 1024;

/**
 * What the API server checks of every object regardless of its schema: a DNS-1123 subdomain
 * name, a DNS-1123 label namespace, and (for ConfigMaps and Secrets) the 1 MiB size limit.
 */
export function builtinViolations(o: KubeObject): Violation[] {
  const out: Violation[] = [];
  const object = describeObject(o);
  const name = o.metadata?.name ?? '';
  if (name.length === 0 || name.length > DNS1123_SUBDOMAIN_MAX || !DNS1123_SUBDOMAIN.test(name)) {
    out.push({ object, field: 'metadata.name', message: `${JSON.stringify(name)} must be a DNS-1123 subdomain (lower case, digits, "-" and ".", at most 253 characters)` });
  }
  const ns = o.metadata?.namespace;
  if (ns !== undefined && (ns.length > DNS1123_LABEL_MAX || !DNS1123_LABEL.test(ns))) {
    out.push({ object, field: 'metadata.namespace', message: `${JSON.stringify(ns)} must be a DNS-1123 label` });
  }
  if (o.apiVersion === 'v1' && (o.kind === 'ConfigMap' || o.kind === 'Secret')) {
    const bytes = Buffer.byteLength(JSON.stringify(o));
    if (bytes > MAX_OBJECT_BYTES) {
      out.push({ object, field: 'data', message: `the object is ${bytes} bytes; Kubernetes accepts at most ${MAX_OBJECT_BYTES}` });
    }
  }
  return out;
}
