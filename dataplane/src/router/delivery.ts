import type { DestinationConfig } from '@rudder/common';
import type { NewFailedEvent, RouterJob, RouterOutcome } from '../jobsdb/index.ts';
import type { DeliveryDefaults, DeliveryResponse, DestinationType } from '../destinations/contract.ts';
import { classifyFor, nextAttemptDelayMs, shouldAbort, type BackoffOptions } from './retry-policy.ts';
import type { HttpClient } from './http-client.ts';
import type { RateLimiter } from './rate-limiter.ts';

export interface DeliveryContext {
  destination: DestinationConfig;
  type: DestinationType<unknown>;
  destConfig: unknown;
  delivery: DeliveryDefaults;
  http: HttpClient;
  limiter: RateLimiter;
  retry: { windowMs: number; minAttempts: number; backoff: BackoffOptions };
  now?: () => Date;
  random?: () => number;
  /** Set on shutdown: no new request starts, and requests in flight are cut short. */
  cancel?: AbortSignal;
  /**
   * Asked before every request: false (this worker lost a partition of the
   * round) sends nothing more, as on shutdown, except that the jobs not
   * sent are not counted as attempts.
   */
  proceed?: () => boolean;
}

export type Outcome = RouterOutcome & { userKey: string; dataset: number; hadStatus: boolean };

export interface RoundResult {
  outcomes: Outcome[];
  failed: NewFailedEvent[];
  /** Fresh jobs not attempted because an earlier job of their user did not succeed. */
  held: RouterJob[];
  requests: number;
}

interface Lane {
  jobs: RouterJob[];
  pos: number;
  stopped: boolean;
}

const RESPONSE_CHARS = 2048;

/**
 * Delivers the lanes of one round in waves: each wave sends every open lane's
 * next chunk (batched across users when the destination batches), with the
 * destination's concurrency and rate limit. A user's jobs never overtake each
 * other: a lane moves to its next chunk only after the previous one succeeded
 * or was aborted.
 */
export async function deliverRound(laneJobs: RouterJob[][], ctx: DeliveryContext): Promise<RoundResult> {
  const result: RoundResult = { outcomes: [], failed: [], held: [], requests: 0 };
  const lanes: Lane[] = laneJobs.map((jobs) => ({ jobs, pos: 0, stopped: false }));
  const open = (lane: Lane): boolean =>
    !lane.stopped && lane.pos < lane.jobs.length && !ctx.cancel?.aborted && ctx.proceed?.() !== false;
  if (ctx.delivery.maxBatchSize <= 1) {
    // Unbatched: every user's lane runs at its own pace, so one slow request delays only its own user.
    await runWithConcurrency(lanes, ctx.delivery.concurrency, async (lane) => {
      while (open(lane)) await deliverBatch([{ lane, jobs: [lane.jobs[lane.pos]!] }], ctx, result);
    });
  } else {
    const perLane = ctx.delivery.maxBatchSize;
    for (;;) {
      const ready = lanes.filter(open);
      if (ready.length === 0) break;
      const batches = packBatches(ready, perLane, ctx.delivery.maxBatchSize);
      await runWithConcurrency(batches, ctx.delivery.concurrency, (batch) =>
        deliverBatch(batch, ctx, result),
      );
    }
  }
  for (const lane of lanes) {
    for (const job of lane.jobs.slice(lane.pos)) if (job.status === null) result.held.push(job);
  }
  return result;
}

type Batch = { lane: Lane; jobs: RouterJob[] }[];

