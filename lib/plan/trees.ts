/**
 * The objects of the two output trees `npm run plan` compares, reading no more of them than a
 * change can touch.
 *
 * At a thousand clusters dist/ holds tens of megabytes of YAML, and a change usually touches a few
 * folders. A file whose text is the same in both trees yields the same objects in both, so it can
 * create, change or delete nothing, and it is neither read from git nor parsed, unless the plan
 * needs its objects:
 *
 * - every file of a folder with a changed file is parsed: rollouts, scaling and findings look at
 *   all the control planes and pools of a changed folder, changed or not;
 * - an object the plan looks up by name (a template a pool references, say) that is not among the
 *   parsed ones may be in a skipped file: the files that might hold it are parsed and the plan is
 *   computed again;
 * - an object is indexed by its identity, and a second file defining the same identity replaces
 *   it (the later path wins), so every parsed object is checked against the skipped files too;
 * - a file parsed for either reason brings the rest of its folder: the object it holds may differ
 *   between the trees (when another file defined the same identity), and the plan then looks at
 *   its folder's control planes and pools as for a changed file.
 *
 * "Might hold" is decided on the text without parsing it: an object named `n` of kind `k` in
 * namespace `s` and API group `g` can only come from a file in which `n`, `k`, `s` and `g` each
 * appear as a whole word (a run of `[A-Za-z0-9._-]` between other characters), because YAML writes
 * such a string verbatim (plain or quoted) unless it uses an escape (a file with a backslash is
 * always a candidate) or the value is not a string at all (a number, `true`; such identities make
 * every skipped file a candidate). The result is the same as parsing every file; only the work
 * differs. Texts are compared by git blob id where one side is stored in git, so that unchanged
 * files are never read from it.
 */
import * as crypto from 'crypto';
import * as YAML from 'yaml';
import { OutputFile } from '../app/output';
import { apiGroupOf, KubeObject } from '../core/kube-object';
import { compareText } from '../core/naming';

/** A file stored in git: its path in the tree and its blob id. */
export interface StoredFile {
  readonly path: string;
  readonly blob: string;
}

/** A tree stored in git, whose files are read only when asked for (several at a time). */
export interface StoredTree {
  readonly files: readonly StoredFile[];
  /** The texts of these blobs (ids from `files`), in the same order. */
  read(blobs: readonly string[]): string[];
}

/** An output tree as the plan takes it: files in memory, or a tree stored in git. */
export type PlanTree = readonly OutputFile[] | StoredTree;

/**
 * The id git gives a blob holding this text (as `git hash-object` computes it): the hash of
 * `blob <length in bytes>\0` and the UTF-8 bytes, SHA-1 in most repositories, SHA-256 in those
 * created with `--object-format=sha256`.
 */
export function blobId(text: string, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  const bytes = Buffer.from(text, 'utf8');
  return crypto.createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** An object's identity as the API server sees it: a new apiVersion of the same group is the same object. */
export interface ObjectKey {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** The identity of an object read from YAML (any field may be something other than a string). */
export function objectKey(o: KubeObject): ObjectKey {
  return { group: apiGroupOf(o.apiVersion), kind: `${o.kind}`, namespace: `${o.metadata.namespace ?? ''}`, name: `${o.metadata.name}` };
}

/** An identity as an index key. */
export function keyText(k: ObjectKey): string {
  return `${k.group}|${k.kind}|${k.namespace}|${k.name}`;
}

/** An object of an output tree and the folder of dist/ it is in. */
export interface Entry<O extends KubeObject = KubeObject> {
  readonly folder: string;
  readonly object: O;
}

/**
 * The objects of an output tree by identity (see {@link keyText}), in the order they first appear
 * in the files sorted by path; when two files define one identity, the later path's object.
 */
export class ObjectIndex<O extends KubeObject = KubeObject> extends Map<string, Entry<O>> {
  /** @param proveAbsent called when {@link find} misses; throws when an object not read yet might be it */
  constructor(private readonly proveAbsent?: (key: ObjectKey) => void) {
    super();
  }

  /** The object with this identity, to be used for lookups by reference (anything but iteration). */
  public find(key: ObjectKey): Entry<O> | undefined {
    const entry = this.get(keyText(key));
    if (!entry) this.proveAbsent?.(key);
    return entry;
  }
}

/** The objects of a manifest's documents: those with a kind and a name. */
function parseObjects(text: string): KubeObject[] {
  return objectsOf(YAML.parseAllDocuments(text));
}

function objectsOf(docs: Iterable<YAML.Document>): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of docs) {
    const object = doc.toJS() as KubeObject | null;
    if (object?.kind && object.metadata?.name) out.push(object);
  }
  return out;
}

