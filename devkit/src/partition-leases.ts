import type pg from 'pg';

/** One row of a tenant's `partition_leases` table. */
export interface LeaseRow {
  partition: number;
  /** `<workerId>/<incarnation>`, null once released. */
  owner: string | null;
  epoch: number;
  /** Unexpired, on the Postgres clock. */
  live: boolean;
  expiresAt: Date | null;
  /** When the current owner took the lease (renewals keep it). */
  acquiredAt: Date | null;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The partition leases as Postgres has them, on a connection whose search_path is the data plane's schema. */
export async function readLeases(client: Queryable): Promise<LeaseRow[]> {
  const { rows } = await client.query<{
    partition_id: number;
    owner: string | null;
    epoch: string;
    live: boolean;
    expires_at: Date | null;
    acquired_at: Date | null;
  }>(
    `SELECT partition_id, owner, epoch, coalesce(expires_at > now(), false) AS live, expires_at, acquired_at
     FROM partition_leases ORDER BY partition_id`,
  );
  return rows.map((r) => ({
    partition: r.partition_id,
    owner: r.owner,
    epoch: Number(r.epoch),
    live: r.live,
    expiresAt: r.expires_at,
    acquiredAt: r.acquired_at,
  }));
}

/** Delivery jobs waiting for a retry (or held behind one) in `partitions`, across the router's datasets. */
export async function countWaitingJobs(client: Queryable, partitions: readonly number[]): Promise<number> {
  const datasets = await client.query<{ idx: number }>(`SELECT idx FROM datasets WHERE kind = 'rt'`);
  let waiting = 0;
  for (const { idx } of datasets.rows) {
    // A dataset dropped meanwhile (maintenance) had nothing waiting.
    const table = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
      `rt_status_${idx}`,
    ]);
    if (table.rows[0]?.t === null) continue;
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM rt_status_${idx} WHERE state = 'waiting' AND partition_id = ANY($1::int[])`,
      [partitions],
    );
    waiting += Number(rows[0]?.n ?? 0);
  }
  return waiting;
}
