/**
 * Config keys renamed so that the config file and the TypeScript props spell a field alike. A
 * renamed key keeps working, with a warning that names the new key, until the version in
 * `removeIn` (a test fails once package.json reaches it, as the reminder to drop the entry).
 *
 * This table is the only place where a config path and a prop path differ.
 */
export interface RenamedKey {
  /** The old key's path in the config file. */
  readonly from: readonly string[];
  /** The new key's path, which is the prop path. */
  readonly to: readonly string[];
  /** The value under the new key, from the old key's value. */
  readonly convert: (value: unknown) => unknown;
  /** What the warning says of the new key's form. */
  readonly hint: string;
  /** The package version from which the old key is refused. */
  readonly removeIn: string;
}

/** Every renamed key. */
export const RENAMED_KEYS: readonly RenamedKey[] = [
  { from: ['network', 'podCidr'], to: ['network', 'podCidrs'], convert: (v) => [v], hint: 'a list of CIDRs', removeIn: '0.2.0' },
  { from: ['network', 'serviceCidr'], to: ['network', 'serviceCidrs'], convert: (v) => [v], hint: 'a list of CIDRs', removeIn: '0.2.0' },
];

/** `network.podCidr`. */
export function dotted(path: readonly string[]): string {
  return path.join('.');
}

function parentOf(data: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let node = data;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'object' && node !== null && !Array.isArray(node) ? node as Record<string, unknown> : undefined;
}

/** The outcome of {@link applyRenamedKeys}. */
export interface RenamedKeysResult {
  /** The renames that applied (the old key was present). */
  readonly applied: readonly RenamedKey[];
  /** Old and new key both present: the user must keep one. */
  readonly conflicts: readonly RenamedKey[];
}

/**
 * Moves every old key of `data` (a parsed config, changed in place) to its new key, converted.
 * Where both keys are present nothing is moved and the rename is reported as a conflict.
 */
export function applyRenamedKeys(data: unknown, renames: readonly RenamedKey[] = RENAMED_KEYS): RenamedKeysResult {
  const applied: RenamedKey[] = [];
  const conflicts: RenamedKey[] = [];
  for (const r of renames) {
    const parent = parentOf(data, r.from);
    const oldKey = r.from[r.from.length - 1];
    const newKey = r.to[r.to.length - 1];
    if (!parent || !(oldKey in parent)) continue;
    if (newKey in parent) {
      conflicts.push(r);
      continue;
    }
    parent[newKey] = r.convert(parent[oldKey]);
    delete parent[oldKey];
    applied.push(r);
  }
  return { applied, conflicts };
}

/**
 * The config path of a prop path, for a file in which `applied` renames took place: the old key
 * where the user wrote it (`network.podCidrs[0]` → `network.podCidr`), else the prop path itself.
 */
export function configPath(propPath: string, applied: readonly RenamedKey[]): string {
  for (const r of applied) {
    const to = dotted(r.to);
    if (propPath === to || propPath.startsWith(`${to}.`) || propPath.startsWith(`${to}[`)) return dotted(r.from);
  }
  return propPath;
}
