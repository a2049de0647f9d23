/**
 * The Proxmox credentials Secret that `ProxmoxCluster.spec.credentialsRef` names, the `.sops.yaml`
 * that encrypts it for Flux, and the check that nothing under secrets/ is committed in plain text
 * (STACK.md §7). Pure: the callers (scripts/credentials.ts, test/secrets.test.ts) do the I/O.
 */
import { X509Certificate } from 'crypto';
import { bech32 } from 'bech32';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as YAML from 'yaml';
import { quote, UserError } from '../core/errors';
import { KubeObject } from '../core/kube-object';
import { SECRETS_FOLDER } from '../core/naming';
import { toYaml } from '../core/yaml';
import { builtinViolations } from '../gate/builtin';

/** Label CAPMOX's docs put on credentials Secrets (`docs/Usage.md`, "External Credentials"). */
export const PROXMOX_CREDENTIALS_LABEL = 'platform.ionos.com/secret-type';

/** Value of {@link PROXMOX_CREDENTIALS_LABEL} on a credentials Secret. */
export const PROXMOX_CREDENTIALS_LABEL_VALUE = 'proxmox-credentials';

/** The environment variables the credentials come from; messages name them. */
export const CREDENTIALS_ENV = {
  url: 'PROXMOX_URL',
  token: 'PROXMOX_TOKEN',
  secret: 'PROXMOX_SECRET',
  rootCaFile: 'PROXMOX_ROOT_CA_FILE',
} as const;

/** Files under secrets/ that `.sops.yaml` encrypts (relative to the repository, or absolute for older sops). */
export const SOPS_PATH_REGEX = `(^|/)${SECRETS_FOLDER}/.*\\.ya?ml$`;

/**
 * Name ending of the files under secrets/: the only ones git commits there (.gitignore ignores
 * the rest, since git cannot tell an encrypted file from a plain one), and the name the command
 * gives only to what sops encrypted.
 */
export const SOPS_FILE_SUFFIX = '.sops.yaml';

/** The encrypted credentials Secret in `secrets/<cluster>/` (applied by Flux's `<cluster>-secrets`). */
export const CREDENTIALS_SOPS_FILE = `proxmox-credentials${SOPS_FILE_SUFFIX}`;

/** The plain-text credentials Secret: only ever written outside the repository. */
export const CREDENTIALS_PLAIN_FILE = 'proxmox-credentials.yaml';

/** Only the values of Secrets are encrypted: Flux needs apiVersion, kind and metadata in plain text. */
export const SOPS_ENCRYPTED_REGEX = '^(data|stringData)$';

/** One finding about the credentials given; errors stop the Secret from being written. */
export interface CredentialsProblem {
  /** `error`: nothing is written; `warning`: written, but the user should know. */
  readonly severity: 'error' | 'warning';
  /** What is wrong, naming the environment variable and what is expected; never the token secret. */
  readonly message: string;
}

/** The raw credentials, as read from the environment (undefined or empty when a variable is unset). */
export interface ProxmoxCredentialsInput {
  /** Proxmox API URL, `https://<host>[:port]` (`PROXMOX_URL`). */
  readonly url?: string;
  /** API token ID, `user@realm!tokenname` (`PROXMOX_TOKEN`). */
  readonly token?: string;
  /** API token secret, a UUID (`PROXMOX_SECRET`). */
  readonly secret?: string;
  /**
   * PEM text of the CA certificate that signed the Proxmox API's certificate.
   * @default - none: the Secret says `insecure: "true"`
   */
  readonly rootCa?: string;
  /**
   * Where `rootCa` was read from, for messages. Given without `rootCa` (the file could not be
   * read), no CA problem is reported: the caller reports why it could not read it.
   * @default - messages name only PROXMOX_ROOT_CA_FILE
   */
  readonly rootCaFile?: string;
}

