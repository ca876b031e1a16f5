import type { Classification, DeliveryResponse, DestinationType } from '../destinations/contract.ts';

/**
 * The router's retry decisions, as pure functions: what a response means,
 * how long to wait before the next attempt, and when to give up.
 */

/**
 * The default meaning of a delivery outcome: 2xx succeeds; 408, 429, 5xx and
 * transport failures are transient and retry; any other 4xx is the request's
 * own fault and aborts. 1xx/3xx are unexpected (redirects are not followed)
 * and retry, so a misbehaving proxy cannot drop events for good.
 */
export function classifyResponse(response: DeliveryResponse): 'success' | 'retry' | 'abort' {
  if (response.kind === 'network-error') return 'retry';
  const { status } = response;
  if (status >= 200 && status < 300) return 'success';
  if (status === 408 || status === 429) return 'retry';
  if (status >= 400 && status < 500) return 'abort';
  return 'retry';
}

/** A destination type's classification where it has one, the default otherwise. */
export function classifyFor(
  destination: Pick<DestinationType<unknown>, 'classify'>,
  response: DeliveryResponse,
): Classification {
  return destination.classify?.(response) ?? classifyResponse(response);
}

/** Bounds of the exponential backoff. */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay is ever longer, Retry-After included. */
  maxMs: number;
}

/**
 * Delay before the next attempt after `attempt` failed attempts (1 = the
 * first failed). Exponential backoff with full jitter, so many jobs that
 * failed together do not retry together; a `Retry-After` header (seconds or
 * HTTP-date) is the minimum. Everything is capped at `maxMs`: a destination
 * asking for a day would otherwise park the user's events past the retry
 * window without a single further attempt.
 */
export function nextAttemptDelayMs(
  attempt: number,
  { baseMs, maxMs }: BackoffOptions,
  retryAfter?: string,
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  const jittered = Math.floor(random() * ceiling);
  const minimum = retryAfterMs(retryAfter, now) ?? 0;
  return Math.max(0, Math.min(maxMs, Math.max(jittered, minimum)));
}

/**
 * Milliseconds a `Retry-After` value asks for (RFC 9110: delta-seconds or an
 * HTTP-date); undefined when absent or unparseable, 0 for a date in the past.
 */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only date-shaped values: Date.parse accepts bare numbers like "-1" or "1.5" as years.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Retry state of one job, as the router records it. */
export interface AbortCheck {
  attempts: number;
  firstAttemptAt: Date | number;
  now: Date | number;
  retryWindowMs: number;
  minAttempts: number;
}

/**
 * Whether a job that keeps failing should be given up. Both conditions must
 * hold: a long outage alone must not abort a job that was barely tried (its
 * attempts were spread by backoff), and many quick failures alone must not
 * abort before the window has passed.
 */
export function shouldAbort({
  attempts,
  firstAttemptAt,
  now,
  retryWindowMs,
  minAttempts,
}: AbortCheck): boolean {
  return attempts >= minAttempts && Number(now) - Number(firstAttemptAt) >= retryWindowMs;
}
