import type { Logger } from '@rudder/common';
import type { Counter, Histogram } from 'prom-client';
import type { Fence, JobsDb } from '../jobsdb/index.ts';
import type { ConfigStore } from '../config/config-store.ts';
import { PollingLoop } from '../util/polling-loop.ts';
import { isFenced } from '../ownership/errors.ts';
import type { RoundTracker } from '../ownership/in-flight-rounds.ts';
import { runPipeline } from './pipeline.ts';
import type { UserTransformer } from './user-transformer.ts';

export interface ProcessorOptions {
  db: JobsDb;
  config: ConfigStore;
  transformer: UserTransformer;
  /** The partitions this worker owns right now. */
  partitions: () => number[];
  batchSize: number;
  pollMs: number;
  logger: Logger;
  metrics: { events: Counter<'outcome'>; batchSeconds: Histogram };
  /** Called after a commit with the destinations that got new delivery jobs. */
  onHandoff?: (destinationIds: Set<string>) => void;
  /** Checks the partition leases inside each commit. */
  fence?: Fence;
  /** Told which partitions each batch works on, from its read until its commit or rollback. */
  rounds?: RoundTracker;
}

/**
 * Turns ingested jobs into delivery jobs, partition by partition in job
 * order. The hand-off to the router and the advance of the ingest cursor are
 * one transaction, so a crash at any point neither loses nor repeats a hand-off.
 */
export class Processor {
  private readonly o: ProcessorOptions;
  private readonly loop: PollingLoop;

  constructor(options: ProcessorOptions) {
    this.o = options;
    this.loop = new PollingLoop({
      step: async () => ((await this.processOnce()) === 0 ? this.o.pollMs : 0),
      logger: options.logger,
      failureMessage: 'processor batch failed; retrying',
    });
  }

  start(): void {
    this.loop.start();
  }

  /** New ingested jobs exist: look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  /** Finishes the batch in progress, then stops. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Processes one batch; returns how many ingested jobs it consumed. */
  async processOnce(): Promise<number> {
    if (!this.o.config.isReady()) return 0;
    const partitions = this.o.partitions();
    if (partitions.length === 0) return 0;
    const round = this.o.rounds?.enter(partitions);
    try {
      return await this.processPartitions(partitions);
    } catch (err) {
      if (!isFenced(err)) throw err;
      // A handoff caught this batch: nothing of it was committed, and the new owner processes these jobs.
      this.o.logger.warn({ partitions: err.partitions }, 'processor commit fenced: partition lease lost');
      return 0;
    } finally {
      round?.leave();
    }
  }

  private async processPartitions(partitions: number[]): Promise<number> {
    const perPartition = Math.max(64, Math.ceil((this.o.batchSize * 4) / partitions.length));
    const batch = await this.o.db.readGatewayJobs(partitions, perPartition);
    if (batch.jobs.length === 0) return 0;
    const timer = this.o.metrics.batchSeconds.startTimer();
    const output = await runPipeline(batch.jobs, this.o.config, this.o.transformer);
    const last = new Map<number, number>();
    for (const job of batch.jobs)
      last.set(job.partitionId, Math.max(last.get(job.partitionId) ?? 0, job.jobId));
    const cursors = [...last].map(([partitionId, to]) => ({
      partitionId,
      from: batch.cursors.get(partitionId) ?? 0,
      to,
    }));
    await this.o.db.commitProcessed(
      { routerJobs: output.routerJobs, failed: output.failed, cursors },
      this.o.fence,
    );
    timer();
    this.o.metrics.events.inc({ outcome: 'handed_off' }, output.routerJobs.length);
    this.o.metrics.events.inc({ outcome: 'failed' }, output.failed.length);
    this.o.metrics.events.inc({ outcome: 'dropped' }, output.dropped);
    if (output.routerJobs.length > 0)
      this.o.onHandoff?.(new Set(output.routerJobs.map((j) => j.destinationId)));
    return batch.jobs.length;
  }
}
