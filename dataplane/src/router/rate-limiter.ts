import { setTimeout as delay } from 'node:timers/promises';

/** Injectable time, so the limiter is tested without waiting. */
export interface Clock {
  /** Milliseconds, monotonic enough for rate arithmetic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => delay(ms),
};

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets, one per key (a destination id). A bucket refills at
 * `ratePerSecond` up to `burst` tokens; the rate is passed on every call so a
 * config change applies at once without rebuilding anything.
 *
 * A request for more tokens than the burst (a batch larger than the rate) is
 * let through once the bucket is full and leaves the bucket in debt, so it is
 * paid for by the requests after it instead of waiting forever.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /**
   * Takes `n` tokens if they are there and returns 0; otherwise takes nothing
   * and returns the milliseconds until they will be (call again then).
   * `burst` defaults to one second's worth of tokens.
   */
  take(key: string, n: number, ratePerSecond: number, burst: number = ratePerSecond): number {
    const capacity = capacityOf(burst);
    const bucket = this.#refilled(key, ratePerSecond, capacity);
    const needed = Math.min(n, capacity);
    if (bucket.tokens >= needed) {
      bucket.tokens -= n;
      return 0;
    }
    return Math.ceil(((needed - bucket.tokens) * 1000) / ratePerSecond);
  }

  /**
   * Takes `n` tokens now, going into debt if needed, and returns the
   * milliseconds until the caller may proceed. Callers queue in call order,
   * which `take` alone cannot guarantee to concurrent waiters.
   */
  reserve(key: string, n: number, ratePerSecond: number, burst: number = ratePerSecond): number {
    const capacity = capacityOf(burst);
    const bucket = this.#refilled(key, ratePerSecond, capacity);
    const needed = Math.min(n, capacity);
    const waitMs = bucket.tokens >= needed ? 0 : Math.ceil(((needed - bucket.tokens) * 1000) / ratePerSecond);
    bucket.tokens -= n;
    return waitMs;
  }

  /** Waits until `n` tokens of `key` are granted. */
  async acquire(key: string, n: number, ratePerSecond: number, burst?: number): Promise<void> {
    const waitMs = this.reserve(key, n, ratePerSecond, burst);
    if (waitMs > 0) await this.#clock.sleep(waitMs);
  }

  /** Drops the bucket of a key (a destination that was removed). */
  forget(key: string): void {
    this.#buckets.delete(key);
  }

  #refilled(key: string, ratePerSecond: number, capacity: number): Bucket {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be positive, got ${ratePerSecond}`);
    const now = this.#clock.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      // A new bucket starts full: the first requests after startup go out at once.
      bucket = { tokens: capacity, updatedAt: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    const elapsedMs = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(capacity, bucket.tokens + (elapsedMs * ratePerSecond) / 1000);
    bucket.updatedAt = now;
    return bucket;
  }
}

/** At least one token, so a rate below 1/s (burst < 1 by default) can still grant single requests. */
function capacityOf(burst: number): number {
  return Math.max(burst, 1);
}
