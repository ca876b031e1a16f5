import { Queue, type ConnectionOptions, type Job } from 'bullmq';

export const QUEUE_NAMES = { onboarding: 'onboarding', replay: 'replay' } as const;
export type JobKind = keyof typeof QUEUE_NAMES;

export interface OnboardingJobData {
  /** The API's job id (the `jobs` row); also the BullMQ job id, so a retried enqueue is a no-op. */
  jobId: string;
  requestedBy: string;
  /** For the audit entry of the tenant's creation. */
  requestedByEmail: string;
  tenantId: string;
  tenantName: string;
}

export interface ReplayJobData {
  jobId: string;
  tenantId: string;
  replayId: string;
}

/** A job with the data of its kind. */
export type QueuedJob =
  { kind: 'onboarding'; data: OnboardingJobData } | { kind: 'replay'; data: ReplayJobData };

/** Every attempt of a job; a job that still fails after these is `failed`. */
export const JOB_ATTEMPTS = 5;

/** The control plane's BullMQ queues. Retries with exponential backoff; finished jobs are trimmed. */
export class Queues {
  readonly onboarding: Queue<OnboardingJobData>;
  readonly replay: Queue<ReplayJobData>;
  /** What workers connect with: the same Redis and key prefix as the queues. */
  readonly connection: ConnectionOptions;
  readonly prefix: string;

  constructor(options: { connection: ConnectionOptions; prefix: string }) {
    this.connection = options.connection;
    this.prefix = options.prefix;
    const defaultJobOptions = {
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2_000 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600 },
    };
    this.onboarding = new Queue(QUEUE_NAMES.onboarding, {
      connection: options.connection,
      prefix: options.prefix,
      defaultJobOptions,
    });
    this.replay = new Queue(QUEUE_NAMES.replay, {
      connection: options.connection,
      prefix: options.prefix,
      defaultJobOptions,
    });
  }

  /**
   * Makes sure the job is in its queue (its id is `data.jobId`): adds it when
   * absent, runs a failed one again from its first attempt, and leaves a
   * waiting, running or completed one alone. Safe to call any number of times.
   */
  async ensureEnqueued(job: QueuedJob): Promise<void> {
    const existing = await this.getJob(job.kind, job.data.jobId);
    if (existing === undefined) await this.add(job);
    else if (await existing.isFailed())
      await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  }

  /** Adds the job unless one with its id exists (BullMQ ignores a second add of an id). */
  async add(job: QueuedJob): Promise<void> {
    if (job.kind === 'onboarding') await this.onboarding.add(job.kind, job.data, { jobId: job.data.jobId });
    else await this.replay.add(job.kind, job.data, { jobId: job.data.jobId });
  }

  getJob(kind: JobKind, jobId: string): Promise<Job | undefined> {
    return kind === 'onboarding' ? this.onboarding.getJob(jobId) : this.replay.getJob(jobId);
  }

  async close(): Promise<void> {
    await Promise.all([this.onboarding.close(), this.replay.close()]);
  }
}
