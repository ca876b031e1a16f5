import type pg from 'pg';

export type QueueKind = 'gw' | 'rt';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Table names of one dataset; `idx` comes from the registry, never from input. */
export function datasetTables(kind: QueueKind, idx: number): { jobs: string; status: string } {
  if (!Number.isInteger(idx) || idx < 1) throw new Error(`bad dataset index ${idx}`);
  return { jobs: `${kind}_jobs_${idx}`, status: `${kind}_status_${idx}` };
}

/**
 * Creates the tables of dataset `idx`. Datasets are append-mostly tables that
 * rotate by size or age and are dropped whole once fully processed, so the
 * queue never deletes row by row and its tables stay bounded.
 */
export async function createDatasetTables(client: Queryable, kind: QueueKind, idx: number): Promise<void> {
  const { jobs, status } = datasetTables(kind, idx);
  if (kind === 'gw') {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${jobs} (
        job_id bigint PRIMARY KEY DEFAULT nextval('gw_job_id_seq'),
        partition_id int NOT NULL,
        workspace_id text NOT NULL,
        source_id text NOT NULL,
        user_key text NOT NULL,
        message_id text NOT NULL,
        received_at timestamptz NOT NULL,
        event json NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${jobs}_partition_idx ON ${jobs} (partition_id, job_id);`);
    return;
  }
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${jobs} (
      job_id bigint PRIMARY KEY DEFAULT nextval('rt_job_id_seq'),
      partition_id int NOT NULL,
      workspace_id text NOT NULL,
      source_id text NOT NULL,
      destination_id text NOT NULL,
      user_key text NOT NULL,
      message_id text NOT NULL,
      gw_job_id bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      payload json NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${jobs}_dest_partition_idx ON ${jobs} (destination_id, partition_id, job_id);
    CREATE TABLE IF NOT EXISTS ${status} (
      job_id bigint PRIMARY KEY,
      destination_id text NOT NULL,
      partition_id int NOT NULL,
      user_key text NOT NULL,
      state text NOT NULL CHECK (state IN ('waiting', 'succeeded', 'aborted')),
      attempts int NOT NULL DEFAULT 0,
      first_attempt_at timestamptz,
      next_attempt_at timestamptz,
      last_status_code int,
      last_response text,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS ${status}_waiting_idx ON ${status} (destination_id, partition_id, user_key, job_id)
      WHERE state = 'waiting';`);
}

/** Dataset indexes of a queue, oldest first. */
export async function listDatasets(client: Queryable, kind: QueueKind): Promise<number[]> {
  const result = await client.query<{ idx: number }>(
    'SELECT idx FROM datasets WHERE kind = $1 ORDER BY idx',
    [kind],
  );
  return result.rows.map((r) => r.idx);
}

/** The dataset new jobs go to: the newest one. */
export async function currentDataset(client: Queryable, kind: QueueKind): Promise<number> {
  const result = await client.query<{ idx: number | null }>(
    'SELECT max(idx) AS idx FROM datasets WHERE kind = $1',
    [kind],
  );
  const idx = result.rows[0]?.idx;
  if (idx === null || idx === undefined) throw new Error(`no ${kind} dataset: run migrations first`);
  return idx;
}

/**
 * Name of the archive a finished gateway dataset becomes when events are
 * kept for replay (ADR 0004): the same table, renamed, so that no reader of
 * live datasets can reach it.
 */
export function archiveTable(idx: number): string {
  if (!Number.isInteger(idx) || idx < 1) throw new Error(`bad dataset index ${idx}`);
  return `gw_archive_${idx}`;
}

/** A table holding ingested events: a live gateway dataset or an archive. */
export interface GatewayTable {
  idx: number;
  table: string;
  archived: boolean;
  /** Measured bounds of an archive's events; undefined for live datasets and archives not yet measured. */
  receivedAt: { min: Date; max: Date } | undefined;
}

/**
 * Every table holding ingested events, archives and live datasets, in
 * dataset order (which is job order: job ids grow across datasets).
 */
export async function listGatewayTables(client: Queryable): Promise<GatewayTable[]> {
  const result = await client.query<{
    idx: number;
    archived: boolean;
    min_received_at: Date | null;
    max_received_at: Date | null;
  }>(
    `SELECT idx, true AS archived, min_received_at, max_received_at FROM archives
     UNION ALL
     SELECT idx, false, NULL, NULL FROM datasets WHERE kind = 'gw'
     ORDER BY idx`,
  );
  return result.rows.map((r) => ({
    idx: r.idx,
    table: r.archived ? archiveTable(r.idx) : datasetTables('gw', r.idx).jobs,
    archived: r.archived,
    receivedAt:
      r.min_received_at && r.max_received_at ? { min: r.min_received_at, max: r.max_received_at } : undefined,
  }));
}

/** True when Postgres says the relation is gone: a reader raced a dataset drop and should re-list. */
export function isUndefinedTable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '42P01';
}
