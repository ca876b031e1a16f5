import type pg from 'pg';
import { inTransaction } from '@rudder/common/pg';
import { archiveTable, datasetTables } from './datasets.ts';

/**
 * The event archive (ADR 0004): finished gateway datasets are renamed to
 * `gw_archive_N` instead of being dropped, recorded in `archives`, and
 * dropped whole once their newest event is older than the retention.
 */

/** Lock wait after which a maintenance step gives up until the next pass. */
const LOCK_TIMEOUT = '2s';

/**
 * Turns finished gateway dataset `idx` into an archive. Runs inside the
 * maintenance transaction that holds the dataset's ACCESS EXCLUSIVE lock and
 * has just removed it from `datasets`: only metadata changes, no row is copied.
 */
export async function archiveDataset(tx: pg.PoolClient, idx: number): Promise<string> {
  const { jobs } = datasetTables('gw', idx);
  const archive = archiveTable(idx);
  await tx.query(`ALTER TABLE ${jobs} RENAME TO ${archive}`);
  // The partition index serves only the processor, which never reads archives; replays use the primary key.
  await tx.query(`DROP INDEX IF EXISTS ${jobs}_partition_idx`);
  await tx.query(`ALTER TABLE ${archive} RENAME CONSTRAINT ${jobs}_pkey TO ${archive}_pkey`);
  await tx.query('INSERT INTO archives (idx, table_name) VALUES ($1, $2)', [idx, archive]);
  return archive;
}

/**
 * Fills in the bounds and row count of archives not measured yet. Done
 * after the archiving transaction, so the scan never runs under the
 * exclusive lock; an archive that missed it (a crash in between) is measured
 * on a later pass.
 */
export async function measureArchives(pool: pg.Pool): Promise<void> {
  const pending = await pool.query<{ idx: number }>(
    'SELECT idx FROM archives WHERE row_count IS NULL ORDER BY idx',
  );
  for (const { idx } of pending.rows) {
    await pool.query(
      `UPDATE archives a SET min_received_at = m.min_at, max_received_at = m.max_at, row_count = m.n
       FROM (SELECT min(received_at) AS min_at, max(received_at) AS max_at, count(*) AS n
             FROM ${archiveTable(idx)}) m
       WHERE a.idx = $1`,
      [idx],
    );
  }
}

/**
 * Drops archives whose newest event is older than `retentionHours` (empty
 * ones at once; every archive when the retention is 0, i.e. archiving was
 * turned off). Returns the dropped tables. An archive a replay is reading
 * stays until the next pass.
 */
export async function expireArchives(pool: pg.Pool, retentionHours: number): Promise<string[]> {
  const due = await pool.query<{ idx: number }>(
    `SELECT idx FROM archives
     WHERE $1::int = 0 OR row_count = 0 OR max_received_at < now() - make_interval(hours => $1::int)
     ORDER BY idx`,
    [retentionHours],
  );
  const dropped: string[] = [];
  for (const { idx } of due.rows) {
    const table = archiveTable(idx);
    const done = await inTransaction(pool, async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await tx.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      await tx.query('DELETE FROM archives WHERE idx = $1', [idx]);
      await tx.query(`DROP TABLE ${table}`);
      return true;
    }).catch((err: unknown) => {
      if ((err as { code?: string }).code === '55P03') return false;
      throw err;
    });
    if (done) dropped.push(table);
  }
  return dropped;
}

/** Row counts of the archives (measured ones), for metrics and logs. */
export async function archiveSizes(
  client: Pick<pg.Pool, 'query'>,
): Promise<{ table: string; rows: number }[]> {
  const result = await client.query<{ idx: number; row_count: number }>(
    'SELECT idx, row_count FROM archives WHERE row_count IS NOT NULL ORDER BY idx',
  );
  return result.rows.map((r) => ({ table: archiveTable(r.idx), rows: r.row_count }));
}
