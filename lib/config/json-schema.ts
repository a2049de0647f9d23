import { z } from 'zod';
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
