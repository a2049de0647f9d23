/**
 * YAML text of the plain data synth writes (manifests, Talos patches): byte for byte what the
 * `yaml` library writes with `YAML.stringify(value, { lineWidth: 0 })`, several times faster.
 *
 * The library builds a node tree and asks its schema about every string; at a thousand clusters
 * that was a third of synth. Here the common shapes are written directly — block maps and
 * sequences, plain strings, literal block strings, numbers, booleans, null — and the library
 * stays the authority: each distinct one-line string is styled by the library itself (or proven
 * plain by the library's own schema tests), and a document holding anything else (a shared object,
 * a string the library would quote across lines or start with an indentation indicator, a
 * non-finite number, a class instance) is handed to the library whole. test/core/yaml.test.ts
 * compares the two on generated data.
 */
import * as YAML from 'yaml';

/** The library's own rendering: the reference and the fallback. */
const OPTIONS = { lineWidth: 0 } as const;

/** Thrown inside the fast writer when a value needs the library; caught by {@link toYaml}. */
const FALLBACK = Symbol('fallback');

/**
 * Characters of a string that is plain in any block context unless a schema tag claims it: no
 * indicator at its start, no `: `/` #`, no whitespace or quotes. What is not matched goes to the library.
 */
const PLAIN_CANDIDATE = /^[A-Za-z0-9_/][\w./:@=+,()-]*$/;

/** Control characters and lone surrogates: the library writes such strings double-quoted with escapes. */
// eslint-disable-next-line no-control-regex -- the library's own test for characters it escapes
const NEEDS_ESCAPES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;

/** A document marker at the start of a line: the library's style then depends on the indentation. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** The default schema's tags that resolve plain text to something other than a string (null, bool, int, float). */
const NON_STRING_TAGS = new YAML.Document().schema.tags.filter((t) => t.default && t.tag !== 'tag:yaml.org,2002:str' && t.test);

/** Longest single-line key the library writes as an implicit key. */
const IMPLICIT_KEY_MAX = 1024;

/** One-line strings as the library writes them in block context; bounded so a long run cannot grow it forever. */
const lineCache = new Map<string, string>();
const LINE_CACHE_MAX = 100_000;

/** `YAML.stringify(value, { lineWidth: 0 })`, written directly when the value has the common shapes. */
export function toYaml(value: unknown): string {
  return fastYaml(value) ?? YAML.stringify(value, OPTIONS);
}

/**
 * `YAML.stringify(value, { sortMapEntries: true })`: keys sorted, the library's default line width
 * of 80. The canonical text that content hashes (lib/core/naming.ts) are taken of, so it must never
 * change; where the library would fold a line, the library writes it.
 */
export function canonicalYaml(value: unknown): string {
  return fastYaml(value, CANONICAL) ?? YAML.stringify(value, { sortMapEntries: true });
}

/** How the fast writer writes: the library's options it stands for. */
export interface Style {
  /** `sortMapEntries: true`. */
  readonly sortKeys: boolean;
  /** `lineWidth`: 0 never folds; otherwise any line that the library might fold is left to it. */
  readonly lineWidth: number;
}

const MANIFEST: Style = { sortKeys: false, lineWidth: 0 };
const CANONICAL: Style = { sortKeys: true, lineWidth: 80 };
/** The library's `minContentWidth`: with a line width, text up to this long plus one is never folded. */
const MIN_CONTENT_WIDTH = 20;

/**
 * The fast writer alone: the text, or undefined when the value needs the library. Exported for
 * tests, which check that ordinary manifests never need it.
 */
export function fastYaml(value: unknown, style: Style = MANIFEST): string | undefined {
  if (!isCollection(value)) return undefined;
  try {
    return `${collection(value, '', new Set(), style)}\n`;
  } catch (e) {
    if (e === FALLBACK) return undefined;
    throw e;
  }
}

type Collection = readonly unknown[] | Record<string, unknown>;

function isCollection(v: unknown): v is Collection {
  if (Array.isArray(v)) return true;
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A collection whose lines start at `indent` (the first line without it). The library aliases an
 * object met twice (`&a1`/`*a1`): `seen` sends such a document to it.
 */
function collection(value: Collection, indent: string, seen: Set<object>, style: Style): string {
  if (seen.has(value)) throw FALLBACK;
  seen.add(value);
  const lines: string[] = [];
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const itemIndent = `${indent}  `;
    for (const item of value) lines.push(`- ${node(item, itemIndent, seen, style)}`);
  } else {
    const valueIndent = `${indent}  `;
    const keys = Object.keys(value);
    // As the library's sortMapEntries: by UTF-16 code units.
    if (style.sortKeys) keys.sort();
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (key.includes('\n')) throw FALLBACK;
      const k = line(key);
      if (k.length > IMPLICIT_KEY_MAX) throw FALLBACK;
      lines.push(isCollection(v) && !isEmpty(v) ? `${k}:\n${valueIndent}${collection(v, valueIndent, seen, style)}` : `${k}: ${node(v, valueIndent, seen, style)}`);
    }
    if (lines.length === 0) return '{}';
  }
  return lines.join(`\n${indent}`);
}

