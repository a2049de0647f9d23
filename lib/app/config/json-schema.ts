import { z } from 'zod';
import { gitopsConfigSchema } from './gitops';
import { clusterConfigSchema } from './schema';

/** A config file's JSON Schema for editors, from the zod schema that validates it at synth. */
function editorSchema(file: string, title: string, description: string, schema: z.ZodType): object {
  return {
    $id: `https://github.com/cdk8s-talos-proxmox/schemas/${file}`,
    title,
    description,
    ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }),
  };
}

/**
 * JSON Schema of the cluster config file, for editors (YAML language server): derived from the
 * same zod schema that validates at synth, so the two cannot disagree.
 */
export function clusterConfigJsonSchema(): object {
  return editorSchema('cluster-config.schema.json', 'cdk8s-talos-proxmox cluster config',
    'One Talos Linux cluster on Proxmox VE managed by Cluster API (clusters/<name>.yaml).', clusterConfigSchema);
}

/** JSON Schema of `gitops.yaml`, for editors, from the zod schema that validates it at synth. */
export function gitopsConfigJsonSchema(): object {
  return editorSchema('gitops-config.schema.json', 'cdk8s-talos-proxmox GitOps config',
    'How the management cluster reaches dist/: Flux and/or Fleet objects in dist/management/ (gitops.yaml).', gitopsConfigSchema);
}
