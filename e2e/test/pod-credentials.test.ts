/**
 * Service account credentials of process pods: what the process kubelet
 * gives a data-plane process (volumes, then the kubeconfig standing in for
 * in-cluster config), on pods as the API server admitted them.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '@rudder/devkit';
import { startCluster, type Cluster } from '../src/index.ts';
import { SERVICE_ACCOUNT_MOUNT_PATH, writeServiceAccountKubeconfig } from '../src/pod-credentials.ts';
import { materializeVolumes } from '../src/pod-volumes.ts';

const NAMESPACE = 'credentials';
let cluster: Cluster;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  cluster = await startCluster();
  core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const [name, automount] of [
    ['reader', undefined],
    ['quiet', false],
  ] as const) {
    await core.createNamespacedServiceAccount({
      namespace: NAMESPACE,
      body: {
        metadata: { name },
        ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
      },
    });
  }
  await rbac.createNamespacedRole({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['shared'], verbs: ['get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NAMESPACE }],
    },
  });
  await core.createNamespacedConfigMap({
    namespace: NAMESPACE,
    body: { metadata: { name: 'shared' }, data: { greeting: 'hello' } },
  });
  await core.createNamespacedSecret({
    namespace: NAMESPACE,
    body: { metadata: { name: 'private' }, stringData: { password: 'not for pods' } },
  });
  // kube-controller-manager publishes the cluster CA into every namespace; the token mount needs it.
  await waitFor('kube-root-ca.crt in the namespace', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: NAMESPACE });
    return list.items.some((c) => c.metadata?.name === 'kube-root-ca.crt');
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** Creates a pod and gives it what the process kubelet gives a data-plane process before it starts. */
async function credentialsOf(
  name: string,
  spec: Partial<k8s.V1PodSpec>,
): Promise<{ pod: k8s.V1Pod; kubeconfig: string | undefined }> {
  const pod = await core.createNamespacedPod({
    namespace: NAMESPACE,
    body: {
      metadata: { name },
      spec: { containers: [{ name: 'dataplane', image: 'registry.test/rudder/dataplane:1' }], ...spec },
    },
  });
  const dir = join(cluster.dir, 'pods', name);
  mkdirSync(dir, { recursive: true });
  const mounts = await materializeVolumes(core, pod, pod.spec!.containers[0]!, dir);
  return { pod, kubeconfig: writeServiceAccountKubeconfig(mounts, dir, cluster.server) };
}

function clientFor(kubeconfig: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

describe('service account credentials of process pods', () => {
  it("gives an automounted pod a kubeconfig with a pod-bound token of its ServiceAccount, and the Role's rights only", async () => {
    const { pod, kubeconfig } = await credentialsOf('reader', { serviceAccountName: 'reader' });
    expect(kubeconfig).toBeDefined();
    const kc = clientFor(kubeconfig!);
    expect(kc.getCurrentCluster()?.server).toBe(cluster.server);
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe(NAMESPACE);

    const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${NAMESPACE}:reader`);
    // Bound to this pod, as a kubelet's projected token is.
    expect(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['reader']);
    expect(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([
      pod.metadata!.uid!,
    ]);

    const podCore = kc.makeApiClient(k8s.CoreV1Api);
    const shared = await podCore.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'shared' });
    expect(shared.data).toEqual({ greeting: 'hello' });
    await expect(
      podCore.readNamespacedSecret({ namespace: NAMESPACE, name: 'private' }),
    ).rejects.toMatchObject({
      code: 403,
    });
    await expect(podCore.listNamespacedConfigMap({ namespace: NAMESPACE })).rejects.toMatchObject({
      code: 403,
    });

    // The in-cluster files are all there, as the admission plugin's projected volume lists them.
    const mount = pod.spec!.containers[0]!.volumeMounts!.find(
      (m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH,
    );
    expect(mount).toBeDefined();
    const local = join(cluster.dir, 'pods', 'reader', 'volumes', mount!.name);
    expect(readFileSync(join(local, 'namespace'), 'utf8')).toBe(NAMESPACE);
    expect(readFileSync(join(local, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');

    // Deleting the pod invalidates its token (after the API server's ~10 s authentication cache).
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: 'reader', body: { gracePeriodSeconds: 0 } });
    await waitFor(
      "the deleted pod's token to be refused",
      async () => {
        try {
          await podCore.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'shared' });
          return false;
        } catch (err) {
          return (err as { code?: number }).code === 401;
        }
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }, 60_000);

  it('gives nothing to a pod that opts out, or whose ServiceAccount does', async () => {
    const own = await credentialsOf('opted-out', {
      serviceAccountName: 'reader',
      automountServiceAccountToken: false,
    });
    expect(own.kubeconfig).toBeUndefined();
    const bySa = await credentialsOf('quiet', { serviceAccountName: 'quiet' });
    expect(bySa.kubeconfig).toBeUndefined();
    // The pod's own setting wins over its ServiceAccount's.
    const optedIn = await credentialsOf('opted-in', {
      serviceAccountName: 'quiet',
      automountServiceAccountToken: true,
    });
    expect(optedIn.kubeconfig).toBeDefined();
  });
});
