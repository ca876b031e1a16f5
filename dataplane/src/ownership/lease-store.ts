import type pg from 'pg';
import { inTransaction } from '@rudder/common/pg';
import { FencedError } from './errors.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** One row of `partition_leases`. */
export interface PartitionLease {
  partitionId: number;
  /** `<workerId>/<incarnation>`, or null once released. */
  owner: string | null;
  epoch: number;
  expiresAt: Date | null;
}

export interface LeaseStoreOptions {
  /** A pool in the tenant schema; best a small one of its own, so renewals never queue behind busy rounds. */
  pool: pg.Pool;
  /** `<workerId>/<incarnation>`: unique per process start, so a restart never inherits its predecessor's leases. */
  owner: string;
  ttlMs: number;
}

/**
 * The partition leases of one worker process in the tenant Postgres
 * (`partition_leases`), on the Postgres clock.
 *
 * Every statement that locks lease rows locks them in partition order (the
 * fence, renew, release, acquire and {@link lockPartitionsForInsert}), so
 * they can wait for each other but never deadlock. A lease row locked by a
 * committing transaction's fence cannot be taken over until that transaction
 * has ended: a takeover always sees the old owner's last commit.
 */
export class LeaseStore {
  readonly owner: string;
  private readonly pool: pg.Pool;
  private readonly ttlMs: number;

  constructor(options: LeaseStoreOptions) {
    this.pool = options.pool;
    this.owner = options.owner;
    this.ttlMs = options.ttlMs;
  }

  /**
   * Takes the leases of `partitions` that are free (row absent, released or
   * expired) or already ours, and not at a newer epoch than `epoch`; returns
   * the partitions taken. Rows a committing transaction holds are skipped,
   * not waited for: the next poll gets them once it has committed.
   */
  async acquire(partitions: readonly number[], epoch: number): Promise<number[]> {
    if (partitions.length === 0) return [];
    const result = await this.pool.query<{ partition_id: number }>(
      `WITH free AS (
         SELECT partition_id FROM partition_leases
         WHERE partition_id = ANY($1::int[]) AND epoch <= $3
           AND (owner IS NULL OR owner = $2 OR expires_at < now())
         ORDER BY partition_id
         FOR NO KEY UPDATE SKIP LOCKED
       ), taken AS (
         UPDATE partition_leases l
         SET owner = $2, epoch = $3, expires_at = now() + make_interval(secs => $4::float8 / 1000),
             acquired_at = CASE WHEN l.owner IS NOT DISTINCT FROM $2 THEN l.acquired_at ELSE now() END,
             updated_at = now()
         FROM free WHERE l.partition_id = free.partition_id
         RETURNING l.partition_id
       ), added AS (
         INSERT INTO partition_leases (partition_id, owner, epoch, expires_at, acquired_at)
         SELECT p, $2, $3, now() + make_interval(secs => $4::float8 / 1000), now()
         FROM unnest($1::int[]) AS p
         WHERE NOT EXISTS (SELECT 1 FROM partition_leases x WHERE x.partition_id = p)
         ON CONFLICT DO NOTHING
         RETURNING partition_id
       )
       SELECT partition_id FROM taken UNION ALL SELECT partition_id FROM added`,
      [[...new Set(partitions)], this.owner, epoch, this.ttlMs],
    );
    return sorted(result.rows.map((r) => r.partition_id));
  }

  /**
   * Extends the leases of `partitions` that are still ours by the lease
   * time; those in `desired` move up to `epoch`. Returns the partitions
   * renewed: any other one is no longer ours.
   */
  async renew(partitions: readonly number[], epoch: number, desired: Iterable<number>): Promise<number[]> {
    if (partitions.length === 0) return [];
    return this.lockedUpdate(
      partitions,
      `expires_at = now() + make_interval(secs => $3::float8 / 1000),
       epoch = CASE WHEN l.partition_id = ANY($4::int[]) THEN greatest(l.epoch, $5) ELSE l.epoch END`,
      [this.ttlMs, [...desired], epoch],
    );
  }

  /** Gives up the leases of `partitions` (the epoch stays); returns those that were still ours. */
  async release(partitions: readonly number[]): Promise<number[]> {
    if (partitions.length === 0) return [];
    return this.lockedUpdate(partitions, 'owner = NULL, expires_at = NULL', []);
  }

