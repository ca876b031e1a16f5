import type pg from 'pg';
import { createDatasetTables } from './datasets.ts';

/** Key of the session advisory lock that serializes migrations across processes. */
const MIGRATION_LOCK = 0x72756464; // "rudd"

/**
 * Creates the data plane's tables in `schema` (idempotent, safe to run from
 * several processes at once) and the first dataset of each queue.
 */
export async function migrate(pool: pg.Pool, schema: string, partitions: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(DDL);
      await client.query(
        `INSERT INTO gw_cursor (partition_id, job_id) SELECT g, 0 FROM generate_series(0, $1::int - 1) g
         ON CONFLICT DO NOTHING`,
        [partitions],
      );
      // Every partition has its lease row from the start, so acquiring is always an update of an existing row:
      // writers that lock these rows (fence, replay) then order themselves against every acquire.
      await client.query(
        `INSERT INTO partition_leases (partition_id, epoch) SELECT g, 0 FROM generate_series(0, $1::int - 1) g
         ON CONFLICT DO NOTHING`,
        [partitions],
      );
      for (const kind of ['gw', 'rt'] as const) {
        const existing = await client.query('SELECT 1 FROM datasets WHERE kind = $1 LIMIT 1', [kind]);
        if (existing.rowCount === 0) {
          await createDatasetTables(client, kind, 1);
          await client.query('INSERT INTO datasets (kind, idx) VALUES ($1, 1)', [kind]);
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

const DDL = `
CREATE TABLE IF NOT EXISTS datasets (
  kind text NOT NULL CHECK (kind IN ('gw', 'rt')),
  idx int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, idx)
);
CREATE SEQUENCE IF NOT EXISTS gw_job_id_seq;
CREATE SEQUENCE IF NOT EXISTS rt_job_id_seq;

-- Per partition: every ingested job with job_id <= job_id has been processed.
CREATE TABLE IF NOT EXISTS gw_cursor (
  partition_id int PRIMARY KEY,
  job_id bigint NOT NULL DEFAULT 0
);

-- Per (destination, partition): every delivery job with job_id <= job_id was attempted or held; those not
-- finished have a status row (state 'waiting'), finished ones may have none.
CREATE TABLE IF NOT EXISTS rt_cursor (
  destination_id text NOT NULL,
  partition_id int NOT NULL,
  job_id bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (destination_id, partition_id)
);

CREATE TABLE IF NOT EXISTS failed_events (
  id bigserial PRIMARY KEY,
  stage text NOT NULL CHECK (stage IN ('processor', 'router')),
  workspace_id text NOT NULL,
  source_id text NOT NULL,
  destination_id text,
  partition_id int NOT NULL,
  user_key text NOT NULL,
  message_id text NOT NULL,
  job_id bigint NOT NULL,
  payload json NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  last_status_code int,
  last_response text,
  reason text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  redriven_at timestamptz
);
CREATE INDEX IF NOT EXISTS failed_events_destination_idx ON failed_events (destination_id, id);
CREATE INDEX IF NOT EXISTS failed_events_pending_idx ON failed_events (id) WHERE redriven_at IS NULL;

-- messageId deduplication per source; rows expire after the source's window.
CREATE TABLE IF NOT EXISTS dedup (
  source_id text NOT NULL,
  message_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (source_id, message_id)
);
CREATE INDEX IF NOT EXISTS dedup_expires_idx ON dedup (expires_at);

-- Finished gateway datasets kept for replays (ADR 0004): gw_jobs_N renamed to gw_archive_N, never copied;
-- dropped whole once max_received_at is older than the retention. Bounds and count are null until measured.
CREATE TABLE IF NOT EXISTS archives (
  idx int PRIMARY KEY,
  table_name text NOT NULL,
  min_received_at timestamptz,
  max_received_at timestamptz,
  row_count bigint,
  archived_at timestamptz NOT NULL DEFAULT now()
);

-- Replays this data plane runs for the control plane. The cursor (dataset_idx, job_cursor) moves in the
-- transaction that enqueues each chunk's delivery jobs; events with job_id > high_job_id arrived after the
-- replay started and are not part of it.
CREATE TABLE IF NOT EXISTS replay_progress (
  replay_id text PRIMARY KEY,
  source_id text NOT NULL,
  destination_id text NOT NULL,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  high_job_id bigint NOT NULL,
  dataset_idx int NOT NULL DEFAULT 0,
  job_cursor bigint NOT NULL DEFAULT 0,
  replayed bigint NOT NULL DEFAULT 0,
  total bigint NOT NULL,
  enqueued bigint NOT NULL DEFAULT 0,
  done boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Partition ownership (docs/adr/0007): a worker commits work of a partition only while it holds the partition's
-- lease. owner = '<workerId>/<incarnation>', NULL once released; epoch = the partition map epoch the lease was
-- last taken or renewed at (kept on release, so a worker acting on an older map cannot take it back);
-- expires_at is on the Postgres clock.
CREATE TABLE IF NOT EXISTS partition_leases (
  partition_id int PRIMARY KEY,
  owner text,
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz,
  acquired_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The last good workspace config, so a data plane starts while its config source is down.
CREATE TABLE IF NOT EXISTS config_cache (
  id int PRIMARY KEY CHECK (id = 1),
  version text NOT NULL,
  config json NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;