/**
 * Parses manifests a document at a time, each distinct document once: the two versions of a
 * changed manifest share most of their documents (and then their objects, which the plan only
 * reads). A manifest is cut before each line that is exactly `---`, where the YAML lexer starts a
 * new document whatever came before (it ends an open scalar or flow collection there); a piece
 * that does not parse cleanly on its own, or a manifest with directives (`%` lines, which carry
 * over to the next document), is parsed whole instead, so the objects are those of
 * {@link parseObjects} on the whole text.
 */
export class ManifestParser {
  private readonly pieces = new Map<string, KubeObject[]>();

  public objects(text: string): KubeObject[] {
    if (text.startsWith('%') || text.includes('\n%')) return parseObjects(text);
    const out: KubeObject[] = [];
    for (let start = 0; start < text.length;) {
      const cut = text.indexOf('\n---\n', start);
      const end = cut === -1 ? text.length : cut + 1;
      const piece = text.slice(start, end);
      let objects = this.pieces.get(piece);
      if (!objects) {
        const docs = YAML.parseAllDocuments(piece);
        if (docs.some((d) => d.errors.length > 0)) return parseObjects(text);
        this.pieces.set(piece, objects = objectsOf(docs));
      }
      out.push(...objects);
      start = end;
    }
    return out;
  }
}

const isManifest = (p: string) => /\.ya?ml$/.test(p);
const folderOf = (p: string) => p.split('/')[0];

/** Every object of files (only manifests, `*.yaml`, count), by identity. */
export function indexObjects<O extends KubeObject = KubeObject>(files: readonly OutputFile[]): ObjectIndex<O> {
  const out = new ObjectIndex<O>();
  for (const f of [...files].sort((a, b) => compareText(a.path, b.path))) {
    if (!isManifest(f.path)) continue;
    for (const object of parseObjects(f.content)) out.set(keyText(objectKey(object)), { folder: folderOf(f.path), object: object as O });
  }
  return out;
}

/** Thrown by a lookup that needs more files parsed; the plan is then computed again. */
class MoreFiles extends Error {
  constructor(public readonly paths: readonly string[]) {
    super('the plan needs more files parsed');
  }
}

/** One side's files, by path: the text when in memory, else the blob id and the tree to read it from. */
type Side = Map<string, { text?: string; blob?: string }>;

function sideOf(tree: PlanTree): Side | undefined {
  const side: Side = new Map();
  if (Array.isArray(tree)) {
    for (const f of tree as readonly OutputFile[]) {
      // Two files with one path (an array no synth or directory yields): no shortcut.
      if (side.has(f.path)) return undefined;
      if (isManifest(f.path)) side.set(f.path, { text: f.content });
    }
  } else {
    for (const f of (tree as StoredTree).files) {
      if (side.has(f.path)) return undefined;
      if (isManifest(f.path)) side.set(f.path, { blob: f.blob });
    }
  }
  return side;
}

/** A whole word of a text, as the candidate test reads them. */
const WORD = /[A-Za-z0-9._-]+/g;

/** The names among `names` that appear in `text` as whole words (one pass over the text). */
function namesIn(text: string, names: ReadonlyMap<string, unknown>): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(WORD)) if (names.has(m[0])) found.add(m[0]);
  return [...found];
}
/** A string that YAML writes verbatim as one word when it is a string, and that no other scalar type turns into. */
const isPlainWord = (s: string) => /^[A-Za-z0-9._-]+$/.test(s) && !/^-?(?:\d+(?:\.\d+)?(?:e-\d+)?|Infinity)$|^(?:NaN|true|false)$/.test(s);

/**
 * The objects of two trees, parsing the files the plan can need (see the module comment), and the
 * way the plan runs over them: {@link run}.
 */
