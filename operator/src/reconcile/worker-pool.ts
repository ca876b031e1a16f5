/**
 * The reconcile's part of worker autoscaling around the desired objects: the
 * worker count from the WorkerPool (and the pool to create), the WorkerPool's status after the apply (what the HPA reads through the scale
 * subresource), the pool and its HPA removed when autoscaling is, and the
 * Event that says the autoscaler changed the worker count.
 */
import type { DefaultedSpec, RudderInstance, RudderInstanceStatus } from '@rudder/common/rudder-instance';
import {
  WORKER_POOL_NAME,
  desiredWorkers,
  tenantNamespace,
  workerPoolSeed,
  workerPoolStatus,
  type DesiredWorkers,
  type WorkerPool,
} from '../desired/index.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';

/**
 * The worker count to move to, given the pool as read (undefined when it
 * does not exist); and with autoscaling and no pool, the pool to create. It
 * starts where the operator was heading: spec.dataPlane.replicas when
 * autoscaling is turned on, the last count when the pool was deleted by
 * hand. After that only its scalers set its count.
 */
export function workerCount(
  instance: RudderInstance,
  spec: DefaultedSpec,
  pool: WorkerPool | undefined,
): { desired: DesiredWorkers; seed: WorkerPool | undefined } {
  const owner = {
    name: instance.metadata!.name!,
    uid: instance.metadata!.uid!,
    tenantId: spec.tenantId,
    namespace: tenantNamespace(spec),
  };
  const start = instance.status?.desiredReplicas ?? spec.dataPlane.replicas;
  const seed = spec.dataPlane.autoscaling && !pool ? workerPoolSeed(owner, start) : undefined;
  return { desired: desiredWorkers(spec, (pool ?? seed)?.spec?.replicas), seed };
}

export interface WorkerPoolSync {
  namespace: string;
  instanceName: string;
  spec: DefaultedSpec;
  /** The pool as gather() read it, before this reconcile's apply. */
  pool: WorkerPool | undefined;
  /** The worker StatefulSet's status.replicas after the apply. */
  workerPods: number;
}

/**
 * With autoscaling, writes the pool's status when it changed (a write wakes
 * the operator's own watch, so unchanged ones are skipped); without it,
 * deletes the HPA and the pool if the pool is still there.
 */
export async function syncWorkerPool(api: ClusterApi, s: WorkerPoolSync): Promise<void> {
  if (s.spec.dataPlane.autoscaling === undefined) {
    if (s.pool !== undefined) await api.deleteAutoscaling(s.namespace, WORKER_POOL_NAME);
    return;
  }
  const status = workerPoolStatus(s.instanceName, s.workerPods);
  const current = s.pool?.status;
  if (current?.replicas !== status.replicas || current?.selector !== status.selector)
    await api.applyWorkerPoolStatus(s.namespace, WORKER_POOL_NAME, status);
}

/** The Event when the worker count the operator moves to changes because of the WorkerPool, or undefined. */
export function workerPoolEvent(
  previous: RudderInstanceStatus | undefined,
  desired: DesiredWorkers,
  spec: DefaultedSpec,
  namespace: string,
  pool: WorkerPool | undefined,
): { reason: 'WorkerPoolScaled'; message: string } | undefined {
  const autoscaling = spec.dataPlane.autoscaling;
  if (autoscaling === undefined || desired.source !== 'WorkerPool') return undefined;
  if (previous?.replicasSource === desired.source && previous.desiredReplicas === desired.replicas)
    return undefined;
  const asked = pool?.spec?.replicas;
  const from = previous?.desiredReplicas;
  return {
    reason: 'WorkerPoolScaled',
    message:
      `the worker count follows WorkerPool ${namespace}/${WORKER_POOL_NAME} and its HorizontalPodAutoscaler: ` +
      `${desired.replicas} workers${from !== undefined ? ` (was ${from})` : ''}` +
      `${asked !== undefined && asked !== desired.replicas ? `, its spec.replicas ${asked} clamped` : ''} ` +
      `within [${autoscaling.minReplicas}, ${autoscaling.maxReplicas}], through the partition handoff`,
  };
}
