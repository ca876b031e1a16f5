import {
  computePartitionMap,
  planHandoff,
  type HandoffPlan,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import type { PartitionMapStatus } from '@rudder/common/rudder-instance';
import { handoffEvents, partitionMapStatus } from './handoff.ts';

const T0 = new Date('2026-11-21T10:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

const settledReports = (map: PartitionMap, replicas: number): WorkerReport[] =>
  Array.from({ length: replicas }, (_, o) => ({
    worker: `worker-${o}`,
    incarnation: 'x',
    epoch: map.epoch,
    held: [...map.owners.keys()].filter((p) => map.owners[p] === o),
    acquiring: [],
    releasing: [],
    settled: true,
    at: T0.toISOString(),
  }));

/** Scale 2 -> 3 workers with 16 partitions, all three ready: the plan publishes epoch 2. */
function scaleUp(): { before: PartitionMap; publishing: HandoffPlan; settled: HandoffPlan } {
  const before = computePartitionMap(undefined, 16, 2);
  const input = {
    partitions: 16,
    desiredReplicas: 3,
    published: before,
    workerSet: { replicas: 3, readyReplicas: 3 },
    reports: settledReports(before, 2),
  };
  const publishing = planHandoff(input);
  const settled = planHandoff({
    ...input,
    published: publishing.map,
    reports: settledReports(publishing.map, 3),
  });
  return { before, publishing, settled };
}

describe('partitionMapStatus', () => {
  it('shows the published epoch, its progress and when it went out', () => {
    const { publishing } = scaleUp();
    const previous: PartitionMapStatus = {
      epoch: 1,
      configMap: 'partition-map',
      partitions: 16,
      phase: 'Settled',
    };
    expect(partitionMapStatus(previous, publishing, T0)).toEqual({
      epoch: 2,
      configMap: 'partition-map',
      partitions: 16,
      workers: 3,
      settledWorkers: 0,
      movingPartitions: 5,
      phase: 'HandingOff',
      publishedAt: T0.toISOString(),
    });
  });

  it('keeps publishedAt for the same epoch and records the handoff time when it settles', () => {
    const { publishing, settled } = scaleUp();
    const during = partitionMapStatus(undefined, publishing, T0);
    const still = partitionMapStatus(during, publishing, later(900));
    expect(still).toEqual(during);
    const done = partitionMapStatus(still, settled, later(2_340));
    expect(done).toMatchObject({ phase: 'Settled', publishedAt: T0.toISOString(), lastHandoffSeconds: 2.3 });
    // Settled stays settled; the last handoff time stays until the next one settles.
    expect(partitionMapStatus(done, settled, later(60_000))).toEqual(done);
  });

  it('does not make up a handoff time it did not watch from the start', () => {
    const { settled } = scaleUp();
    // A status written before this field existed, or the first reconcile of an instance.
    expect(partitionMapStatus(undefined, settled, T0)).not.toHaveProperty('lastHandoffSeconds');
    expect(partitionMapStatus({ epoch: 2 }, settled, T0)).not.toHaveProperty('lastHandoffSeconds');
  });
});

describe('handoffEvents', () => {
  it('announces a new epoch with how many partitions change owner', () => {
    const { before, publishing } = scaleUp();
    const next = partitionMapStatus({ epoch: 1, phase: 'Settled' }, publishing, T0);
    expect(handoffEvents({ epoch: 1, phase: 'Settled' }, before, publishing, next)).toEqual([
      {
        reason: 'PartitionMapPublished',
        message: 'published partition map epoch 2: 16 partitions over 3 workers, 5 changing owner',
      },
    ]);
    // The next reconcile sees it published: no second event.
    expect(handoffEvents(next, publishing.map, { ...publishing, publish: false }, next)).toEqual([]);
  });

  it('announces the first map as moving every partition', () => {
    const first = planHandoff({
      partitions: 8,
      desiredReplicas: 1,
      published: undefined,
      workerSet: undefined,
      reports: [],
    });
    const [event] = handoffEvents(undefined, undefined, first, partitionMapStatus(undefined, first, T0));
    expect(event?.message).toBe(
      'published partition map epoch 1: 8 partitions over 1 worker, 8 changing owner',
    );
  });

  it('says when a handoff settled and how long it took', () => {
    const { publishing, settled } = scaleUp();
    const during = partitionMapStatus(undefined, publishing, T0);
    const done = partitionMapStatus(during, settled, later(1_500));
    expect(handoffEvents(during, settled.map, settled, done)).toEqual([
      {
        reason: 'PartitionsSettled',
        message:
          'partition map epoch 2 settled 1.5 s after it was published: 3 workers hold all 16 partitions',
      },
    ]);
    expect(handoffEvents(done, settled.map, settled, done)).toEqual([]);
  });
});
