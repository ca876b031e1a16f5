import type * as k8s from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import type { WorkloadState } from '../status/conditions.ts';

/**
 * The rollout state of the instance's workloads, read from the objects the
 * API server returned from server-side apply (they carry the controllers'
 * latest status): the gateway Deployment, the worker StatefulSet and the
 * managed Postgres StatefulSet.
 */
export function workloadStates(
  applied: k8s.KubernetesObject[],
  spec: DefaultedSpec,
  /** What the handoff plan gave the worker StatefulSet, which lags the spec while partitions move. */
  workerReplicas: number,
): WorkloadState[] {
  const find = <T extends k8s.KubernetesObject>(kind: string, name: string): T | undefined =>
    applied.find((o) => o.kind === kind && o.metadata?.name === name) as T | undefined;
  const states: WorkloadState[] = [];
  const gateway = find<k8s.V1Deployment>('Deployment', 'gateway');
  if (gateway) states.push(deploymentState('gateway', gateway, spec.dataPlane.gatewayReplicas));
  const worker = find<k8s.V1StatefulSet>('StatefulSet', 'worker');
  if (worker) states.push(statefulSetState('worker', worker, workerReplicas));
  const postgres = find<k8s.V1StatefulSet>('StatefulSet', 'postgres');
  if (postgres) states.push(statefulSetState('postgres', postgres, 1));
  return states;
}

function deploymentState(name: string, d: k8s.V1Deployment, desired: number): WorkloadState {
  const s = d.status ?? {};
  return {
    name,
    desired,
    ready: Math.min(s.readyReplicas ?? 0, s.updatedReplicas ?? 0),
    updated: s.updatedReplicas ?? 0,
    // Old pods still terminating mean the rollout has not finished.
    observed: (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && (s.replicas ?? 0) <= desired,
  };
}

function statefulSetState(name: string, sts: k8s.V1StatefulSet, desired: number): WorkloadState {
  const s = sts.status ?? { replicas: 0 };
  const revisionDone = s.updateRevision === undefined || s.currentRevision === s.updateRevision;
  return {
    name,
    desired,
    ready: s.readyReplicas ?? 0,
    updated: revisionDone ? (s.updatedReplicas ?? s.currentReplicas ?? 0) : (s.updatedReplicas ?? 0),
    observed: (s.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1) && (s.replicas ?? 0) <= desired,
  };
}
