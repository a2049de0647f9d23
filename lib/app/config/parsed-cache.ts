/**
 * Parsed cluster config files kept between synths. Parsing a file (YAML, renamed keys, structure)
 * is a sixth of a large fleet's synth, and from one synth to the next nearly every file is the
 * same: each parse is stored under the sha256 of the file's name and text, for the code that
 * parsed it (the app's bundle), and used again while both are unchanged. Only parsing is kept:
 * every value rule, default and check still runs in the constructs on each synth, and a file
 * that does not parse is never stored (its messages come from a fresh parse every time).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { readCacheBytes, rebuiltNotice, writeCacheEntry } from '../../core/cache';
import { cacheDir } from '../../core/paths';
import { ClusterConfigFile, parseClusterConfig, readConfigText } from './load';
import { RENAMED_KEYS } from './renamed-keys';

/** Folder of the entries under the cache directory. */
const FOLDER = 'configs';

/** A parse as stored: the renamed keys it applied by their index in RENAMED_KEYS (their `convert` is code). */
type StoredConfig = Omit<ClusterConfigFile, 'renamed'> & { readonly renamed: readonly number[] };

function toStored(config: ClusterConfigFile): StoredConfig | undefined {
  const renamed = config.renamed.map((r) => RENAMED_KEYS.indexOf(r));
  return renamed.includes(-1) ? undefined : { ...config, renamed };
}

function fromStored(stored: StoredConfig): ClusterConfigFile {
  return { ...stored, renamed: stored.renamed.map((i) => RENAMED_KEYS[i]) };
}

/**
 * The parses of one synth's config files: read from the cache entry of the running code, filled
 * with the files parsed afresh, written back by {@link save} holding exactly this synth's files.
 */
export class ParsedConfigs {
  /**
   * The parses stored for the app's bundle now running (scripts/app.js names it in
   * `CDK8S_TALOS_BUNDLE`), or undefined where the code has no such name (tests, tsx): there every
   * file is parsed each time.
   */
  public static forBundle(bundle: string | undefined = process.env.CDK8S_TALOS_BUNDLE): ParsedConfigs | undefined {
    if (!bundle) return undefined;
    // `main-<hash>.js`: the hash covers every source and the lockfile; the V8 version, the format.
    const name = path.basename(bundle).replace(/\.js$/, '');
    return new ParsedConfigs(path.join(cacheDir(), FOLDER, `${name}.v8-${process.versions.v8}.bin`), path.dirname(bundle));
  }

  private readonly stored: Map<string, StoredConfig>;
  private readonly used = new Map<string, StoredConfig>();
  private parsed = 0;
  private corrupt?: string;

  /**
   * @param file the cache entry (lib/core/cache.ts format; the payload is V8-serialized), named
   *   `<bundle>.v8-<V8 version>.bin`
   * @param bundles the folder of the app's bundles: an entry whose bundle is gone from it (scripts/app.js
   *   keeps the few most recently used) is deleted when this one is written
   */
  constructor(private readonly file: string, private readonly bundles?: string) {
    this.stored = this.read();
  }

  /**
   * The parse of the cluster config file `file`: the stored one when its name and text are
   * unchanged, else a fresh {@link parseClusterConfig} (which throws its ValidationError).
   *
   * @param displayFile how messages name it
   */
  public load(file: string, displayFile: string): ClusterConfigFile {
    const text = readConfigText(file, displayFile);
    const key = createHash('sha256').update(displayFile).update('\0').update(text).digest('hex');
    const stored = this.stored.get(key);
    if (stored !== undefined) {
      this.used.set(key, stored);
      return fromStored(stored);
    }
    const config = parseClusterConfig(text, displayFile);
    this.parsed++;
    const storable = toStored(config);
    if (storable !== undefined) this.used.set(key, storable);
    return config;
  }

  /**
   * Stores the parses of this synth's files, and only those (so the entry never outgrows the
   * fleet), when any was parsed afresh or a stored one is no longer used; entries of bundles that
   * are gone are deleted. A cache that cannot be written costs only speed.
   */
  public save(): void {
    if (this.parsed === 0 && this.used.size === this.stored.size && this.corrupt === undefined) return;
    try {
      writeCacheEntry(this.file, v8.serialize([...this.used]));
      if (this.corrupt !== undefined) rebuiltNotice(this.file, this.corrupt);
      this.pruneOthers();
    } catch {
      // read-only or full: the next synth parses again
    }
  }

  private read(): Map<string, StoredConfig> {
    const entry = readCacheBytes(this.file);
    if (entry === undefined) return new Map();
    if ('corrupt' in entry) {
      this.corrupt = entry.corrupt;
      return new Map();
    }
    try {
      const entries = v8.deserialize(entry.payload) as [string, StoredConfig][];
      if (!Array.isArray(entries) || entries.some((e) => !Array.isArray(e) || e[1]?.renamed?.some((i) => RENAMED_KEYS[i] === undefined))) {
        throw new Error('not a list of parses');
      }
      return new Map(entries);
    } catch (e) {
      this.corrupt = `does not load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      return new Map();
    }
  }

  /**
   * Deletes the entries of bundles that are gone and those of another V8 version of this bundle;
   * the entries of the other bundles kept (another clusters folder's, the plan's) stay.
   */
  private pruneOthers(): void {
    const folder = path.dirname(this.file);
    const own = path.basename(this.file);
    const bundleOf = (entry: string) => entry.replace(/\.v8-[^/]*\.bin$/, '');
    for (const name of fs.readdirSync(folder)) {
      if (name === own || !name.endsWith('.bin')) continue;
      const bundle = bundleOf(name);
      const gone = this.bundles === undefined || !fs.existsSync(path.join(this.bundles, `${bundle}.js`));
      if (bundle === bundleOf(own) || gone) fs.rmSync(path.join(folder, name), { force: true });
    }
  }
}
