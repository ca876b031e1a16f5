import {
  computePartitionMap,
  ordinalOf,
  parsePartitionMap,
  planHandoff,
  type HandoffInput,
  type HandoffPlan,
  type PartitionMap,
  type WorkerReport,
} from './partition-map.ts';

const PARTITIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];
const REPLICAS = [1, 2, 3, 4, 5, 6, 7, 9, 16, 31, 64, 100, 128];

function counts(map: PartitionMap): number[] {
  const result = new Array<number>(map.replicas).fill(0);
  for (const owner of map.owners) result[owner]! += 1;
  return result;
}

function moved(a: PartitionMap, b: PartitionMap): number {
  return a.owners.filter((owner, p) => owner !== b.owners[p]).length;
}

/** The map a cluster ends up with after scaling through `steps` worker counts from nothing. */
function history(partitions: number, steps: number[]): PartitionMap {
  let map: PartitionMap | undefined;
  for (const replicas of steps) map = computePartitionMap(map, partitions, replicas);
  return map!;
}

/**
 * The fewest partitions that must change owner to reach some balanced map over
 * `replicas` workers, by trying every choice of which workers get the larger
 * share: a worker with quota q keeps at most min(q, what it holds now).
 */
function fewestMoves(owners: number[], replicas: number): number {
  const p = owners.length;
  const held = new Array<number>(replicas).fill(0);
  for (const owner of owners) if (owner < replicas) held[owner]! += 1;
  const base = Math.floor(p / replicas);
  const larger = p % replicas;
  let bestKept = 0;
  for (let mask = 0; mask < 1 << replicas; mask++) {
    if (popcount(mask) !== larger) continue;
    let kept = 0;
    for (let w = 0; w < replicas; w++) kept += Math.min(held[w]!, base + ((mask >> w) & 1));
    bestKept = Math.max(bestKept, kept);
  }
  return p - bestKept;
}

