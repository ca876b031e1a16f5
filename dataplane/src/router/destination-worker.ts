import type { DestinationConfig, Logger } from '@rudder/common';
import type { Counter, Histogram } from 'prom-client';
import type { Fence, JobsDb } from '../jobsdb/index.ts';
import type { DataPlaneConfig } from '../config.ts';
import { getDestinationType, parseDestinationConfig, resolveDelivery } from '../destinations/registry.ts';
import { PollingLoop } from '../util/polling-loop.ts';
import { isFenced } from '../ownership/errors.ts';
import type { RoundTracker } from '../ownership/in-flight-rounds.ts';
import { planRound } from './ordering-barrier.ts';
import { deliverRound, type DeliveryContext } from './delivery.ts';
import type { HttpClient } from './http-client.ts';
import type { RateLimiter } from './rate-limiter.ts';

export type RouterSettings = DataPlaneConfig['router'];

export interface RouterMetrics {
  jobs: Counter<'destination' | 'outcome'>;
  requests: Counter<'destination'>;
  roundSeconds: Histogram<'destination'>;
}

export interface DestinationWorkerOptions {
  db: JobsDb;
  destination: DestinationConfig;
  partitions: () => number[];
  http: HttpClient;
  limiter: RateLimiter;
  settings: RouterSettings;
  logger: Logger;
  metrics: RouterMetrics;
  /** Checks the partition leases inside each commit. */
  fence?: Fence;
  /** Told which partitions each round works on, from its read until its commit or rollback (deliveries included). */
  rounds?: RoundTracker;
}

/** Longest idle wait: new jobs wake the worker, so this only bounds how late a retry can start. */
const MAX_IDLE_MS = 1_000;

/**
 * Delivers one destination's jobs in the partitions this worker owns, round
 * after round: read pending work, plan it through the ordering barrier, send,
 * and record every outcome and the new cursors in one transaction.
 */
export class DestinationWorker {
  private o: DestinationWorkerOptions;
  private context: DeliveryContext;
  private readonly cancel = new AbortController();
  private readonly loop: PollingLoop;

  constructor(options: DestinationWorkerOptions) {
    this.o = options;
    this.context = this.buildContext(options.destination);
    this.loop = new PollingLoop({
      step: () => this.roundOnce(),
      logger: options.logger,
      failureMessage: 'delivery round failed; retrying',
    });
  }

  get destinationId(): string {
    return this.o.destination.id;
  }

  /** Applies a changed destination config from the next round on. */
  update(destination: DestinationConfig): void {
    this.context = this.buildContext(destination);
    this.o = { ...this.o, destination };
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /**
   * Stops after the round in flight: no new request starts, requests in
   * flight are cut short (they count as failed attempts and are retried after
   * a restart), and the round's outcomes are recorded, so the drain fits the
   * shutdown deadline whatever the destination's timeout.
   */
  async stop(): Promise<void> {
    this.cancel.abort();
    await this.loop.stop();
  }

  private buildContext(destination: DestinationConfig): DeliveryContext {
    const s = this.o.settings;
    return {
      destination,
      type: getDestinationType(destination.type),
      destConfig: parseDestinationConfig(destination.type, destination.config),
      delivery: resolveDelivery(destination),
      http: this.o.http,
      limiter: this.o.limiter,
      cancel: this.cancel.signal,
      retry: {
        windowMs: (destination.delivery.retryWindowSeconds ?? s.retryWindowSeconds) * 1000,
        minAttempts: destination.delivery.minAttempts ?? s.minAttempts,
        backoff: { baseMs: s.backoffBaseMs, maxMs: s.backoffMaxMs },
      },
    };
  }

  /** Runs one round; returns how long to idle before the next (0 = go again at once). */
  async roundOnce(): Promise<number> {
    const partitions = this.o.partitions();
    if (partitions.length === 0) return this.o.settings.pollMs;
    const round = this.o.rounds?.enter(partitions);
    try {
      return await this.deliverPartitions(partitions, round ? () => round.valid() : undefined);
    } catch (err) {
      if (!isFenced(err)) throw err;
      // A handoff caught this round: its outcomes were not recorded, and the new owner delivers these jobs again.
      this.o.logger.warn({ partitions: err.partitions }, 'delivery round fenced: partition lease lost');
      return this.o.settings.pollMs;
    } finally {
      round?.leave();
    }
  }

  private async deliverPartitions(
    partitions: number[],
    proceed: (() => boolean) | undefined,
  ): Promise<number> {
    const destinationId = this.destinationId;
    const ctx = proceed ? { ...this.context, proceed } : this.context;
    const work = await this.o.db.readRouterWork(destinationId, partitions, {
      perPartition: this.o.settings.jobsPerPartition,
      perUser: Math.max(ctx.delivery.maxBatchSize, 20),
    });
    if (work.fresh.length === 0 && work.waiting.length === 0)
      return Math.max(this.o.settings.pollMs, MAX_IDLE_MS);
    const now = new Date();
    const plan = planRound(work, now);
    if (plan.lanes.length === 0 && plan.held.length === 0) {
      // Everything is waiting for a backoff to pass: sleep until the earliest one is due.
      const due = Math.min(...work.waiting.map((j) => j.status?.nextAttemptAt.getTime() ?? now.getTime()));
      return Math.min(MAX_IDLE_MS, Math.max(this.o.settings.pollMs, due - now.getTime()));
    }
    const timer = this.o.metrics.roundSeconds.startTimer({ destination: destinationId });
    const result = await deliverRound(plan.lanes, ctx);
    const held = [...plan.held, ...result.held];
    const last = new Map<number, number>();
    for (const job of work.fresh)
      last.set(job.partitionId, Math.max(last.get(job.partitionId) ?? 0, job.jobId));
    const cursors = [...last].map(([partitionId, to]) => ({
      partitionId,
      from: work.cursors.get(partitionId) ?? 0,
      to,
    }));
    await this.o.db.recordRouterRound(
      destinationId,
      { outcomes: result.outcomes, held, cursors, failed: result.failed },
      this.o.fence,
    );
    timer();
    const m = this.o.metrics;
    m.requests.inc({ destination: destinationId }, result.requests);
    for (const o of result.outcomes) m.jobs.inc({ destination: destinationId, outcome: o.state });
    return 0;
  }
}
