/**
 * Worker autoscaling. A HorizontalPodAutoscaler is namespaced: it scales its
 * target through a namespaced scale subresource and finds the target's pods in
 * its own namespace, so the cluster-scoped RudderInstance cannot be its
 * target. A WorkerPool in the tenant namespace is; the HPA writes its
 * `spec.replicas` and the operator moves the workers there through the
 * partition handoff (it never sets the StatefulSet's replicas from it directly).
 */
import type { V1ObjectMeta, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { namespacedMeta, workerSelector, type Owner } from './meta.ts';

/** Group, version and names of the WorkerPool resource (crds/rudder.dev_workerpools.yaml). */
export const WORKER_POOL_RESOURCE = {
  group: 'rudder.dev',
  version: 'v1alpha1',
  kind: 'WorkerPool',
  plural: 'workerpools',
} as const;
/** The name of the WorkerPool and of the HorizontalPodAutoscaler that scales it. */
export const WORKER_POOL_NAME = 'worker';

/** The worker count asked for; written by the HPA (or `kubectl scale workerpool`), never by the operator after creation. */
export interface WorkerPoolSpec {
  replicas?: number;
}

/** Written by the operator through the status subresource; the scale subresource reports both. */
export interface WorkerPoolStatus {
  /** Worker pods that exist now (the worker StatefulSet's status.replicas). */
  replicas?: number;
  /** The worker pods' label selector, for the HPA's pod metrics. */
  selector?: string;
}

export interface WorkerPool {
  apiVersion: `${typeof WORKER_POOL_RESOURCE.group}/${typeof WORKER_POOL_RESOURCE.version}`;
  kind: typeof WORKER_POOL_RESOURCE.kind;
  metadata: V1ObjectMeta;
  spec?: WorkerPoolSpec;
  status?: WorkerPoolStatus;
}

/** Where the worker count comes from, as `.status.replicasSource` shows it. */
export type ReplicasSource = 'Spec' | 'WorkerPool';

export interface DesiredWorkers {
  replicas: number;
  source: ReplicasSource;
}

/**
 * The WorkerPool the operator applies on every reconcile: without
 * `spec.replicas`, so its server-side apply never owns the field the HPA
 * writes (an apply that set it would undo every rescale).
 */
export function workerPool(owner: Owner): WorkerPool {
  return {
    apiVersion: `${WORKER_POOL_RESOURCE.group}/${WORKER_POOL_RESOURCE.version}`,
    kind: WORKER_POOL_RESOURCE.kind,
    metadata: namespacedMeta(owner, WORKER_POOL_NAME),
  };
}

/**
 * The WorkerPool as the operator creates it when it is missing, at
 * `replicas` (at least 1: an HPA leaves a target at 0 alone). The HPA moves it
 * into its bounds on its next sync.
 */
export function workerPoolSeed(owner: Owner, replicas: number): WorkerPool {
  return { ...workerPool(owner), spec: { replicas: Math.max(1, replicas) } };
}

/** The pool's status: the worker pods that exist (`statusReplicas` of the StatefulSet) and their selector. */
export function workerPoolStatus(instanceName: string, statusReplicas: number): Required<WorkerPoolStatus> {
  return { replicas: statusReplicas, selector: workerSelector(instanceName) };
}

/** The WorkerPool and its HorizontalPodAutoscaler with spec.dataPlane.autoscaling, none without. */
export function autoscalingObjects(
  owner: Owner,
  spec: DefaultedSpec,
): (WorkerPool | V2HorizontalPodAutoscaler)[] {
  const autoscaling = spec.dataPlane.autoscaling;
  if (autoscaling === undefined) return [];
  return [
    workerPool(owner),
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: namespacedMeta(owner, WORKER_POOL_NAME),
      spec: {
        scaleTargetRef: {
          apiVersion: `${WORKER_POOL_RESOURCE.group}/${WORKER_POOL_RESOURCE.version}`,
          kind: WORKER_POOL_RESOURCE.kind,
          name: WORKER_POOL_NAME,
        },
        minReplicas: autoscaling.minReplicas,
        maxReplicas: autoscaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: autoscaling.targetCPUUtilizationPercentage },
            },
          },
        ],
      },
    },
  ];
}

/**
 * The worker count to move to: spec.dataPlane.replicas, or with autoscaling
 * the pool's spec.replicas (`poolReplicas`) clamped to the bounds, so that
 * neither a `kubectl scale workerpool` out of bounds nor the moment between a
 * bounds change and the HPA's next sync moves a worker outside them.
 */
export function desiredWorkers(spec: DefaultedSpec, poolReplicas: number | undefined): DesiredWorkers {
  const autoscaling = spec.dataPlane.autoscaling;
  if (autoscaling === undefined) return { replicas: spec.dataPlane.replicas, source: 'Spec' };
  const asked = poolReplicas ?? spec.dataPlane.replicas;
  const replicas = Math.min(autoscaling.maxReplicas, Math.max(autoscaling.minReplicas, asked));
  return { replicas, source: 'WorkerPool' };
}
