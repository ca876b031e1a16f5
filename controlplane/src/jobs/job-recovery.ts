import { z } from 'zod';
import type { Logger } from '@rudder/common';
import type { Db } from '../db/db.ts';
import { listUnfinishedJobs, markCompleted, markFailed } from './job-repo.ts';
import type { QueuedJob, Queues } from './queues.ts';

const onboardingData = z.object({
  jobId: z.string(),
  requestedBy: z.string(),
  requestedByEmail: z.string(),
  tenantId: z.string(),
  tenantName: z.string(),
});
const replayData = z.object({ jobId: z.string(), tenantId: z.string(), replayId: z.string() });

/** How many unfinished jobs one sweep looks at. */
const SWEEP_LIMIT = 1000;

/**
 * Brings the queues in line with the `jobs` table, when a control plane
 * starts and now and then while it runs:
 * - a job whose row was committed but which never reached Redis (the API
 *   crashed in between) is enqueued;
 * - a row that missed its final update takes BullMQ's outcome (a job the
 *   stalled-job check failed after too many crashes: no job code ran for it);
 * - a requested re-run of a failed job that did not reach Redis runs.
 * Adding is idempotent by job id, so replicas doing this together do no harm.
 */
export async function recoverJobs(deps: { db: Db; queues: Queues; logger: Logger }): Promise<void> {
  const rows = await listUnfinishedJobs(deps.db.pool, SWEEP_LIMIT);
  let requeued = 0;
  let settled = 0;
  for (const row of rows) {
    const job = await deps.queues.getJob(row.kind, row.id);
    if (job === undefined) {
      const queued = parseJob(row.kind, row.data);
      if (!queued) {
        await markFailed(deps.db.pool, row.id, 'the job record is unreadable', 'failed');
        deps.logger.error({ job: row.id }, 'unfinished job with unreadable data marked failed');
        continue;
      }
      await deps.queues.add(queued);
      requeued++;
      continue;
    }
    if (job.finishedOn === undefined) continue;
    const state = await job.getState();
    if (job.finishedOn < row.updatedAt.getTime()) {
      // The row moved on after the job finished: a re-run was requested, and maybe never reached Redis.
      if (row.state === 'queued' && state === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        requeued++;
      }
      continue;
    }
    if (state === 'completed') {
      await markCompleted(deps.db.pool, row.id, job.returnvalue);
      settled++;
    } else if (state === 'failed') {
      await markFailed(deps.db.pool, row.id, job.failedReason || 'failed', 'failed');
      settled++;
    }
  }
  if (requeued || settled) deps.logger.info({ requeued, settled }, 'job records reconciled with the queues');
}

/** How long an API call waits for Redis to take a new job before leaving it to reconciliation. */
const ENQUEUE_TIMEOUT_MS = 5_000;

/**
 * Enqueues a job whose row is committed. When Redis does not take it in time
 * the job is not lost: its row stays `queued` and reconciliation enqueues it
 * once Redis answers, so the API can still answer 202.
 */
export async function enqueueOrDefer(queues: Queues, job: QueuedJob, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${ENQUEUE_TIMEOUT_MS} ms`)),
      ENQUEUE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([queues.ensureEnqueued(job), timeout]);
  } catch (err) {
    logger.warn(
      { job: job.data.jobId, error: err instanceof Error ? err.message : String(err) },
      'could not enqueue the job now; reconciliation will',
    );
  } finally {
    clearTimeout(timer);
  }
}

/** A job's kind and data from its row, or undefined when the data does not fit the kind. */
export function parseJob(kind: QueuedJob['kind'], data: unknown): QueuedJob | undefined {
  if (kind === 'onboarding') {
    const parsed = onboardingData.safeParse(data);
    return parsed.success ? { kind, data: parsed.data } : undefined;
  }
  const parsed = replayData.safeParse(data);
  return parsed.success ? { kind, data: parsed.data } : undefined;
}
