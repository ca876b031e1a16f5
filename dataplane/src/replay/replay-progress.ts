import type pg from 'pg';
import type { Replay } from './types.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Where a replay stands locally (table `replay_progress`). */
export interface ReplayProgress {
  replayId: string;
  /** Events with a higher job id arrived after the replay started and are not part of it. */
  highJobId: number;
  /** The dataset (live or archived) being read, and the last job id enqueued. */
  cursor: { datasetIdx: number; jobId: number };
  replayed: number;
  total: number;
  /** Delivery jobs enqueued (filters drop events, transformations fan them out). */
  enqueued: number;
  done: boolean;
}

interface ProgressRow {
  replay_id: string;
  high_job_id: number;
  dataset_idx: number;
  job_cursor: number;
  replayed: number;
  total: number;
  enqueued: number;
  done: boolean;
}

const COLUMNS = 'replay_id, high_job_id, dataset_idx, job_cursor, replayed, total, enqueued, done';

export async function getProgress(client: Queryable, replayId: string): Promise<ReplayProgress | undefined> {
  const result = await client.query<ProgressRow>(
    `SELECT ${COLUMNS} FROM replay_progress WHERE replay_id = $1`,
    [replayId],
  );
  return result.rows[0] && toProgress(result.rows[0]);
}

/** Records a replay's start; a no-op when another worker recorded it first. */
export async function createProgress(
  client: Queryable,
  replay: Replay,
  start: { highJobId: number; total: number },
): Promise<void> {
  await client.query(
    `INSERT INTO replay_progress (replay_id, source_id, destination_id, from_ts, to_ts, high_job_id, total)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (replay_id) DO NOTHING`,
    [replay.id, replay.sourceId, replay.destinationId, replay.from, replay.to, start.highJobId, start.total],
  );
}

/**
 * Locks a replay's progress row for one chunk, inside the chunk's
 * transaction; undefined when another worker holds it (it is running a
 * chunk of this replay right now) or the row does not exist.
 */
export async function lockProgress(
  client: pg.PoolClient,
  replayId: string,
): Promise<ReplayProgress | undefined> {
  const result = await client.query<ProgressRow>(
    `SELECT ${COLUMNS} FROM replay_progress WHERE replay_id = $1 FOR UPDATE SKIP LOCKED`,
    [replayId],
  );
  return result.rows[0] && toProgress(result.rows[0]);
}

/** Moves the cursor past a chunk, in the transaction that enqueued the chunk's delivery jobs. */
export async function advanceProgress(
  client: pg.PoolClient,
  replayId: string,
  next: { cursor: { datasetIdx: number; jobId: number }; replayed: number; enqueued: number; done: boolean },
): Promise<void> {
  await client.query(
    `UPDATE replay_progress SET dataset_idx = $2, job_cursor = $3, replayed = replayed + $4, enqueued = enqueued + $5,
       done = $6, updated_at = now()
     WHERE replay_id = $1`,
    [replayId, next.cursor.datasetIdx, next.cursor.jobId, next.replayed, next.enqueued, next.done],
  );
}

function toProgress(row: ProgressRow): ReplayProgress {
  return {
    replayId: row.replay_id,
    highJobId: row.high_job_id,
    cursor: { datasetIdx: row.dataset_idx, jobId: row.job_cursor },
    replayed: row.replayed,
    total: row.total,
    enqueued: row.enqueued,
    done: row.done,
  };
}
