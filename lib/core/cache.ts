import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

// Every cache entry (helm renders, compiled validators, the app bundle) is one file: a header line
// with the sha256 of the payload, then the payload. The header is a JavaScript line comment, so a
// cached `.js` file stays loadable as it is; one file per entry keeps each write a single atomic
// rename. scripts/app.js (plain JavaScript that runs before any TypeScript) keeps its own copy of
// this format; test/scripts/app.test.ts checks the two agree.
const HEADER = '// cdk8s-talos-proxmox cache sha256=';
const HEADER_LENGTH = HEADER.length + 64 + 1;

/** What {@link cacheEntry} needs to load an entry and to build it when it is missing or corrupt. */
export interface CacheEntryOptions<T> {
  /**
   * Turns a verified payload into the value; throwing here counts as corruption (the entry is
   * discarded and rebuilt).
   */
  decode(payload: string): T;
  /** Builds the value and the payload to store; nothing is stored if it throws. */
  build(): { readonly value: T; readonly payload: string };
}

/**
 * The payload of the cache entry `file` if it is intact: `undefined` when the file is missing,
 * else a reason when it cannot be read, its header is missing or its digest does not match.
 */
export function readCacheEntry(file: string): { payload: string } | { corrupt: string } | undefined {
  const entry = readCacheBytes(file);
  return entry && 'payload' in entry ? { payload: entry.payload.toString('utf8') } : entry;
}

/** {@link readCacheEntry} of a binary payload. */
export function readCacheBytes(file: string): { payload: Buffer } | { corrupt: string } | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // No permission, a folder in its place: never used, like a damaged entry.
    return { corrupt: `unreadable (${code ?? 'error'})` };
  }
  const header = data.subarray(0, HEADER_LENGTH).toString('latin1');
  if (!header.startsWith(HEADER) || !header.endsWith('\n')) return { corrupt: 'no digest header' };
  const payload = data.subarray(HEADER_LENGTH);
  const digest = createHash('sha256').update(payload).digest('hex');
  if (digest !== header.slice(HEADER.length, -1)) return { corrupt: 'digest mismatch' };
  return { payload };
}

/** Stores `payload` (text as UTF-8, or bytes) as the cache entry `file` with its digest, atomically (temp file + rename). */
export function writeCacheEntry(file: string, payload: string | Uint8Array): void {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const digest = createHash('sha256').update(body).digest('hex');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${HEADER}${digest}\n`, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

/**
 * The value of the cache entry `file`, built and stored when it is missing. An entry that fails its
 * digest or does not decode is never used: it is deleted and rebuilt, with one line on stderr
 * naming it, so a truncated or edited cache file heals instead of crashing or leaking into output.
 */
export function cacheEntry<T>(file: string, opts: CacheEntryOptions<T>): T {
  const entry = readCacheEntry(file);
  let corrupt: string | undefined;
  if (entry && 'payload' in entry) {
    try {
      return opts.decode(entry.payload);
    } catch (e) {
      corrupt = `does not load: ${firstLine(e)}`;
    }
  } else if (entry) {
    corrupt = entry.corrupt;
  }
  if (corrupt !== undefined) fs.rmSync(file, { force: true });
  let built: { value: T; payload: string };
  try {
    built = opts.build();
  } catch (e) {
    if (corrupt !== undefined) cacheNotice(`discarded corrupt cache entry ${displayPath(file)} (${corrupt})`);
    throw e;
  }
  writeCacheEntry(file, built.payload);
  if (corrupt !== undefined) rebuiltNotice(file, corrupt);
  return built.value;
}

/** The line on stderr after a corrupt cache entry `file` was replaced by a fresh one. */
export function rebuiltNotice(file: string, reason: string): void {
  cacheNotice(`rebuilt corrupt cache entry ${displayPath(file)} (${reason})`);
}

function cacheNotice(message: string): void {
  process.stderr.write(`cdk8s-talos-proxmox: ${message}\n`);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const line = text.split('\n')[0];
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** The path relative to the working directory when it is inside it (shorter in a notice). */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