  /**
   * The commit fence (JobsDb's `Fence`): run inside the committing
   * transaction, it share-locks the lease rows of `partitions` and throws
   * {@link FencedError} unless this process holds every one of them,
   * unexpired. The lock lasts until the transaction ends, so no other worker
   * can take a partition over while the commit is under way; and should this
   * process stall mid-transaction, Postgres ends the session after the lease
   * time, so the lock never outlives the lease by much.
   */
  readonly fence = async (client: pg.PoolClient, partitions: number[]): Promise<void> => {
    const wanted = [...new Set(partitions)];
    if (wanted.length === 0) return;
    // set_config in FROM runs once, before the rows are locked: the idle timeout covers the rest of the transaction.
    const result = await client.query<{ partition_id: number }>(
      `SELECT l.partition_id
       FROM (SELECT set_config('idle_in_transaction_session_timeout', $3, true)) AS cfg, partition_leases l
       WHERE l.partition_id = ANY($1::int[]) AND l.owner = $2 AND l.expires_at > now()
       ORDER BY l.partition_id
       FOR SHARE OF l`,
      [wanted, this.owner, String(Math.max(1000, this.ttlMs))],
    );
    if (result.rows.length === wanted.length) return;
    const held = new Set(result.rows.map((r) => r.partition_id));
    throw new FencedError(sorted(wanted.filter((p) => !held.has(p))));
  };

  /** The highest epoch any lease was taken at (0 on a fresh database). */
  async maxEpoch(): Promise<number> {
    const result = await this.pool.query<{ epoch: number }>(
      'SELECT coalesce(max(epoch), 0)::bigint AS epoch FROM partition_leases',
    );
    return result.rows[0]?.epoch ?? 0;
  }

  /** Updates our own lease rows of `partitions`, locking them in partition order first. */
  private async lockedUpdate(
    partitions: readonly number[],
    set: string,
    params: unknown[],
  ): Promise<number[]> {
    return inTransaction(this.pool, async (client) => {
      // A lease row is only ever locked for the length of a commit; waiting longer means something is stuck.
      await client.query(`SELECT set_config('lock_timeout', $1, true)`, [
        String(Math.max(100, Math.floor(this.ttlMs / 3))),
      ]);
      const result = await client.query<{ partition_id: number }>(
        `WITH mine AS (
           SELECT partition_id FROM partition_leases
           WHERE partition_id = ANY($1::int[]) AND owner = $2
           ORDER BY partition_id
           FOR NO KEY UPDATE
         )
         UPDATE partition_leases l SET ${set}, updated_at = now()
         FROM mine WHERE l.partition_id = mine.partition_id
         RETURNING l.partition_id`,
        [[...new Set(partitions)], this.owner, ...params],
      );
      return sorted(result.rows.map((r) => r.partition_id));
    });
  }
}

/**
 * For writers that add delivery jobs to partitions they do not own (replay
 * chunks): locks the lease rows of `partitions`, in partition order, until
 * the end of the caller's transaction. Owners' commits share-lock the same
 * rows in their fence, so per partition the two take turns and delivery
 * jobs still commit in job-id order (ADR 0002), which the router's cursor
 * relies on. Should the writer stall mid-transaction, Postgres ends its
 * session after `idleTimeoutMs`.
 */
export async function lockPartitionsForInsert(
  client: pg.PoolClient,
  partitions: readonly number[],
  idleTimeoutMs: number,
): Promise<void> {
  if (partitions.length === 0) return;
  await client.query(
    `SELECT l.partition_id
     FROM (SELECT set_config('idle_in_transaction_session_timeout', $2, true)) AS cfg, partition_leases l
     WHERE l.partition_id = ANY($1::int[])
     ORDER BY l.partition_id
     FOR NO KEY UPDATE OF l`,
    [[...new Set(partitions)], String(Math.max(1000, idleTimeoutMs))],
  );
}

/** Every lease row, in partition order (admin, tests). */
export async function listLeases(client: Queryable): Promise<PartitionLease[]> {
  const result = await client.query<{
    partition_id: number;
    owner: string | null;
    epoch: number;
    expires_at: Date | null;
  }>('SELECT partition_id, owner, epoch, expires_at FROM partition_leases ORDER BY partition_id');
  return result.rows.map((r) => ({
    partitionId: r.partition_id,
    owner: r.owner,
    epoch: r.epoch,
    expiresAt: r.expires_at,
  }));
}

function sorted(partitions: number[]): number[] {
  return partitions.sort((a, b) => a - b);
}
