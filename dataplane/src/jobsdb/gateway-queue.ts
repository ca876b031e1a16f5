import type pg from 'pg';
import type { RudderEvent } from '@rudder/common';
import { datasetTables, isUndefinedTable, listDatasets } from './datasets.ts';
import type { GatewayJob } from './types.ts';

/** Jobs read for processing, and the cursor each partition with jobs was read from. */
export interface GatewayBatch {
  jobs: GatewayJob[];
  cursors: Map<number, number>;
}

/** A row of a gateway dataset (live or archived) as the readers select it. */
export interface GatewayRow {
  job_id: number;
  partition_id: number;
  workspace_id: string;
  source_id: string;
  user_key: string;
  message_id: string;
  received_at: Date;
  event: string;
}

/**
 * Reads the unprocessed ingested jobs of `partitions`, up to `perPartition`
 * per partition, each partition in job order. Per partition the result is the
 * contiguous run right after its cursor, across datasets.
 */
export async function readGatewayJobs(
  pool: pg.Pool,
  partitions: number[],
  perPartition: number,
): Promise<GatewayBatch> {
  if (partitions.length === 0) return { jobs: [], cursors: new Map() };
  for (let attempt = 0; ; attempt++) {
    try {
      return await readOnce(pool, partitions, perPartition);
    } catch (err) {
      if (isUndefinedTable(err) && attempt < 10) continue;
      throw err;
    }
  }
}

async function readOnce(pool: pg.Pool, partitions: number[], perPartition: number): Promise<GatewayBatch> {
  const datasets = await listDatasets(pool, 'gw');
  const out: GatewayJob[] = [];
  // Partitions whose run so far ended inside a dataset (fewer rows than the limit) may continue in the next one.
  let open = partitions;
  const got = new Map<number, number>();
  const cursors = new Map<number, number>();
  for (const idx of datasets) {
    if (open.length === 0) break;
    const { jobs } = datasetTables('gw', idx);
    const result = await pool.query<GatewayRow & { cursor: number }>(
      `SELECT j.job_id, j.partition_id, j.workspace_id, j.source_id, j.user_key, j.message_id, j.received_at,
              j.event::text AS event, c.job_id AS cursor
       FROM gw_cursor c
       CROSS JOIN LATERAL (
         SELECT * FROM ${jobs} j
         WHERE j.partition_id = c.partition_id AND j.job_id > c.job_id
         ORDER BY j.job_id LIMIT $2
       ) j
       WHERE c.partition_id = ANY($1::int[])`,
      [open, perPartition],
    );
    for (const row of result.rows) {
      const cursor = cursors.get(row.partition_id);
      // A cursor that moved between dataset reads means someone else processed this partition.
      if (cursor !== undefined && cursor !== row.cursor)
        throw new Error(`gw cursor of partition ${row.partition_id} moved`);
      cursors.set(row.partition_id, row.cursor);
      const n = got.get(row.partition_id) ?? 0;
      if (n >= perPartition) continue;
      got.set(row.partition_id, n + 1);
      out.push(toJob(row));
    }
    open = open.filter((p) => (got.get(p) ?? 0) < perPartition);
  }
  out.sort((a, b) => a.jobId - b.jobId);
  return { jobs: out, cursors };
}

/** A gateway dataset row as a job, its event parsed. */
export function toJob(row: GatewayRow): GatewayJob {
  return {
    jobId: row.job_id,
    partitionId: row.partition_id,
    workspaceId: row.workspace_id,
    sourceId: row.source_id,
    userKey: row.user_key,
    messageId: row.message_id,
    receivedAt: row.received_at,
    event: JSON.parse(row.event) as RudderEvent,
  };
}

/**
 * Moves the cursors of processed partitions forward inside the processor's
 * transaction. Fails the transaction when a cursor is not where the reader saw
 * it, so the same jobs can never be handed off twice.
 */
export async function advanceGatewayCursors(
  client: pg.PoolClient,
  moves: { partitionId: number; from: number; to: number }[],
): Promise<void> {
  if (moves.length === 0) return;
  const result = await client.query(
    `UPDATE gw_cursor c SET job_id = v.to_id
     FROM unnest($1::int[], $2::bigint[], $3::bigint[]) AS v(partition_id, from_id, to_id)
     WHERE c.partition_id = v.partition_id AND c.job_id = v.from_id`,
    [moves.map((m) => m.partitionId), moves.map((m) => m.from), moves.map((m) => m.to)],
  );
  if (result.rowCount !== moves.length) {
    throw new Error('gateway cursor moved under the processor: another worker processed these partitions');
  }
}

/** Current cursor of each partition. */
export async function gatewayCursors(
  pool: pg.Pool | pg.PoolClient,
  partitions: number[],
): Promise<Map<number, number>> {
  const result = await pool.query<{ partition_id: number; job_id: number }>(
    'SELECT partition_id, job_id FROM gw_cursor WHERE partition_id = ANY($1::int[])',
    [partitions],
  );
  return new Map(result.rows.map((r) => [r.partition_id, r.job_id]));
}
