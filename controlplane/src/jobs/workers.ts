import { Worker, type WorkerOptions } from 'bullmq';
import type { AppDeps } from '../http/deps.ts';
import { errorMessage, mirroredProcessor } from './job-runner.ts';
import { recoverJobs } from './job-recovery.ts';
import { runOnboarding, type OnboardingResult } from './onboarding.ts';
import { QUEUE_NAMES, type OnboardingJobData, type ReplayJobData } from './queues.ts';
import { runReplayJob, type ReplayResult } from './replay-job.ts';

/** How often onboarding reads the RudderInstance's Ready condition. */
const READY_POLL_MS = 1_000;
/** How long one onboarding attempt waits for the RudderInstance to become Ready. */
const READY_TIMEOUT_MS = 15 * 60_000;
/** How often a replay job reads what the data plane reported. */
const REPLAY_POLL_MS = 1_000;
/**
 * Crashes a job survives (it is requeued when its lock lapses) before it
 * fails: enough for a few restarts in a row, few enough that a job that
 * crashes the process every time does not loop forever.
 */
const MAX_STALLED_COUNT = 3;
/** How often job rows are reconciled with the queues while running (and once at start). */
const RECONCILE_INTERVAL_MS = 30_000;

/**
 * Starts the BullMQ workers of both queues. A job whose process dies is
 * picked up again (by another replica or the restarted process) once its
 * lock, renewed every `JOBS_LOCK_MS / 2` while it runs, lapses. `close`
 * stops taking jobs, hands long waits (a replay, an instance becoming
 * Ready) back to the queue, and waits for the other jobs to finish.
 */
export function startJobWorkers(deps: AppDeps): { close(): Promise<void> } {
  const { config, logger } = deps;
  const shutdown = new AbortController();
  const runner = { db: deps.db, logger, shutdown: shutdown.signal };
  const lockMs = Math.max(1_000, config.jobs.lockMs);
  const options: WorkerOptions = {
    connection: deps.queues.connection,
    prefix: deps.queues.prefix,
    concurrency: Math.max(1, config.jobs.concurrency),
    lockDuration: lockMs,
    // Checked as often as locks lapse, so a dead process's jobs wait about one lock period.
    stalledInterval: lockMs,
    maxStalledCount: MAX_STALLED_COUNT,
  };

  const onboarding = new Worker<OnboardingJobData, OnboardingResult | undefined>(
    QUEUE_NAMES.onboarding,
    mirroredProcessor(runner, (data, ctx) =>
      runOnboarding(deps, data, ctx, { readyPollMs: READY_POLL_MS, readyTimeoutMs: READY_TIMEOUT_MS }),
    ),
    options,
  );
  const replay = new Worker<ReplayJobData, ReplayResult | undefined>(
    QUEUE_NAMES.replay,
    mirroredProcessor(runner, (data, ctx) =>
      runReplayJob(deps, data, ctx, {
        pollMs: REPLAY_POLL_MS,
        timeoutSeconds: config.jobs.replayTimeoutSeconds,
      }),
    ),
    options,
  );
  for (const worker of [onboarding, replay] as Worker[]) {
    worker.on('error', (err) =>
      logger.error({ queue: worker.name, error: errorMessage(err) }, 'job worker error'),
    );
    worker.on('stalled', (jobId) =>
      logger.warn({ queue: worker.name, job: jobId }, 'job stalled (its process died); it runs again'),
    );
  }

  let reconciling: Promise<void> = Promise.resolve();
  const reconcile = (): void => {
    reconciling = reconciling
      .then(() => recoverJobs(deps))
      .catch((err: unknown) => logger.error({ error: errorMessage(err) }, 'job reconciliation failed'));
  };
  reconcile();
  const timer = setInterval(reconcile, RECONCILE_INTERVAL_MS);
  timer.unref();

  return {
    close: async () => {
      clearInterval(timer);
      // Closing first stops the workers from fetching; only then are the waits handed back,
      // so a handed-back job is not picked up again by this process.
      const closing = Promise.all([onboarding.close(), replay.close()]);
      shutdown.abort();
      await closing;
      await reconciling;
    },
  };
}
