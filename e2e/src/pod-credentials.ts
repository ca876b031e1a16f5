import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod, V1ServiceAccountTokenProjection } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { PodConfigError } from './pod-env.ts';
import type { LocalMount } from './pod-volumes.ts';

/**
 * Where a container finds its service account's credentials in a cluster
 * (`token`, `ca.crt`, `namespace`): the mount the ServiceAccount admission
 * plugin adds to every container of a pod whose token is automounted (the
 * pod's `automountServiceAccountToken`, else its ServiceAccount's, else
 * true). client-node's and client-go's in-cluster config read it there.
 */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kubelet's default lifetime for the token of that mount, when the projection names none. */
const DEFAULT_TOKEN_SECONDS = 3600;

/**
 * A token for the pod's ServiceAccount from the TokenRequest API, bound to
 * the pod (name and uid: it stops working when the pod is deleted), for the
 * projection's audience (none: the API server's own) and lifetime: what a
 * kubelet writes for a `serviceAccountToken` projected volume source.
 */
export async function requestPodToken(
  core: CoreV1Api,
  pod: V1Pod,
  projection: Pick<V1ServiceAccountTokenProjection, 'audience' | 'expirationSeconds'> = {},
): Promise<string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const serviceAccount = pod.spec?.serviceAccountName || 'default';
  try {
    const answer = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: projection.audience ? [projection.audience] : [],
          expirationSeconds: projection.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
          boundObjectRef: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata?.name ?? '',
            uid: pod.metadata?.uid ?? '',
          },
        },
      },
    });
    const token = answer.status?.token;
    if (!token) throw new Error('the TokenRequest answer holds no token');
    return token;
  } catch (err) {
    if ((err as { code?: number }).code === 404)
      throw new PodConfigError(`ServiceAccount ${namespace}/${serviceAccount} not found (for its token)`);
    throw err;
  }
}

/**
 * The kubeconfig standing in for in-cluster config. A process here cannot
 * read `/var/run/secrets/...`, so when the container has the service
 * account mount (its token is automounted) this writes `dir/kubeconfig`:
 * the API server `server`, the CA and token files of that mount (written
 * by `materializeVolumes`: a pod-bound TokenRequest token, the cluster's
 * `kube-root-ca.crt`) and the pod's namespace. Returns its path, to be set
 * as KUBECONFIG; undefined for a pod that opted out, which gets nothing.
 */
export function writeServiceAccountKubeconfig(
  mounts: readonly LocalMount[],
  dir: string,
  server: string,
): string | undefined {
  const mount = mounts.find((m) => m.mountPath.replace(/\/+$/, '') === SERVICE_ACCOUNT_MOUNT_PATH);
  if (!mount) return undefined;
  const file = (name: string): string => {
    const path = join(mount.localPath, name);
    if (!existsSync(path))
      throw new PodConfigError(`the service account mount has no ${name} (is its volume projected?)`);
    return path;
  };
  const [token, ca, namespace] = [file('token'), file('ca.crt'), file('namespace')];
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server, 'certificate-authority': ca } }],
    users: [{ name: 'service-account', user: { 'token-file': token } }],
    contexts: [
      {
        name: 'in-cluster',
        context: {
          cluster: 'in-cluster',
          user: 'service-account',
          namespace: readFileSync(namespace, 'utf8').trim(),
        },
      },
    ],
    'current-context': 'in-cluster',
  };
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
