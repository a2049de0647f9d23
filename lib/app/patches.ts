/**
 * The users' Talos patches as the repository's synth sees them: files a config names, read from a
 * subfolder of the config's folder, and every patch document checked against the machine-config
 * schema of the cluster's Talos release, with the config field (and the patch file and line).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TalosCluster, TalosClusterProps } from '../constructs/talos-cluster';
import { Diagnostic, error, joinPath, quote, ValidationError } from '../core/errors';
import { PROJECT_ROOT } from '../core/paths';
import { TalosPatchValidator } from '../gate/talos-patches';
import { documentLine, TalosPatch } from '../talos/patches';
import { readConfigText } from './config/load';

/** A patch a config file names by path: `- file: patches/registry.yaml`. */
interface PatchFileRef {
  readonly file: string;
}

function isFileRef(patch: unknown): patch is PatchFileRef {
  return typeof patch === 'object' && patch !== null && !Array.isArray(patch)
    && Object.keys(patch).length === 1 && typeof (patch as PatchFileRef).file === 'string';
}

/** Whether `child` is `parent` or inside it. */
function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Reads one patch file: relative to the config's folder, inside a subfolder of it (files directly
 * in `clusters/` are clusters themselves), the real file inside that folder too (no link out of
 * it), a regular file of at most 1 MiB.
 */
function readPatchFile(ref: PatchFileRef, configDir: string, field: string): { patch?: TalosPatch; problem?: Diagnostic } {
  const where = `${field}.file`;
  if (ref.file === '' || path.isAbsolute(ref.file) || ref.file.includes('\\')) {
    return { problem: error(where, `${quote(ref.file)} must be a relative path with "/", inside a subfolder of the config's folder (say patches/registry.yaml)`) };
  }
  const target = path.resolve(configDir, ref.file);
  if (!inside(configDir, target) || path.dirname(target) === configDir) {
    return { problem: error(where, `${quote(ref.file)} must be inside a subfolder of the config's folder (say patches/registry.yaml): files directly in it are clusters, and files outside it are not the repository's`) };
  }
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return { problem: error(where, `${quote(ref.file)} does not exist (relative to the config's folder)`) };
  }
  if (!inside(fs.realpathSync(configDir), real)) {
    return { problem: error(where, `${quote(ref.file)} is a link to a file outside the config's folder; put the patch itself in a subfolder`) };
  }
  const display = path.relative(PROJECT_ROOT, target).split(path.sep).join('/');
  try {
    return { patch: { yaml: readConfigText(real, display), file: display } };
  } catch (e) {
    if (e instanceof ValidationError) return { problem: error(where, e.diagnostics.map((d) => d.message).join('; ')) };
    throw e;
  }
}

/**
 * The props with every patch file a config names replaced by its text (and the file, for
 * messages): `talos.patches`, `controlPlane.patches`, `workers[].patches`.
 *
 * @param configDir the folder of the config file, which patch paths are relative to
 * @throws ValidationError naming each field whose file cannot be used
 */
export function withPatchFiles(props: TalosClusterProps, configDir: string): TalosClusterProps {
  const problems: Diagnostic[] = [];
  const resolve = (patches: readonly TalosPatch[] | undefined, field: string): TalosPatch[] | undefined => patches?.map((p, i) => {
    if (!isFileRef(p)) return p;
    const { patch, problem } = readPatchFile(p, configDir, `${field}[${i}]`);
    if (problem) problems.push(problem);
    return patch ?? p;
  });
  const out: TalosClusterProps = {
    ...props,
    ...(props.talos ? { talos: { ...props.talos, patches: resolve(props.talos.patches, 'talos.patches') } } : {}),
    controlPlane: { ...props.controlPlane, patches: resolve(props.controlPlane.patches, 'controlPlane.patches') },
    ...(props.workers ? { workers: props.workers.map((w, i) => ({ ...w, patches: resolve(w.patches, `workers[${i}].patches`) })) } : {}),
  };
  if (problems.length > 0) throw new ValidationError(problems);
  return out;
}

let validator: TalosPatchValidator | undefined;

/**
 * Every users' patch document of a cluster checked against the machine-config schema of its Talos
 * release: one diagnostic per problem, at the field's prop path (`talos.patches[0].machine.time.foo`),
 * with the patch file and line when the patch came from a file.
 */
export function patchSchemaProblems(cluster: TalosCluster): Diagnostic[] {
  validator ??= new TalosPatchValidator();
  const v = validator;
  return cluster.userPatches.flatMap((d) => v.validateDocument(cluster.talosVersion, d.value).map((p) => {
    const field = p.kindProblem ? ['kind'] : p.path;
    return error(joinPath(d.path, field.join('.')), `${p.message}${documentLine(d, field)}`);
  }));
}
