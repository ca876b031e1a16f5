import type { RudderEvent } from '@rudder/common';
import { RudderError } from '@rudder/common';
import {
  currentDataset,
  getFailedEvent,
  inTransaction,
  redrive,
  type FailedEvent,
  type JobsDb,
  type RedriveJob,
} from '../jobsdb/index.ts';
import type { ConfigStore } from '../config/config-store.ts';
import { reprocessForDestination } from '../processor/pipeline.ts';
import type { UserTransformer } from '../processor/user-transformer.ts';

export interface RedriveReport {
  redriven: number[];
  /** Failed events that could not be re-driven, with why (they stay in the store). */
  refused: { id: number; reason: string }[];
}

/**
 * Re-drives failed events: delivery failures go back to their destination as
 * they were; processing failures run through that destination's pipeline
 * again with the current config. Each re-driven event is delivered before
 * its user's later events.
 */
export async function redriveFailedEvents(
  ids: number[],
  deps: { db: JobsDb; config: ConfigStore; transformer: UserTransformer },
): Promise<RedriveReport> {
  const report: RedriveReport = { redriven: [], refused: [] };
  const plans: RedriveJob[] = [];
  for (const id of ids) {
    const failed = await getFailedEvent(deps.db.pool, id);
    if (!failed) throw new RudderError('not_found', `failed event ${id} not found`);
    if (failed.redrivenAt) {
      report.refused.push({ id, reason: 'already re-driven' });
      continue;
    }
    const planned = await plan(failed, deps);
    if (typeof planned === 'string') report.refused.push({ id, reason: planned });
    else plans.push(planned);
  }
  if (plans.length > 0) {
    const done = new Set(
      await inTransaction(deps.db.pool, async (client) =>
        redrive(client, await currentDataset(client, 'rt'), plans),
      ),
    );
    for (const p of plans) {
      if (done.has(p.failedId)) report.redriven.push(p.failedId);
      else report.refused.push({ id: p.failedId, reason: 'already re-driven' });
    }
  }
  return report;
}

async function plan(
  failed: FailedEvent,
  deps: { config: ConfigStore; transformer: UserTransformer },
): Promise<RedriveJob | string> {
  if (failed.destinationId === null)
    return 'no destination to re-drive to (the source was removed from the config)';
  const base = {
    partitionId: failed.partitionId,
    workspaceId: failed.workspaceId,
    sourceId: failed.sourceId,
    destinationId: failed.destinationId,
    userKey: failed.userKey,
    messageId: failed.messageId,
    gwJobId: failed.jobId,
  };
  if (failed.stage === 'router') return { failedId: failed.id, jobs: [{ ...base, payload: failed.payload }] };
  const output = await reprocessForDestination(
    {
      jobId: failed.jobId,
      partitionId: failed.partitionId,
      workspaceId: failed.workspaceId,
      sourceId: failed.sourceId,
      userKey: failed.userKey,
      messageId: failed.messageId,
      receivedAt: failed.failedAt,
      event: failed.payload as RudderEvent,
    },
    failed.destinationId,
    deps.config,
    deps.transformer,
  );
  if (output.failed.length > 0) return `processing failed again: ${output.failed[0]!.reason}`;
  return { failedId: failed.id, jobs: output.routerJobs.map((j) => ({ ...base, payload: j.payload })) };
}