export class TreePair<O extends KubeObject = KubeObject> {
  private readonly before: PlanTree;
  private readonly after: PlanTree;
  /** Both sides by path, or undefined when a tree cannot be taken apart by path (then every file is read). */
  private readonly sides?: { readonly before: Side; readonly after: Side };
  /** Manifest paths of either side, sorted. */
  private readonly paths: readonly string[] = [];
  /** Paths whose text is the same on both sides. */
  private readonly same = new Set<string>();
  private readonly parser = new ManifestParser();
  /** Objects of parsed files: per side, the same array for both sides of an unchanged file. */
  private readonly parsed = new Map<string, { before?: KubeObject[]; after?: KubeObject[] }>();
  /** Unchanged files not parsed: their texts, and whether they hold a backslash (a YAML escape, perhaps). */
  private readonly skipped = new Map<string, { readonly text: string; readonly escapes: boolean }>();
  /** Identities (keyText) no skipped file can hold. */
  private readonly absent = new Set<string>();
  /** Whole words seen in each skipped file, as the candidate test asked for them. */
  private readonly words = new Map<string, Map<string, boolean>>();

  /** @param options.readAll read and parse every file (no shortcut) */
  constructor(before: PlanTree, after: PlanTree, options: { readAll?: boolean } = {}) {
    this.before = before;
    this.after = after;
    const [b, a] = [sideOf(before), sideOf(after)];
    if (!b || !a || options.readAll) return;
    this.sides = { before: b, after: a };
    this.paths = [...new Set([...b.keys(), ...a.keys()])].sort(compareText);
    for (const p of this.paths) {
      const [x, y] = [b.get(p), a.get(p)];
      if (x && y && sameText(x, y)) this.same.add(p);
    }
    const unchanged = [...this.same];
    const texts = this.unchangedTexts(unchanged);
    unchanged.forEach((p, i) => this.skipped.set(p, { text: texts[i], escapes: texts[i].includes('\\') }));
    // The changed files, and with them the rest of their folders.
    this.parse(this.paths.filter((p) => !this.same.has(p)));
  }

  /** Whether the file at this path is skipped (unchanged, and no object of it was needed). */
  public isSkipped(path: string): boolean {
    return this.skipped.has(path);
  }

  /**
   * Runs `plan` over the objects of both trees: again, with more files parsed, whenever one of its
   * lookups ({@link ObjectIndex.find}) misses and a skipped file might hold the object.
   */
  public run<T>(plan: (old: ObjectIndex<O>, next: ObjectIndex<O>) => T): T {
    for (;;) {
      const [old, next] = this.indexes();
      try {
        return plan(old, next);
      } catch (e) {
        if (!(e instanceof MoreFiles)) throw e;
        this.parse(e.paths);
      }
    }
  }

  private indexes(): [ObjectIndex<O>, ObjectIndex<O>] {
    const proveAbsent = (key: ObjectKey) => {
      const paths = this.candidates([key]);
      if (paths.length > 0) throw new MoreFiles(paths);
    };
    if (!this.sides) {
      // Not taken apart by path: everything, as the trees come.
      return [indexObjects<O>(this.allFiles(this.before)), indexObjects<O>(this.allFiles(this.after))];
    }
    const build = (side: 'before' | 'after') => {
      const index = new ObjectIndex<O>(proveAbsent);
      for (const p of this.paths) {
        for (const object of this.parsed.get(p)?.[side] ?? []) index.set(keyText(objectKey(object)), { folder: folderOf(p), object: object as O });
      }
      return index;
    };
    return [build('before'), build('after')];
  }

  /** Parses these files and the rest of their folders, then every skipped file that might define an identity they define, and so on. */
  private parse(paths: readonly string[]): void {
    let next = this.withFolders(paths);
    while (next.length > 0) {
      const { before, after } = this.sides!;
      const changed = next.filter((p) => !this.same.has(p));
      const readBefore = this.texts(this.before, before, changed.filter((p) => before.has(p)));
      const readAfter = this.texts(this.after, after, changed.filter((p) => after.has(p)));
      const keys: ObjectKey[] = [];
      for (const p of next) {
        let entry: { before?: KubeObject[]; after?: KubeObject[] };
        if (this.same.has(p)) {
          const objects = this.parser.objects(this.skipped.get(p)!.text);
          this.skipped.delete(p);
          this.words.delete(p);
          entry = { before: objects, after: objects };
        } else {
          entry = {
            before: readBefore.has(p) ? this.parser.objects(readBefore.get(p)!) : undefined,
            after: readAfter.has(p) ? this.parser.objects(readAfter.get(p)!) : undefined,
          };
        }
        this.parsed.set(p, entry);
        for (const o of [...entry.before ?? [], ...entry.after ?? []]) keys.push(objectKey(o));
      }
      next = this.withFolders(this.candidates(keys));
    }
  }

