import type { RudderEvent } from '@rudder/common';
import type { GatewayJob, NewFailedEvent, NewRouterJob } from '../jobsdb/index.ts';
import type { ConfigStore, Route } from '../config/config-store.ts';
import { getDestinationType, parseDestinationConfig } from '../destinations/registry.ts';
import { TransformError } from '../destinations/errors.ts';
import { passesFilter } from './event-filter.ts';
import type { UserTransformer } from './user-transformer.ts';

export interface PipelineOutput {
  routerJobs: NewRouterJob[];
  failed: NewFailedEvent[];
  /** Events dropped on purpose (filtered out, or a transformation returned nothing). */
  dropped: number;
}

/**
 * The processor's pure-ish pipeline for a batch of ingested jobs, in job
 * order: for every connected destination, event filter, user transformation,
 * destination transformation; output is delivery jobs plus visible failures.
 */
export async function runPipeline(
  jobs: GatewayJob[],
  config: ConfigStore,
  transformer: UserTransformer,
): Promise<PipelineOutput> {
  const out: PipelineOutput = { routerJobs: [], failed: [], dropped: 0 };
  // Group events by route so transformations run once per batch; ordering is restored by job id at the end.
  const groups = new Map<string, { route: Route; jobs: GatewayJob[] }>();
  for (const job of jobs) {
    if (!config.sourceExists(job.sourceId)) {
      out.failed.push(failure(job, null, 'source is no longer in the workspace config', job.event));
      continue;
    }
    for (const route of config.routesOf(job.sourceId)) {
      const type = safeType(route.destination.type);
      if (!type) {
        out.failed.push(
          failure(job, route.destination.id, `unknown destination type ${route.destination.type}`, job.event),
        );
        continue;
      }
      if (!passesFilter(job.event, route.destination.eventFilter, type.supportedMessageTypes)) {
        out.dropped++;
        continue;
      }
      const key = `${route.destination.id}\u0000${route.transformation?.id ?? ''}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { route, jobs: [] }));
      group.jobs.push(job);
    }
  }
  for (const { route, jobs: groupJobs } of groups.values()) {
    await runRoute(route, groupJobs, transformer, out);
  }
  out.routerJobs.sort((a, b) => a.gwJobId - b.gwJobId);
  return out;
}

/**
 * Runs ingested jobs through one route only, exactly as the processor does
 * for that destination (event filter, the connection's transformation, the
 * destination mapping), in job order: a replay to one destination.
 */
export async function runPipelineForRoute(
  jobs: GatewayJob[],
  route: Route,
  transformer: UserTransformer,
): Promise<PipelineOutput> {
  const out: PipelineOutput = { routerJobs: [], failed: [], dropped: 0 };
  const type = getDestinationType(route.destination.type);
  const passing = jobs.filter((job) => {
    if (passesFilter(job.event, route.destination.eventFilter, type.supportedMessageTypes)) return true;
    out.dropped++;
    return false;
  });
  if (passing.length > 0) await runRoute(route, passing, transformer, out);
  out.routerJobs.sort((a, b) => a.gwJobId - b.gwJobId);
  return out;
}

async function runRoute(
  route: Route,
  jobs: GatewayJob[],
  transformer: UserTransformer,
  out: PipelineOutput,
): Promise<void> {
  const destination = route.destination;
  const type = getDestinationType(destination.type);
  let destConfig: unknown;
  try {
    destConfig = parseDestinationConfig(destination.type, destination.config);
  } catch (err) {
    for (const job of jobs)
      out.failed.push(failure(job, destination.id, `invalid destination config: ${message(err)}`, job.event));
    return;
  }
  let inputs: { job: GatewayJob; events: RudderEvent[] }[] = jobs.map((job) => ({
    job,
    events: [job.event],
  }));
  if (route.transformation) {
    const results = await transformer.run(
      route.transformation,
      jobs.map((j) => j.event),
      {
        workspaceId: jobs[0]!.workspaceId,
        sourceId: jobs[0]!.sourceId,
        destinationId: destination.id,
        destinationType: destination.type,
      },
    );
    inputs = [];
    jobs.forEach((job, i) => {
      const result = results[i];
      if (!result)
        out.failed.push(failure(job, destination.id, 'user transformation returned no result', job.event));
      else if (!result.ok)
        out.failed.push(
          failure(job, destination.id, `user transformation failed: ${result.error}`, job.event),
        );
      else if (result.events.length === 0) out.dropped++;
      else inputs.push({ job, events: result.events });
    });
  }
  for (const { job, events } of inputs) {
    for (const event of events) {
      let items: unknown[];
      try {
        items = type.transform(event, destConfig);
      } catch (err) {
        const reason =
          err instanceof TransformError ? `${err.code}: ${err.message}` : `transform failed: ${message(err)}`;
        out.failed.push(failure(job, destination.id, reason, event));
        continue;
      }
      if (items.length === 0) out.dropped++;
      for (const payload of items) {
        out.routerJobs.push({
          partitionId: job.partitionId,
          workspaceId: job.workspaceId,
          sourceId: job.sourceId,
          destinationId: destination.id,
          userKey: job.userKey,
          messageId: job.messageId,
          gwJobId: job.jobId,
          payload,
        });
      }
    }
  }
}

function failure(
  job: GatewayJob,
  destinationId: string | null,
  reason: string,
  payload: unknown,
): NewFailedEvent {
  return {
    stage: 'processor',
    workspaceId: job.workspaceId,
    sourceId: job.sourceId,
    destinationId,
    partitionId: job.partitionId,
    userKey: job.userKey,
    messageId: job.messageId,
    jobId: job.jobId,
    payload,
    attempts: 0,
    lastStatusCode: null,
    lastResponse: null,
    reason,
  };
}

function safeType(type: string): ReturnType<typeof getDestinationType> | undefined {
  try {
    return getDestinationType(type);
  } catch {
    return undefined;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs one stored event through one destination's route again (re-drive of a
 * processing failure): only that destination gets new delivery jobs.
 */
export async function reprocessForDestination(
  job: GatewayJob,
  destinationId: string,
  config: ConfigStore,
  transformer: UserTransformer,
): Promise<PipelineOutput> {
  const out: PipelineOutput = { routerJobs: [], failed: [], dropped: 0 };
  const route = config.routesOf(job.sourceId).find((r) => r.destination.id === destinationId);
  if (!route) {
    out.failed.push(
      failure(job, destinationId, 'destination is not connected to the source (or is disabled)', job.event),
    );
    return out;
  }
  await runRoute(route, [job], transformer, out);
  return out;
}
