import type { DeliveryResponse } from '../destinations/contract.ts';
import {
  classifyFor,
  classifyResponse,
  nextAttemptDelayMs,
  retryAfterMs,
  shouldAbort,
} from './retry-policy.ts';

const response = (status: number): DeliveryResponse => ({ kind: 'response', status, headers: {}, body: '' });

describe('classifyResponse', () => {
  it.each([200, 201, 204, 299])('treats %i as success', (status) => {
    expect(classifyResponse(response(status))).toBe('success');
  });

  it.each([408, 429, 500, 502, 503, 504, 599])('retries %i', (status) => {
    expect(classifyResponse(response(status))).toBe('retry');
  });

  it.each([400, 401, 403, 404, 405, 409, 413, 422, 499])('aborts %i', (status) => {
    expect(classifyResponse(response(status))).toBe('abort');
  });

  it.each([100, 199, 301, 302, 304, 399])(
    'retries the unexpected %i rather than dropping the job',
    (status) => {
      expect(classifyResponse(response(status))).toBe('retry');
    },
  );

  it('retries network errors, timeouts included', () => {
    expect(classifyResponse({ kind: 'network-error', code: 'ECONNREFUSED', message: 'refused' })).toBe(
      'retry',
    );
    expect(classifyResponse({ kind: 'network-error', code: 'timeout', message: 'timed out' })).toBe('retry');
  });
});

describe('classifyFor', () => {
  it("uses the destination's classification when it has one", () => {
    expect(classifyFor({ classify: () => 'split' }, response(413))).toBe('split');
  });

  it('falls back to the default when the destination has no opinion or no classifier', () => {
    expect(classifyFor({ classify: () => undefined }, response(413))).toBe('abort');
    expect(classifyFor({}, response(503))).toBe('retry');
  });
});

describe('nextAttemptDelayMs', () => {
  const bounds = { baseMs: 1000, maxMs: 60_000 };
  const NOW = Date.parse('2026-01-01T00:00:00Z');

  it('doubles the ceiling with each attempt (full jitter: random 1 gives just under it)', () => {
    const almostOne = () => 0.999_999;
    expect(nextAttemptDelayMs(1, bounds, undefined, almostOne)).toBe(999);
    expect(nextAttemptDelayMs(2, bounds, undefined, almostOne)).toBe(1999);
    expect(nextAttemptDelayMs(4, bounds, undefined, almostOne)).toBe(7999);
  });

  it('spreads delays between 0 and the ceiling', () => {
    expect(nextAttemptDelayMs(3, bounds, undefined, () => 0)).toBe(0);
    expect(nextAttemptDelayMs(3, bounds, undefined, () => 0.5)).toBe(2000);
  });

  it('caps the ceiling at maxMs, even for huge attempt counts', () => {
    expect(nextAttemptDelayMs(10, bounds, undefined, () => 0.5)).toBe(30_000);
    expect(nextAttemptDelayMs(5000, bounds, undefined, () => 0.999_999)).toBe(59_999);
  });

  it('treats attempt 0 or less like the first attempt', () => {
    expect(nextAttemptDelayMs(0, bounds, undefined, () => 0.5)).toBe(500);
    expect(nextAttemptDelayMs(-3, bounds, undefined, () => 0.5)).toBe(500);
  });

  it('waits at least Retry-After seconds', () => {
    expect(nextAttemptDelayMs(1, bounds, '30', () => 0.5)).toBe(30_000);
  });

  it('keeps the backoff when it is longer than Retry-After', () => {
    expect(nextAttemptDelayMs(5, bounds, '1', () => 0.5)).toBe(8000);
  });

  it('honours a Retry-After HTTP-date relative to now', () => {
    const in45s = new Date(NOW + 45_000).toUTCString();
    expect(nextAttemptDelayMs(1, bounds, in45s, () => 0, NOW)).toBe(45_000);
  });

  it('caps Retry-After at maxMs', () => {
    expect(nextAttemptDelayMs(1, bounds, '86400', () => 0)).toBe(60_000);
  });

  it('ignores an unparseable Retry-After', () => {
    expect(nextAttemptDelayMs(1, bounds, 'soon', () => 0.5)).toBe(500);
  });
});

describe('retryAfterMs', () => {
  const NOW = Date.parse('2026-01-01T00:00:00Z');

  it('reads delta-seconds, tolerating surrounding spaces', () => {
    expect(retryAfterMs('120', NOW)).toBe(120_000);
    expect(retryAfterMs(' 0 ', NOW)).toBe(0);
  });

  it('reads IMF-fixdate and gives 0 for a date in the past', () => {
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', NOW)).toBe(10_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', NOW)).toBe(0);
  });

  it('rejects absent, negative, fractional and garbage values', () => {
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
    expect(retryAfterMs('-5', NOW)).toBeUndefined();
    expect(retryAfterMs('1.5', NOW)).toBeUndefined();
    expect(retryAfterMs('', NOW)).toBeUndefined();
    expect(retryAfterMs('tomorrow-ish', NOW)).toBeUndefined();
  });
});

describe('shouldAbort', () => {
  const window = { retryWindowMs: 3 * 3600_000, minAttempts: 3, firstAttemptAt: 0 };

  it('aborts once the window has passed and enough attempts were made', () => {
    expect(shouldAbort({ ...window, attempts: 3, now: 3 * 3600_000 })).toBe(true);
    expect(shouldAbort({ ...window, attempts: 10, now: 5 * 3600_000 })).toBe(true);
  });

  it('keeps retrying inside the window, however many attempts failed', () => {
    expect(shouldAbort({ ...window, attempts: 1000, now: 3 * 3600_000 - 1 })).toBe(false);
  });

  it('keeps retrying after the window until the minimum attempts were made', () => {
    expect(shouldAbort({ ...window, attempts: 2, now: 24 * 3600_000 })).toBe(false);
  });

  it('accepts Dates as well as epoch milliseconds', () => {
    const first = new Date('2026-01-01T00:00:00Z');
    expect(
      shouldAbort({ ...window, attempts: 3, firstAttemptAt: first, now: new Date('2026-01-01T03:00:00Z') }),
    ).toBe(true);
    expect(
      shouldAbort({ ...window, attempts: 3, firstAttemptAt: first, now: new Date('2026-01-01T02:59:59Z') }),
    ).toBe(false);
  });
});
