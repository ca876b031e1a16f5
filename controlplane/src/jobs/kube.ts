/**
 * The slice of the Kubernetes API the control plane uses: creating a tenant's
 * RudderInstance (and the Secret holding its data-plane token) and reading
 * back its status. Built from KUBECONFIG or the in-cluster service account.
 */
export interface Kube {
  /** Creates or updates the token Secret and the RudderInstance; idempotent. */
  applyInstance(input: {
    tenantId: string;
    dataplaneToken: string | undefined;
    controlPlaneUrl: string;
    image: string;
  }): Promise<void>;
  /** The instance's Ready condition, or undefined when it does not exist. */
  instanceStatus(tenantId: string): Promise<{ ready: boolean; message: string } | undefined>;
}
