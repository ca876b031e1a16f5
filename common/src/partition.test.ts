import { partitionOf, userKeyOf, isPowerOfTwo } from './partition.ts';

describe('partitionOf', () => {
  it('is the documented SHA-256 prefix modulo P (pinned vectors)', () => {
    // sha256("") starts 0xe3b0c442, and 0xe3b0c442 % 64 = 2: the vectors pin the hash so a change is caught.
    expect(partitionOf('user-1', 64)).toBe(partitionOf('user-1', 64));
    expect([partitionOf('', 64), partitionOf('user-1', 64), partitionOf('ü', 1024)]).toEqual(PINNED);
  });

  it('spreads keys evenly across partitions', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[partitionOf(`u${i}`, 64)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('refuses a partition count that is not a power of two', () => {
    expect(() => partitionOf('x', 48)).toThrow(RangeError);
    expect(isPowerOfTwo(1)).toBe(true);
    expect(isPowerOfTwo(0)).toBe(false);
  });
});

describe('userKeyOf', () => {
  it('prefers userId, falls back to anonymousId, treats empty as absent', () => {
    expect(userKeyOf({ userId: 'u', anonymousId: 'a' })).toBe('u');
    expect(userKeyOf({ userId: '', anonymousId: 'a' })).toBe('a');
    expect(userKeyOf({ userId: 42 })).toBe('42');
    expect(userKeyOf({})).toBe('');
  });
});

const PINNED = [2, 36, 202];
