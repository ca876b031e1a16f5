/**
 * The operator against a real kube-apiserver, etcd and kube-controller-manager
 * (garbage collection, namespace deletion, Deployment/StatefulSet controllers).
 * Pods are reported Ready by the process kubelet without running anything:
 * these scenarios are about the objects, their status and the operator's
 * behaviour; e2e/test/dataflow.test.ts runs the pods for real.
 */
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import {
  installCrds,
  startCluster,
  startProcessKubelet,
  type Cluster,
  type ProcessKubelet,
} from '../src/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../src/operator-process.ts';
import { applyWorkerReport, releasedReport } from '../src/handoff-timeline.ts';
import { instanceManifest, isReadyAtGeneration, tokenSecretManifest } from '../src/instance-fixtures.ts';

let cluster: Cluster;
let kubelet: ProcessKubelet;
let lib: typeof k8s;
let custom: k8s.CustomObjectsApi;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
const operators: OperatorProcess[] = [];

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function createToken(name: string): Promise<void> {
  await kubectl(['apply', '-f', '-'], JSON.stringify(tokenSecretManifest(name, `rdr_dp_test_${name}`)));
}

async function getInstance(name: string): Promise<RudderInstance | undefined> {
  try {
    return (await custom.getClusterCustomObject({
      group: 'rudder.dev',
      version: 'v1alpha1',
      plural: 'rudderinstances',
      name,
    })) as RudderInstance;
  } catch (err) {
    if (err instanceof lib.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

const condition = (i: RudderInstance | undefined, type: string) =>
  i?.status?.conditions?.find((c) => c.type === type);

async function waitReady(name: string, timeoutMs = 60_000): Promise<RudderInstance> {
  return waitFor(
    `RudderInstance ${name} to be Ready at its current generation`,
    async () => {
      const i = await getInstance(name);
      return isReadyAtGeneration(i) ? i : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function startOperator(identity: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const op = await startOperatorProcess(cluster, identity, env);
  operators.push(op);
  return op;
}

beforeAll(async () => {
  lib = await import('@kubernetes/client-node');
  cluster = await startCluster();
  custom = cluster.kc.makeApiClient(lib.CustomObjectsApi);
  core = cluster.kc.makeApiClient(lib.CoreV1Api);
  apps = cluster.kc.makeApiClient(lib.AppsV1Api);
  await installCrds(cluster);
  await kubectl(['create', 'namespace', 'rudder-system']);
  kubelet = await startProcessKubelet(cluster, { run: () => 'fake' });
}, 240_000);

afterAll(async () => {
  for (const op of operators) await op.stop('SIGKILL').catch(() => {});
  await kubelet?.stop();
  await cluster?.stop();
}, 60_000);

describe('the operator against a real API server', () => {
  let leader: OperatorProcess;

  it('turns an applied RudderInstance into a hardened namespace whose status becomes Ready', async () => {
    leader = await startOperator('op-a');
    await createToken('acme');
    const started = Date.now();
    await kubectl(['apply', '-f', '-'], JSON.stringify(instanceManifest('acme')));
    const ready = await waitReady('acme');
    console.log(`acme Ready ${Date.now() - started} ms after kubectl apply`);

    const ns = await core.readNamespace({ name: 'rudder-acme' });
    expect(ns.metadata?.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'rudder.dev/instance': 'acme',
    });
    const names = async (kind: string) =>
      JSON.parse(await kubectl(['get', kind, '-n', 'rudder-acme', '-o', 'json'])).items.map(
        (o: k8s.KubernetesObject) => o.metadata!.name,
      );
    expect(await names('resourcequota')).toEqual(['rudder-quota']);
    expect(await names('limitrange')).toEqual(['rudder-limits']);
    expect(await names('networkpolicy')).toEqual(
      expect.arrayContaining(['default-deny', 'gateway-ingress', 'dataplane-egress', 'postgres-ingress']),
    );
    expect(await names('serviceaccount')).toContain('rudder-dataplane');
    expect(await names('role')).toEqual(['rudder-dataplane']);
    expect(await names('rolebinding')).toEqual(['rudder-dataplane']);
    expect(await names('secret')).toEqual(
      expect.arrayContaining(['dataplane-token', 'postgres-credentials', 'database-url', 'admin-token']),
    );
    expect(await names('configmap')).toContain('partition-map');
    expect(await names('statefulset')).toEqual(['postgres', 'worker']);
    expect(await names('deployment')).toEqual(['gateway']);
    expect(await names('service')).toEqual(expect.arrayContaining(['gateway', 'worker', 'postgres']));
    expect(await names('poddisruptionbudget')).toEqual(['gateway', 'worker']);

    const gateway = await apps.readNamespacedDeployment({ name: 'gateway', namespace: 'rudder-acme' });
    expect(gateway.spec?.template.spec?.containers[0]?.image).toBe('registry.test/rudder/dataplane:1.0.0');
    expect(gateway.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'RudderInstance',
      name: 'acme',
      controller: true,
    });
    const token = await core.readNamespacedSecret({ name: 'dataplane-token', namespace: 'rudder-acme' });
    expect(Buffer.from(token.data!.token!, 'base64').toString()).toBe('rdr_dp_test_acme');

    expect(ready.status).toMatchObject({
      namespace: 'rudder-acme',
      replicas: 1,
      readyReplicas: 1,
      selector:
        'app.kubernetes.io/name=rudder-dataplane,app.kubernetes.io/instance=acme,app.kubernetes.io/component=worker',
      ingestEndpoint: 'http://gateway.rudder-acme.svc.cluster.local',
      partitionMap: { epoch: 1, partitions: 64 },
    });
    expect(condition(ready, 'Degraded')?.status).toBe('False');
    expect(ready.metadata?.finalizers).toContain('rudder.dev/cleanup');
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=acme',
    });
    expect(events.items.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Created', 'Applied', 'Ready', 'PartitionMapPublished']),
    );
    // The printer columns read the same status.
    expect(await kubectl(['get', 'rudderinstance', 'acme'])).toMatch(/acme\s+acme\s+1\s+1\s+1\s+True/);
  }, 120_000);

  it('converges the objects when the spec changes, and observedGeneration follows', async () => {
    await kubectl([
      'patch',
      'rudderinstance',
      'acme',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          dataPlane: {
            replicas: 3,
            image: 'registry.test/rudder/dataplane:1.1.0',
            workerResources: { limits: { memory: '3Gi' } },
          },
        },
      }),
    ]);
    const ready = await waitReady('acme');
    expect(ready.metadata?.generation).toBe(2);
    expect(ready.status).toMatchObject({ observedGeneration: 2, replicas: 3, readyReplicas: 3 });
    const worker = await apps.readNamespacedStatefulSet({ name: 'worker', namespace: 'rudder-acme' });
    expect(worker.spec?.replicas).toBe(3);
    expect(worker.spec?.template.spec?.containers[0]?.image).toBe('registry.test/rudder/dataplane:1.1.0');
    expect(worker.spec?.template.spec?.containers[0]?.resources?.limits?.memory).toBe('3Gi');
    const gateway = await apps.readNamespacedDeployment({ name: 'gateway', namespace: 'rudder-acme' });
    expect(gateway.spec?.template.spec?.containers[0]?.image).toBe('registry.test/rudder/dataplane:1.1.0');

    // kubectl scale goes through the scale subresource to .spec.dataPlane.replicas. The map without
    // worker-2 goes out at once; the StatefulSet keeps worker-2 until it reports having let go.
    await kubectl(['scale', 'rudderinstance', 'acme', '--replicas=2']);
    const down = await waitFor('the scale-down to wait for worker-2', async () => {
      const i = await getInstance('acme');
      return i?.status?.partitionMap?.phase === 'ScalingDown' ? i : undefined;
    });
    const epoch = down.status!.partitionMap!.epoch!;
    expect(down.status?.partitionMap).toMatchObject({ workers: 2, configMap: 'partition-map' });
    expect(condition(down, 'Progressing')).toMatchObject({ status: 'True', reason: 'PartitionHandoff' });
    const map = await core.readNamespacedConfigMap({ name: 'partition-map', namespace: 'rudder-acme' });
    expect(JSON.parse(map.data!['map.json']!)).toMatchObject({ epoch, replicas: 2 });
    expect(
      (await apps.readNamespacedStatefulSet({ name: 'worker', namespace: 'rudder-acme' })).spec?.replicas,
    ).toBe(3);
    // worker-2 reports as a worker does: server-side apply of its own key, as the data plane's ServiceAccount.
    await applyWorkerReport(cluster, 'rudder-acme', releasedReport('worker-2', epoch));
    await waitFor('the StatefulSet to shrink to 2', async () => {
      const i = await getInstance('acme');
      return isReadyAtGeneration(i) && i?.status?.replicas === 2 && i.status.readyReplicas === 2;
    });
    expect(
      (await apps.readNamespacedStatefulSet({ name: 'worker', namespace: 'rudder-acme' })).spec?.replicas,
    ).toBe(2);
    // The reconcile that shrank the StatefulSet applied partition-status after the report: the report
    // stays the worker's (the operator owns no data field) and the operator's labels stay too.
    const reports = await core.readNamespacedConfigMap({
      name: 'partition-status',
      namespace: 'rudder-acme',
    });
    expect(Object.keys(reports.data ?? {})).toEqual(['worker-2']);
    expect(reports.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'rudder-operator' });
    const owned = (manager: string) =>
      JSON.stringify(reports.metadata?.managedFields?.find((f) => f.manager === manager)?.fieldsV1 ?? {});
    expect(owned('rudder-operator')).not.toContain('f:data');
    expect(owned('rudder-worker-worker-2')).toContain('f:worker-2');
  }, 120_000);

  it('puts back an owned object deleted by hand', async () => {
    const before = await apps.readNamespacedDeployment({ name: 'gateway', namespace: 'rudder-acme' });
    await kubectl(['delete', 'deployment', 'gateway', '-n', 'rudder-acme', '--wait=false']);
    await kubectl(['delete', 'networkpolicy', 'default-deny', '-n', 'rudder-acme']);
    const after = await waitFor('the gateway Deployment to come back', async () => {
      const d = await apps
        .readNamespacedDeployment({ name: 'gateway', namespace: 'rudder-acme' })
        .catch(() => undefined);
      return d && d.metadata?.uid !== before.metadata?.uid ? d : undefined;
    });
    expect(after.spec?.template.spec?.containers[0]?.image).toBe('registry.test/rudder/dataplane:1.1.0');
    await waitFor('default-deny to come back', () =>
      cluster
        .kubectl(['get', 'networkpolicy', 'default-deny', '-n', 'rudder-acme'])
        .then((r) => r.code === 0),
    );
    await waitReady('acme');
  }, 60_000);

  it('has invalid specs refused by the API server with the CEL message', async () => {
    const refused = async (manifest: unknown, message: string) => {
      const r = await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
      expect({ code: r.code === 0 ? 0 : 1, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: expect.stringContaining(message),
      });
    };
    const base = instanceManifest('bad');
    await refused(
      { ...base, spec: { ...base.spec, dataPlane: { image: 'x', partitions: 48 } } },
      'partitions must be a power of two',
    );
    await refused(
      {
        ...base,
        spec: {
          ...base.spec,
          database: { managed: {}, external: { urlSecretRef: { namespace: 'a', name: 'b' } } },
        },
      },
      'exactly one of database.managed and database.external must be set',
    );
    await refused(
      { ...base, spec: { ...base.spec, database: {} } },
      'exactly one of database.managed and database.external must be set',
    );
    await refused(
      { ...base, spec: { ...base.spec, dataPlane: { image: 'x', replicas: -1 } } },
      'spec.dataPlane.replicas',
    );
    await refused({ ...base, spec: { ...base.spec, tenantId: 'Not_Valid' } }, 'spec.tenantId');
    const acme = instanceManifest('acme');
    await refused({ ...acme, spec: { ...acme.spec, tenantId: 'other' } }, 'tenantId is immutable');
    await refused(
      { ...acme, spec: { ...acme.spec, dataPlane: { image: 'x', partitions: 128 } } },
      'partitions is immutable',
    );
    expect(await getInstance('bad')).toBeUndefined();
  });

  it('leaves the objects alone while paused, and repairs them when unpaused', async () => {
    await kubectl(['patch', 'rudderinstance', 'acme', '--type=merge', '-p', '{"spec":{"paused":true}}']);
    await waitFor(
      'the Paused condition',
      async () => condition(await getInstance('acme'), 'Progressing')?.reason === 'Paused',
    );
    const reconciles = await leader.metric('rudder_operator_reconciles_total', { result: 'paused' });
    await kubectl(['delete', 'service', 'gateway', '-n', 'rudder-acme']);
    // The deletion reaches the operator (its count of paused reconciles grows) and it leaves the Service deleted.
    await waitFor(
      'the operator to look at the paused instance',
      async () =>
        (await leader.metric('rudder_operator_reconciles_total', { result: 'paused' })) > reconciles,
    );
    expect((await cluster.kubectl(['get', 'service', 'gateway', '-n', 'rudder-acme'])).code).not.toBe(0);
    await kubectl(['patch', 'rudderinstance', 'acme', '--type=merge', '-p', '{"spec":{"paused":false}}']);
    await waitFor('the gateway Service to come back', () =>
      cluster.kubectl(['get', 'service', 'gateway', '-n', 'rudder-acme']).then((r) => r.code === 0),
    );
    await waitReady('acme');
  }, 60_000);

  it('with two replicas only the leader reconciles, and the standby takes over when it dies', async () => {
    const standby = await startOperator('op-b');
    const lease = await cluster.kc
      .makeApiClient(lib.CoordinationV1Api)
      .readNamespacedLease({ name: 'rudder-operator', namespace: 'rudder-system' });
    expect(lease.spec?.holderIdentity).toBe('op-a');
    expect(await leader.metric('rudder_operator_leader')).toBe(1);
    expect(await standby.metric('rudder_operator_leader')).toBe(0);

    await createToken('globex');
    await kubectl(['apply', '-f', '-'], JSON.stringify(instanceManifest('globex')));
    await waitReady('globex');
    expect(await standby.metric('rudder_operator_reconciles_total')).toBe(0);
    expect(await leader.metric('rudder_operator_reconciles_total')).toBeGreaterThan(0);

    // A crash: the Lease is not released, the standby takes it once it expires.
    await leader.stop('SIGKILL');
    await waitFor('the standby to lead', async () => (await standby.metric('rudder_operator_leader')) === 1, {
      timeoutMs: 20_000,
    });
    await kubectl([
      'patch',
      'rudderinstance',
      'globex',
      '--type=merge',
      '-p',
      '{"spec":{"dataPlane":{"gatewayReplicas":2}}}',
    ]);
    expect((await waitReady('globex')).status?.observedGeneration).toBe(2);
    expect(await standby.metric('rudder_operator_reconciles_total')).toBeGreaterThan(0);
    leader = standby;
  }, 90_000);

  it('converges after the operator is killed in the middle of a reconcile', async () => {
    await createToken('initech');
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(instanceManifest('initech', { dataPlane: { image: 'x:1', replicas: 2 } })),
    );
    // Kill as soon as it has started creating objects, before the instance is Ready.
    await waitFor(
      'the operator to start on initech',
      () => cluster.kubectl(['get', 'namespace', 'rudder-initech']).then((r) => r.code === 0),
      { intervalMs: 5 },
    );
    expect(condition(await getInstance('initech'), 'Ready')?.status).not.toBe('True');
    await leader.stop('SIGKILL');
    leader = await startOperator('op-c');
    const ready = await waitReady('initech');
    expect(ready.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    const ws = await apps.readNamespacedStatefulSet({ name: 'worker', namespace: 'rudder-initech' });
    expect(ws.spec?.replicas).toBe(2);
  }, 90_000);

  it('deletes the namespace with everything in it, then releases the finalizer', async () => {
    await kubectl(['delete', 'rudderinstance', 'acme', '--wait=false']);
    await waitFor(
      'namespace rudder-acme to be gone',
      () =>
        cluster
          .kubectl(['get', 'namespace', 'rudder-acme'])
          .then((r) => r.code !== 0 && r.stderr.includes('NotFound')),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    await waitFor('the RudderInstance to be gone', async () => (await getInstance('acme')) === undefined);
    // Other tenants are untouched.
    expect(condition(await getInstance('globex'), 'Ready')?.status).toBe('True');
    // Tokens the operator copied and passwords it generated never reach its logs.
    const logs = operators.map((op) => op.logs()).join('\n');
    expect(logs).toContain('became leader');
    expect(logs).not.toContain('rdr_dp_test_');
    const password = await core.readNamespacedSecret({
      name: 'postgres-credentials',
      namespace: 'rudder-globex',
    });
    expect(logs).not.toContain(Buffer.from(password.data!.password!, 'base64').toString('utf8'));
  }, 120_000);

  it('refuses to take over a namespace that is not its own', async () => {
    await kubectl(['create', 'namespace', 'rudder-hooli']);
    await createToken('hooli');
    await kubectl(['apply', '-f', '-'], JSON.stringify(instanceManifest('hooli')));
    const degraded = await waitFor('hooli to be Degraded', async () => {
      const c = condition(await getInstance('hooli'), 'Degraded');
      return c?.status === 'True' ? c : undefined;
    });
    expect(degraded.reason).toBe('NamespaceConflict');
    await kubectl(['delete', 'rudderinstance', 'hooli']);
    expect((await cluster.kubectl(['get', 'namespace', 'rudder-hooli'])).code).toBe(0);
  }, 60_000);
});