  /** These paths and every other of their folders, less those parsed already. */
  private withFolders(paths: readonly string[]): string[] {
    const folders = new Set(paths.map(folderOf));
    return this.paths.filter((p) => folders.has(folderOf(p)) && !this.parsed.has(p));
  }

  /**
   * The skipped files that might define one of these identities (see the module comment); the
   * others are recorded as absent from every skipped file.
   */
  private candidates(keys: readonly ObjectKey[]): string[] {
    const open = keys.filter((k) => !this.absent.has(keyText(k)));
    if (open.length === 0 || this.skipped.size === 0) return [];
    // The callers parse the candidates right away, after which none of these identities is in a skipped file.
    for (const k of open) this.absent.add(keyText(k));
    if (open.some((k) => !isPlainWord(k.name))) return [...this.skipped.keys()];
    const byName = new Map<string, ObjectKey[]>();
    for (const k of open) byName.set(k.name, [...byName.get(k.name) ?? [], k]);
    const out: string[] = [];
    for (const [path, { text, escapes }] of this.skipped) {
      if (escapes) {
        out.push(path);
        continue;
      }
      const has = (word: string) => this.hasWord(path, text, word);
      const names = byName.size > 8 ? namesIn(text, byName) : [...byName.keys()].filter(has);
      if (names.some((n) => byName.get(n)!.some((k) => [k.kind, k.namespace, k.group].every((w) => !isPlainWord(w) || has(w))))) out.push(path);
    }
    return out;
  }

  /** Whether `word` appears in the skipped file's text as a whole word. */
  private hasWord(path: string, text: string, word: string): boolean {
    let seen = this.words.get(path);
    if (!seen) this.words.set(path, seen = new Map());
    let has = seen.get(word);
    if (has === undefined) {
      has = false;
      const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9._-]/.test(c);
      for (let at = text.indexOf(word); at !== -1 && !has; at = text.indexOf(word, at + 1)) {
        has = !isWordChar(text[at - 1]) && !isWordChar(text[at + word.length]);
      }
      seen.set(word, has);
    }
    return has;
  }

  /** The texts of unchanged files, from the side that holds them in memory when one does. */
  private unchangedTexts(paths: readonly string[]): string[] {
    const { before, after } = this.sides!;
    if (paths.every((p) => after.get(p)!.text !== undefined)) return paths.map((p) => after.get(p)!.text!);
    const t = this.texts(this.before, before, paths);
    return paths.map((p) => t.get(p)!);
  }

  /** Texts of one side's files, reading those not in memory in one go. */
  private texts(tree: PlanTree, side: Side, paths: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    const stored = paths.filter((p) => side.get(p)!.text === undefined);
    const read = stored.length > 0 ? (tree as StoredTree).read(stored.map((p) => side.get(p)!.blob!)) : [];
    stored.forEach((p, i) => out.set(p, read[i]));
    for (const p of paths) if (!out.has(p)) out.set(p, side.get(p)!.text!);
    return out;
  }

  private allFiles(tree: PlanTree): OutputFile[] {
    if (Array.isArray(tree)) return tree as OutputFile[];
    const files = (tree as StoredTree).files.filter((f) => isManifest(f.path));
    const texts = (tree as StoredTree).read(files.map((f) => f.blob));
    return files.map((f, i) => ({ path: f.path, content: texts[i] }));
  }
}

/** Whether two sides' copies of a file hold the same text, by blob id when either is stored. */
function sameText(x: { text?: string; blob?: string }, y: { text?: string; blob?: string }): boolean {
  if (x.text !== undefined && y.text !== undefined) return x.text === y.text;
  if (x.blob !== undefined && y.blob !== undefined) return x.blob === y.blob;
  const [stored, text] = x.blob !== undefined ? [x.blob, y.text!] : [y.blob!, x.text!];
  return blobId(text, stored.length === 64 ? 'sha256' : 'sha1') === stored;
}
