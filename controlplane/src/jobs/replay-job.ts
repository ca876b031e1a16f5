import { UnrecoverableError } from 'bullmq';
import { RudderError } from '@rudder/common';
import type { Db } from '../db/db.ts';
import type { JobContext } from './job-runner.ts';
import type { ReplayJobData } from './queues.ts';
import { getReplay, transitionReplay, type ReplayStatus } from './replay-repo.ts';

/** The replay job's progress: the data plane's last report. */
export interface ReplayProgress {
  replayId: string;
  status: ReplayStatus;
  replayed: number;
  total: number | null;
}

export interface ReplayResult extends ReplayProgress {
  status: 'completed' | 'cancelled';
}

export interface ReplayJobOptions {
  /** How often the replay's row is read. */
  pollMs: number;
  /** How long after its request a replay may run before it is failed. */
  timeoutSeconds: number;
}

/**
 * Watches a replay that the tenant's data plane runs: mirrors what the data
 * plane reports (replayed/total) into the job's progress until the replay
 * ends. Completes when the data plane reports `completed` (or a user
 * cancelled it), fails with the data plane's error when it reports `failed`,
 * and fails the replay itself when it outlives its deadline. Holds no state
 * of its own, so a re-run after a crash simply watches again.
 */
export async function runReplayJob(
  deps: { db: Db },
  data: ReplayJobData,
  ctx: JobContext,
  options: ReplayJobOptions,
): Promise<ReplayResult> {
  let reported: string | undefined;
  for (;;) {
    const replay = await getReplay(deps.db.pool, data.tenantId, data.replayId);
    if (!replay) throw new UnrecoverableError(`replay ${data.replayId} does not exist`);
    const progress: ReplayProgress = {
      replayId: replay.id,
      status: replay.status,
      replayed: replay.replayed,
      total: replay.total,
    };
    const key = JSON.stringify(progress);
    if (key !== reported) {
      await ctx.report(progress);
      reported = key;
    }
    switch (replay.status) {
      case 'completed':
      case 'cancelled':
        return { ...progress, status: replay.status };
      case 'failed':
        throw new UnrecoverableError(replay.error ?? 'the replay failed');
      case 'requested':
      case 'running':
        break;
    }
    // Measured from the request, so neither a restart nor a wait in the queue extends it.
    const deadline = Date.parse(replay.createdAt) + options.timeoutSeconds * 1000;
    if (Date.now() >= deadline) {
      await transitionReplay(deps.db.pool, data.tenantId, data.replayId, {
        status: 'failed',
        error: `timed out after ${options.timeoutSeconds} s`,
      }).catch((err: unknown) => {
        // The data plane finished it in the meantime: the next read shows how.
        if (!(err instanceof RudderError && err.code === 'conflict')) throw err;
      });
      continue;
    }
    await ctx.pause(Math.min(options.pollMs, Math.max(0, deadline - Date.now())));
  }
}
