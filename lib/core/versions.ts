import * as semver from 'semver';

/** Parses a `v`-prefixed release version (`v1.13.9`), or throws with what was expected. */
export function parseVersion(what: string, version: string): semver.SemVer {
  const parsed = /^v\d+\.\d+\.\d+$/.test(version) ? semver.parse(version) : null;
  if (!parsed) throw new Error(`${what} must look like v1.2.3, got ${JSON.stringify(version)}`);
  return parsed;
}

/**
 * Whether a Talos release generates multi-document machine configs (Talos ≥ 1.12).
 *
 * From 1.12 on, JSON6902 patches fail ("not supported for multi-document machine configuration")
 * and the VIP moves from `machine.network.interfaces[].vip` to a `Layer2VIPConfig` document
 * (STACK.md §3.2, §3.3).
 */
export function isMultiDocTalos(talosVersion: string): boolean {
  return semver.gte(parseVersion('Talos version', talosVersion), '1.12.0');
}