/** Everything the credentials Secret is made of. */
export interface ProxmoxCredentialsSecretProps extends ProxmoxCredentialsInput {
  /** Secret name: the cluster config's `proxmox.credentialsSecret`. */
  readonly name: string;
  /** Namespace of the Secret: the cluster's namespace (where credentialsRef looks by default). */
  readonly namespace: string;
  /** Proxmox API URL, `https://<host>[:port]`. */
  readonly url: string;
  /** API token ID, `user@realm!tokenname`. */
  readonly token: string;
  /** API token secret, a UUID. */
  readonly secret: string;
}

const URL_EXAMPLE = 'https://<host>[:port], like https://pve.example.com:8006';
const TOKEN_EXAMPLE = 'user@realm!tokenname, like capmox@pve!capi';
const SECRET_EXAMPLE = 'a UUID like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
const CA_EXAMPLE = 'a PEM CA certificate such as /etc/pve/pve-root-ca.pem from a Proxmox node';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTAINS_UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// Proxmox's own formats (PVE::Auth::Plugin): user names without whitespace, ':' or '/', realm and
// token names starting with a letter.
const TOKEN_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/;
const USER_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/g;

const isUnset = (v: string | undefined): v is undefined => v === undefined || v === '';
const hasOuterSpace = (v: string): boolean => v !== v.trim();

/** The longest excerpt of a value a message may show, quotes included. */
export const MAX_EXCERPT = 80;

/**
 * A value for a message: JSON-quoted (so whitespace and control characters show), and cut to at
 * most {@link MAX_EXCERPT} characters with "…", so that a secret pasted into the wrong variable is
 * never echoed whole.
 */
export function excerpt(value: string): string {
  return quote(value, MAX_EXCERPT);
}

/**
 * A URL (or URL-like text) for a message, without what may be secret: the password of the
 * userinfo becomes `***` (the user name stays when it looks like one; a userinfo without a
 * password becomes `***`, since it may be a token), and a query or fragment becomes `?…` / `#…`.
 * Works on text that does not parse as a URL too, since those are echoed as well.
 */
