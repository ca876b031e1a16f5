import type pg from 'pg';
import { currentDataset, datasetTables, isUndefinedTable, listDatasets } from './datasets.ts';
import type { NewRouterJob, RouterJob, RouterJobState, RouterOutcome } from './types.ts';

interface RouterRow {
  job_id: number;
  partition_id: number;
  workspace_id: string;
  source_id: string;
  destination_id: string;
  user_key: string;
  message_id: string;
  gw_job_id: number;
  created_at: Date;
  payload: string;
  state: RouterJobState | null;
  attempts: number | null;
  first_attempt_at: Date | null;
  next_attempt_at: Date | null;
}

/** Work of one destination in some partitions: held jobs first, then fresh ones. */
export interface RouterWork {
  /**
   * Jobs in `waiting` (retrying, or held behind an earlier job of the same
   * user): the first `perUser` of every such user, in job order. A user with
   * any waiting job is blocked for fresh jobs.
   */
  waiting: RouterJob[];
  /** Never-attempted jobs after each partition's cursor, in job order. */
  fresh: RouterJob[];
  /** The cursor each partition's fresh run starts after. */
  cursors: Map<number, number>;
}

/** Inserts delivery jobs into the newest router dataset (inside the processor's transaction). */
export async function insertRouterJobs(client: pg.PoolClient, rows: NewRouterJob[]): Promise<void> {
  if (rows.length === 0) return;
  const { jobs } = datasetTables('rt', await currentDataset(client, 'rt'));
  await client.query(
    `INSERT INTO ${jobs} (partition_id, workspace_id, source_id, destination_id, user_key, message_id, gw_job_id, payload)
     SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::json[])`,
    [
      rows.map((r) => r.partitionId),
      rows.map((r) => r.workspaceId),
      rows.map((r) => r.sourceId),
      rows.map((r) => r.destinationId),
      rows.map((r) => r.userKey),
      rows.map((r) => r.messageId),
      rows.map((r) => r.gwJobId),
      rows.map((r) => JSON.stringify(r.payload ?? null)),
    ],
  );
}

/** Reads a destination's pending work in `partitions`. */
export async function readRouterWork(
  pool: pg.Pool,
  destinationId: string,
  partitions: number[],
  options: { perPartition: number; perUser: number },
): Promise<RouterWork> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readOnce(pool, destinationId, partitions, options);
    } catch (err) {
      if (isUndefinedTable(err) && attempt < 10) continue;
      throw err;
    }
  }
}

async function readOnce(
  pool: pg.Pool,
  destinationId: string,
  partitions: number[],
  { perPartition, perUser }: { perPartition: number; perUser: number },
): Promise<RouterWork> {
  const work: RouterWork = { waiting: [], fresh: [], cursors: new Map() };
  if (partitions.length === 0) return work;
  const datasets = await listDatasets(pool, 'rt');
  const cursorRows = await pool.query<{ partition_id: number; job_id: number }>(
    `SELECT p.pid AS partition_id, coalesce(c.job_id, 0) AS job_id
     FROM unnest($2::int[]) AS p(pid)
     LEFT JOIN rt_cursor c ON c.destination_id = $1 AND c.partition_id = p.pid`,
    [destinationId, partitions],
  );
  for (const r of cursorRows.rows) work.cursors.set(r.partition_id, r.job_id);

  // Every query here names the jobs table before the status table, so it locks them in the order the
  // dataset drop does (maintenance.ts): the two can wait for each other but never deadlock.
  const perUserSeen = new Map<string, number>();
  for (const idx of datasets) {
    const { jobs, status } = datasetTables('rt', idx);
    const waiting = await pool.query<RouterRow>(
      `SELECT j.*, j.payload::text AS payload, s.state, s.attempts, s.first_attempt_at, s.next_attempt_at
       FROM ${jobs} j
       JOIN (
         SELECT s.*, row_number() OVER (PARTITION BY s.partition_id, s.user_key ORDER BY s.job_id) AS n
         FROM ${status} s
         WHERE s.destination_id = $1 AND s.partition_id = ANY($2::int[]) AND s.state = 'waiting'
       ) s ON j.job_id = s.job_id
       WHERE s.n <= $3
       ORDER BY s.job_id`,
      [destinationId, partitions, perUser],
    );
    for (const row of waiting.rows) {
      const key = `${row.partition_id}\u0000${row.user_key}`;
      const n = perUserSeen.get(key) ?? 0;
      if (n >= perUser) continue;
      perUserSeen.set(key, n + 1);
      work.waiting.push(toJob(row, idx));
    }
  }

  // Fresh jobs: the contiguous run after each partition's cursor, across datasets.
  let open = partitions;
  const got = new Map<number, number>();
  for (const idx of datasets) {
    if (open.length === 0) break;
    const { jobs, status } = datasetTables('rt', idx);
    const fresh = await pool.query<RouterRow>(
      `SELECT j.*, j.payload::text AS payload, s.state, s.attempts, s.first_attempt_at, s.next_attempt_at
       FROM unnest($2::int[]) AS p(pid)
       LEFT JOIN rt_cursor c ON c.destination_id = $1 AND c.partition_id = p.pid
       CROSS JOIN LATERAL (
         SELECT * FROM ${jobs} j
         WHERE j.destination_id = $1 AND j.partition_id = p.pid AND j.job_id > coalesce(c.job_id, 0)
         ORDER BY j.job_id LIMIT $3
       ) j
       LEFT JOIN ${status} s ON s.job_id = j.job_id
       ORDER BY j.job_id`,
      [destinationId, open, perPartition],
    );
    for (const row of fresh.rows) {
      const n = got.get(row.partition_id) ?? 0;
      if (n >= perPartition) continue;
      got.set(row.partition_id, n + 1);
      // A status row above the cursor exists only if a crash hit between status write and cursor move; skip it.
      if (row.state !== null) continue;
      work.fresh.push(toJob(row, idx));
    }
    open = open.filter((p) => (got.get(p) ?? 0) < perPartition);
  }
  work.fresh.sort((a, b) => a.jobId - b.jobId);
  return work;
}

