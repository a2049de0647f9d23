import * as fs from 'fs';
import { z } from 'zod';
import { DNS1123_LABEL } from '../../core/naming';
import { parseYamlConfig, readConfigText } from './load';

/** Where the GitOps config's JSON Schema is published (`npm run import`). */
export const GITOPS_JSON_SCHEMA = 'schemas/gitops-config.schema.json';

const dnsLabel = z.string()
  .max(63, 'must be at most 63 characters (DNS-1123 label)')
  .regex(DNS1123_LABEL, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');
// Flux and Fleet both take Go durations; only the units that make sense for polling are allowed.
const interval = z.string().regex(/^([0-9]+(\.[0-9]+)?(s|m|h))+$/, 'must be a duration like 30s, 5m or 1h');
const repoPath = z.string()
  .regex(/^(|[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/, 'must be a relative folder like "infra/clusters" (no leading "/" or "./", no "..")')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** Schema of `gitops.yaml`: how the management cluster reaches the committed dist/. */
export const gitopsConfigSchema = z.strictObject({
  name: dnsLabel.default('clusters').describe('name of the Flux GitRepository and prefix of the management objects'),
  repository: z.strictObject({
    url: z.string().regex(/^(https:\/\/|ssh:\/\/|http:\/\/)[^\s]+$/, 'must be a clone URL starting with https://, http:// or ssh://')
      .describe('clone URL of the repository that holds dist/'),
    branch: z.string().min(1).default('main').describe('branch the agents follow'),
    path: repoPath.default('').describe('folder of this project inside the repository ("" when it is the repository root)'),
    secretName: dnsLabel.optional().describe('Secret with git credentials in the agent\'s namespace (default: none, a public repository)'),
  }),
  flux: z.strictObject({
    namespace: dnsLabel.default('flux-system').describe('namespace of the Flux objects'),
    interval: interval.default('5m').describe('how often Flux fetches the repository and reconciles'),
    decryptionSecret: dnsLabel.default('sops-age').describe('Secret with the age key that decrypts the SOPS-encrypted credentials'),
  }).optional().describe('generate Flux objects (dist/management/flux/)'),
  fleet: z.strictObject({
    namespace: dnsLabel.default('fleet-local').describe('namespace of the Fleet GitRepos; fleet-local targets the management cluster itself'),
    interval: interval.default('5m').describe('how often Fleet polls the repository'),
  }).optional().describe('generate Fleet objects (dist/management/fleet/)'),
}).refine((c) => c.flux !== undefined || c.fleet !== undefined, { message: 'must configure flux, fleet or both', path: [] });

/** `gitops.yaml` after defaults are applied. */
export type GitopsConfig = z.output<typeof gitopsConfigSchema>;

/**
 * Loads the GitOps config, if the project has one, read like a cluster config file (a regular file
 * of at most MAX_CONFIG_BYTES, see lib/app/config/load.ts).
 *
 * @returns undefined when the file does not exist (no management objects are generated)
 * @throws ValidationError listing every problem of the file, or naming it when it cannot be read
 *   (a symbolic link to nothing is an error, not a missing file)
 */
export function loadGitopsConfig(file: string, displayFile: string = file): GitopsConfig | undefined {
  // lstat, not exists: a dangling symbolic link must not silently drop the management objects.
  try {
    fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    // Anything else (no permission) is named by readConfigText.
  }
  return parseYamlConfig(readConfigText(file, displayFile), displayFile, gitopsConfigSchema, GITOPS_JSON_SCHEMA);
}
