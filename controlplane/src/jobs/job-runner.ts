import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, WaitingError, type Job, type Processor } from 'bullmq';
import { RudderError, type Logger } from '@rudder/common';
import type { Db } from '../db/db.ts';
import { markActive, markCompleted, markFailed, markRequeued, recordProgress } from './job-repo.ts';

/** What a job's body gets from the runner. */
export interface JobContext {
  jobId: string;
  log: Logger;
  /** The progress earlier attempts recorded (`{}` on the first): which steps are already done. */
  previousProgress: Record<string, unknown>;
  /** Records progress on the `jobs` row and on the BullMQ job. */
  report(progress: object): Promise<void>;
  /**
   * Waits `ms` between two polls. When this process starts shutting down
   * meanwhile, the job is handed back to the queue (without using up an
   * attempt) so another or the restarted process continues it.
   */
  pause(ms: number): Promise<void>;
}

/** Thrown out of `pause` when the process shuts down; the runner turns it into a hand-back. */
class HandBack extends Error {}

/**
 * Wraps a job body into a BullMQ processor that keeps the job's row in step:
 * `active` with the attempt number when it starts, progress as it goes,
 * `completed` with the result, or `retrying`/`failed` with the error. Every
 * write to the row happens before BullMQ records the outcome, so after a
 * crash the row is never ahead of Redis; a stalled job simply runs again.
 */
export function mirroredProcessor<D extends { jobId: string; tenantId: string }, R>(
  options: { db: Db; logger: Logger; shutdown: AbortSignal },
  body: (data: D, ctx: JobContext) => Promise<R>,
): Processor<D, R | undefined> {
  const { db, shutdown } = options;
  return async (job: Job<D, R | undefined>, token?: string) => {
    const { jobId, tenantId } = job.data;
    const log = options.logger.child({ job: jobId, queue: job.queueName, tenant: tenantId });
    const attempt = job.attemptsStarted;
    const previousProgress = await markActive(db.pool, jobId, attempt);
    if (previousProgress === undefined) {
      // Its row was rolled back after the enqueue (the API answered an error): nobody waits for it.
      log.warn('job has no record; dropping it');
      return undefined;
    }
    log.debug({ attempt }, 'job started');
    const ctx: JobContext = {
      jobId,
      log,
      previousProgress,
      report: async (progress) => {
        await Promise.all([recordProgress(db.pool, jobId, progress), job.updateProgress(progress)]);
      },
      pause: async (ms) => {
        try {
          await sleep(ms, undefined, { signal: shutdown });
        } catch {
          throw new HandBack('shutting down');
        }
      },
    };
    try {
      const result = await body(job.data, ctx);
      await markCompleted(db.pool, jobId, result);
      log.info({ attempt }, 'job completed');
      return result;
    } catch (err) {
      if (err instanceof HandBack) {
        await handBack(job, token, db, log);
        throw new WaitingError();
      }
      const message = errorMessage(err);
      const retrying = willRetry(job, err) && !isPermanent(err);
      await markFailed(db.pool, jobId, message, retrying ? 'retrying' : 'failed').catch((e: unknown) =>
        log.error({ error: errorMessage(e) }, 'could not record the job failure'),
      );
      if (retrying) log.warn({ attempt, error: message }, 'job attempt failed; it will be retried');
      else log.error({ attempt, error: message }, 'job failed');
      // A refusal (a taken id, a missing object) would only be refused again: no retries.
      throw retrying || err instanceof UnrecoverableError ? err : new UnrecoverableError(message);
    }
  };
}

async function handBack(job: Job, token: string | undefined, db: Db, log: Logger): Promise<void> {
  try {
    await job.moveToWait(token);
    await markRequeued(db.pool, job.id!);
    log.info('job handed back to the queue for shutdown');
  } catch (err) {
    // The lock lapses once this worker stops renewing it; the stalled-job check then requeues it.
    log.warn({ error: errorMessage(err) }, 'could not hand the job back; it will be picked up as stalled');
  }
}

/** Mirrors BullMQ's own decision (Job.shouldRetryJob) so the row says `retrying` only when it will. */
function willRetry(job: Job, err: unknown): boolean {
  if (err instanceof UnrecoverableError) return false;
  return job.attemptsMade + 1 < (job.opts.attempts ?? 1);
}

/** Errors that say what was asked cannot be done (RudderError's 4xx codes), as opposed to a failure. */
function isPermanent(err: unknown): boolean {
  return err instanceof RudderError && err.status < 500;
}

/** The message stored on the job and logged; callers never put secrets in error messages. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}
