import * as semver from 'semver';

/** A release version as Talos and Kubernetes write it: `v` and three numbers (`v1.13.9`). */
export const RELEASE_VERSION = /^v\d+\.\d+\.\d+$/;

/**
 * The one parser of release versions (`v1.13.9`): the semver, or undefined when the text is not a
 * `v`-prefixed release version (no pre-release, no build metadata).
 */
export function releaseVersion(text: unknown): semver.SemVer | undefined {
  return typeof text === 'string' && RELEASE_VERSION.test(text) ? semver.parse(text) ?? undefined : undefined;
}

/** Parses a `v`-prefixed release version (`v1.13.9`), or throws with what was expected. */
export function parseVersion(what: string, version: string): semver.SemVer {
  const parsed = releaseVersion(version);
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
