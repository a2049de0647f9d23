import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readCacheEntry, rebuiltNotice, writeCacheEntry } from '../core/cache';
import { cacheDir, SCHEMAS_DIR } from '../core/paths';

/** Bumped whenever the gate's keys change meaning. */
const FORMAT = '1';
/** Keys kept in a store: this run's first, then the most recent others (a key is 65 bytes). */
export const MAX_PASSES = 20_000;
/** Stores kept: one per version of the code (the synth and plan bundles have their own). */
const KEPT_STORES = 4;

/**
 * What the output gate passed in earlier runs, by digest, so that a re-synth checks only output
 * that changed: at every edit nearly all of a fleet's output is what the gate passed the run
 * before, and checking it again was a fifth of a small synth.
 *
 * A key is the sha256 of the gate's identity and of the output set as written (its YAML
 * documents, and the digests of the add-on renders it references). The identity is the code
 * (the bundle scripts/app.js runs, named by the sha256 of every source and the lockfile), the
 * Node.js version and every schema the gate reads (`schemas/crds`, `schemas/talos`): the same
 * bytes under the same code and schemas get the same verdict, so only a pass is remembered and a
 * violation is always found again. Without a bundle (tests, the library used from another
 * project) there is no identity and nothing is remembered.
 *
 * The store is one cache entry per identity, `<cache>/gate/passes-<identity>.txt` (a digest line
 * per key, in the entry format of lib/core/cache.ts: a damaged store is dropped with a notice and
 * the gate checks everything). It is written only when a run passed something new.
 */
export class GatePasses {
  /**
   * The store for the code running now, read from the cache; a store that remembers nothing when
   * the code has no identity.
   */
  public static forThisCode(env: NodeJS.ProcessEnv = process.env): GatePasses {
    const identity = gateIdentity(env);
    return new GatePasses(identity, identity !== undefined ? storeFile(identity) : undefined);
  }

  /** A store that remembers nothing: for a gate other than the default one. */
  public static none(): GatePasses {
    return new GatePasses(undefined);
  }

  /** The keys of the store, read at first use. */
  private stored?: Set<string>;
  /** Passes of this run in this thread. */
  private readonly added = new Set<string>();
  /** Why the store could not be used, when it was damaged or unreadable. */
  private corrupt?: string;

  /**
   * @param identity the gate's identity (code and schemas); none: nothing is remembered
   * @param file the store; none: passes are kept in memory only
   */
  constructor(private readonly identity: string | undefined, private readonly file?: string) {}

  /**
   * The key of an output set: its YAML documents and the digests of the renders it references,
   * in order. `undefined` when nothing is remembered.
   */
  public key(parts: readonly string[]): string | undefined {
    if (this.identity === undefined) return undefined;
    const hash = createHash('sha256').update(`${FORMAT}\n${this.identity}\n`);
    // Length-prefixed, so that no two lists of parts hash the same bytes.
    for (const p of parts) hash.update(`${p.length}\n`).update(p);
    return hash.digest('hex');
  }

  /** Whether the gate passed the output set of `key` before (in an earlier run, or in this thread). */
  public passed(key: string | undefined): boolean {
    return key !== undefined && (this.added.has(key) || this.store().has(key));
  }

  /** Remembers, in this thread, that the gate passed the output set of `key`. */
  public add(key: string): void {
    this.added.add(key);
  }

  /**
   * Writes the keys of this run (`used`: passed now or before, in whichever thread) to the store
   * when any of them is not stored yet, followed by the store's other keys, most recent first, up
   * to {@link MAX_PASSES}; other identities' stores beyond the newest few are deleted. A damaged
   * store is written afresh, with one line on stderr once it is. A store that cannot be written
   * costs the next run its checks, nothing else.
   */
  public save(used: readonly string[]): void {
    if (this.file === undefined) return;
    const stored = this.store();
    if (this.corrupt === undefined && used.every((k) => stored.has(k))) return;
    const kept = new Set(used.slice(0, MAX_PASSES));
    for (const k of stored) {
      if (kept.size >= MAX_PASSES) break;
      kept.add(k);
    }
    try {
      writeCacheEntry(this.file, [...kept].map((k) => `${k}\n`).join(''));
      if (this.corrupt !== undefined) rebuiltNotice(this.file, this.corrupt);
      this.corrupt = undefined;
      pruneStores(this.file);
    } catch {
      // read-only or full
    }
    this.stored = kept;
  }

  /** The keys of the store, read at first use; a damaged or unreadable store counts as empty (the gate checks everything). */
  private store(): Set<string> {
    if (this.stored === undefined) {
      const entry = this.file !== undefined ? readCacheEntry(this.file) : undefined;
      this.stored = new Set();
      if (entry && 'payload' in entry) {
        for (const line of entry.payload.split('\n')) if (/^[0-9a-f]{64}$/.test(line)) this.stored.add(line);
      } else if (entry) {
        this.corrupt = entry.corrupt;
      }
    }
    return this.stored;
  }
}

/**
 * The gate's identity: the running bundle (`$CDK8S_TALOS_BUNDLE`, set by scripts/app.js; its name
 * is the digest of the code), the Node.js version (its regular expressions run the patterns) and
 * the name and bytes of every file under the schemas the gate reads. `undefined` without a bundle.
 */
export function gateIdentity(env: NodeJS.ProcessEnv = process.env, schemasDir: string = SCHEMAS_DIR): string | undefined {
  const bundle = env.CDK8S_TALOS_BUNDLE;
  if (!bundle) return undefined;
  const hash = createHash('sha256').update(`${path.basename(bundle)}\n${process.version}\n`);
  for (const sub of ['crds', 'talos']) {
    const dir = path.join(schemasDir, sub);
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
    for (const name of names) {
      const bytes = fs.readFileSync(path.join(dir, name));
      hash.update(`${sub}/${name}\n${bytes.length}\n`).update(bytes);
    }
  }
  return hash.digest('hex');
}

function storeFile(identity: string): string {
  return path.join(cacheDir(), 'gate', `passes-${identity.slice(0, 32)}.txt`);
}

/** Deletes all stores but the {@link KEPT_STORES} most recently written (`keep` among them). */
function pruneStores(keep: string): void {
  const dir = path.dirname(keep);
  const stores = fs.readdirSync(dir)
    .filter((name) => /^passes-[0-9a-f]+\.txt$/.test(name) && path.join(dir, name) !== keep)
    .flatMap((name) => {
      const file = path.join(dir, name);
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      return stat ? [{ file, time: stat.mtimeMs }] : [];
    })
    .sort((a, b) => b.time - a.time);
  for (const { file } of stores.slice(KEPT_STORES - 1)) fs.rmSync(file, { force: true });
}
