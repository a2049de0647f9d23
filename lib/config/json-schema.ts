import { z } from 'zod';
import { gitopsConfigSchema } from './gitops';
import { clusterConfigSchema } from './schema';

/**
 * JSON Schema of the cluster config file, for editors (YAML language server): derived from the
 * same zod schema that validates at synth, so the two cannot disagree.
 */
export function clusterConfigJsonSchema(): object {
  return {
    $id: 'https://github.com/cdk8s-talos-proxmox/schemas/cluster-config.schema.json',
    title: 'cdk8s-talos-proxmox cluster config',
    description: 'One Talos Linux cluster on Proxmox VE managed by Cluster API (clusters/<name>.yaml).',
    ...z.toJSONSchema(clusterConfigSchema, { io: 'input', target: 'draft-2020-12' }),
  };
}

/** JSON Schema of `gitops.yaml`, for editors, from the zod schema that validates it at synth. */
export function gitopsConfigJsonSchema(): object {
  return {
    $id: 'https://github.com/cdk8s-talos-proxmox/schemas/gitops-config.schema.json',
    title: 'cdk8s-talos-proxmox GitOps config',
    description: 'How the management cluster reaches dist/: Flux and/or Fleet objects in dist/management/ (gitops.yaml).',
    ...z.toJSONSchema(gitopsConfigSchema, { io: 'input', target: 'draft-2020-12' }),
  };
}
