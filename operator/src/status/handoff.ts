/**
 * The partition handoff in the RudderInstance status and Events: where the
 * published map stands, when its epoch went out and how long the last
 * handoff took. Pure: the reconciler passes the previous status and the plan.
 */
import type { HandoffPlan, PartitionMap } from '@rudder/common/partition-map';
import type { PartitionMapStatus } from '@rudder/common/rudder-instance';
import { PARTITION_MAP_CONFIGMAP } from '../desired/index.ts';

export interface HandoffEvent {
  reason: 'PartitionMapPublished' | 'PartitionsSettled';
  message: string;
}

/** `.status.partitionMap` after applying `plan` at `now`. */
export function partitionMapStatus(
  previous: PartitionMapStatus | undefined,
  plan: HandoffPlan,
  now: Date,
): PartitionMapStatus {
  const { map, progress } = plan;
  const sameEpoch = previous?.epoch === map.epoch;
  // An epoch the status has not seen was published by this reconcile (or by one whose status write was lost).
  const publishedAt = sameEpoch && previous.publishedAt ? previous.publishedAt : now.toISOString();
  const lastHandoffSeconds = settles(previous, plan)
    ? Math.round((now.getTime() - Date.parse(publishedAt)) / 100) / 10
    : previous?.lastHandoffSeconds;
  return {
    epoch: map.epoch,
    configMap: PARTITION_MAP_CONFIGMAP,
    partitions: map.partitions,
    workers: progress.workers,
    settledWorkers: progress.settledWorkers,
    movingPartitions: progress.movingPartitions,
    phase: progress.phase,
    publishedAt,
    ...(lastHandoffSeconds !== undefined ? { lastHandoffSeconds } : {}),
  };
}

/**
 * The Events of this step: a new epoch went out (`published` is the map the
 * workers had before), and a handoff settled, with its duration from `next`
 * (the status partitionMapStatus computed).
 */
export function handoffEvents(
  previous: PartitionMapStatus | undefined,
  published: PartitionMap | undefined,
  plan: HandoffPlan,
  next: PartitionMapStatus,
): HandoffEvent[] {
  const { map } = plan;
  const events: HandoffEvent[] = [];
  if (plan.publish && map.epoch !== published?.epoch) {
    const moved =
      published && published.partitions === map.partitions
        ? map.owners.filter((owner, p) => owner !== published.owners[p]).length
        : map.partitions;
    events.push({
      reason: 'PartitionMapPublished',
      message: `published partition map epoch ${map.epoch}: ${map.partitions} partitions over ${workers(map.replicas)}, ${moved} changing owner`,
    });
  }
  if (settles(previous, plan))
    events.push({
      reason: 'PartitionsSettled',
      message: `partition map epoch ${map.epoch} settled ${next.lastHandoffSeconds ?? 0} s after it was published: ${workers(map.replicas)} hold all ${map.partitions} partitions`,
    });
  return events;
}

/** The handoff the status last showed under way is over now. */
function settles(previous: PartitionMapStatus | undefined, plan: HandoffPlan): boolean {
  return plan.progress.phase === 'Settled' && previous?.phase !== undefined && previous.phase !== 'Settled';
}

const workers = (n: number): string => `${n} worker${n === 1 ? '' : 's'}`;