function isEmpty(v: Collection): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.values(v).every((x) => x === undefined);
}

/** A value after `key: ` or `- `; `indent` is where its own lines (nested items, block text) start. */
function node(v: unknown, indent: string, seen: Set<object>, style: Style): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string': return v.includes('\n') ? block(v, indent, style) : unfolded(line(v), indent, style);
    case 'boolean': return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v) || Object.is(v, -0)) throw FALLBACK;
      return JSON.stringify(v);
    case 'object':
      if (isCollection(v)) return collection(v, indent, seen, style);
      throw FALLBACK;
    default: throw FALLBACK;
  }
}

/** A one-line string as the library writes it in block context (key or value alike). */
function line(s: string): string {
  const cached = lineCache.get(s);
  if (cached !== undefined) return cached;
  if (DOCUMENT_MARKER.test(s)) throw FALLBACK;
  const out = isPlain(s) ? s : YAML.stringify(s, OPTIONS).slice(0, -1);
  if (lineCache.size >= LINE_CACHE_MAX) lineCache.clear();
  lineCache.set(s, out);
  return out;
}

/** A one-line value, when the library would not fold it at `indent` (its foldFlowLines returns text this short as it is). */
function unfolded(text: string, indent: string, style: Style): string {
  if (style.lineWidth > 0 && text.length > Math.max(1 + MIN_CONTENT_WIDTH, 1 + style.lineWidth - indent.length)) throw FALLBACK;
  return text;
}

function isPlain(s: string): boolean {
  return PLAIN_CANDIDATE.test(s) && !s.endsWith(':') && !NON_STRING_TAGS.some((t) => t.test!.test(s));
}

/**
 * A multi-line string as a literal block (`|` or `|-`), its lines at `indent`. Leading spaces or
 * newlines (an indentation indicator), trailing whitespace other than one newline (keep chomping,
 * or quoting), escapes and folding are the library's.
 */
function block(s: string, indent: string, style: Style): string {
  if (NEEDS_ESCAPES.test(s) || s[0] === ' ' || s[0] === '\n') throw FALLBACK;
  // With a line width, a line longer than the width left makes the library fold the block ('>').
  if (style.lineWidth > 0 && s.split('\n').some((l) => l.length > style.lineWidth - indent.length)) return foldedBlock(s, indent, style.lineWidth);
  const clip = s.endsWith('\n');
  const body = clip ? s.slice(0, -1) : s;
  const last = body[body.length - 1];
  if (last === '\n' || last === ' ' || last === '\t') throw FALLBACK;
  return `|${clip ? '' : '-'}\n${indent}${body.replace(/\n+/g, (nl) => nl + indent)}`;
}

/** Blocks the library folded, by line width, indentation and text: a fleet's templates carry the same Talos patches. */
const foldedBlocks = new Map<string, string>();

/**
 * A block string as the library writes it at `indent` with a line width: its folding depends only
 * on the text and the indentation (the block's lines start there), so it is taken from the library
 * once, as the value of a key nested to that depth.
 */
function foldedBlock(s: string, indent: string, lineWidth: number): string {
  const key = `${lineWidth}:${indent.length}:${s}`;
  const known = foldedBlocks.get(key);
  if (known !== undefined) return known;
  // A key at depth n sits at 2n spaces and its value's lines at 2n + 2: n = indent / 2 - 1.
  const depth = indent.length / 2 - 1;
  if (!Number.isInteger(depth) || depth < 0) throw FALLBACK;
  let value: unknown = { k: s };
  for (let i = 0; i < depth; i++) value = { k: value };
  const text = YAML.stringify(value, { lineWidth });
  const marker = `${' '.repeat(2 * depth)}k: `;
  const at = text.indexOf(`\n${marker}`);
  const start = depth === 0 ? marker.length : at + 1 + marker.length;
  if (depth > 0 && at < 0) throw FALLBACK;
  const out = text.slice(start, -1);
  if (foldedBlocks.size >= LINE_CACHE_MAX) foldedBlocks.clear();
  foldedBlocks.set(key, out);
  return out;
}
