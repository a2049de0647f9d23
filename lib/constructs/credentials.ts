/**
 * Where CAPMOX finds the Proxmox API token for a cluster.
 *
 * Only a reference is ever synthesized: the Secret itself (keys `url`, `token`, `secret`) lives
 * outside dist/, so no token reaches git in plain text (STACK.md §7).
 */
export class ProxmoxCredentials {
  /**
   * A Secret that already exists on the management cluster (per-cluster `credentialsRef`).
   *
   * @param secretName name of the Secret with keys `url`, `token` and `secret`
   * @param namespace namespace of the Secret; @default - the cluster's namespace
   */
  public static fromSecretName(secretName: string, namespace?: string): ProxmoxCredentials {
    return new ProxmoxCredentials(secretName, namespace);
  }

  /** The provider's global credentials (Secret `capmox-manager-credentials` of the CAPMOX install). */
  public static providerDefault(): ProxmoxCredentials {
    return new ProxmoxCredentials(undefined, undefined);
  }

  private constructor(
    /** Name of the referenced Secret, or undefined for the provider's global credentials. */
    public readonly secretName: string | undefined,
    /** Namespace of the referenced Secret, or undefined for the cluster's namespace. */
    public readonly namespace: string | undefined,
  ) {}
}
