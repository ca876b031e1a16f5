import type { HandoffProgress } from '@rudder/common/partition-map';
import {
  computeStatus,
  handoffMessage,
  sameStatus,
  type StatusInput,
  type WorkloadState,
} from './conditions.ts';

const ready = (name: string, n = 1): WorkloadState => ({
  name,
  desired: n,
  ready: n,
  updated: n,
  observed: true,
});
const base: StatusInput['base'] = { namespace: 'rudder-acme', selector: 'a=b', replicas: 1 };
const input = (over: Partial<StatusInput> = {}): StatusInput => ({
  generation: 3,
  previous: undefined,
  base,
  workloads: [ready('gateway'), ready('worker'), ready('postgres')],
  paused: false,
  now: new Date('2026-11-21T10:00:00Z'),
  ...over,
});
const cond = (s: ReturnType<typeof computeStatus>, type: string) =>
  s.conditions!.find((c) => c.type === type)!;

describe('computeStatus', () => {
  it('is Ready, not Progressing and not Degraded when every workload runs the latest spec', () => {
    const s = computeStatus(input());
    expect([cond(s, 'Ready').status, cond(s, 'Progressing').status, cond(s, 'Degraded').status]).toEqual([
      'True',
      'False',
      'False',
    ]);
    expect(s.observedGeneration).toBe(3);
    expect(s.readyReplicas).toBe(1);
  });

  it('reports Progressing with the workloads it waits for until they are ready', () => {
    const worker: WorkloadState = { name: 'worker', desired: 3, ready: 1, updated: 3, observed: true };
    const s = computeStatus(input({ workloads: [ready('gateway'), worker] }));
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'WorkloadsNotReady' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(cond(s, 'Progressing').message).toContain('worker (1/3 ready');
  });

  it('does not count a workload whose controller has not seen its new spec', () => {
    const stale: WorkloadState = { ...ready('gateway'), observed: false };
    expect(cond(computeStatus(input({ workloads: [stale] })), 'Ready').status).toBe('False');
  });

  it('keeps observedGeneration and reports Degraded with the reason when the reconcile failed', () => {
    const previous = computeStatus(input({ generation: 2 }));
    const s = computeStatus(
      input({
        previous,
        failure: { reason: 'TokenSecretMissing', message: 'Secret rudder-system/x not found' },
      }),
    );
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'TokenSecretMissing' });
    expect(cond(s, 'Ready').status).toBe('False');
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a flip', () => {
    const first = computeStatus(input());
    const later = new Date('2026-11-21T11:00:00Z');
    const same = computeStatus(input({ previous: first, now: later }));
    expect(cond(same, 'Ready').lastTransitionTime).toBe(cond(first, 'Ready').lastTransitionTime);
    expect(sameStatus(first, same)).toBe(true);
    const flipped = computeStatus(
      input({ previous: first, now: later, workloads: [{ ...ready('worker'), ready: 0 }] }),
    );
    expect(cond(flipped, 'Ready').lastTransitionTime).toBe(later.toISOString());
    expect(sameStatus(first, flipped)).toBe(false);
  });

  it('says Paused and does not claim the new generation while spec.paused is set', () => {
    const s = computeStatus(input({ paused: true }));
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
    expect(s.observedGeneration).toBe(0);
  });

  describe('with a partition handoff', () => {
    const progress = (over: Partial<HandoffProgress> = {}): HandoffProgress => ({
      phase: 'HandingOff',
      epoch: 4,
      desiredWorkers: 3,
      workers: 3,
      settledWorkers: 1,
      movingPartitions: 21,
      draining: [],
      ...over,
    });

    it('stays Ready but Progressing while workers take over their partitions', () => {
      const s = computeStatus(input({ handoff: progress() }));
      expect(cond(s, 'Ready').status).toBe('True');
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'PartitionHandoff' });
      expect(cond(s, 'Progressing').message).toContain(
        'handing off partitions: partition map epoch 4 over 3 workers, 1/3 settled, 21 partitions moving',
      );
    });

    it('is Complete once the handoff settled', () => {
      const s = computeStatus(
        input({ handoff: progress({ phase: 'Settled', settledWorkers: 3, movingPartitions: 0 }) }),
      );
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Complete' });
    });

    it('says RollingOut while pods start, and what the handoff waits for', () => {
      const worker: WorkloadState = { name: 'worker', desired: 5, ready: 3, updated: 5, observed: true };
      const s = computeStatus(
        input({
          workloads: [ready('gateway'), worker],
          handoff: progress({ phase: 'ScalingUp', desiredWorkers: 5 }),
        }),
      );
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingOut' });
      expect(cond(s, 'Progressing').message).toContain('worker (3/5 ready');
      expect(cond(s, 'Progressing').message).toContain('scaling up to 5 workers');
    });

    it('names the leaving workers a scale-down waits for', () => {
      const s = computeStatus(
        input({
          handoff: progress({ phase: 'ScalingDown', desiredWorkers: 2, workers: 2, draining: [2, 4] }),
        }),
      );
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'PartitionHandoff' });
      expect(cond(s, 'Progressing').message).toContain(
        'waiting for worker-2, worker-4 to release their partitions',
      );
    });

    it('says when the worker count comes from the autoscaled WorkerPool', () => {
      const up = progress({ phase: 'ScalingUp', desiredWorkers: 4 });
      const autoscaled = computeStatus(
        input({ base: { ...base, desiredReplicas: 4, replicasSource: 'WorkerPool' }, handoff: up }),
      );
      expect(cond(autoscaled, 'Progressing').message).toContain(
        'scaling up to 4 workers: the next partition map waits for them to be ready (partition map epoch 4 over 3 workers) (the worker count follows WorkerPool worker, which its HorizontalPodAutoscaler scales)',
      );
      expect(autoscaled).toMatchObject({ desiredReplicas: 4, replicasSource: 'WorkerPool' });
      const fromSpec = computeStatus(input({ base: { ...base, replicasSource: 'Spec' }, handoff: up }));
      expect(cond(fromSpec, 'Progressing').message).not.toContain('WorkerPool');
    });

    it('leaves Progressing to Paused and Degraded to a failure', () => {
      expect(cond(computeStatus(input({ paused: true, handoff: progress() })), 'Progressing').status).toBe(
        'False',
      );
      const failed = computeStatus(input({ failure: { reason: 'X', message: 'y' }, handoff: progress() }));
      expect(cond(failed, 'Progressing').status).toBe('False');
    });

    it('describes every phase', () => {
      for (const phase of ['Settled', 'ScalingUp', 'HandingOff', 'ScalingDown'] as const)
        expect(handoffMessage(progress({ phase, draining: [3] }))).toMatch(
          /partition map epoch 4 over 3 workers/,
        );
    });
  });
});
