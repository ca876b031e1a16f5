import type pg from 'pg';
import { listGatewayTables, type GatewayTable } from '../jobsdb/datasets.ts';
import { toJob, type GatewayJob, type GatewayRow } from '../jobsdb/index.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Reads a replay's events from the archives and the live gateway datasets.
 * Events are read in job order (the order they were ingested and
 * processed, so each user's events keep their order); `received_at` only
 * selects them. Job ids grow across datasets, so a (dataset, job id) cursor
 * names a position in the whole log. A table that was renamed or dropped
 * under a query fails it with 42P01: callers retry.
 */

/** Which events a replay covers. */
export interface ReplayRange {
  sourceId: string;
  from: Date;
  to: Date;
  /** Events with a higher job id arrived after the replay started. */
  highJobId: number;
}

export interface ReplayCursor {
  datasetIdx: number;
  jobId: number;
}

export interface ReplayChunk {
  jobs: GatewayJob[];
  /** Where the next chunk starts. */
  cursor: ReplayCursor;
  /** No event of the range is left after the cursor. */
  exhausted: boolean;
  /** Stopped at an event the processor has not handled yet (see {@link readReplayChunk}). */
  waiting: boolean;
}

/** The newest committed ingested job id: the end of a replay that starts now. */
export async function highWaterMark(client: Queryable): Promise<number> {
  const tables = await listGatewayTables(client);
  for (const t of tables.reverse()) {
    const result = await client.query<{ max: number | null }>(`SELECT max(job_id) AS max FROM ${t.table}`);
    const max = result.rows[0]?.max;
    if (max !== null && max !== undefined) return max;
  }
  return 0;
}

/** How many events the range holds. */
export async function countInRange(client: Queryable, range: ReplayRange): Promise<number> {
  let total = 0;
  for (const t of await listGatewayTables(client)) {
    if (!mayHold(t, range)) continue;
    const result = await client.query<{ n: number }>(
      `SELECT count(*)::bigint AS n FROM ${t.table}
       WHERE source_id = $1 AND received_at >= $2 AND received_at < $3 AND job_id <= $4`,
      [range.sourceId, range.from, range.to, range.highJobId],
    );
    total += result.rows[0]?.n ?? 0;
  }
  return total;
}

/**
 * The next events of the range after `cursor`, at most `limit`. Stops before
 * the first event the processor has not handled yet: its normal delivery is
 * still to come, and replaying it too would deliver it twice.
 */
export async function readReplayChunk(
  client: Queryable,
  range: ReplayRange,
  cursor: ReplayCursor,
  limit: number,
): Promise<ReplayChunk> {
  const jobs: GatewayJob[] = [];
  let { datasetIdx, jobId } = cursor;
  let processed: Map<number, number> | undefined;
  for (const t of await listGatewayTables(client)) {
    if (t.idx < cursor.datasetIdx) continue;
    datasetIdx = t.idx;
    if (!mayHold(t, range)) continue;
    const result = await client.query<GatewayRow>(
      `SELECT job_id, partition_id, workspace_id, source_id, user_key, message_id, received_at, event::text AS event
       FROM ${t.table}
       WHERE job_id > $1 AND job_id <= $2 AND source_id = $3 AND received_at >= $4 AND received_at < $5
       ORDER BY job_id LIMIT $6`,
      [jobId, range.highJobId, range.sourceId, range.from, range.to, limit - jobs.length],
    );
    for (const row of result.rows) {
      // Archives hold only processed jobs; a live dataset may still have some ahead of the processor.
      if (!t.archived) {
        processed ??= await processorCursors(client);
        if (row.job_id > (processed.get(row.partition_id) ?? 0))
          return { jobs, cursor: { datasetIdx, jobId }, exhausted: false, waiting: true };
      }
      jobs.push(toJob(row));
      jobId = row.job_id;
    }
    if (jobs.length >= limit)
      return { jobs, cursor: { datasetIdx, jobId }, exhausted: false, waiting: false };
  }
  return { jobs, cursor: { datasetIdx, jobId }, exhausted: true, waiting: false };
}

/** False when an archive's measured bounds lie outside the range, so it need not be read. */
function mayHold(t: GatewayTable, range: ReplayRange): boolean {
  if (!t.receivedAt) return true;
  return t.receivedAt.max >= range.from && t.receivedAt.min < range.to;
}

async function processorCursors(client: Queryable): Promise<Map<number, number>> {
  const result = await client.query<{ partition_id: number; job_id: number }>(
    'SELECT partition_id, job_id FROM gw_cursor',
  );
  return new Map(result.rows.map((r) => [r.partition_id, r.job_id]));
}
