import type pg from 'pg';
import { GatewayWriter, type WriteResult } from './gateway-writer.ts';
import { advanceGatewayCursors, readGatewayJobs, type GatewayBatch } from './gateway-queue.ts';
import {
  insertRouterJobs,
  readRouterWork,
  recordRouterRound,
  type HeldJob,
  type RouterWork,
} from './router-queue.ts';
import { insertFailedEvents } from './failed-events.ts';
import { createPool, inTransaction } from '@rudder/common/pg';
import { migrate } from './schema.ts';
import { runMaintenance, type MaintenanceLimits, type MaintenanceReport } from './maintenance.ts';
import type { GatewayWrite, NewFailedEvent, NewRouterJob, RouterOutcome } from './types.ts';

export interface JobsDbOptions {
  url: string;
  schema: string;
  poolSize: number;
  partitions: number;
  gatewayBatch: { maxEvents: number; maxBytes: number };
  maintenance: MaintenanceLimits;
  onGatewayCommit?: (events: number, seconds: number) => void;
}

/** A check run inside every committing transaction; throws to refuse the commit (partition fencing). */
export type Fence = (client: pg.PoolClient, partitions: number[]) => Promise<void>;

/**
 * The data plane's durable queues in its tenant Postgres: ingested jobs
 * (gateway -> processor) and delivery jobs (processor -> router), plus the
 * failed-events store and the dedup table.
 */
export class JobsDb {
  readonly pool: pg.Pool;
  private readonly options: JobsDbOptions;
  private readonly writer: GatewayWriter;
  private healthy = true;

  constructor(options: JobsDbOptions) {
    this.options = options;
    this.pool = createPool({ url: options.url, schema: options.schema, max: options.poolSize });
    this.writer = new GatewayWriter(this.pool, {
      ...options.gatewayBatch,
      onCommit: (events, seconds) => {
        this.healthy = true;
        options.onGatewayCommit?.(events, seconds);
      },
    });
  }

  /** Creates the schema and tables when missing. */
  async migrate(): Promise<void> {
    await migrate(this.pool, this.options.schema, this.options.partitions);
  }

  /** Stores one request's events atomically (group commit); resolves after commit. */
  async writeGateway(write: GatewayWrite): Promise<WriteResult> {
    try {
      return await this.writer.write(write);
    } catch (err) {
      this.healthy = false;
      throw err;
    }
  }

  /** False after a failed commit until the next successful one or a passing ping. */
  isHealthy(): boolean {
    return this.healthy;
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      this.healthy = true;
    } catch {
      this.healthy = false;
    }
    return this.healthy;
  }

  /** Waits until every accepted gateway write has committed or failed. */
  async flushGateway(): Promise<void> {
    await this.writer.flushed();
  }

  readGatewayJobs(partitions: number[], perPartition: number): Promise<GatewayBatch> {
    return readGatewayJobs(this.pool, partitions, perPartition);
  }

  /**
   * The processor's hand-off: delivery jobs in, failed events recorded and the
   * ingested jobs marked done by moving cursors, all in one transaction.
   */
  async commitProcessed(
    batch: {
      routerJobs: NewRouterJob[];
      failed: NewFailedEvent[];
      cursors: { partitionId: number; from: number; to: number }[];
    },
    fence?: Fence,
  ): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      if (fence)
        await fence(
          client,
          batch.cursors.map((c) => c.partitionId),
        );
      await insertRouterJobs(client, batch.routerJobs);
      await insertFailedEvents(client, batch.failed);
      await advanceGatewayCursors(client, batch.cursors);
    });
  }

  readRouterWork(
    destinationId: string,
    partitions: number[],
    options: { perPartition: number; perUser: number },
  ): Promise<RouterWork> {
    return readRouterWork(this.pool, destinationId, partitions, options);
  }

  /** Records a delivery round (statuses, held jobs, cursors, aborted jobs) in one transaction. */
  async recordRouterRound(
    destinationId: string,
    round: {
      outcomes: (RouterOutcome & { userKey: string; dataset: number; hadStatus: boolean })[];
      held: HeldJob[];
      cursors: { partitionId: number; from: number; to: number }[];
      failed: NewFailedEvent[];
    },
    fence?: Fence,
  ): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const partitions = [
        ...new Set([...round.outcomes.map((o) => o.partitionId), ...round.cursors.map((c) => c.partitionId)]),
      ];
      if (fence) await fence(client, partitions);
      await recordRouterRound(client, destinationId, round);
      await insertFailedEvents(client, round.failed);
    });
  }

  runMaintenance(): Promise<MaintenanceReport> {
    return runMaintenance(this.pool, this.options.maintenance);
  }

  async close(): Promise<void> {
    await this.writer.flushed();
    await this.pool.end();
  }
}
