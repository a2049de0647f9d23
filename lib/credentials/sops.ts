/**
 * Running `sops` to encrypt the credentials Secret on its way into the repository: the plain text
 * goes to sops on stdin and only the encrypted document comes back, so it never touches the
 * repository's disk. The I/O half of scripts/credentials.ts; the checks are in ./secret.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../core/errors';
import { isSopsEncrypted, plaintextSecretProblems } from './secret';

/**
 * Variables through which sops takes recipients instead of `.sops.yaml` (its `--age`, `--pgp`, …
 * flags read them). Left out of sops's environment so that the project's rule alone decides, with
 * its `encrypted_regex`.
 */
const SOPS_RECIPIENT_ENV = /^SOPS_(AGE_RECIPIENTS|PGP_FP|KMS_ARN|GCP_KMS_IDS|AZURE_KEYVAULT_URLS|VAULT_URIS|HUAWEICLOUD_KMS_IDS)$/;

/**
 * The absolute path of an executable on `env.PATH`, or undefined when there is none. Looked up
 * here rather than left to the shell so that the command can choose between encrypting and
 * writing outside the repository before it writes anything.
 */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What {@link sopsEncrypt} needs. */
export interface SopsEncryptOptions {
  /** The sops executable. */
  readonly sops: string;
  /** The project's `.sops.yaml`: passed with `--config`, since sops would look from its working directory. */
  readonly configFile: string;
  /** Where the encrypted file goes (absolute): selects the creation rule and the YAML format. */
  readonly target: string;
  /** The plain-text YAML, given to sops on stdin only. */
  readonly plaintext: string;
  /** Values that must not appear in the output nor in a message (the token secret). */
  readonly secrets: readonly string[];
  /** The environment of sops (its age keys, PATH, HOME); recipient variables are dropped. */
  readonly env: NodeJS.ProcessEnv;
  /** Path of the target for messages. */
  readonly shown: string;
}

/**
 * The sops command line that encrypts YAML from stdin for `target`:
 * `sops --config <configFile> --encrypt --input-type yaml --output-type yaml
 *  --filename-override <target> /dev/stdin` (sops ≥ 3.9; `/dev/stdin` rather than no file, which
 * only sops ≥ 3.10 accepts).
 */
export function sopsEncryptArgs(configFile: string, target: string): string[] {
  return ['--config', configFile, '--encrypt', '--input-type', 'yaml', '--output-type', 'yaml', '--filename-override', target, '/dev/stdin'];
}

/**
 * Encrypts `plaintext` with sops and returns the encrypted YAML, checked: SOPS metadata, every
 * `data`/`stringData` value an `ENC[...]` value, and none of `secrets` in it.
 *
 * @throws UserError when sops fails or prints something that is not an encrypted Secret; its
 *   message quotes sops's error output with the secrets cut out
 */
export function sopsEncrypt(options: SopsEncryptOptions): string {
  const env = Object.fromEntries(Object.entries(options.env).filter(([k]) => !SOPS_RECIPIENT_ENV.test(k)));
  const r = spawnSync(options.sops, sopsEncryptArgs(options.configFile, options.target), {
    cwd: path.dirname(options.configFile),
    env,
    input: options.plaintext,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const hide = (text: string): string => options.secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text);
  if (r.error) throw new UserError(`cannot run ${options.sops}: ${hide(r.error.message)}; nothing was written`);
  if (r.status !== 0) {
    const said = hide((r.stderr ?? '').trim()).split('\n').slice(0, 5).map((l) => l.slice(0, 200)).join('\n');
    throw new UserError(`sops failed to encrypt ${options.shown} (exit ${r.status ?? r.signal}); nothing was written${said ? `. sops said:\n${said}` : ''}`);
  }
  const out = r.stdout;
  const leaked = options.secrets.some((s) => s !== '' && out.includes(s));
  if (leaked || !isSopsEncrypted(out) || plaintextSecretProblems(out, options.shown).length > 0) {
    throw new UserError(`sops did not return an encrypted Secret for ${options.shown} (no sops metadata, or a value in plain text); nothing was written. Check the ${path.basename(options.configFile)} rule (encrypted_regex: ^(data|stringData)$) and the sops version (3.9 or later)`);
  }
  return out;
}