function popcount(n: number): number {
  let c = 0;
  for (; n; n &= n - 1) c++;
  return c;
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('computePartitionMap', () => {
  it('gives every worker floor(P/N) or ceil(P/N) partitions, exactly P mod N of them the larger share', () => {
    for (const p of PARTITIONS)
      for (const n of REPLICAS)
        for (const map of [computePartitionMap(undefined, p, n), history(p, [3, 1, 7, n])]) {
          const c = counts(map);
          expect(map.owners).toHaveLength(p);
          expect(c.every((k) => k === Math.floor(p / n) || k === Math.ceil(p / n))).toBe(true);
          expect(c.reduce((a, b) => a + b, 0)).toBe(p);
          if (p % n !== 0) expect(c.filter((k) => k === Math.ceil(p / n))).toHaveLength(p % n);
        }
  });

  it('on scale up moves only what the new workers must receive, taking nothing from anyone else', () => {
    for (const p of PARTITIONS)
      for (const n of REPLICAS)
        for (const added of [1, 2, 5]) {
          const before = history(p, [n]);
          const after = computePartitionMap(before, p, n + added);
          const toNewWorkers = after.owners.filter((owner) => owner >= n).length;
          expect(moved(before, after)).toBe(toNewWorkers);
          expect(after.owners.every((owner, i) => owner >= n || owner === before.owners[i])).toBe(true);
        }
  });

  it('on scale down moves exactly the partitions of the removed ordinals', () => {
    for (const p of PARTITIONS)
      for (const n of REPLICAS.filter((r) => r > 1))
        for (const removed of [1, 2].filter((k) => k < n)) {
          const before = history(p, [n + 3, n]);
          const after = computePartitionMap(before, p, n - removed);
          const ofRemoved = before.owners.filter((owner) => owner >= n - removed).length;
          expect(moved(before, after)).toBe(ofRemoved);
        }
  });

  // From a balanced map, N -> N+1 must move at least what the new worker ends
  // up with, at least floor(P/(N+1)); and that is enough (the old workers can
  // keep the rest within their new shares). N -> N-1 must move at least what
  // the removed ordinal held, and that is enough too.
  it('moves exactly floor(P/(N+1)) partitions on N -> N+1, the theoretical minimum', () => {
    for (const p of PARTITIONS)
      for (const n of REPLICAS)
        for (const before of [history(p, [n]), history(p, [n + 3, n]), history(p, [1, n])]) {
          const after = computePartitionMap(before, p, n + 1);
          expect(moved(before, after)).toBe(Math.floor(p / (n + 1)));
        }
  });

  it("moves exactly the removed ordinal's partitions on N -> N-1, the theoretical minimum", () => {
    for (const p of PARTITIONS)
      for (const n of REPLICAS.filter((r) => r > 1))
        for (const before of [history(p, [n]), history(p, [n + 3, n]), history(p, [1, n])]) {
          const after = computePartitionMap(before, p, n - 1);
          expect(moved(before, after)).toBe(before.owners.filter((owner) => owner === n - 1).length);
        }
  });

  it('moves the fewest partitions any balanced map allows, from any previous map (exhaustive search)', () => {
    const random = seeded(7);
    for (let trial = 0; trial < 400; trial++) {
      const p = 1 + Math.floor(random() * 12);
      const from = 1 + Math.floor(random() * 6);
      const to = 1 + Math.floor(random() * 6);
      // Any previous ownership at all, balanced or not.
      const owners = Array.from({ length: p }, () => Math.floor(random() * from));
      const before: PartitionMap = { epoch: 3, partitions: p, replicas: from, owners };
      const after = computePartitionMap(before, p, to);
      expect(counts(after).every((k) => k === Math.floor(p / to) || k === Math.ceil(p / to))).toBe(true);
      expect(moved(before, after)).toBe(fewestMoves(owners, to));
    }
  });

  it('assigns a first map in contiguous ranges by ordinal', () => {
    expect(computePartitionMap(undefined, 8, 3).owners).toEqual([0, 0, 0, 1, 1, 1, 2, 2]);
  });

  it('owns nothing with zero replicas and hands everything out again when workers return', () => {
    const none = computePartitionMap(history(8, [2]), 8, 0);
    expect(none.owners).toEqual(new Array(8).fill(-1));
    expect(none.replicas).toBe(0);
    const back = computePartitionMap(none, 8, 2);
    expect(counts(back)).toEqual([4, 4]);
    expect(back.epoch).toBe(none.epoch + 1);
  });

  it('starts at epoch 1, keeps the epoch while owners stay, bumps it once per change', () => {
    const first = computePartitionMap(undefined, 64, 4);
    expect(first.epoch).toBe(1);
    expect(computePartitionMap(first, 64, 4)).toEqual(first);
    const scaled = computePartitionMap(first, 64, 5);
    expect(scaled.epoch).toBe(2);
    // A worker with nothing to own changes no owner, so no new epoch.
    const idle = computePartitionMap(computePartitionMap(undefined, 2, 2), 2, 3);
    expect(idle.epoch).toBe(1);
    expect(idle.replicas).toBe(3);
  });

  it('is deterministic', () => {
    const before = history(256, [7, 3]);
    expect(computePartitionMap(before, 256, 11)).toEqual(computePartitionMap(before, 256, 11));
  });

  it('ignores a previous map of another partition count but still bumps its epoch', () => {
    const other = computePartitionMap(undefined, 4, 2);
    const map = computePartitionMap(other, 8, 2);
    expect(map.epoch).toBe(2);
    expect(counts(map)).toEqual([4, 4]);
  });

  it('refuses nonsense counts', () => {
    expect(() => computePartitionMap(undefined, 0, 1)).toThrow(RangeError);
    expect(() => computePartitionMap(undefined, 8, -1)).toThrow(RangeError);
  });
});

describe('parsePartitionMap', () => {
  it('round-trips a computed map', () => {
    const map = history(64, [3, 5]);
    expect(parsePartitionMap(JSON.stringify(map))).toEqual(map);
  });

  it('is undefined for missing, malformed or inconsistent maps', () => {
    expect(parsePartitionMap(undefined)).toBeUndefined();
    expect(parsePartitionMap('{')).toBeUndefined();
    expect(parsePartitionMap('{"epoch":1}')).toBeUndefined();
    expect(
      parsePartitionMap(JSON.stringify({ epoch: 1, partitions: 2, replicas: 1, owners: [0] })),
    ).toBeUndefined();
    expect(
      parsePartitionMap(JSON.stringify({ epoch: 1, partitions: 2, replicas: 1, owners: [0, 1] })),
    ).toBeUndefined();
    expect(
      parsePartitionMap(JSON.stringify({ epoch: 1, partitions: 2, replicas: 0, owners: [0, -1] })),
    ).toBeUndefined();
  });
});

describe('ordinalOf', () => {
  it('reads the trailing -N of a worker id', () => {
    expect(ordinalOf('worker-0')).toBe(0);
    expect(ordinalOf('worker-12')).toBe(12);
    expect(ordinalOf('my-tenant-worker-3')).toBe(3);
    expect(ordinalOf('worker')).toBeUndefined();
    expect(ordinalOf('worker-2a')).toBeUndefined();
  });
});

const P = 8;
let clock = 0;

/** Worker `ordinal`'s report: acting on `epoch`, holding `held`; settled unless told otherwise. */
function report(
  ordinal: number,
  epoch: number,
  held: number[],
  extra: Partial<WorkerReport> = {},
): WorkerReport {
  return {
    worker: `worker-${ordinal}`,
    incarnation: `i${ordinal}`,
    epoch,
    held,
    acquiring: [],
    releasing: [],
    settled: true,
    at: new Date(Date.UTC(2026, 10, 21) + ++clock * 1000).toISOString(),
    ...extra,
  };
}

const share = (map: PartitionMap, ordinal: number): number[] =>
  [...map.owners.keys()].filter((p) => map.owners[p] === ordinal);

/** What every worker `0..replicas-1` reports once it has done all `map` asks of it. */
const allSettled = (map: PartitionMap, replicas: number): WorkerReport[] =>
  Array.from({ length: replicas }, (_, o) => report(o, map.epoch, share(map, o)));

/**
 * Plays the operator: keeps what is published and what runs, applies each
 * plan the way the reconciler does (map if asked, StatefulSet replicas), and
 * lets the test say what the pods and workers do in between.
 */
class Cluster {
  desired = 1;
  published: PartitionMap | undefined;
  workerSet: { replicas: number; readyReplicas: number } | undefined;
  reports: WorkerReport[] = [];

  input(): HandoffInput {
    return {
      partitions: P,
      desiredReplicas: this.desired,
      published: this.published,
      workerSet: this.workerSet,
      reports: this.reports,
    };
  }

  step(): HandoffPlan {
    const plan = planHandoff(this.input());
    if (plan.publish) this.published = plan.map;
    this.workerSet = {
      replicas: plan.statefulSetReplicas,
      readyReplicas: Math.min(this.workerSet?.readyReplicas ?? 0, plan.statefulSetReplicas),
    };
    return plan;
  }

  ready(): void {
    this.workerSet = { replicas: this.workerSet!.replicas, readyReplicas: this.workerSet!.replicas };
  }

  /** Replaces the reports of the ordinals in `reports`. */
  report(...reports: WorkerReport[]): void {
    const ids = new Set(reports.map((r) => r.worker));
    this.reports = [...this.reports.filter((r) => !ids.has(r.worker)), ...reports];
  }

  get map(): PartitionMap {
    return this.published!;
  }
}

describe('planHandoff', () => {
  it('sequences 1 -> 3 -> 5 -> 2 -> 1 workers: StatefulSet first going up, map first going down', () => {
    const c = new Cluster();

    // Created with one worker: nobody holds anything yet, so the first map goes out at once.
    let plan = c.step();
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 1, map: { epoch: 1, replicas: 1 } });
    expect(plan.progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 0, movingPartitions: P });
    c.ready();
    c.report(report(0, 1, [], { acquiring: share(c.map, 0), settled: false }));
    expect(c.step().progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 0, movingPartitions: P });
    c.report(...allSettled(c.map, 1));
    plan = c.step();
    expect(plan).toMatchObject({ publish: false, statefulSetReplicas: 1 });
    expect(plan.progress).toEqual({
      phase: 'Settled',
      epoch: 1,
      desiredWorkers: 1,
      workers: 1,
      settledWorkers: 1,
      movingPartitions: 0,
      draining: [],
    });

    // 1 -> 3: the StatefulSet grows; the map waits until all three pods are ready.
    c.desired = 3;
    plan = c.step();
    expect(plan).toMatchObject({ publish: false, statefulSetReplicas: 3, map: { epoch: 1, replicas: 1 } });
    expect(plan.progress).toMatchObject({ phase: 'ScalingUp', workers: 1, desiredWorkers: 3 });
    c.workerSet = { replicas: 3, readyReplicas: 2 };
    expect(c.step()).toMatchObject({ publish: false, progress: { phase: 'ScalingUp' } });
    c.ready();
    c.report(report(1, 1, []), report(2, 1, []));
    plan = c.step();
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 3, map: { epoch: 2, replicas: 3 } });
    // Only what worker-0 gives away moves; the new workers do not hold it yet.
    expect(plan.progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 0, movingPartitions: 5 });
    c.report(
      report(0, 2, share(c.map, 0), { releasing: [3, 4, 5, 6, 7] }),
      report(1, 2, [], { acquiring: share(c.map, 1), settled: false }),
    );
    expect(c.step().progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 1, movingPartitions: 5 });
    c.report(...allSettled(c.map, 3));
    expect(c.step()).toMatchObject({ publish: false, progress: { phase: 'Settled', settledWorkers: 3 } });

    // 3 -> 5, the same way.
    c.desired = 5;
    expect(c.step()).toMatchObject({
      publish: false,
      statefulSetReplicas: 5,
      progress: { phase: 'ScalingUp' },
    });
    c.ready();
    plan = c.step();
    expect(plan).toMatchObject({
      publish: true,
      map: { epoch: 3, replicas: 5 },
      progress: { phase: 'HandingOff' },
    });
    c.report(...allSettled(c.map, 5));
    expect(c.step().progress).toMatchObject({ phase: 'Settled', workers: 5, settledWorkers: 5 });

    // 5 -> 2: the map moves everything off ordinals 2..4 at once; the StatefulSet keeps them.
    c.desired = 2;
    plan = c.step();
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 5, map: { epoch: 4, replicas: 2 } });
    expect(plan.progress).toMatchObject({ phase: 'ScalingDown', workers: 2, draining: [2, 3, 4] });
    // worker-4 let go of everything: it can go, the others not yet.
    c.report(report(4, 4, []));
    expect(c.step()).toMatchObject({ statefulSetReplicas: 4, progress: { draining: [2, 3] } });
    // A report of the previous epoch says nothing about this one.
    c.report(report(3, 3, []));
    expect(c.step()).toMatchObject({ statefulSetReplicas: 4, progress: { draining: [2, 3] } });
    // Nor does a worker still releasing.
    c.report(report(3, 4, [], { releasing: [6], settled: false }));
    expect(c.step()).toMatchObject({ statefulSetReplicas: 4, progress: { phase: 'ScalingDown' } });
    c.report(report(3, 4, []), report(2, 4, []));
    plan = c.step();
    expect(plan).toMatchObject({ statefulSetReplicas: 2, progress: { draining: [] } });
    // Ordinals 0 and 1 have not taken over yet.
    expect(plan.progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 0 });
    c.report(...allSettled(c.map, 2));
    expect(c.step().progress).toMatchObject({
      phase: 'Settled',
      workers: 2,
      settledWorkers: 2,
      movingPartitions: 0,
    });

    // 2 -> 1.
    c.desired = 1;
    plan = c.step();
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 2, map: { epoch: 5, replicas: 1 } });
    expect(plan.map.owners).toEqual(new Array(P).fill(0));
    expect(plan.progress).toMatchObject({ phase: 'ScalingDown', draining: [1], movingPartitions: 4 });
    c.report(report(1, 5, []), report(0, 5, share(c.map, 0)));
    expect(c.step()).toMatchObject({
      statefulSetReplicas: 1,
      progress: { phase: 'Settled', settledWorkers: 1 },
    });
  });

  it('changes nothing while the partitions and workers stay as they are', () => {
    const map = computePartitionMap(undefined, P, 3);
    const input: HandoffInput = {
      partitions: P,
      desiredReplicas: 3,
      published: map,
      workerSet: { replicas: 3, readyReplicas: 3 },
      reports: allSettled(map, 3),
    };
    const plan = planHandoff(input);
    expect(plan).toMatchObject({ publish: false, statefulSetReplicas: 3, map });
    expect(planHandoff({ ...input, workerSet: { replicas: 3, readyReplicas: 1 } }).publish).toBe(false);
  });

  it('turns back mid-way: 5 -> 2, then 4 before the StatefulSet shrank', () => {
    const c = new Cluster();
    c.desired = 5;
    c.step();
    c.ready();
    c.report(...allSettled(c.map, 5));
    c.step();
    c.desired = 2;
    expect(c.step()).toMatchObject({ map: { epoch: 2, replicas: 2 }, statefulSetReplicas: 5 });
    // worker-4 released (it may go), the others are still busy when the user asks for 4.
    c.report(report(4, 2, []), report(3, 1, [6], { settled: false, releasing: [7] }));
    c.desired = 4;
    // Four ready pods exist already: the map for four goes out at once, from the published map for two.
    const plan = c.step();
    expect(plan).toMatchObject({ publish: true, map: { epoch: 3, replicas: 4 } });
    // worker-4 released only at epoch 2: it must say it has nothing at epoch 3 too before it goes.
    expect(plan).toMatchObject({ statefulSetReplicas: 5, progress: { phase: 'ScalingDown', draining: [4] } });
    c.report(report(4, 3, []));
    expect(c.step()).toMatchObject({
      statefulSetReplicas: 4,
      progress: { phase: 'HandingOff', draining: [] },
    });
    c.report(...allSettled(c.map, 4));
    expect(c.step().progress).toMatchObject({ phase: 'Settled', workers: 4, settledWorkers: 4 });
  });

  it('goes down to zero workers once they released everything, and back up StatefulSet first', () => {
    const c = new Cluster();
    c.desired = 2;
    c.step();
    c.ready();
    c.report(...allSettled(c.map, 2));
    c.step();
    c.desired = 0;
    let plan = c.step();
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 2, map: { epoch: 2, replicas: 0 } });
    expect(plan.map.owners).toEqual(new Array(P).fill(-1));
    // Nobody owns anything, but the workers still hold it all.
    expect(plan.progress).toMatchObject({
      phase: 'ScalingDown',
      workers: 0,
      movingPartitions: P,
      draining: [0, 1],
    });
    c.report(report(1, 2, []), report(0, 2, [0, 1], { releasing: [2, 3], settled: false }));
    expect(c.step()).toMatchObject({
      statefulSetReplicas: 1,
      progress: { movingPartitions: 4, draining: [0] },
    });
    c.report(report(0, 2, []));
    plan = c.step();
    expect(plan).toMatchObject({ statefulSetReplicas: 0 });
    expect(plan.progress).toMatchObject({
      phase: 'Settled',
      workers: 0,
      settledWorkers: 0,
      movingPartitions: 0,
    });

    c.desired = 2;
    expect(c.step()).toMatchObject({
      publish: false,
      statefulSetReplicas: 2,
      progress: { phase: 'ScalingUp' },
    });
    c.ready();
    plan = c.step();
    expect(plan).toMatchObject({
      publish: true,
      map: { epoch: 3, replicas: 2 },
      progress: { phase: 'HandingOff' },
    });
    expect(plan.progress.movingPartitions).toBe(P);
  });

  it('ignores reports of ordinals the StatefulSet no longer has, and old epochs of those it has again', () => {
    const map = computePartitionMap(computePartitionMap(undefined, P, 4), P, 2);
    // worker-2 and worker-3 left long ago; their last words are still there.
    const gone = [report(2, 1, [4, 5]), report(3, 1, [6, 7])];
    const input: HandoffInput = {
      partitions: P,
      desiredReplicas: 2,
      published: map,
      workerSet: { replicas: 2, readyReplicas: 2 },
      reports: [...allSettled(map, 2), ...gone],
    };
    expect(planHandoff(input)).toMatchObject({
      publish: false,
      statefulSetReplicas: 2,
      progress: { phase: 'Settled', movingPartitions: 0 },
    });
    // Back to four: their settled reports are of epoch 1, not of the new map.
    const up = planHandoff({ ...input, desiredReplicas: 4, workerSet: { replicas: 4, readyReplicas: 4 } });
    expect(up).toMatchObject({ publish: true, map: { epoch: 3, replicas: 4 } });
    expect(up.progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 0 });
  });

  it('lets a leaving worker that crashed go once its successor reports nothing held', () => {
    const before = computePartitionMap(undefined, P, 3);
    const map = computePartitionMap(before, P, 2);
    const input = (reports: WorkerReport[]): HandoffInput => ({
      partitions: P,
      desiredReplicas: 2,
      published: map,
      workerSet: { replicas: 3, readyReplicas: 2 },
      reports: [...allSettled(map, 2), ...reports],
    });
    // The crashed incarnation's last report: it was still releasing.
    const dead = report(2, map.epoch, [], { incarnation: 'dead', releasing: [6, 7], settled: false });
    expect(planHandoff(input([dead])).statefulSetReplicas).toBe(3);
    // Its successor holds nothing (the dead one's leases expire by themselves).
    const successor = report(2, map.epoch, [], { incarnation: 'new' });
    expect(planHandoff(input([dead, successor])).statefulSetReplicas).toBe(2);
    // The latest report counts, in whatever order they come.
    expect(planHandoff(input([successor, dead])).statefulSetReplicas).toBe(2);
  });

  it('does not call a handoff settled while a worker of the map is not ready', () => {
    const map = computePartitionMap(undefined, P, 3);
    const input: HandoffInput = {
      partitions: P,
      desiredReplicas: 3,
      published: map,
      workerSet: { replicas: 3, readyReplicas: 3 },
      // worker-1 was killed: its last report (settled) stays until its successor writes one.
      reports: allSettled(map, 3),
    };
    expect(planHandoff(input).progress.phase).toBe('Settled');
    const restarting = planHandoff({ ...input, workerSet: { replicas: 3, readyReplicas: 2 } });
    expect(restarting).toMatchObject({ publish: false, statefulSetReplicas: 3 });
    expect(restarting.progress.phase).toBe('HandingOff');
  });

  it("does not take a dead incarnation's settled report for its restarted successor's", () => {
    const map = computePartitionMap(undefined, P, 3);
    const reports = allSettled(map, 3);
    const at = (r: WorkerReport): number => Date.parse(r.at);
    const startedBefore = new Map(reports.map((r, o) => [o, new Date(at(r) - 60_000).toISOString()]));
    const input = (started: Map<number, string>, extra: WorkerReport[] = []): HandoffInput => ({
      partitions: P,
      desiredReplicas: 3,
      published: map,
      // worker-1 was killed and its container restarted; the new pod is already ready.
      workerSet: { replicas: 3, readyReplicas: 3, started },
      reports: [...reports, ...extra],
    });
    expect(planHandoff(input(startedBefore)).progress.phase).toBe('Settled');
    // Its restarted process started after the dead one's last report: that report no longer counts.
    const restartedAt = new Date(at(reports[2]!) + 1000).toISOString();
    const restarted = new Map(startedBefore).set(1, restartedAt);
    const plan = planHandoff(input(restarted));
    expect(plan).toMatchObject({ publish: false, statefulSetReplicas: 3 });
    expect(plan.progress).toMatchObject({
      phase: 'HandingOff',
      settledWorkers: 2,
      movingPartitions: share(map, 1).length,
    });
    // Nor while no process of it runs at all.
    const down = new Map(startedBefore);
    down.delete(1);
    expect(planHandoff(input(down)).progress).toMatchObject({ phase: 'HandingOff', settledWorkers: 2 });
    // Its successor's report, once it holds its share again, settles it.
    const successor = report(1, map.epoch, share(map, 1), {
      incarnation: 'new',
      at: new Date(Date.parse(restartedAt) + 500).toISOString(),
    });
    expect(planHandoff(input(restarted, [successor])).progress).toMatchObject({
      phase: 'Settled',
      settledWorkers: 3,
      movingPartitions: 0,
    });
  });

  it("does not let a leaving worker go on a dead incarnation's report", () => {
    const map = computePartitionMap(computePartitionMap(undefined, P, 3), P, 2);
    // worker-2 said it released everything, then crashed and was restarted before the StatefulSet shrank.
    const released = report(2, map.epoch, []);
    const later = new Date(Date.parse(released.at) + 1000).toISOString();
    const input: HandoffInput = {
      partitions: P,
      desiredReplicas: 2,
      published: map,
      workerSet: { replicas: 3, readyReplicas: 3, started: new Map([[2, later]]) },
      reports: [released],
    };
    expect(planHandoff(input).statefulSetReplicas).toBe(3);
    expect(
      planHandoff({ ...input, reports: [released, report(2, map.epoch, [], { at: later })] })
        .statefulSetReplicas,
    ).toBe(2);
  });

  it('does not count workers joining the map as leaving ones while it waits for them', () => {
    // 5 -> 2 published, then 4 asked for while only three pods are ready.
    const two = computePartitionMap(computePartitionMap(undefined, P, 5), P, 2);
    const plan = planHandoff({
      partitions: P,
      desiredReplicas: 4,
      published: two,
      workerSet: { replicas: 5, readyReplicas: 3 },
      reports: [...allSettled(two, 2), report(4, two.epoch, [])],
    });
    expect(plan).toMatchObject({ publish: false, statefulSetReplicas: 4 });
    expect(plan.progress).toMatchObject({ phase: 'ScalingUp', draining: [] });
  });

  it('creates the first map for the workers that exist, then scales up as usual', () => {
    const plan = planHandoff({
      partitions: P,
      desiredReplicas: 4,
      published: undefined,
      workerSet: { replicas: 2, readyReplicas: 2 },
      reports: [],
    });
    expect(plan).toMatchObject({ publish: true, statefulSetReplicas: 4, map: { epoch: 1, replicas: 2 } });
    expect(plan.progress.phase).toBe('ScalingUp');
  });

  it('never publishes an epoch below one the workers or the status have seen', () => {
    const lost = planHandoff({
      partitions: P,
      desiredReplicas: 2,
      published: undefined,
      lastEpoch: 6,
      workerSet: { replicas: 2, readyReplicas: 2 },
      reports: [report(0, 5, [0, 1, 2, 3])],
    });
    expect(lost).toMatchObject({ publish: true, map: { epoch: 7, replicas: 2 } });
    // A map rolled back by hand to epoch 2 while workers act on 5: republished above 5, same owners.
    const old = computePartitionMap(undefined, P, 2);
    const rolledBack = planHandoff({
      partitions: P,
      desiredReplicas: 2,
      published: { ...old, epoch: 2 },
      workerSet: { replicas: 2, readyReplicas: 2 },
      reports: [report(0, 5, share(old, 0))],
    });
    expect(rolledBack).toMatchObject({ publish: true, map: { epoch: 6, owners: old.owners } });
  });

  it('refuses a nonsense replica count', () => {
    const input: HandoffInput = {
      partitions: P,
      desiredReplicas: -1,
      published: undefined,
      workerSet: undefined,
      reports: [],
    };
    expect(() => planHandoff(input)).toThrow(RangeError);
    expect(() => planHandoff({ ...input, desiredReplicas: 1.5 })).toThrow(RangeError);
  });
});
