/**
 * An error the user can cause and fix (a bad config value, a missing chart, no helm binary).
 *
 * The app prints its message without a stack trace and exits non-zero; anything else is a bug
 * and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors stop synth; warnings are printed. */
export type Severity = 'error' | 'warning';

/** Where a diagnostic comes from: a config file (and its line), or a TypeScript cluster file. */
export interface DiagnosticSource {
  /** Path of the file, relative to the working directory, with `/` separators. */
  readonly file: string;
  /** 1-based line of the field, when known. */
  readonly line?: number;
}

/**
 * One finding about a cluster definition: the one diagnostic type of the project, raised by the
 * constructs for their props and by the config loader for the file's structure.
 *
 * `path` is a prop path (`network.endpoint`, `workers[1].cores`); config files spell their keys
 * like the props, so the same path names the config field.
 */
export interface Diagnostic {
  /** Errors stop synth; warnings are printed. */
  readonly severity: Severity;
  /** Path of the field (`network.endpoint`, `workers[1].cores`); empty for the whole definition. */
  readonly path: string;
  /** What is wrong: the value received (short) and what is expected. */
  readonly message: string;
  /**
   * The file the field is in.
   * @default - none (a construct used directly)
   */
  readonly source?: DiagnosticSource;
}

/** An error diagnostic. */
export function error(path: string, message: string): Diagnostic {
  return { severity: 'error', path, message };
}

/** A warning diagnostic. */
export function warning(path: string, message: string): Diagnostic {
  return { severity: 'warning', path, message };
}

/** Joins a prefix and a path: `workers[1]` + `cores` → `workers[1].cores`. */
export function joinPath(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

/** The diagnostics with their paths under `prefix`. */
export function underPath(prefix: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, path: joinPath(prefix, d.path) }));
}

/** The longest path a message shows; a path holds user keys (labels), which may be long. */
const MAX_SHOWN_PATH = 160;

/**
 * A path as a message shows it: on one line (control characters escaped, so a key cannot start a
 * line of its own) and cut at {@link MAX_SHOWN_PATH} characters.
 */
function shownPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is escaped
  const line = path.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return line.length > MAX_SHOWN_PATH ? `${line.slice(0, MAX_SHOWN_PATH - 1)}…` : line;
}

/** One line: `file[:line]: path message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.source ? `${d.source.file}${d.source.line !== undefined ? `:${d.source.line}` : ''}: ` : '';
  return `${where}${d.path ? `${shownPath(d.path)} ` : ''}${d.message}`;
}

/**
 * Invalid props or config: every error diagnostic found, so one run shows them all. The message
 * has one line per diagnostic.
 */
export class ValidationError extends UserError {
  /** The error diagnostics, in the order found. */
  public readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ValidationError';
    this.diagnostics = diagnostics;
  }
}

/** Throws a {@link ValidationError} with the errors among `diagnostics`, if any; returns the warnings. */
export function throwErrors(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new ValidationError(errors);
  return diagnostics.filter((d) => d.severity === 'warning');
}

/**
 * JSON form of a value for a message, cut short so that a long value is never echoed in full: at
 * most `max` characters, the last one `…` when cut. Any value works, however large, deep or
 * circular (YAML aliases can make one): the text is built only as far as it is shown.
 */
export function quote(value: unknown, max = 80): string {
  if (typeof value === 'string') return quoteString(value, max);
  const text = value === undefined ? 'nothing' : excerpt(value, max + 1);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A string JSON-quoted (whitespace and control characters show) in at most `max` characters: a
 * longer one is cut in its raw form, before escaping, so that no escape sequence is cut in half and
 * the closing quote stays.
 */
function quoteString(value: string, max: number): string {
  const quoted = JSON.stringify(value.length > max ? value.slice(0, max + 1) : value);
  if (quoted.length <= max) return quoted;
  let cut = value.slice(0, max);
  while (cut !== '' && JSON.stringify(`${cut}…`).length > max) cut = cut.slice(0, -1);
  return JSON.stringify(`${cut}…`);
}

/**
 * JSON.stringify's text of `value`, built only up to about `limit` characters (a longer result is
 * cut anywhere past `limit`); numbers it cannot write (NaN, Infinity) and bigints as written, a
 * circular reference as `…`, a function or symbol as String() would.
 */
function excerpt(value: unknown, limit: number): string {
  let out = '';
  const seen = new Set<object>();
  const write = (v: unknown): void => {
    if (out.length > limit) return;
    if (typeof v === 'string') {
      // Cut before escaping: a 5 MB string is never copied whole.
      out += JSON.stringify(v.length > limit ? v.slice(0, limit) : v);
    } else if (typeof v === 'number') {
      out += Number.isFinite(v) ? JSON.stringify(v) : String(v);
    } else if (typeof v === 'bigint') {
      out += String(v);
    } else if (v === null || typeof v === 'boolean') {
      out += String(v);
    } else if (typeof v === 'object') {
      if (seen.has(v)) {
        out += '…';
        return;
      }
      seen.add(v);
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
        write((v as { toJSON: () => unknown }).toJSON());
      } else if (Array.isArray(v)) {
        out += '[';
        for (let i = 0; i < v.length && out.length <= limit; i++) {
          if (i > 0) out += ',';
          const item: unknown = v[i];
          // As JSON.stringify: an entry it cannot write is null.
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') out += 'null'; else write(item);
        }
        out += ']';
      } else {
        out += '{';
        let first = true;
        for (const key in v) {
          if (out.length > limit) break;
          if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
          const item = (v as Record<string, unknown>)[key];
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
          out += `${first ? '' : ','}${JSON.stringify(key.length > limit ? key.slice(0, limit) : key)}:`;
          first = false;
          write(item);
        }
        out += '}';
      }
      seen.delete(v);
    } else {
      out += String(v);
    }
  };
  write(value);
  return out;
}

/** Items as prose: `a`, `a and b`, `a, b and c`. */
export function joinList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
