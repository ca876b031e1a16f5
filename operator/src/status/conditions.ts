import type { HandoffProgress } from '@rudder/common/partition-map';
import type { Condition, RudderInstanceStatus } from '@rudder/common/rudder-instance';

/** What the reconciler saw of one workload (Deployment or StatefulSet) after applying it. */
export interface WorkloadState {
  name: string;
  desired: number;
  ready: number;
  updated: number;
  /** The controller has seen the latest spec (status.observedGeneration >= metadata.generation). */
  observed: boolean;
}

export interface StatusInput {
  generation: number;
  previous: RudderInstanceStatus | undefined;
  /** Fields the reconciler knows regardless of outcome (namespace, selector, endpoint, partition map). */
  base: Omit<
    RudderInstanceStatus,
    'conditions' | 'observedGeneration' | 'readyReplicas' | 'gatewayReadyReplicas'
  >;
  workloads: WorkloadState[];
  /** Where the partition handoff stands (planHandoff); a handoff under way keeps Progressing True. */
  handoff?: HandoffProgress | undefined;
  /** Set when this reconcile failed: the Degraded reason and a message safe to show. */
  failure?: { reason: string; message: string };
  paused: boolean;
  now: Date;
}

const rolledOut = (w: WorkloadState): boolean => w.observed && w.ready >= w.desired && w.updated >= w.desired;

/**
 * The instance's status after a reconcile: pure, so it can be compared with
 * the current status to skip writes that change nothing. A condition keeps its
 * lastTransitionTime unless its status flips.
 */
export function computeStatus(input: StatusInput): RudderInstanceStatus {
  const { workloads, failure, paused } = input;
  const pending = workloads.filter((w) => !rolledOut(w));
  const summary = workloads.map((w) => `${w.name} ${w.ready}/${w.desired}`).join(', ');
  const allReady = pending.length === 0 && failure === undefined && !paused;
  // The data plane serves throughout a handoff: it is Progressing, not unready.
  const handoff = input.handoff && input.handoff.phase !== 'Settled' ? input.handoff : undefined;
  const progressing = !paused && failure === undefined && (pending.length > 0 || handoff !== undefined);

  const conditions: Condition[] = [
    condition(input, 'Ready', allReady ? 'True' : 'False', {
      reason: paused
        ? 'Paused'
        : failure
          ? failure.reason
          : pending.length
            ? 'WorkloadsNotReady'
            : 'AllReplicasReady',
      message: paused
        ? 'spec.paused is true: the operator leaves the objects as they are'
        : failure
          ? failure.message
          : `ready replicas: ${summary}`,
    }),
    condition(input, 'Progressing', progressing ? 'True' : 'False', {
      reason: paused ? 'Paused' : pending.length ? 'RollingOut' : handoff ? 'PartitionHandoff' : 'Complete',
      message: [
        pending.length
          ? `waiting for ${pending.map((w) => `${w.name} (${w.ready}/${w.desired} ready, ${w.updated} updated)`).join(', ')}`
          : 'every workload runs the latest spec',
        ...(handoff
          ? [
              handoffMessage(handoff) +
                (input.base.replicasSource === 'WorkerPool'
                  ? ' (the worker count follows WorkerPool worker, which its HorizontalPodAutoscaler scales)'
                  : ''),
            ]
          : []),
      ].join('; '),
    }),
    condition(input, 'Degraded', failure ? 'True' : 'False', {
      reason: failure ? failure.reason : 'AsExpected',
      message: failure ? failure.message : 'the last reconcile succeeded',
    }),
  ];

  const worker = workloads.find((w) => w.name === 'worker');
  const gateway = workloads.find((w) => w.name === 'gateway');
  return {
    ...input.base,
    // A failed or paused reconcile has not made the objects match this generation.
    observedGeneration: failure || paused ? (input.previous?.observedGeneration ?? 0) : input.generation,
    readyReplicas: worker?.ready ?? input.previous?.readyReplicas ?? 0,
    gatewayReadyReplicas: gateway?.ready ?? input.previous?.gatewayReadyReplicas ?? 0,
    conditions,
  };
}

/** What a handoff under way waits for, in words. */
export function handoffMessage(h: HandoffProgress): string {
  const at = `partition map epoch ${h.epoch} over ${h.workers} worker${h.workers === 1 ? '' : 's'}`;
  const progress = `${h.settledWorkers}/${h.workers} settled, ${h.movingPartitions} partition${h.movingPartitions === 1 ? '' : 's'} moving`;
  switch (h.phase) {
    case 'ScalingUp':
      return `scaling up to ${h.desiredWorkers} workers: the next partition map waits for them to be ready (${at})`;
    case 'ScalingDown':
      return `scaling down to ${h.desiredWorkers} workers: ${at}, ${progress}; waiting for ${h.draining.map((o) => `worker-${o}`).join(', ') || 'the leaving workers'} to release their partitions`;
    case 'HandingOff':
      return `handing off partitions: ${at}, ${progress}`;
    case 'Settled':
      return `${at}, settled`;
  }
}

function condition(
  input: StatusInput,
  type: Condition['type'],
  status: Condition['status'],
  text: { reason: string; message: string },
): Condition {
  const before = input.previous?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    observedGeneration: input.generation,
    lastTransitionTime:
      before && before.status === status ? before.lastTransitionTime : input.now.toISOString(),
    reason: text.reason,
    message: text.message.slice(0, 32_768),
  };
}

/** True when writing `next` would change nothing a reader can see. */
export function sameStatus(a: RudderInstanceStatus | undefined, b: RudderInstanceStatus): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(s: RudderInstanceStatus | undefined): unknown {
  if (!s) return undefined;
  const keys = Object.keys(s).sort() as (keyof RudderInstanceStatus)[];
  return keys.map((k) =>
    k === 'conditions'
      ? [...(s.conditions ?? [])].sort((x, y) => x.type.localeCompare(y.type)).map((c) => sortKeys(c))
      : [k, sortKeys(s[k])],
  );
}

function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([x], [y]) => x.localeCompare(y)),
  );
}

/** The Ready condition of a status. */
export function readyCondition(status: RudderInstanceStatus | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready');
}
