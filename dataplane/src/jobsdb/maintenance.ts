import type pg from 'pg';
import {
  createDatasetTables,
  datasetTables,
  isUndefinedTable,
  listDatasets,
  type QueueKind,
} from './datasets.ts';
import { GATEWAY_WRITE_LOCK } from './gateway-writer.ts';
import { inTransaction } from '@rudder/common/pg';
import { archiveDataset, expireArchives, measureArchives } from './archives.ts';

/**
 * Serializes maintenance runs across processes of one tenant. Keyed by schema
 * too: data planes sharing a database in different schemas (tests, small
 * installs) have nothing to serialize, and a pass skipped for another
 * schema's would be lost work.
 */
const MAINTENANCE_LOCK = 0x6d61696e; // "main"

export interface MaintenanceLimits {
  datasetMaxRows: number;
  datasetMaxAgeSeconds: number;
  /**
   * Hours finished gateway datasets are kept as archives for replay (ADR
   * 0004); 0 or absent: they are dropped, and existing archives with them.
   */
  archiveRetentionHours?: number;
}

export interface MaintenanceReport {
  rotated: QueueKind[];
  /** Finished datasets dropped (delivery datasets, and gateway ones when nothing is archived). */
  dropped: string[];
  /** Finished gateway datasets turned into archives. */
  archived: string[];
  /** Archives dropped at the end of their retention. */
  expired: string[];
  dedupExpired: number;
}

/**
 * One maintenance pass: rotate a queue's newest dataset when it is too big or
 * too old, drop older datasets whose every job is done (or archive them, for
 * the gateway queue with a retention), expire archives and dedup rows.
 * Safe to run from every process: a session lock lets one run at a time.
 */
export async function runMaintenance(pool: pg.Pool, limits: MaintenanceLimits): Promise<MaintenanceReport> {
  const report: MaintenanceReport = { rotated: [], dropped: [], archived: [], expired: [], dedupExpired: 0 };
  const retentionHours = limits.archiveRetentionHours ?? 0;
  const client = await pool.connect();
  try {
    const locked = await client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok',
      [MAINTENANCE_LOCK],
    );
    if (!locked.rows[0]?.ok) return report;
    try {
      for (const kind of ['gw', 'rt'] as const) {
        if (await rotateIfNeeded(pool, client, kind, limits)) report.rotated.push(kind);
        const finished = await dropFinished(pool, client, kind, retentionHours > 0);
        report.dropped.push(...finished.dropped);
        report.archived.push(...finished.archived);
      }
      await measureArchives(pool);
      report.expired = await expireArchives(pool, retentionHours);
      const expired = await client.query('DELETE FROM dedup WHERE expires_at < now()');
      report.dedupExpired = expired.rowCount ?? 0;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext(current_schema()))', [MAINTENANCE_LOCK]);
    }
  } finally {
    client.release();
  }
  return report;
}

async function rotateIfNeeded(
  pool: pg.Pool,
  client: pg.PoolClient,
  kind: QueueKind,
  limits: MaintenanceLimits,
): Promise<boolean> {
  const datasets = await listDatasets(client, kind);
  const newest = datasets[datasets.length - 1]!;
  const { jobs } = datasetTables(kind, newest);
  // Planner statistics are too stale for this; the id range is exact enough and cheap.
  const stats = await client.query<{ rows: number; age: number }>(
    `SELECT coalesce(max(job_id) - min(job_id) + 1, 0)::bigint AS rows,
            extract(epoch FROM now() - (SELECT created_at FROM datasets WHERE kind = $1 AND idx = $2))::float AS age
     FROM ${jobs}`,
    [kind, newest],
  );
  const { rows, age } = stats.rows[0]!;
  if (rows === 0) return false;
  if (rows < limits.datasetMaxRows && age < limits.datasetMaxAgeSeconds) return false;
  await inTransaction(pool, async (tx) => {
    // Gateway writers commit under this lock, so no gateway job lands in the old dataset after the new one exists.
    if (kind === 'gw') await tx.query('SELECT pg_advisory_xact_lock($1)', [GATEWAY_WRITE_LOCK]);
    await createDatasetTables(tx, kind, newest + 1);
    await tx.query('INSERT INTO datasets (kind, idx) VALUES ($1, $2)', [kind, newest + 1]);
  });
  return true;
}

