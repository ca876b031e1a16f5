/**
 * Worker autoscaling against a real kube-apiserver and kube-controller-manager,
 * whose HPA controller drives the WorkerPool in the tenant namespace through
 * its scale subresource. There is no metrics server: the HPA still enforces
 * its bounds without metrics (a target below minReplicas goes to min, one
 * above maxReplicas to max), which is what these scenarios use. Pods are
 * reported Ready by the process kubelet without running anything, so the
 * leaving workers' reports of a scale-down are written by hand, as a worker
 * writes them.
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
import { instanceManifest, tokenSecretManifest } from '../src/instance-fixtures.ts';

const NS = 'rudder-acme';
const IMAGE = 'registry.test/rudder/dataplane:1.0.0';

interface WorkerPool {
  metadata: k8s.V1ObjectMeta;
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

let cluster: Cluster;
let kubelet: ProcessKubelet;
let operator: OperatorProcess;
let lib: typeof k8s;
let custom: k8s.CustomObjectsApi;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let hpas: k8s.AutoscalingV2Api;

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const notFound = (err: unknown) => {
  if (err instanceof lib.ApiException && err.code === 404) return undefined;
  throw err;
};

async function getInstance(): Promise<RudderInstance> {
  const ref = { group: 'rudder.dev', version: 'v1alpha1', plural: 'rudderinstances', name: 'acme' };
  return (await custom.getClusterCustomObject(ref)) as RudderInstance;
}

async function getPool(): Promise<WorkerPool | undefined> {
  const ref = { group: 'rudder.dev', version: 'v1alpha1', plural: 'workerpools', namespace: NS };
  return (await custom.getNamespacedCustomObject({ ...ref, name: 'worker' }).catch(notFound)) as
    WorkerPool | undefined;
}

async function getHpa(): Promise<k8s.V2HorizontalPodAutoscaler | undefined> {
  return hpas.readNamespacedHorizontalPodAutoscaler({ name: 'worker', namespace: NS }).catch(notFound);
}

const workerReplicas = async () =>
  (await apps.readNamespacedStatefulSet({ name: 'worker', namespace: NS })).spec?.replicas;

const mapReplicas = async () => {
  const map = await core.readNamespacedConfigMap({ name: 'partition-map', namespace: NS });
  return (JSON.parse(map.data?.['map.json'] ?? '{}') as { replicas?: number }).replicas;
};

/** What to read when a wait fails: the HPA's conditions and events, the pool, the instance status, the operator's log. */
async function diagnostics(): Promise<string> {
  const hpa = await getHpa().catch((err: unknown) => String(err));
  const events = await cluster.kubectl(['get', 'events', '-n', NS, '--sort-by=.lastTimestamp']);
  const instance = await getInstance().catch((err: unknown) => String(err));
  return [
    `HPA status: ${JSON.stringify(typeof hpa === 'string' ? hpa : hpa?.status, null, 1)}`,
    `WorkerPool: ${JSON.stringify(await getPool().catch((err: unknown) => String(err)))}`,
    `RudderInstance status: ${JSON.stringify(typeof instance === 'string' ? instance : instance.status)}`,
    `events in ${NS}:\n${events.stdout.split('\n').slice(-25).join('\n')}`,
    `operator log tail:\n${operator.logs().split('\n').slice(-30).join('\n')}`,
  ].join('\n');
}