function toJob(row: RouterRow, dataset: number): RouterJob {
  return {
    dataset,
    jobId: row.job_id,
    partitionId: row.partition_id,
    workspaceId: row.workspace_id,
    sourceId: row.source_id,
    destinationId: row.destination_id,
    userKey: row.user_key,
    messageId: row.message_id,
    gwJobId: row.gw_job_id,
    createdAt: row.created_at,
    payload: JSON.parse(row.payload) as unknown,
    status:
      row.state === null
        ? null
        : {
            state: row.state,
            attempts: row.attempts ?? 0,
            firstAttemptAt: row.first_attempt_at ?? new Date(0),
            nextAttemptAt: row.next_attempt_at ?? new Date(0),
          },
  };
}

/** A fresh job that was not attempted because an earlier job of its user is waiting. */
export interface HeldJob {
  dataset: number;
  jobId: number;
  partitionId: number;
  userKey: string;
}

/**
 * Records a delivery round in one transaction: outcomes, jobs held behind the
 * ordering barrier, and the new per-partition cursors (every fresh job up to a
 * cursor now has a status row).
 */
export async function recordRouterRound(
  client: pg.PoolClient,
  destinationId: string,
  round: {
    outcomes: (RouterOutcome & { userKey: string; dataset: number; hadStatus: boolean })[];
    held: HeldJob[];
    cursors: { partitionId: number; from: number; to: number }[];
  },
): Promise<void> {
  type Row = {
    dataset: number;
    jobId: number;
    partitionId: number;
    userKey: string;
    state: RouterJobState;
    attempts: number;
    first: string | null;
    next: string | null;
    code: number | null;
    response: string | null;
  };
  const rows: Row[] = [];
  for (const o of round.outcomes) {
    // A fresh job that succeeded needs no status row: the cursor moving past it says it is done.
    if (o.state === 'succeeded' && !o.hadStatus) continue;
    rows.push({
      dataset: o.dataset,
      jobId: o.jobId,
      partitionId: o.partitionId,
      userKey: o.userKey,
      state: o.state,
      attempts: o.state === 'succeeded' ? 0 : o.attempts,
      first: o.state === 'succeeded' ? null : o.firstAttemptAt.toISOString(),
      next: o.state === 'waiting' ? o.nextAttemptAt.toISOString() : null,
      code: o.statusCode,
      response: o.state === 'succeeded' ? null : o.response,
    });
  }
  for (const h of round.held) {
    rows.push({
      dataset: h.dataset,
      jobId: h.jobId,
      partitionId: h.partitionId,
      userKey: h.userKey,
      state: 'waiting',
      attempts: 0,
      first: null,
      next: null,
      code: null,
      response: null,
    });
  }
  const byDataset = new Map<number, Row[]>();
  for (const row of rows) {
    let list = byDataset.get(row.dataset);
    if (!list) byDataset.set(row.dataset, (list = []));
    list.push(row);
  }
  for (const [idx, list] of byDataset) {
    const { status } = datasetTables('rt', idx);
    await client.query(
      `INSERT INTO ${status} AS s (job_id, destination_id, partition_id, user_key, state, attempts, first_attempt_at,
                                  next_attempt_at, last_status_code, last_response, updated_at)
       SELECT v.job_id, $1, v.partition_id, v.user_key, v.state, v.attempts, v.first_at, v.next_at, v.code, v.response, now()
       FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::int[], $7::timestamptz[], $8::timestamptz[],
                   $9::int[], $10::text[])
         AS v(job_id, partition_id, user_key, state, attempts, first_at, next_at, code, response)
       ON CONFLICT (job_id) DO UPDATE SET state = EXCLUDED.state, attempts = EXCLUDED.attempts,
         first_attempt_at = EXCLUDED.first_attempt_at, next_attempt_at = EXCLUDED.next_attempt_at,
         last_status_code = EXCLUDED.last_status_code, last_response = EXCLUDED.last_response, updated_at = now()`,
      [
        destinationId,
        list.map((r) => r.jobId),
        list.map((r) => r.partitionId),
        list.map((r) => r.userKey),
        list.map((r) => r.state),
        list.map((r) => r.attempts),
        list.map((r) => r.first),
        list.map((r) => r.next),
        list.map((r) => r.code),
        list.map((r) => r.response),
      ],
    );
  }
  if (round.cursors.length > 0) {
    const partitionIds = round.cursors.map((c) => c.partitionId);
    await client.query(
      `INSERT INTO rt_cursor (destination_id, partition_id, job_id) SELECT $1, p, 0 FROM unnest($2::int[]) AS p
       ON CONFLICT DO NOTHING`,
      [destinationId, partitionIds],
    );
    const result = await client.query(
      `UPDATE rt_cursor c SET job_id = v.to_id
       FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition_id, from_id, to_id)
       WHERE c.destination_id = $1 AND c.partition_id = v.partition_id AND c.job_id = v.from_id`,
      [destinationId, partitionIds, round.cursors.map((c) => c.from), round.cursors.map((c) => c.to)],
    );
    if (result.rowCount !== round.cursors.length) {
      throw new Error('router cursor moved under this worker: another worker delivered these partitions');
    }
  }
}
