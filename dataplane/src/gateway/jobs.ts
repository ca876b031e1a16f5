import {
  partitionOfDigest,
  toRudderError,
  userKeyDigest,
  userKeyOf,
  type IncomingEvent,
} from '@rudder/common';
import type { NewGatewayJob } from '../jobsdb/types.ts';
import { enrichEvent, type RequestFacts } from './enrich.ts';
import { rudderIdFromDigest } from './rudder-id.ts';
import type { GatewayStore, ResolvedSource } from './types.ts';

/**
 * Turns a request's validated events into gateway jobs: each event enriched,
 * keyed by its user key and assigned the partition of that key, so the worker
 * owning the partition sees each user's events in order.
 */
export function buildJobs(
  events: IncomingEvent[],
  source: ResolvedSource,
  facts: RequestFacts,
  partitions: number,
): NewGatewayJob[] {
  const jobs = new Array<NewGatewayJob>(events.length);
  for (let i = 0; i < events.length; i++) {
    const incoming = events[i]!;
    const userKey = userKeyOf(incoming);
    // One hash per event: the partition and rudderId both come from the key's digest.
    const digest = userKeyDigest(userKey);
    const event = enrichEvent(incoming, rudderIdFromDigest(digest), facts);
    jobs[i] = {
      partitionId: partitionOfDigest(digest, partitions),
      workspaceId: source.workspaceId,
      sourceId: source.source.id,
      userKey,
      messageId: event.messageId,
      receivedAt: facts.receivedAt,
      event,
    };
  }
  return jobs;
}

/**
 * Commits a request's jobs in one store call. A RudderError from the store
 * (`unavailable` with `retryAfterSeconds`) passes through to the client; any
 * other failure becomes `internal`, keeping its cause for the log but not its
 * text for the response.
 */
export async function commitJobs(
  store: GatewayStore,
  jobs: NewGatewayJob[],
  dedupWindowSeconds: number,
  bytes: number,
): Promise<{ stored: number; duplicates: number }> {
  try {
    return await store.writeGateway({ jobs, dedupWindowSeconds, bytes });
  } catch (err) {
    throw toRudderError(err);
  }
}
