import { Queue, type ConnectionOptions } from 'bullmq';

export const QUEUE_NAMES = { onboarding: 'onboarding', replay: 'replay' } as const;

export interface OnboardingJobData {
  /** The API's job id (the `jobs` row); also the BullMQ job id, so a retried enqueue is a no-op. */
  jobId: string;
  requestedBy: string;
  tenantId: string;
  tenantName: string;
}

export interface ReplayJobData {
  jobId: string;
  tenantId: string;
  replayId: string;
}

/** The control plane's BullMQ queues. Retries with exponential backoff; finished jobs are trimmed. */
export class Queues {
  readonly onboarding: Queue<OnboardingJobData>;
  readonly replay: Queue<ReplayJobData>;

  constructor(options: { connection: ConnectionOptions; prefix: string }) {
    const defaultJobOptions = {
      attempts: 5,
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

  async close(): Promise<void> {
    await Promise.all([this.onboarding.close(), this.replay.close()]);
  }
}
