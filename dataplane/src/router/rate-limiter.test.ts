import { RateLimiter, type Clock } from './rate-limiter.ts';

/** A clock that only moves when told to; sleeping advances it. */
function fakeClock(): Clock & { advance(ms: number): void; slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
    slept,
  };
}

describe('RateLimiter.take', () => {
  it('lets a full burst through at once, then makes the next caller wait one token', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    for (let i = 0; i < 10; i++) expect(limiter.take('d1', 1, 10)).toBe(0);
    expect(limiter.take('d1', 1, 10)).toBe(100);
  });

  it('refills with time at the given rate', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    expect(limiter.take('d1', 10, 10)).toBe(0);
    clock.advance(250);
    expect(limiter.take('d1', 2, 10)).toBe(0);
    expect(limiter.take('d1', 2, 10)).toBe(150);
  });

  it('takes nothing when it refuses', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    limiter.take('d1', 10, 10);
    expect(limiter.take('d1', 5, 10)).toBe(500);
    clock.advance(500);
    expect(limiter.take('d1', 5, 10)).toBe(0);
  });

  it('keeps buckets of different keys apart', () => {
    const limiter = new RateLimiter(fakeClock());
    expect(limiter.take('d1', 5, 5)).toBe(0);
    expect(limiter.take('d1', 1, 5)).toBeGreaterThan(0);
    expect(limiter.take('d2', 5, 5)).toBe(0);
  });

  it('never stores more than the burst, however long the key was idle', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    limiter.take('d1', 1, 10, 20);
    clock.advance(3_600_000);
    expect(limiter.take('d1', 20, 10, 20)).toBe(0);
    expect(limiter.take('d1', 1, 10, 20)).toBe(100);
  });

  it('lets a batch larger than the burst through once the bucket is full, leaving a debt', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    expect(limiter.take('d1', 30, 10)).toBe(0);
    // 20 tokens of debt plus the one wanted: 2.1 s at 10/s.
    expect(limiter.take('d1', 1, 10)).toBe(2100);
  });

  it('grants single requests at rates below one per second', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    expect(limiter.take('d1', 1, 0.5)).toBe(0);
    expect(limiter.take('d1', 1, 0.5)).toBe(2000);
  });

  it('applies a changed rate at once', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    limiter.take('d1', 10, 10);
    expect(limiter.take('d1', 1, 100, 10)).toBe(10);
  });

  it('refuses a rate that is not positive', () => {
    const limiter = new RateLimiter(fakeClock());
    expect(() => limiter.take('d1', 1, 0)).toThrow(RangeError);
    expect(() => limiter.take('d1', 1, Number.NaN)).toThrow(RangeError);
  });

  it('starts a forgotten key afresh with a full bucket', () => {
    const limiter = new RateLimiter(fakeClock());
    limiter.take('d1', 5, 5);
    limiter.forget('d1');
    expect(limiter.take('d1', 5, 5)).toBe(0);
  });
});

describe('RateLimiter.reserve and acquire', () => {
  it('queues reservations in call order, each one token later', () => {
    const limiter = new RateLimiter(fakeClock());
    limiter.reserve('d1', 2, 2);
    expect([limiter.reserve('d1', 1, 2), limiter.reserve('d1', 1, 2), limiter.reserve('d1', 1, 2)]).toEqual([
      500, 1000, 1500,
    ]);
  });

  it('acquire returns at once while tokens last and sleeps for the wait after that', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    await limiter.acquire('d1', 5, 5);
    expect(clock.slept).toEqual([]);
    await limiter.acquire('d1', 5, 5);
    expect(clock.slept).toEqual([1000]);
  });

  it('holds throughput to the rate over many acquisitions', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock);
    for (let i = 0; i < 100; i++) await limiter.acquire('d1', 1, 20);
    // 20 from the initial burst, then 80 at 20/s.
    expect(clock.now()).toBe(4000);
  });

  it('works on the real clock', async () => {
    const limiter = new RateLimiter();
    const started = performance.now();
    await limiter.acquire('d1', 1, 50, 1);
    await limiter.acquire('d1', 1, 50, 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});
