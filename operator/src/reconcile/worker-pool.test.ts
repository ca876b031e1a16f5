import { defaultedSpec, type RudderInstance, type RudderInstanceSpec } from '@rudder/common/rudder-instance';
import type { ClusterApi } from '../kube/cluster-api.ts';
import type { WorkerPool, WorkerPoolStatus } from '../desired/index.ts';
import { syncWorkerPool, workerCount, workerPoolEvent } from './worker-pool.ts';

const spec = (dataPlane: Partial<RudderInstanceSpec['dataPlane']> = {}) =>
  defaultedSpec({
    tenantId: 'acme',
    controlPlane: { url: 'http://cp:8070', tokenSecretRef: { namespace: 'rudder-system', name: 't' } },
    dataPlane: { image: 'dataplane:1', ...dataPlane },
    database: { managed: {} },
  });
const autoscaled = spec({ replicas: 1, autoscaling: { minReplicas: 3, maxReplicas: 5 } });
const SELECTOR =
  'app.kubernetes.io/name=rudder-dataplane,app.kubernetes.io/instance=acme,app.kubernetes.io/component=worker';
const pool = (replicas: number, status?: WorkerPoolStatus): WorkerPool => ({
  apiVersion: 'rudder.dev/v1alpha1',
  kind: 'WorkerPool',
  metadata: { name: 'worker', namespace: 'rudder-acme' },
  spec: { replicas },
  ...(status ? { status } : {}),
});

/** A ClusterApi that records the WorkerPool writes it is asked for. */
function recordingApi() {
  const writes: string[] = [];
  const api = {
    applyWorkerPoolStatus: async (ns: string, name: string, status: WorkerPoolStatus) =>
      void writes.push(`status ${ns}/${name} ${JSON.stringify(status)}`),
    deleteAutoscaling: async (ns: string, name: string) => void writes.push(`delete ${ns}/${name}`),
  } as unknown as ClusterApi;
  return { api, writes };
}

describe('workerCount', () => {
  const instance = (status: RudderInstance['status'] = {}): RudderInstance => ({
    metadata: { name: 'acme', uid: 'u-1' },
    spec: autoscaled,
    status,
  });

  it('follows an existing pool, clamped, and creates none', () => {
    expect(workerCount(instance(), autoscaled, pool(9))).toEqual({
      desired: { replicas: 5, source: 'WorkerPool' },
      seed: undefined,
    });
  });

  it('creates a missing pool where the operator was heading, or at spec.dataPlane.replicas', () => {
    const recreated = workerCount(instance({ desiredReplicas: 4 }), autoscaled, undefined);
    expect(recreated.desired).toEqual({ replicas: 4, source: 'WorkerPool' });
    expect(recreated.seed).toMatchObject({
      metadata: { name: 'worker', namespace: 'rudder-acme' },
      spec: { replicas: 4 },
    });
    // A new instance: its pool starts at 1, the HPA raises it to minReplicas; the workers go to 3 at once.
    const fresh = workerCount(instance(), autoscaled, undefined);
    expect(fresh.seed?.spec).toEqual({ replicas: 1 });
    expect(fresh.desired).toEqual({ replicas: 3, source: 'WorkerPool' });
  });

  it('is spec.dataPlane.replicas without autoscaling, with no pool to create', () => {
    expect(workerCount(instance(), spec({ replicas: 2 }), pool(7))).toEqual({
      desired: { replicas: 2, source: 'Spec' },
      seed: undefined,
    });
  });
});

describe('syncWorkerPool', () => {
  const at = { namespace: 'rudder-acme', instanceName: 'acme' };

  it('writes the worker pods that exist and their selector to the pool status', async () => {
    const { api, writes } = recordingApi();
    await syncWorkerPool(api, { ...at, spec: autoscaled, pool: pool(3), workerPods: 2 });
    expect(writes).toEqual([
      `status rudder-acme/worker ${JSON.stringify({ replicas: 2, selector: SELECTOR })}`,
    ]);
  });

  it('writes nothing when the status is already right', async () => {
    const { api, writes } = recordingApi();
    const current = pool(3, { replicas: 3, selector: SELECTOR });
    await syncWorkerPool(api, { ...at, spec: autoscaled, pool: current, workerPods: 3 });
    expect(writes).toEqual([]);
  });

  it('deletes the HPA and the pool once autoscaling is removed, and only then', async () => {
    const { api, writes } = recordingApi();
    await syncWorkerPool(api, { ...at, spec: spec(), pool: pool(3), workerPods: 3 });
    await syncWorkerPool(api, { ...at, spec: spec(), pool: undefined, workerPods: 3 });
    expect(writes).toEqual(['delete rudder-acme/worker']);
  });
});

describe('workerPoolEvent', () => {
  it('tells when the autoscaled pool changes the worker count, with the clamping', () => {
    const event = workerPoolEvent(
      { desiredReplicas: 3, replicasSource: 'WorkerPool' },
      { replicas: 5, source: 'WorkerPool' },
      autoscaled,
      'rudder-acme',
      pool(9),
    );
    expect(event).toEqual({
      reason: 'WorkerPoolScaled',
      message:
        'the worker count follows WorkerPool rudder-acme/worker and its HorizontalPodAutoscaler: 5 workers (was 3), its spec.replicas 9 clamped within [3, 5], through the partition handoff',
    });
  });

  it('says nothing when the count and its source stay, or without autoscaling', () => {
    const same = { desiredReplicas: 4, replicasSource: 'WorkerPool' as const };
    expect(
      workerPoolEvent(same, { replicas: 4, source: 'WorkerPool' }, autoscaled, 'n', pool(4)),
    ).toBeUndefined();
    expect(
      workerPoolEvent(undefined, { replicas: 1, source: 'Spec' }, spec(), 'n', undefined),
    ).toBeUndefined();
  });
});
