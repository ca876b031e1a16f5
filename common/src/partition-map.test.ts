import { computePartitionMap, parsePartitionMap, type PartitionMap } from './partition-map.ts';

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
