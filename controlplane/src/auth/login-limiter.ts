import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { RudderError } from '@rudder/common';

/**
 * Brute-force protection for logins: failed attempts are counted per email and
 * per client address in Redis (so every replica sees them); past the limit,
 * logins are refused with 429 and Retry-After until the window passes.
 * A successful login clears the email's count.
 */
export class LoginLimiter {
  private readonly byEmail: RateLimiterRedis;
  private readonly byAddress: RateLimiterRedis;

  constructor(options: { redis: Redis; prefix: string; maxFailures: number; windowSeconds: number }) {
    const common = {
      storeClient: options.redis,
      duration: options.windowSeconds,
      blockDuration: options.windowSeconds,
    };
    this.byEmail = new RateLimiterRedis({
      ...common,
      keyPrefix: `${options.prefix}:login:email`,
      points: options.maxFailures,
    });
    // An address may try several accounts (an office behind one NAT), so it gets more room.
    this.byAddress = new RateLimiterRedis({
      ...common,
      keyPrefix: `${options.prefix}:login:addr`,
      points: options.maxFailures * 4,
    });
  }

  /** Throws 429 when either counter is exhausted. */
  async check(email: string, address: string): Promise<void> {
    const [e, a] = await Promise.all([this.byEmail.get(email), this.byAddress.get(address)]);
    const blocked = [e, a].filter((r) => r !== null && r.remainingPoints <= 0);
    if (blocked.length === 0) return;
    const waitMs = Math.max(...blocked.map((r) => r!.msBeforeNext));
    throw new RudderError('rate_limited', 'too many failed logins; try again later', {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  }

  async recordFailure(email: string, address: string): Promise<void> {
    await Promise.all([
      this.byEmail.penalty(email, 1).catch(() => undefined),
      this.byAddress.penalty(address, 1).catch(() => undefined),
    ]);
  }

  async recordSuccess(email: string): Promise<void> {
    await this.byEmail.delete(email);
  }
}