function packBatches(open: Lane[], perLane: number, maxBatchSize: number): Batch[] {
  const batches: Batch[] = [];
  let current: Batch = [];
  let size = 0;
  for (const lane of open) {
    const jobs = lane.jobs.slice(lane.pos, lane.pos + perLane);
    if (size > 0 && size + jobs.length > maxBatchSize) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push({ lane, jobs });
    size += jobs.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function deliverBatch(batch: Batch, ctx: DeliveryContext, result: RoundResult): Promise<void> {
  if (ctx.proceed?.() === false) {
    for (const chunk of batch) chunk.lane.stopped = true;
    return;
  }
  const jobs = batch.flatMap((c) => c.jobs);
  const { classification, response } = await send(jobs, ctx, result);
  if (classification === 'split' && jobs.length > 1) {
    // The destination refused the batch as a whole: find out item by item, each user still in order.
    for (const chunk of batch) {
      for (const job of chunk.jobs) {
        if (ctx.proceed?.() === false) {
          chunk.lane.stopped = true;
          break;
        }
        const single = await send([job], ctx, result);
        const c = single.classification === 'split' ? 'abort' : single.classification;
        apply(chunk.lane, [job], c, single.response, ctx, result);
        if (chunk.lane.stopped) break;
      }
    }
    return;
  }
  const c = classification === 'split' ? 'abort' : classification;
  for (const chunk of batch) apply(chunk.lane, chunk.jobs, c, response, ctx, result);
}

async function send(
  jobs: RouterJob[],
  ctx: DeliveryContext,
  result: RoundResult,
): Promise<{ classification: ReturnType<typeof classifyFor>; response: DeliveryResponse }> {
  if (ctx.delivery.rateLimitPerSecond !== undefined) {
    await ctx.limiter.acquire(ctx.destination.id, jobs.length, ctx.delivery.rateLimitPerSecond);
  }
  const specs = ctx.type.buildRequests(
    jobs.map((j) => j.payload),
    ctx.destConfig,
  );
  let worst: { classification: ReturnType<typeof classifyFor>; response: DeliveryResponse } | undefined;
  for (const spec of specs) {
    result.requests++;
    const response = await ctx.http.send(spec, ctx.delivery.timeoutMs, ctx.cancel);
    const classification = classifyFor(ctx.type, response);
    if (!worst || rank(classification) > rank(worst.classification)) worst = { classification, response };
    if (classification !== 'success') break;
  }
  return (
    worst ?? { classification: 'success', response: { kind: 'response', status: 204, headers: {}, body: '' } }
  );
}

function rank(c: ReturnType<typeof classifyFor>): number {
  return c === 'success' ? 0 : c === 'split' ? 1 : c === 'abort' ? 2 : 3;
}

function apply(
  lane: Lane,
  jobs: RouterJob[],
  classification: 'success' | 'retry' | 'abort',
  response: DeliveryResponse,
  ctx: DeliveryContext,
  result: RoundResult,
): void {
  const now = (ctx.now ?? (() => new Date()))();
  const statusCode = response.kind === 'response' ? response.status : 0;
  const text = describe(response);
  for (const job of jobs) {
    const base = {
      jobId: job.jobId,
      partitionId: job.partitionId,
      userKey: job.userKey,
      dataset: job.dataset,
      hadStatus: job.status !== null,
    };
    if (classification === 'success') {
      result.outcomes.push({ ...base, state: 'succeeded', statusCode });
      continue;
    }
    const attempts = (job.status?.attempts ?? 0) + 1;
    const firstAttemptAt = job.status && job.status.attempts > 0 ? job.status.firstAttemptAt : now;
    const giveUp =
      classification === 'abort' ||
      shouldAbort({
        attempts,
        firstAttemptAt,
        now,
        retryWindowMs: ctx.retry.windowMs,
        minAttempts: ctx.retry.minAttempts,
      });
    if (giveUp) {
      const reason =
        classification === 'abort' ? `destination refused: ${text}` : `retries exhausted: ${text}`;
      result.outcomes.push({
        ...base,
        state: 'aborted',
        statusCode,
        response: text,
        attempts,
        firstAttemptAt,
        reason,
      });
      result.failed.push({
        stage: 'router',
        workspaceId: job.workspaceId,
        sourceId: job.sourceId,
        destinationId: job.destinationId,
        partitionId: job.partitionId,
        userKey: job.userKey,
        messageId: job.messageId,
        jobId: job.jobId,
        payload: job.payload,
        attempts,
        lastStatusCode: statusCode,
        lastResponse: text,
        reason,
      });
      continue;
    }
    const retryAfter = response.kind === 'response' ? response.headers['retry-after'] : undefined;
    const delay = nextAttemptDelayMs(attempts, ctx.retry.backoff, retryAfter, ctx.random, now.getTime());
    result.outcomes.push({
      ...base,
      state: 'waiting',
      statusCode,
      response: text,
      attempts,
      firstAttemptAt,
      nextAttemptAt: new Date(now.getTime() + delay),
    });
    lane.stopped = true;
  }
  lane.pos += jobs.length;
}

function describe(response: DeliveryResponse): string {
  if (response.kind === 'network-error')
    return `network error ${response.code}: ${response.message}`.slice(0, RESPONSE_CHARS);
  return `HTTP ${response.status}: ${response.body}`.slice(0, RESPONSE_CHARS);
}

async function runWithConcurrency<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