/** waitFor, with the diagnostics in the error when it times out. */
async function until<T>(what: string, check: () => Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  try {
    return await waitFor(what, check, { timeoutMs, intervalMs: 200 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnostics()}`, { cause: err });
  }
}

/** The instance's workers settled on `n`: StatefulSet, published map and the status that describes both. */
async function workersAt(n: number, timeoutMs = 30_000): Promise<RudderInstance> {
  return until(
    `the workers to be at ${n}`,
    async () => {
      const i = await getInstance();
      const s = i.status;
      const at =
        s?.replicas === n &&
        s.readyReplicas === n &&
        s.desiredReplicas === n &&
        s.partitionMap?.workers === n &&
        (await workerReplicas()) === n &&
        (await mapReplicas()) === n;
      return at ? i : undefined;
    },
    timeoutMs,
  );
}

/** The HPA controller (not the operator) wrote the pool's spec.replicas = `n`, through the scale subresource. */
async function hpaScaledPoolTo(n: number, timeoutMs = 30_000): Promise<WorkerPool> {
  return until(
    `the HPA controller to set WorkerPool spec.replicas to ${n} through the scale subresource`,
    async () => {
      const pool = await getPool();
      const writer = pool?.metadata.managedFields?.find(
        (f) => f.subresource === 'scale' && JSON.stringify(f.fieldsV1).includes('"f:replicas"'),
      );
      return pool?.spec?.replicas === n && writer?.manager?.startsWith('kube-controller-manager')
        ? pool
        : undefined;
    },
    timeoutMs,
  );
}

/** Writes worker-`ordinal`'s report that it holds nothing at `epoch`, as that worker would. */
async function reportReleased(ordinal: number, epoch: number): Promise<void> {
  const worker = `worker-${ordinal}`;
  await applyWorkerReport(cluster, NS, releasedReport(worker, epoch));
}

beforeAll(async () => {
  lib = await import('@kubernetes/client-node');
  cluster = await startCluster();
  custom = cluster.kc.makeApiClient(lib.CustomObjectsApi);
  core = cluster.kc.makeApiClient(lib.CoreV1Api);
  apps = cluster.kc.makeApiClient(lib.AppsV1Api);
  hpas = cluster.kc.makeApiClient(lib.AutoscalingV2Api);
  // First thing: kube-controller-manager's discovery of them refreshes every 30 s, and the HPA
  // controller cannot find its target's scale subresource before that.
  await installCrds(cluster);
  await kubectl(['create', 'namespace', 'rudder-system']);
  kubelet = await startProcessKubelet(cluster, { run: () => 'fake' });
  operator = await startOperatorProcess(cluster, 'op-autoscaling');
  await kubectl(['apply', '-f', '-'], JSON.stringify(tokenSecretManifest('acme', 'rdr_dp_test_acme')));
}, 240_000);

afterAll(async () => {
  await operator?.stop('SIGKILL').catch(() => {});
  await kubelet?.stop();
  await cluster?.stop();
}, 60_000);

describe('worker autoscaling through a WorkerPool and a real HPA controller', () => {
  const autoscaling = (minReplicas: number, maxReplicas: number) => ({
    dataPlane: { image: IMAGE, replicas: 1, autoscaling: { minReplicas, maxReplicas } },
  });

  it('the HPA raises the pool to minReplicas and the operator grows the workers through the handoff', async () => {
    const started = Date.now();
    await kubectl(['apply', '-f', '-'], JSON.stringify(instanceManifest('acme', autoscaling(3, 5))));

    // The pool starts at spec.dataPlane.replicas (1); the HPA finds it below its minimum and writes 3.
    // Up to 30 s of this is kube-controller-manager's discovery catching up with the new CRD.
    const pool = await hpaScaledPoolTo(3, 75_000);
    console.log(`HPA set WorkerPool spec.replicas=3 ${Date.now() - started} ms after kubectl apply`);
    const ready = await workersAt(3);
    expect(ready.status).toMatchObject({ replicasSource: 'WorkerPool', desiredReplicas: 3 });
    expect(ready.status?.partitionMap).toMatchObject({ workers: 3, partitions: 64 });
    // The operator's applies to the pool (its status aside) never own the count the HPA writes.
    const operatorFields = JSON.stringify(
      pool.metadata.managedFields?.filter(
        (f) => f.manager === 'rudder-operator' && f.subresource === undefined,
      ),
    );
    expect(operatorFields).not.toContain('f:replicas');

    // The operator's pool status (the pods that exist, their selector) and the HPA's count (the scale's spec).
    const counted = await until('the pool status and the HPA to show 3 current replicas', async () => {
      const [p, hpa] = await Promise.all([getPool(), getHpa()]);
      return p?.status?.replicas === 3 && hpa?.status?.currentReplicas === 3 ? { p, hpa } : undefined;
    });
    expect(counted.p?.status?.selector).toBe(ready.status?.selector);
    expect(counted.hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'rudder.dev/v1alpha1', kind: 'WorkerPool', name: 'worker' },
      minReplicas: 3,
      maxReplicas: 5,
    });
    expect(counted.hpa.status?.conditions?.find((c) => c.type === 'AbleToScale')?.status).toBe('True');
    const table = await kubectl(['get', 'hpa', 'worker', '-n', NS]);
    console.log(table);
    expect(table).toMatch(/worker\s+WorkerPool\/worker\s+.*\s3\s+5\s+3\s/);
    expect(await kubectl(['get', 'workerpool', 'worker', '-n', NS])).toMatch(/worker\s+3\s+3\s/);

    const hpaEvents = await core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.kind=HorizontalPodAutoscaler',
    });
    expect(hpaEvents.items.map((e) => `${e.reason}: ${e.message}`)).toContainEqual(
      'SuccessfulRescale: New size: 3; reason: Current number of replicas below Spec.MinReplicas',
    );
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=acme',
    });
    expect(events.items.map((e) => e.reason)).toContain('WorkerPoolScaled');
  }, 150_000);

  it('clamps kubectl scale workerpool to the bounds, and the HPA puts the pool back inside them', async () => {
    await kubectl(['scale', 'workerpool', 'worker', '-n', NS, '--replicas=1']);
    await hpaScaledPoolTo(3);
    // The workers never left 3 meanwhile: the operator clamps what the pool asks to [3, 5].
    expect((await getInstance()).status).toMatchObject({ desiredReplicas: 3, replicas: 3 });
    expect(await workerReplicas()).toBe(3);

    await kubectl(['scale', 'workerpool', 'worker', '-n', NS, '--replicas=10']);
    await hpaScaledPoolTo(5);
    const up = await workersAt(5);
    expect(up.status?.partitionMap?.workers).toBe(5);
    await until('the HPA to count 5 replicas', async () => (await getHpa())?.status?.currentReplicas === 5);
  }, 90_000);

  it('scales down when maxReplicas drops below the workers, once the leaving worker has released', async () => {
    const epochBefore = (await getInstance()).status!.partitionMap!.epoch!;
    await kubectl([
      'patch',
      'rudderinstance',
      'acme',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { dataPlane: { autoscaling: { maxReplicas: 4 } } } }),
    ]);
    const down = await until('the scale-down to wait for worker-4', async () => {
      const i = await getInstance();
      return i.status?.partitionMap?.phase === 'ScalingDown' ? i : undefined;
    });
    const epoch = down.status!.partitionMap!.epoch!;
    expect(epoch).toBeGreaterThan(epochBefore);
    expect(down.status).toMatchObject({ desiredReplicas: 4, replicasSource: 'WorkerPool' });
    expect(down.status?.conditions?.find((c) => c.type === 'Progressing')?.message).toContain(
      'the worker count follows WorkerPool worker',
    );
    expect(await mapReplicas()).toBe(4);
    expect(await workerReplicas()).toBe(5);
    await hpaScaledPoolTo(4);

    await reportReleased(4, epoch);
    await workersAt(4);
    await until('the HPA to count 4 replicas', async () => (await getHpa())?.status?.currentReplicas === 4);
  }, 90_000);

  it('has bounds the wrong way round refused by the API server', async () => {
    const r = await cluster.kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      JSON.stringify(instanceManifest('bad', autoscaling(5, 3))),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('autoscaling.minReplicas must not be greater than autoscaling.maxReplicas');
  });

  it('deletes the HPA and the WorkerPool when autoscaling is removed, and the count is the spec again', async () => {
    await kubectl([
      'patch',
      'rudderinstance',
      'acme',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { dataPlane: { replicas: 4, autoscaling: null } } }),
    ]);
    await until('the HPA and the WorkerPool to be gone', async () => !(await getHpa()) && !(await getPool()));
    // The workers were at 4 already: wait for a status written for the patched spec, not one from before it.
    await until('the status of the patched spec', async () => {
      const i = await getInstance();
      return i.status?.observedGeneration === i.metadata?.generation;
    });
    const i = await workersAt(4);
    expect(i.status).toMatchObject({ replicasSource: 'Spec', desiredReplicas: 4 });
    const logs = operator.logs();
    expect(logs).not.toMatch(/"reconcile failed"/);
  }, 60_000);
});
