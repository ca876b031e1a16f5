import type * as k8s from '@kubernetes/client-node';
import type { WorkerSet } from '@rudder/common/partition-map';

/** How the reconciler reads the worker StatefulSet before it decides its replicas. */
export interface WorkerSetReader {
  /** The StatefulSet's replicas and ready pods, or undefined when it does not exist. */
  readWorkerSet(namespace: string, name: string): Promise<WorkerSet | undefined>;
}

/**
 * The read the partition handoff needs besides ClusterApi's: the worker
 * StatefulSet as it is *before* the reconcile applies it, because planHandoff
 * derives its next replica count from its current one (it must never shrink
 * past a worker that still holds partitions) and from its ready pods.
 */
export class PartitionApi implements WorkerSetReader {
  private readonly lib: typeof k8s;
  private readonly apps: k8s.AppsV1Api;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig) {
    this.lib = lib;
    this.apps = kc.makeApiClient(lib.AppsV1Api);
  }

  async readWorkerSet(namespace: string, name: string): Promise<WorkerSet | undefined> {
    try {
      return workerSetOf(await this.apps.readNamespacedStatefulSet({ namespace, name }));
    } catch (err) {
      if (err instanceof this.lib.ApiException && err.code === 404) return undefined;
      throw err;
    }
  }
}

/**
 * The worker StatefulSet as planHandoff needs it: the replicas it keeps and
 * its ready pods, counted only once its controller has seen the latest spec
 * (before that, the ready count may describe pods about to go).
 */
export function workerSetOf(sts: k8s.V1StatefulSet): WorkerSet {
  const s = sts.status;
  const observed = (s?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1);
  return { replicas: sts.spec?.replicas ?? 1, readyReplicas: observed ? (s?.readyReplicas ?? 0) : 0 };
}