/**
 * Drops every dataset but the newest whose jobs are all processed (gw) or
 * terminal (rt); with `archive`, finished gateway datasets become archives
 * instead.
 */
async function dropFinished(
  pool: pg.Pool,
  client: pg.PoolClient,
  kind: QueueKind,
  archive: boolean,
): Promise<{ dropped: string[]; archived: string[] }> {
  const datasets = await listDatasets(client, kind);
  const out: { dropped: string[]; archived: string[] } = { dropped: [], archived: [] };
  for (const idx of datasets.slice(0, -1)) {
    const { jobs, status } = datasetTables(kind, idx);
    const done = await inTransaction(pool, async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '2s'`);
      // The exclusive lock makes the emptiness check and the drop one step: no writer can slip a row in between.
      // Jobs table first, then status: the order every reader locks them in (router-queue.ts).
      await tx.query(`LOCK TABLE ${kind === 'gw' ? jobs : `${jobs}, ${status}`} IN ACCESS EXCLUSIVE MODE`);
      const pending = await tx.query(kind === 'gw' ? gwPendingSql(jobs) : rtPendingSql(jobs, status));
      if ((pending.rowCount ?? 0) > 0) return undefined;
      await tx.query(`DELETE FROM datasets WHERE kind = $1 AND idx = $2`, [kind, idx]);
      // Still under the same lock, so a reader sees the dataset either live or gone, never half-archived.
      if (kind === 'gw' && archive) return { archived: await archiveDataset(tx, idx) };
      await tx.query(kind === 'gw' ? `DROP TABLE ${jobs}` : `DROP TABLE ${jobs}, ${status}`);
      return { dropped: jobs };
    }).catch((err: unknown) => {
      // A lock timeout only means readers are busy: try again next pass.
      if ((err as { code?: string }).code === '55P03') return undefined;
      throw err;
    });
    if (!done) break; // datasets finish in order; a later one cannot be done when an earlier one is not
    if ('archived' in done) out.archived.push(done.archived);
    else out.dropped.push(done.dropped);
  }
  return out;
}

function gwPendingSql(jobs: string): string {
  return `SELECT 1 FROM gw_cursor c
          WHERE EXISTS (SELECT 1 FROM ${jobs} j WHERE j.partition_id = c.partition_id AND j.job_id > c.job_id)
          LIMIT 1`;
}

function rtPendingSql(jobs: string, status: string): string {
  return `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${status} s WHERE s.state = 'waiting')
          OR EXISTS (
            SELECT 1 FROM ${jobs} j
            LEFT JOIN rt_cursor c ON c.destination_id = j.destination_id AND c.partition_id = j.partition_id
            WHERE j.job_id > coalesce(c.job_id, 0)
          )`;
}

/** Row counts per dataset table, for metrics and for the bounded-growth check. */
export async function datasetSizes(pool: pg.Pool): Promise<{ table: string; rows: number; bytes: number }[]> {
  const out: { table: string; rows: number; bytes: number }[] = [];
  for (const kind of ['gw', 'rt'] as const) {
    for (const idx of await listDatasets(pool, kind)) {
      const { jobs } = datasetTables(kind, idx);
      const r = await pool
        .query<{ rows: number; bytes: number }>(
          `SELECT (SELECT count(*) FROM ${jobs})::bigint AS rows, pg_total_relation_size('${jobs}'::regclass)::bigint AS bytes`,
        )
        .catch((err: unknown) => {
          // Another process's maintenance dropped it since the list was read: it has no size to report.
          if (isUndefinedTable(err)) return undefined;
          throw err;
        });
      if (r) out.push({ table: jobs, rows: r.rows[0]!.rows, bytes: r.rows[0]!.bytes });
    }
  }
  return out;
}
