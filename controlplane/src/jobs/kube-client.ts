import type * as k8s from '@kubernetes/client-node';
import { describeKubeApiError, type Logger } from '@rudder/common';
import type { ControlPlaneConfig } from '../config.ts';
import type { Kube } from './kube.ts';
import {
  FIELD_MANAGER,
  RUDDER_INSTANCE,
  readyOf,
  rudderInstanceManifest,
  tokenSecretManifest,
  tokenSecretName,
} from './instance-manifests.ts';

/**
 * The Kubernetes client from KUBECONFIG or the in-cluster service account
 * (`loadKubeConfig`, with connection reuse). Writes with server-side apply under the
 * `rudder-controlplane` field manager, forcing ownership of the fields it
 * sets, so a re-run of onboarding converges instead of conflicting.
 */
export async function createKube(cfg: ControlPlaneConfig, logger: Logger): Promise<Kube> {
  if (cfg.http.publicUrl === undefined)
    throw new Error('KUBERNETES=kubeconfig needs PUBLIC_URL: data planes reach the control plane there');
  // Loaded only when a cluster is configured: most processes (and tests) never need the client.
  const lib = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('@rudder/common/kube-config');
  const kc = loadKubeConfig();
  const cluster = kc.getCurrentCluster();
  logger.info({ cluster: cluster?.name, server: cluster?.server }, 'kubernetes client configured');
  return new ClusterKube(lib, kc, cfg.kubernetes.systemNamespace);
}

class ClusterKube implements Kube {
  private readonly lib: typeof k8s;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly secretNamespace: string;
  private readonly applyOptions: k8s.ConfigurationOptions;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, secretNamespace: string) {
    this.lib = lib;
    this.core = kc.makeApiClient(lib.CoreV1Api);
    this.custom = kc.makeApiClient(lib.CustomObjectsApi);
    this.secretNamespace = secretNamespace;
    // The generated client picks a JSON patch content type; apply needs its own.
    this.applyOptions = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.ServerSideApply);
  }

  async applyInstance(input: Parameters<Kube['applyInstance']>[0]): Promise<void> {
    if (input.dataplaneToken !== undefined) {
      const name = tokenSecretName(input.tenantId);
      try {
        await this.core.patchNamespacedSecret(
          {
            name,
            namespace: this.secretNamespace,
            body: tokenSecretManifest({
              tenantId: input.tenantId,
              namespace: this.secretNamespace,
              token: input.dataplaneToken,
            }),
            fieldManager: FIELD_MANAGER,
            force: true,
          },
          this.applyOptions,
        );
      } catch (err) {
        // Without the server's message: an error about a Secret may quote its contents.
        throw this.kubeError(`applying Secret ${this.secretNamespace}/${name}`, err, false);
      }
    }
    try {
      await this.custom.patchClusterCustomObject(
        {
          group: RUDDER_INSTANCE.group,
          version: RUDDER_INSTANCE.version,
          plural: RUDDER_INSTANCE.plural,
          name: input.tenantId,
          body: rudderInstanceManifest({
            tenantId: input.tenantId,
            controlPlaneUrl: input.controlPlaneUrl,
            image: input.image,
            secretNamespace: this.secretNamespace,
          }),
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        this.applyOptions,
      );
    } catch (err) {
      throw this.kubeError(`applying RudderInstance ${input.tenantId}`, err, true);
    }
  }

  async instanceStatus(tenantId: string): Promise<{ ready: boolean; message: string } | undefined> {
    let instance: unknown;
    try {
      instance = await this.custom.getClusterCustomObject({
        group: RUDDER_INSTANCE.group,
        version: RUDDER_INSTANCE.version,
        plural: RUDDER_INSTANCE.plural,
        name: tenantId,
      });
    } catch (err) {
      if (err instanceof this.lib.ApiException && err.code === 404) return undefined;
      throw this.kubeError(`reading RudderInstance ${tenantId}`, err, true);
    }
    return readyOf(instance);
  }

  /** An error naming what failed and the HTTP status, safe to log and to show on the job. */
  private kubeError(what: string, err: unknown, withMessage: boolean): Error {
    if (!(err instanceof this.lib.ApiException)) return new Error(`${what}: ${String(err)}`, { cause: err });
    return new Error(describeKubeApiError(what, err, withMessage));
  }
}
