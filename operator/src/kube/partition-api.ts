import type * as k8s from '@kubernetes/client-node';
import type { WorkerSet } from '@rudder/common/partition-map';

/** How the reconciler reads the worker StatefulSet before it decides its replicas. */
export interface WorkerSetReader {
  /** The StatefulSet's replicas, ready pods and their processes' start times, or undefined when it does not exist. */
  readWorkerSet(namespace: string, name: string): Promise<WorkerSet | undefined>;
}

/**
 * The reads the partition handoff needs besides ClusterApi's: the worker
 * StatefulSet as it is *before* the reconcile applies it, because planHandoff
 * derives its next replica count from its current one (it must never shrink
 * past a worker that still holds partitions) and from its ready pods; and
 * its pods, whose container start times tell a live worker's report from
 * the last one of a process that was killed.
 */
export class PartitionApi implements WorkerSetReader {
  private readonly lib: typeof k8s;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig) {
    this.lib = lib;
    this.apps = kc.makeApiClient(lib.AppsV1Api);
    this.core = kc.makeApiClient(lib.CoreV1Api);
  }

  async readWorkerSet(namespace: string, name: string): Promise<WorkerSet | undefined> {
    let sts: k8s.V1StatefulSet;
    try {
      sts = await this.apps.readNamespacedStatefulSet({ namespace, name });
    } catch (err) {
      if (err instanceof this.lib.ApiException && err.code === 404) return undefined;
      throw err;
    }
    const labels = sts.spec?.selector?.matchLabels;
    if (labels === undefined || Object.keys(labels).length === 0) return workerSetOf(sts);
    const labelSelector = Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
    return workerSetOf(sts, pods.items);
  }
}

/**
 * The worker StatefulSet as planHandoff needs it: the replicas it keeps and
 * its ready pods, counted only once its controller has seen the latest spec
 * (before that, the ready count may describe pods about to go); and, given
 * its pods, when the running container of each ordinal started.
 */
export function workerSetOf(sts: k8s.V1StatefulSet, pods?: readonly k8s.V1Pod[]): WorkerSet {
  const s = sts.status;
  const observed = (s?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1);
  const set: WorkerSet = {
    replicas: sts.spec?.replicas ?? 1,
    readyReplicas: observed ? (s?.readyReplicas ?? 0) : 0,
  };
  return pods === undefined ? set : { ...set, started: containerStarts(sts.metadata?.name ?? '', pods) };
}

/** Ordinal -> ISO start time of the pod's running container (its first: the data plane runs alone). */
function containerStarts(name: string, pods: readonly k8s.V1Pod[]): Map<number, string> {
  const started = new Map<number, string>();
  for (const pod of pods) {
    const suffix = pod.metadata?.name?.startsWith(`${name}-`) ? pod.metadata.name.slice(name.length + 1) : '';
    if (!/^\d+$/.test(suffix)) continue;
    const at: Date | string | undefined = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt;
    if (at !== undefined) started.set(Number(suffix), new Date(at).toISOString());
  }
  return started;
}
