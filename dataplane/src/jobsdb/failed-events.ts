import type pg from 'pg';
import type { FailedEvent, NewFailedEvent, NewRouterJob } from './types.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

const MAX_RESPONSE_CHARS = 4096;

/** Records events that were aborted by the router or failed in the processor. */
export async function insertFailedEvents(client: Queryable, events: NewFailedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO failed_events (stage, workspace_id, source_id, destination_id, partition_id, user_key, message_id, job_id,
                                payload, attempts, last_status_code, last_response, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::bigint[],
                          $9::json[], $10::int[], $11::int[], $12::text[], $13::text[])`,
    [
      events.map((e) => e.stage),
      events.map((e) => e.workspaceId),
      events.map((e) => e.sourceId),
      events.map((e) => e.destinationId),
      events.map((e) => e.partitionId),
      events.map((e) => e.userKey),
      events.map((e) => e.messageId),
      events.map((e) => e.jobId),
      events.map((e) => JSON.stringify(e.payload ?? null)),
      events.map((e) => e.attempts),
      events.map((e) => e.lastStatusCode),
      events.map((e) => (e.lastResponse === null ? null : e.lastResponse.slice(0, MAX_RESPONSE_CHARS))),
      events.map((e) => e.reason),
    ],
  );
}

export interface FailedEventFilter {
  destinationId?: string;
  sourceId?: string;
  stage?: 'processor' | 'router';
  /** Include events already re-driven. */
  includeRedriven?: boolean;
  /** Page after this id. */
  afterId?: number;
  limit: number;
}

interface FailedRow {
  id: number;
  stage: 'processor' | 'router';
  workspace_id: string;
  source_id: string;
  destination_id: string | null;
  partition_id: number;
  user_key: string;
  message_id: string;
  job_id: number;
  payload: unknown;
  attempts: number;
  last_status_code: number | null;
  last_response: string | null;
  reason: string;
  failed_at: Date;
  redriven_at: Date | null;
}

/** Lists failed events, oldest first, with keyset paging. */
export async function listFailedEvents(client: Queryable, filter: FailedEventFilter): Promise<FailedEvent[]> {
  const result = await client.query<FailedRow>(
    `SELECT * FROM failed_events
     WHERE ($1::text IS NULL OR destination_id = $1) AND ($2::text IS NULL OR source_id = $2)
       AND ($3::text IS NULL OR stage = $3) AND ($4::boolean OR redriven_at IS NULL) AND id > $5
     ORDER BY id LIMIT $6`,
    [
      filter.destinationId ?? null,
      filter.sourceId ?? null,
      filter.stage ?? null,
      filter.includeRedriven ?? false,
      filter.afterId ?? 0,
      filter.limit,
    ],
  );
  return result.rows.map(toFailedEvent);
}

export async function getFailedEvent(client: Queryable, id: number): Promise<FailedEvent | undefined> {
  const result = await client.query<FailedRow>('SELECT * FROM failed_events WHERE id = $1', [id]);
  const row = result.rows[0];
  return row ? toFailedEvent(row) : undefined;
}

/** Counts of not-yet-redriven failed events per destination (null = processor stage). */
export async function countFailedEvents(
  client: Queryable,
): Promise<{ destinationId: string | null; count: number }[]> {
  const result = await client.query<{ destination_id: string | null; count: number }>(
    `SELECT destination_id, count(*)::int AS count FROM failed_events WHERE redriven_at IS NULL GROUP BY destination_id`,
  );
  return result.rows.map((r) => ({ destinationId: r.destination_id, count: r.count }));
}

function toFailedEvent(row: FailedRow): FailedEvent {
  return {
    id: row.id,
    stage: row.stage,
    workspaceId: row.workspace_id,
    sourceId: row.source_id,
    destinationId: row.destination_id,
    partitionId: row.partition_id,
    userKey: row.user_key,
    messageId: row.message_id,
    jobId: row.job_id,
    payload: row.payload,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastResponse: row.last_response,
    reason: row.reason,
    failedAt: row.failed_at,
    redrivenAt: row.redriven_at,
  };
}

/** A failed event to re-drive and the delivery jobs that replace it. */
export interface RedriveJob {
  failedId: number;
  jobs: NewRouterJob[];
}

/**
 * Puts failed events back in front of their user's delivery queue: new
 * delivery jobs that start out held (waiting, due now), so the ordering
 * barrier delivers them before the user's later events, and the failed
 * events marked re-driven, in one transaction. Returns the ids re-driven:
 * an event another request (on this or another worker) re-drove first is
 * skipped, so concurrent re-drives never enqueue an event twice.
 *
 * Not partition-fenced, and needs not be: the jobs start out `waiting`, which
 * the partition's owner reads whatever its cursor, and nothing the owner
 * wrote is changed.
 */
export async function redrive(
  client: pg.PoolClient,
  dataset: number,
  redrives: RedriveJob[],
): Promise<number[]> {
  const pending = await client.query<{ id: number }>(
    'SELECT id FROM failed_events WHERE id = ANY($1::bigint[]) AND redriven_at IS NULL ORDER BY id FOR UPDATE',
    [redrives.map((r) => r.failedId)],
  );
  const still = new Set(pending.rows.map((r) => r.id));
  const todo = redrives.filter((r) => still.has(r.failedId));
  const jobs = todo.flatMap((r) => r.jobs);
  if (jobs.length > 0) {
    await client.query(
      `WITH inserted AS (
         INSERT INTO rt_jobs_${dataset} (partition_id, workspace_id, source_id, destination_id, user_key, message_id, gw_job_id, payload)
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::json[])
         RETURNING job_id, destination_id, partition_id, user_key
       )
       INSERT INTO rt_status_${dataset} (job_id, destination_id, partition_id, user_key, state, attempts)
       SELECT job_id, destination_id, partition_id, user_key, 'waiting', 0 FROM inserted`,
      [
        jobs.map((j) => j.partitionId),
        jobs.map((j) => j.workspaceId),
        jobs.map((j) => j.sourceId),
        jobs.map((j) => j.destinationId),
        jobs.map((j) => j.userKey),
        jobs.map((j) => j.messageId),
        jobs.map((j) => j.gwJobId),
        jobs.map((j) => JSON.stringify(j.payload ?? null)),
      ],
    );
  }
  const ids = todo.map((r) => r.failedId);
  await client.query('UPDATE failed_events SET redriven_at = now() WHERE id = ANY($1::bigint[])', [ids]);
  return ids;
}
