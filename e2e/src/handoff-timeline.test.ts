import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import type { PartitionMapStatus, RudderInstance } from '@rudder/common/rudder-instance';
import { firstReports, scaleStep, type HandoffTimelines } from './handoff-timeline.ts';
import type { TimelineEntry } from './watch-timeline.ts';

type Instance = RudderInstance & KubernetesObject;

/** Builds timelines from changes listed in revision order. */
function timelines(changes: ((revision: number) => Partial<Record<keyof HandoffTimelines, unknown>>)[]) {
  const t = { instance: [], statefulSet: [], map: [], reports: [] } as {
    [K in keyof HandoffTimelines]: TimelineEntry[];
  };
  changes.forEach((change, i) => {
    const revision = 100 + i;
    for (const [kind, object] of Object.entries(change(revision)))
      t[kind as keyof HandoffTimelines].push({
        type: 'MODIFIED',
        revision,
        at: revision * 10,
        object: object as KubernetesObject,
      });
  });
  return t as unknown as HandoffTimelines;
}

let spec = 1;
let status: PartitionMapStatus = {};
const instance = (replicas: number, partitionMap: PartitionMapStatus = status): Instance => {
  spec = replicas;
  status = partitionMap;
  return { spec: { dataPlane: { replicas: spec } }, status: { partitionMap } } as unknown as Instance;
};
beforeEach(() => {
  spec = 0;
  status = {};
});
/** The instance before the scale: `replicas` workers settled at `epoch`. */
const start = (replicas: number, epoch: number) =>
  instance(replicas, { epoch, workers: replicas, settledWorkers: replicas, phase: 'Settled' });
const settled = (epoch: number, workers: number) =>
  instance(spec, { epoch, workers, settledWorkers: workers, phase: 'Settled' });
const phase = (epoch: number, p: NonNullable<PartitionMapStatus['phase']>, workers: number) =>
  instance(spec, { epoch, workers, settledWorkers: 0, phase: p });
const sts = (replicas: number, readyReplicas: number): V1StatefulSet => ({
  spec: { replicas, selector: {}, serviceName: 'worker', template: {} },
  status: { replicas, readyReplicas },
});
const map = (epoch: number, replicas: number): V1ConfigMap => ({
  data: {
    'map.json': JSON.stringify({
      epoch,
      partitions: 4,
      replicas,
      owners: [0, 1, 2, 3].map((p) => p % replicas),
    }),
  },
});
const report = (worker: string, epoch: number, held: number[], incarnation = 'x') =>
  JSON.stringify({
    worker,
    incarnation,
    epoch,
    held,
    acquiring: [],
    releasing: [],
    settled: true,
    at: '2026-01-01T00:00:00Z',
  });

