import { AppsV1Api, CoreV1Api, type V1Container, type V1PodSpec } from '@kubernetes/client-node';
import pg from 'pg';
import { waitFor } from '@rudder/devkit';
import { startCluster, startProcessKubelet, type Cluster, type ProcessKubelet } from '../src/index.ts';

// The harness itself: a local control plane (etcd, kube-apiserver,
// kube-controller-manager) and the process kubelet standing in for nodes.

let cluster: Cluster | undefined;
let kubelet: ProcessKubelet | undefined;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await startCluster();
  process.stderr.write(
    `[e2e] ${cluster.mode} cluster ready in ${cluster.startupMs} ms ${JSON.stringify(cluster.timings)}\n`,
  );
  kubelet = await startProcessKubelet(cluster, {
    run: (pod) =>
      pod.metadata?.labels?.['app.kubernetes.io/name'] === 'rudder-postgres' ? 'process' : 'fake',
  });
  core = cluster.kc.makeApiClient(CoreV1Api);
  apps = cluster.kc.makeApiClient(AppsV1Api);
}, 180_000);

afterAll(async () => {
  await kubelet?.stop();
  await cluster?.stop();
}, 60_000);

/** What the `restricted` Pod Security level demands of a pod. */
function restrictedPod(container: V1Container): V1PodSpec {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        ...container,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
      },
    ],
  };
}

async function createRestrictedNamespace(name: string): Promise<void> {
  const labels = { 'pod-security.kubernetes.io/enforce': 'restricted' };
  await core.createNamespace({ body: { metadata: { name, labels } } });
}

async function isGone(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return true;
    throw err;
  }
}

test('kubectl reaches the API server, which reports Kubernetes 1.36', async () => {
  const ready = await cluster!.kubectl(['get', '--raw', '/readyz']);
  expect(ready).toMatchObject({ code: 0, stdout: 'ok' });
  // Not the exit code: a binary built without version ldflags makes kubectl
  // fail its client/server skew check while still printing both versions.
  const version = await cluster!.kubectl(['version', '-o', 'json']);
  expect(JSON.parse(version.stdout)).toMatchObject({ serverVersion: { major: '1', minor: '36' } });
});

test('a Deployment becomes a ReplicaSet and a ready Pod, and its namespace can be deleted', async () => {
  const namespace = 'smoke-deployment';
  await createRestrictedNamespace(namespace);
  const labels = { app: 'web' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          // The namespace controller waits for terminating pods by their grace period; keep it short.
          spec: { ...restrictedPod({ name: 'web', image: 'nginx:1.29' }), terminationGracePeriodSeconds: 1 },
        },
      },
    },
  });

  const replicaSets = await waitFor('a ReplicaSet', async () => {
    const list = await apps.listNamespacedReplicaSet({ namespace });
    return list.items.length > 0 ? list.items : undefined;
  });
  expect(replicaSets[0]!.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
  const pod = await waitFor('a Pod bound to the node', async () => {
    const list = await core.listNamespacedPod({ namespace });
    return list.items.find((p) => p.spec?.nodeName === kubelet!.nodeName);
  });
  expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet' });
  await waitFor('readyReplicas=1', async () => {
    const deployment = await apps.readNamespacedDeployment({ namespace, name: 'web' });
    return deployment.status?.readyReplicas === 1;
  });

  await core.deleteNamespace({ name: namespace });
  await waitFor('the namespace to be gone', () => isGone(() => core.readNamespace({ name: namespace })), {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}, 90_000);

test('runs a Postgres pod for real: ready, and it accepts the password from its Secret', async () => {
  const namespace = 'smoke-postgres';
  await createRestrictedNamespace(namespace);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'postgres' }, stringData: { password } },
  });
  const labels = { 'app.kubernetes.io/name': 'rudder-postgres' };
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'postgres' },
      spec: { selector: labels, ports: [{ port: 5432, targetPort: 'postgres' }] },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'postgres-0', labels },
      spec: restrictedPod({
        name: 'postgres',
        image: 'postgres:18',
        ports: [{ name: 'postgres', containerPort: 5432 }],
        env: [
          { name: 'POSTGRES_USER', value: 'tenant' },
          { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'postgres', key: 'password' } } },
          { name: 'POSTGRES_DB', value: 'jobs' },
        ],
      }),
    },
  });

  await waitFor(
    'the Postgres pod to be Ready',
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'postgres-0' });
      return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const { hostname, port } = new URL(kubelet!.serviceUrl(namespace, 'postgres', 5432));
  const login = { host: hostname, port: Number(port), user: 'tenant', database: 'jobs' };
  const client = new pg.Client({ ...login, password });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT current_user AS "user", current_database() AS db');
    expect(rows).toEqual([{ user: 'tenant', db: 'jobs' }]);
  } finally {
    await client.end();
  }
  await expect(new pg.Client({ ...login, password: 'wrong' }).connect()).rejects.toThrow(/password/);
  expect(kubelet!.podLogs(namespace, 'postgres-0')).toContain('ready to accept connections');

  await core.deleteNamespacedPod({ namespace, name: 'postgres-0' });
  await waitFor(
    'the pod to be gone',
    () => isGone(() => core.readNamespacedPod({ namespace, name: 'postgres-0' })),
    {
      timeoutMs: 30_000,
    },
  );
  await expect(new pg.Client({ ...login, password }).connect()).rejects.toThrow();
}, 120_000);
