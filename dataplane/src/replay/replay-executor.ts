import type pg from 'pg';
import { inTransaction } from '@rudder/common/pg';
import type { ConfigStore } from '../config/config-store.ts';
import { isUndefinedTable } from '../jobsdb/datasets.ts';
import { insertFailedEvents } from '../jobsdb/failed-events.ts';
import { insertRouterJobs } from '../jobsdb/router-queue.ts';
import { lockPartitionsForInsert } from '../ownership/lease-store.ts';
import { runPipelineForRoute } from '../processor/pipeline.ts';
import type { UserTransformer } from '../processor/user-transformer.ts';
import { countInRange, highWaterMark, readReplayChunk } from './replay-reader.ts';
import {
  advanceProgress,
  createProgress,
  getProgress,
  lockProgress,
  type ReplayProgress,
} from './replay-progress.ts';
import { resolveReplayRoute } from './replay-route.ts';
import type { Replay, ReplayReport } from './types.ts';

/** What one call of {@link ReplayExecutor.runChunk} did. */
export type ChunkOutcome =
  /** A chunk was enqueued, or the replay had nothing left (`done`). */
  | { kind: 'progressed'; replayed: number; total: number; done: boolean }
  /** The next event of the range is still ahead of the processor; try again later. */
  | { kind: 'waiting'; replayed: number; total: number }
  /** Another worker is running a chunk of this replay right now. */
  | { kind: 'busy' }
  /** The replay cannot run with the current config. */
  | { kind: 'failed'; replayed: number; total: number; error: string };

export interface ReplayExecutorOptions {
  pool: pg.Pool;
  config: ConfigStore;
  transformer: UserTransformer;
  /** Ingested events per chunk. */
  chunkSize: number;
  /** Called after a chunk committed delivery jobs for `destinationId` (to wake its router worker). */
  onEnqueued?: (destinationId: string) => void;
  /** The partition lease time: bounds how long a stalled chunk can hold the partitions' lease rows. */
  leaseMs?: number;
}

/**
 * Runs replays chunk by chunk: each chunk reads the next events of the
 * source in the range (archives first, then live datasets), runs them through
 * the destination's pipeline, and inserts the delivery jobs in the same
 * transaction that moves the replay's cursor. A crash therefore never
 * enqueues a chunk twice, and the row lock on the progress row keeps two
 * workers from running the same chunk.
 *
 * A chunk adds delivery jobs to partitions other workers own, so it is not
 * partition-fenced; instead it locks those partitions' lease rows before
 * inserting, which makes it take turns with the owners' commits: per
 * partition, delivery jobs still commit in job-id order.
 */
export class ReplayExecutor {
  private readonly o: ReplayExecutorOptions;

  constructor(options: ReplayExecutorOptions) {
    this.o = options;
  }

  /** Runs the next chunk of `replay`. */
  async runChunk(replay: Replay): Promise<ChunkOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.chunkOnce(replay);
      } catch (err) {
        // Maintenance renamed or dropped a table this chunk was reading: look the tables up again.
        if (isUndefinedTable(err) && attempt < 10) continue;
        throw err;
      }
    }
  }

  private async chunkOnce(replay: Replay): Promise<ChunkOutcome> {
    const progress = await getProgress(this.o.pool, replay.id);
    if (progress?.done) return finished(progress);
    const route = resolveReplayRoute(this.o.config, replay.sourceId, replay.destinationId);
    if (typeof route === 'string')
      return { kind: 'failed', replayed: progress?.replayed ?? 0, total: progress?.total ?? 0, error: route };
    if (!progress) await this.begin(replay);

    const { outcome, enqueued } = await inTransaction(
      this.o.pool,
      async (tx): Promise<{ outcome: ChunkOutcome; enqueued: number }> => {
        const locked = await lockProgress(tx, replay.id);
        if (!locked) return { outcome: { kind: 'busy' }, enqueued: 0 };
        if (locked.done) return { outcome: finished(locked), enqueued: 0 };
        const range = {
          sourceId: replay.sourceId,
          from: replay.from,
          to: replay.to,
          highJobId: locked.highJobId,
        };
        const chunk = await readReplayChunk(tx, range, locked.cursor, this.o.chunkSize);
        if (chunk.jobs.length === 0 && chunk.waiting)
          return {
            outcome: { kind: 'waiting', replayed: locked.replayed, total: locked.total },
            enqueued: 0,
          };
        const output = await runPipelineForRoute(chunk.jobs, route, this.o.transformer);
        await lockPartitionsForInsert(
          tx,
          output.routerJobs.map((j) => j.partitionId),
          this.o.leaseMs ?? 10_000,
        );
        await insertRouterJobs(tx, output.routerJobs);
        await insertFailedEvents(tx, output.failed);
        await advanceProgress(tx, replay.id, {
          cursor: chunk.cursor,
          replayed: chunk.jobs.length,
          enqueued: output.routerJobs.length,
          done: chunk.exhausted,
        });
        const replayed = locked.replayed + chunk.jobs.length;
        return {
          outcome: { kind: 'progressed', replayed, total: locked.total, done: chunk.exhausted },
          enqueued: output.routerJobs.length,
        };
      },
    );
    if (enqueued > 0) this.o.onEnqueued?.(replay.destinationId);
    return outcome;
  }

  /** Fixes the replay's end (the newest committed job) and counts its events. */
  private async begin(replay: Replay): Promise<void> {
    const highJobId = await highWaterMark(this.o.pool);
    const total = await countInRange(this.o.pool, {
      sourceId: replay.sourceId,
      from: replay.from,
      to: replay.to,
      highJobId,
    });
    await createProgress(this.o.pool, replay, { highJobId, total });
  }
}

function finished(progress: ReplayProgress): ChunkOutcome {
  return { kind: 'progressed', replayed: progress.replayed, total: progress.total, done: true };
}

/**
 * What to tell the control plane after a chunk; undefined when there is
 * nothing to say (another worker has the replay). A finished replay that
 * replayed fewer events than it counted at the start lost some to archive
 * retention on the way: it fails, saying how many.
 */
export function reportFor(outcome: ChunkOutcome): ReplayReport | undefined {
  switch (outcome.kind) {
    case 'busy':
      return undefined;
    case 'waiting':
      return { status: 'running', replayed: outcome.replayed, total: outcome.total };
    case 'failed':
      return { status: 'failed', replayed: outcome.replayed, total: outcome.total, error: outcome.error };
    case 'progressed': {
      const { replayed, total } = outcome;
      if (!outcome.done) return { status: 'running', replayed, total };
      if (replayed >= total) return { status: 'completed', replayed, total };
      return {
        status: 'failed',
        replayed,
        total,
        error: `${total - replayed} of the ${total} events in range expired from the archive before they were replayed; the others were enqueued`,
      };
    }
  }
}