describe('scaleStep', () => {
  it('accepts a scale-up where the StatefulSet is ready before the map moves', () => {
    const t = timelines([
      () => ({ instance: start(1, 1), statefulSet: sts(1, 1), map: map(1, 1) }),
      () => ({ instance: instance(3) }),
      () => ({ instance: phase(1, 'ScalingUp', 1), statefulSet: sts(3, 1) }),
      () => ({ statefulSet: sts(3, 3) }),
      () => ({ map: map(2, 3) }),
      () => ({ instance: phase(2, 'HandingOff', 3) }),
      () => ({ instance: settled(2, 3) }),
    ]);
    const step = scaleStep(t, 1, 3, 100);
    expect(step).toMatchObject({ epoch: 2, specRevision: 101, mapRevision: 104, violations: [] });
    expect(step.statefulSet.map((s) => s.replicas)).toEqual([3]);
    expect(step.phases).toEqual([
      '1/Settled/1 of 1',
      '1/ScalingUp/0 of 1',
      '2/HandingOff/0 of 3',
      '2/Settled/3 of 3',
    ]);
  });

  it('reports a map published before the new workers were ready', () => {
    const t = timelines([
      () => ({ instance: start(1, 1), statefulSet: sts(1, 1), map: map(1, 1) }),
      () => ({ instance: instance(3) }),
      () => ({ statefulSet: sts(3, 1) }),
      () => ({ map: map(2, 3) }),
      () => ({ statefulSet: sts(3, 3) }),
      () => ({ instance: settled(2, 3) }),
    ]);
    expect(scaleStep(t, 1, 3, 100).violations).toEqual([
      'the map for 3 workers came out while the StatefulSet had 3 replicas, 1 ready',
    ]);
  });

  it('reports a StatefulSet that shrank before the map moved, or while a leaving worker held partitions', () => {
    const early = timelines([
      () => ({ instance: start(2, 2), statefulSet: sts(2, 2), map: map(2, 2) }),
      () => ({ instance: instance(1), reports: { data: { 'worker-1': report('worker-1', 2, []) } } }),
      () => ({ statefulSet: sts(1, 1) }),
      () => ({ map: map(3, 1) }),
      () => ({ instance: settled(3, 1) }),
    ]);
    expect(scaleStep(early, 2, 1, 100).violations).toEqual([
      'the StatefulSet shrank to 1 before the map for 1 workers',
      expect.stringContaining('dropped worker-1 while its report said {"worker":"worker-1"'),
    ]);
    const holding = timelines([
      () => ({ instance: start(2, 2), statefulSet: sts(2, 2), map: map(2, 2) }),
      () => ({ instance: instance(1) }),
      () => ({ map: map(3, 1), reports: { data: { 'worker-1': report('worker-1', 3, [1, 3]) } } }),
      () => ({ statefulSet: sts(1, 1) }),
      () => ({ instance: settled(3, 1) }),
    ]);
    expect(scaleStep(holding, 2, 1, 100).violations).toEqual([
      expect.stringContaining('dropped worker-1 while its report said'),
    ]);
    const kept = timelines([
      () => ({ instance: start(2, 2), statefulSet: sts(2, 2), map: map(2, 2) }),
      () => ({ instance: instance(1) }),
      () => ({ map: map(3, 1), reports: { data: { 'worker-1': report('worker-1', 3, [1, 3]) } } }),
      () => ({ reports: { data: { 'worker-1': report('worker-1', 3, []) } } }),
      () => ({ statefulSet: sts(1, 1) }),
      () => ({ instance: settled(3, 1) }),
    ]);
    expect(scaleStep(kept, 2, 1, 100).violations).toEqual([]);
  });

  it('throws when the scale never settled', () => {
    const t = timelines([
      () => ({ instance: start(1, 1), statefulSet: sts(1, 1), map: map(1, 1) }),
      () => ({ instance: instance(2) }),
      () => ({ statefulSet: sts(2, 2) }),
      () => ({ map: map(2, 2) }),
    ]);
    expect(() => scaleStep(t, 1, 2, 100)).toThrow('never said Settled with 2 workers at epoch 2');
  });
});

describe('firstReports', () => {
  it('finds the first change after a revision whose reports pass the test, even one overwritten at once', () => {
    const t = timelines([
      () => ({ reports: { data: { 'worker-0': report('worker-0', 2, [0, 1], 'a') } } }),
      () => ({ reports: { data: { 'worker-0': report('worker-0', 2, [0, 1], 'b') } } }),
      () => ({ reports: { data: { 'worker-0': report('worker-0', 3, [0], 'b') } } }),
      () => ({ reports: { data: { 'worker-0': report('worker-0', 3, [0], 'c') } } }),
    ]);
    const restarted = (r: Map<string, { incarnation: string }>) => r.get('worker-0')?.incarnation !== 'a';
    expect(firstReports(t.reports, 100, restarted)?.revision).toBe(101);
    expect(firstReports(t.reports, 101, restarted)?.revision).toBe(102);
    expect(firstReports(t.reports, 100, (r) => r.get('worker-0')?.incarnation === 'c')?.revision).toBe(103);
    expect(firstReports(t.reports, 103, restarted)).toBeUndefined();
  });
});