export function redactUrl(text: string): string {
  return text
    // Up to the last "@" before the path: a password may itself contain "@".
    .replace(/^(\s*(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)([^/?#]*)@/, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      const user = colon < 0 ? '' : userinfo.slice(0, colon);
      const plainUser = /^[A-Za-z0-9._-]{1,32}$/.test(user) && !CONTAINS_UUID.test(user);
      return `${scheme}${plainUser ? `${user}:***` : '***'}@`;
    })
    .replace(/[?#][\s\S]*$/, (m) => `${m[0]}…`);
}

/** A URL for a message: redacted ({@link redactUrl}), then quoted and cut ({@link excerpt}). */
function shownUrl(url: string): string {
  return excerpt(redactUrl(url));
}

/** A file path for a message: as is when short and plain, else as an {@link excerpt}. */
function shownPath(file: string): string {
  return /^[\w@%+=:,./~-]{1,80}$/.test(file) ? file : excerpt(file);
}

function urlProblems(url: string | undefined): CredentialsProblem[] {
  const env = CREDENTIALS_ENV.url;
  const error = (message: string): CredentialsProblem[] => [{ severity: 'error', message }];
  if (isUnset(url)) return error(`${env} is not set; expected the Proxmox API URL ${URL_EXAMPLE}`);
  if (hasOuterSpace(url)) return error(`${env} ${shownUrl(url)} has leading or trailing whitespace; expected ${URL_EXAMPLE}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return error(`${env} ${shownUrl(url)} is not a URL; expected ${URL_EXAMPLE}`);
  }
  // A password in the URL is as secret as the token: shown redacted, as in every URL message.
  if (parsed.username || parsed.password) return error(`${env} ${shownUrl(url)} contains a user name or password; the API token goes in PROXMOX_TOKEN and PROXMOX_SECRET, the URL is only ${URL_EXAMPLE}`);
  if (parsed.protocol === 'http:') {
    return error(`${env} ${shownUrl(url)} uses http, which would send the API token unencrypted (and Proxmox serves its API only over https); expected ${URL_EXAMPLE}`);
  }
  if (parsed.protocol !== 'https:') return error(`${env} ${shownUrl(url)} is not an https URL; expected ${URL_EXAMPLE}`);
  // CAPMOX appends /api2/json itself (url.JoinPath in goproxmox.NewAPIClient).
  if (/\/api2\/json\/?$/.test(parsed.pathname)) return error(`${env} ${shownUrl(url)} ends in /api2/json, which CAPMOX appends itself; expected ${URL_EXAMPLE}`);
  if (parsed.pathname !== '/' || parsed.search || parsed.hash) return error(`${env} ${shownUrl(url)} has a path, query or fragment; expected ${URL_EXAMPLE}`);
  // URL drops a default port, so look at the text: https://host:443 is explicit and fine.
  if (!/^https:\/\/[^/?#]*:\d+(?:[/?#]|$)/i.test(url)) {
    return [{ severity: 'warning', message: `${env} ${shownUrl(url)} has no port, so CAPMOX connects to port 443; the Proxmox API listens on 8006 unless a proxy serves it on 443 (add :8006 if not)` }];
  }
  return [];
}

function tokenProblems(token: string | undefined): CredentialsProblem[] {
  const env = CREDENTIALS_ENV.token;
  const error = (message: string): CredentialsProblem[] => [{ severity: 'error', message }];
  if (isUnset(token)) return error(`${env} is not set; expected the API token ID ${TOKEN_EXAMPLE}`);
  // The two mix-ups that would put the token secret into a message: never echo those values.
  if (token.includes('=')) {
    return error(`${env} looks like a whole API token, user@realm!tokenname=secret (value not shown); put the token ID before "=" in ${env} and the UUID after it in PROXMOX_SECRET`);
  }
  if (CONTAINS_UUID.test(token)) {
    return error(`${env} looks like a token secret, a UUID (value not shown); ${env} is the token ID ${TOKEN_EXAMPLE}, and the UUID goes in PROXMOX_SECRET`);
  }
  if (hasOuterSpace(token)) return error(`${env} ${excerpt(token)} has leading or trailing whitespace; expected the API token ID ${TOKEN_EXAMPLE}`);
  if (USER_ID.test(token)) {
    return error(`${env} ${excerpt(token)} is a user, not an API token ID; expected ${TOKEN_EXAMPLE} (create a token with: pveum user token add ${token.length <= 64 ? token : '<user@realm>'} capi)`);
  }
  if (!TOKEN_ID.test(token)) return error(`${env} ${excerpt(token)} is not an API token ID; expected ${TOKEN_EXAMPLE}`);
  return [];
}

function secretProblems(secret: string | undefined): CredentialsProblem[] {
  const env = CREDENTIALS_ENV.secret;
  const malformed = (why: string): CredentialsProblem[] => [{ severity: 'error', message: `${env} is malformed (value not shown)${why}; expected the token secret Proxmox showed when the token was created, ${SECRET_EXAMPLE}` }];
  if (isUnset(secret)) return [{ severity: 'error', message: `${env} is not set; expected the token secret Proxmox showed when the token was created, ${SECRET_EXAMPLE}` }];
  if (secret.includes('=')) return malformed(': it looks like a whole API token, user@realm!tokenname=secret; put the ID before "=" in PROXMOX_TOKEN and only the UUID after it here');
  if (secret.includes('!')) return malformed(': it looks like a token ID (user@realm!tokenname), which goes in PROXMOX_TOKEN');
  if (hasOuterSpace(secret)) return malformed(': it has leading or trailing whitespace');
  if (!UUID.test(secret)) return malformed('');
  return [];
}

function rootCaProblems(rootCa: string | undefined, file: string | undefined): CredentialsProblem[] {
  const env = CREDENTIALS_ENV.rootCaFile;
  // A file named but not read: the caller reports why (it did the I/O).
  if (rootCa === undefined && file !== undefined) return [];
  if (rootCa === undefined) {
    return [{
      severity: 'warning',
      message: `${env} is not set, so the Secret says insecure: "true" and CAPMOX will not verify the TLS certificate of the Proxmox API; to verify it, set ${env} to ${CA_EXAMPLE}`,
    }];
  }
  const what = file ? `${env} ${shownPath(file)}` : env;
  const error = (message: string): CredentialsProblem[] => [{ severity: 'error', message }];
  if (rootCa.trim() === '') return error(`${what} is empty; expected ${CA_EXAMPLE}`);
  // Never let a private key travel into a Secret that names itself a CA bundle.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(rootCa)) {
    return error(`${what} contains a private key; it must hold only the CA certificate (${CA_EXAMPLE})`);
  }
  const blocks = rootCa.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    return error(`${what} is not a PEM certificate (no -----BEGIN CERTIFICATE----- block); expected ${CA_EXAMPLE} (convert a DER file with: openssl x509 -inform der -in <file> -out ca.pem)`);
  }
  const out: CredentialsProblem[] = [];
  blocks.forEach((block, i) => {
    const which = blocks.length > 1 ? ` certificate ${i + 1}` : '';
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (e) {
      out.push({ severity: 'error', message: `${what}${which} cannot be parsed (${(e as Error).message}); expected ${CA_EXAMPLE}` });
      return;
    }
    if (!cert.ca) {
      // Go accepts a leaf certificate in RootCAs, but only that exact certificate then verifies.
      out.push({
        severity: 'warning',
        message: `${what}${which} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate, so CAPMOX trusts only this exact server certificate; prefer the CA that issued it (/etc/pve/pve-root-ca.pem on a Proxmox node)`,
      });
    }
  });
  return out;
}

/**
 * Every problem of the credentials, errors and warnings, each naming the environment variable,
 * the value (never the token secret) and what is expected.
 *
 * Warnings: no CA (CAPMOX will skip TLS verification), no port in the URL, a CA file whose
 * certificate is not a CA.
 */
export function proxmoxCredentialsProblems(input: ProxmoxCredentialsInput): CredentialsProblem[] {
  return [
    ...urlProblems(input.url),
    ...tokenProblems(input.token),
    ...secretProblems(input.secret),
    ...rootCaProblems(input.rootCa, input.rootCaFile),
  ];
}

/** The certificate blocks of a PEM text, with LF line ends and a final newline (comments and other text dropped). */
function normalizePem(text: string): string {
  return `${(text.match(PEM_CERTIFICATE) ?? []).map((b) => b.replace(/\r\n/g, '\n')).join('\n')}\n`;
}

/**
 * The Secret CAPMOX reads through `ProxmoxCluster.spec.credentialsRef` (`pkg/scope/cluster.go`):
 * `stringData` keys `url`, `token`, `secret`, `insecure`, and `root_ca` when a CA is given.
 *
 * `insecure` is always written: CAPMOX skips TLS verification when the key is absent (its pre-v0.7
 * behaviour), so `"true"` without a CA makes that visible, and `"false"` with a CA turns
 * verification on (against the system roots plus `root_ca`).
 *
 * @throws UserError listing every error of {@link proxmoxCredentialsProblems} and invalid names
 */
export function proxmoxCredentialsSecret(props: ProxmoxCredentialsSecretProps): KubeObject {
  const errors = proxmoxCredentialsProblems(props).filter((p) => p.severity === 'error').map((p) => p.message);
  // cdk8s-plus writes what the API server would otherwise default (type, immutable), so a GitOps
  // agent sees no drift between the file and the live object.
  const chart = new Chart(new App(), 'credentials');
  new kplus.Secret(chart, 'Secret', {
    metadata: {
      name: props.name,
      namespace: props.namespace,
      labels: { [PROXMOX_CREDENTIALS_LABEL]: PROXMOX_CREDENTIALS_LABEL_VALUE },
    },
    type: 'Opaque',
    immutable: false,
    stringData: {
      url: props.url,
      token: props.token,
      secret: props.secret,
      insecure: props.rootCa === undefined ? 'true' : 'false',
      ...(props.rootCa !== undefined ? { root_ca: normalizePem(props.rootCa) } : {}),
    },
  });
  const [secret] = chart.toJson() as KubeObject[];
  errors.push(...builtinViolations(secret).map((v) => `Secret ${v.field} ${v.message}`));
  if (errors.length > 0) throw new UserError(errors.join('\n'));
  return secret;
}

/**
 * The credentials Secret as YAML: keys in a fixed order, no line folding, so the same input always
 * gives the same bytes.
 *
 * @throws UserError as {@link proxmoxCredentialsSecret}
 */
export function proxmoxCredentialsSecretYaml(props: ProxmoxCredentialsSecretProps): string {
  return toYaml(proxmoxCredentialsSecret(props));
}

// age recipients are bech32 (BIP 173) strings: HRP "age" (X25519) or "age1<plugin>", then "1",
// then the data with a 6-character checksum; the bech32 package checks it, which catches typos and truncation.
function ageRecipientProblem(recipient: string, source: string): string | undefined {
  const expected = 'expected an age public key, age1… (62 characters; age-keygen prints it as "Public key:")';
  if (/^AGE-SECRET-KEY-/i.test(recipient.trim())) {
    return `${source} is given an age identity, the private key (value not shown); pass its public key instead (age-keygen -y <key file> prints it) and keep the private key out of git`;
  }
  // Some other private key pasted by mistake (ssh, PGP, PEM): not even an excerpt of it.
  if (/PRIVATE KEY/i.test(recipient)) return `${source} is given a private key (value not shown); expected an age public key, age1…, and keep private keys out of git`;
  if (!recipient.startsWith('age1')) return `${source} ${excerpt(recipient)} is not an age recipient; ${expected}`;
  if (recipient !== recipient.toLowerCase()) return `${source} ${excerpt(recipient)} must be lower case; ${expected}`;
  let decoded: { prefix: string; words: number[] };
  try {
    // Recipients are longer than bech32's 90-character default limit allows for plugin keys.
    decoded = bech32.decode(recipient, 1023);
  } catch {
    return `${source} ${excerpt(recipient)} is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); ${expected}`;
  }
  if (decoded.prefix === 'age' && recipient.length !== 62) return `${source} ${excerpt(recipient)} is not a well-formed age recipient; ${expected}`;
  return undefined;
}

/**
 * One message per malformed age recipient: not `age1…`, not lower case, wrong length or
 * characters, a bad bech32 checksum, or an age private key (never echoed).
 *
 * @param source where the recipients came from, for messages (`--age`, `SOPS_AGE_RECIPIENTS`)
 */
export function ageRecipientProblems(recipients: readonly string[], source: string): string[] {
  const out: string[] = [];
  if (recipients.length === 0) out.push(`${source} lists no age recipient; expected at least one age public key, age1…`);
  for (const r of recipients) {
    const problem = ageRecipientProblem(r, source);
    if (problem) out.push(problem);
  }
  return out;
}

function checkedRecipients(recipients: readonly string[], source: string): string[] {
  const problems = ageRecipientProblems(recipients, source);
  if (problems.length > 0) throw new UserError(problems.join('\n'));
  return [...new Set(recipients)];
}

function sopsRule(recipients: readonly string[]): Record<string, string> {
  return { path_regex: SOPS_PATH_REGEX, encrypted_regex: SOPS_ENCRYPTED_REGEX, age: recipients.join(',') };
}

const SOPS_HEADER = [
  ' SOPS creation rules (npm run credentials). Files under secrets/ are encrypted for the age',
  ' recipients below; only data and stringData, because Flux needs apiVersion, kind and metadata',
  ' in plain text. The age private key stays out of git (Flux reads it from its decryption Secret).',
].join('\n');

/**
 * The text of a `.sops.yaml` with one creation rule: files under secrets/ (`*.yaml`, `*.yml`),
 * `encrypted_regex: ^(data|stringData)$`, encrypted for the given age recipients (comma-joined,
 * duplicates dropped).
 *
 * @param source where the recipients came from, for messages
 * @throws UserError when a recipient is not an age public key
 */
export function sopsConfigYaml(recipients: readonly string[], source = '--age'): string {
  const doc = new YAML.Document({ creation_rules: [sopsRule(checkedRecipients(recipients, source))] });
  doc.commentBefore = SOPS_HEADER;
  return doc.toString({ lineWidth: 0 });
}

/**
 * An existing `.sops.yaml` with this project's rule set to the given recipients: the rule with the
 * same `path_regex` is replaced, and the rule goes first (sops uses the first rule that matches).
 * Other rules and comments are kept. Without existing text, {@link sopsConfigYaml}.
 *
 * @param source where the recipients came from, for messages
 * @param file the config file, for messages
 * @throws UserError when a recipient is malformed or the existing file is not a sops config
 */
export function updateSopsConfig(existing: string | undefined, recipients: readonly string[], source = '--age', file = '.sops.yaml'): string {
  if (existing === undefined || existing.trim() === '') return sopsConfigYaml(recipients, source);
  const rule = sopsRule(checkedRecipients(recipients, source));
  const doc = YAML.parseDocument(existing, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new UserError(`${file} is not valid YAML (${yamlErrorText(doc.errors[0])}); fix or delete it`);
  }
  if (!YAML.isMap(doc.contents)) throw new UserError(`${file} is not a YAML mapping; expected a sops config with creation_rules (fix or delete it)`);
  const rules = doc.get('creation_rules');
  if (rules === undefined || rules === null) {
    doc.set('creation_rules', doc.createNode([rule]));
  } else if (!YAML.isSeq(rules)) {
    throw new UserError(`${file}: creation_rules is not a list; fix or delete it`);
  } else {
    rules.items = rules.items.filter((item) => !(YAML.isMap(item) && item.get('path_regex') === SOPS_PATH_REGEX));
    rules.items.unshift(doc.createNode(rule));
  }
  return doc.toString({ lineWidth: 0 });
}

/** The age recipients of this project's rule in a `.sops.yaml`, or undefined when it has none. */
export function sopsConfigRecipients(text: string): string[] | undefined {
  const config = parseQuietly(text);
  const rules = isRecord(config) && Array.isArray(config.creation_rules) ? config.creation_rules : [];
  const rule = rules.find((r: unknown) => isRecord(r) && r.path_regex === SOPS_PATH_REGEX);
  return isRecord(rule) && typeof rule.age === 'string' ? rule.age.split(',').map((r) => r.trim()).filter((r) => r) : undefined;
}

/**
 * What an existing `.sops.yaml` would get wrong for one file: no creation rule matches it (sops
 * then refuses to encrypt), or the matching rule would encrypt apiVersion, kind or metadata (Flux
 * then cannot apply it). Rules are tried in order as sops does; regexes Go accepts but JavaScript
 * does not are skipped.
 *
 * @param relPath the file's path relative to the directory of the `.sops.yaml`, with `/`
 * @param file the config file, for messages
 */
export function sopsConfigProblems(text: string, relPath: string, file = '.sops.yaml'): string[] {
  const config = parseQuietly(text);
  if (!isRecord(config) || !Array.isArray(config.creation_rules)) {
    return [`${file} has no creation_rules, so sops cannot encrypt ${relPath}; add one with: npm run credentials -- <cluster> --age <age1… public key>`];
  }
  const rule = config.creation_rules.find((r: unknown) => {
    if (!isRecord(r)) return false;
    if (r.path_regex === undefined || r.path_regex === '') return true;
    try {
      return new RegExp(String(r.path_regex)).test(relPath);
    } catch {
      return false;
    }
  }) as Record<string, unknown> | undefined;
  if (!rule) return [`no creation rule in ${file} matches ${relPath}, so sops cannot encrypt it; add one with: npm run credentials -- <cluster> --age <age1… public key>`];
  const plain = ['apiVersion', 'kind', 'metadata'];
  const flux = `Flux needs apiVersion, kind and metadata in plain text (encrypted_regex: ${SOPS_ENCRYPTED_REGEX})`;
  if (typeof rule.encrypted_regex === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(rule.encrypted_regex);
    } catch {
      return [];
    }
    const encrypted = plain.filter((k) => re.test(k));
    if (encrypted.length > 0) return [`the ${file} rule for ${relPath} encrypts ${encrypted.join(', ')}; ${flux}`];
    if (!re.test('stringData')) return [`the ${file} rule for ${relPath} does not encrypt stringData (encrypted_regex ${rule.encrypted_regex}), so the token would stay in plain text; use encrypted_regex: ${SOPS_ENCRYPTED_REGEX}`];
    return [];
  }
  const otherSelectors = ['unencrypted_regex', 'encrypted_suffix', 'unencrypted_suffix', 'encrypted_comment_regex', 'unencrypted_comment_regex'];
  if (otherSelectors.some((k) => rule[k] !== undefined)) return [];
  return [`the ${file} rule for ${relPath} has no encrypted_regex, so sops would encrypt every value; ${flux}`];
}

/** `line L, column C: what` of a YAML error, without the source excerpt (which may quote a token). */
function yamlErrorText(e: YAML.YAMLError): string {
  const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return `line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${what}`;
}

function parseQuietly(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a YAML text was encrypted by sops (some document has a top-level `sops` key). */
export function isSopsEncrypted(text: string): boolean {
  // The text test covers a file that no longer parses (a botched hand edit is still sops's).
  return /^sops:/m.test(text) || YAML.parseAllDocuments(text).some((d) => YAML.isMap(d.contents) && d.contents.has('sops'));
}

// sops's encrypted value: ENC[AES256_GCM,data:<base64>,iv:<base64>,tag:<base64>,type:<type>].
const SOPS_VALUE = /^ENC\[AES256_GCM,data:[^\]]*,type:[a-z]+\]$/;

/**
 * Why a YAML file under secrets/ is not safe to commit: a document without a top-level `sops`
 * mapping with a `mac`, or a `data`/`stringData` value that is not a sops `ENC[...]` value. Empty
 * when the file is SOPS-encrypted. Messages name the file and the key, never the value.
 *
 * @param file the file, for messages and the fix (`sops --encrypt --in-place <file>`)
 */
export function plaintextSecretProblems(text: string, file: string): string[] {
  const fix = `encrypt it with: sops --encrypt --in-place ${file}`;
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
  const out: string[] = [];
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length > 0) {
      out.push(`${where} is not valid YAML (${yamlErrorText(doc.errors[0])}), so it is not SOPS-encrypted; ${fix}`);
      return;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (!isRecord(value)) {
      out.push(`${where} is not a YAML mapping, so it is not SOPS-encrypted; ${fix}`);
      return;
    }
    if (value.sops === undefined) {
      out.push(`${where} is not SOPS-encrypted (no top-level sops key); ${fix}`);
    } else if (!isRecord(value.sops) || typeof value.sops.mac !== 'string' || value.sops.mac === '') {
      out.push(`${where} has sops metadata without a mac, so sops did not encrypt it (or it was edited by hand); ${fix}`);
    }
    for (const key of ['data', 'stringData']) {
      const entries = value[key];
      if (entries === undefined || entries === null) continue;
      if (!isRecord(entries)) {
        out.push(`${where}: ${key} is not a mapping of encrypted values; ${fix}`);
        continue;
      }
      for (const [k, v] of Object.entries(entries)) {
        if (typeof v !== 'string' || !SOPS_VALUE.test(v)) out.push(`${where}: ${key}.${k} is in plain text (value not shown); ${fix}`);
      }
    }
  });
  return out;
}

/**
 * Why a YAML file under secrets/ must not stay as it is: {@link plaintextSecretProblems}, and a
 * name other than `*.sops.yaml`, which .gitignore keeps out of git (so Flux never sees it).
 * Messages name the file, never a value.
 *
 * @param file the file relative to the project, with `/`, for messages and the name check
 */
export function secretsFileProblems(text: string, file: string): string[] {
  const out: string[] = [];
  if (!file.endsWith(SOPS_FILE_SUFFIX)) {
    const renamed = file.replace(/\.ya?ml$/, '') + SOPS_FILE_SUFFIX;
    out.push(isSopsEncrypted(text)
      ? `${file} is not named *${SOPS_FILE_SUFFIX}, so .gitignore keeps it out of git and Flux never gets it; rename it: git mv ${file} ${renamed}`
      : `${file} is not named *${SOPS_FILE_SUFFIX}, so .gitignore keeps it out of git, but it is in plain text inside the repository; delete it (rotate the token if it was ever committed) and run npm run credentials again, which encrypts with sops`);
  }
  return [...out, ...plaintextSecretProblems(text, file)];
}
