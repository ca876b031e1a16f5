import type pg from 'pg';
import { createTestSchema, waitFor } from '@rudder/devkit';
import { createPool, inTransaction } from '@rudder/common/pg';
import { JobsDb } from '../src/jobsdb/index.ts';
import {
  FencedError,
  LeaseStore,
  listLeases,
  lockPartitionsForInsert,
  type PartitionLease,
} from '../src/ownership/index.ts';

/** Partition leases in a real Postgres: acquire, renew, release and the commit fence (docs/adr/0007). */

const P = 8;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let db: JobsDb;
let pool: pg.Pool;

beforeEach(async () => {
  schema = await createTestSchema('leases');
  db = new JobsDb({
    url: schema.url,
    schema: schema.schema,
    poolSize: 6,
    partitions: P,
    gatewayBatch: { maxEvents: 100, maxBytes: 1 << 20 },
    maintenance: { datasetMaxRows: 1000, datasetMaxAgeSeconds: 3600 },
  });
  await db.migrate();
  pool = createPool({ url: schema.url, schema: schema.schema, max: 6 });
});

afterEach(async () => {
  await pool.end();
  await db.close();
  await schema.drop();
});

const store = (owner: string, ttlMs = 10_000): LeaseStore => new LeaseStore({ pool, owner, ttlMs });

async function lease(partition: number): Promise<PartitionLease> {
  const row = (await listLeases(pool)).find((l) => l.partitionId === partition);
  if (!row) throw new Error(`no lease row for partition ${partition}`);
  return row;
}

/** Waits until the lease of `partition` has expired on the Postgres clock. */
async function expired(partition: number): Promise<void> {
  await waitFor(`lease ${partition} to expire`, async () => {
    const r = await pool.query<{ gone: boolean }>(
      'SELECT expires_at < now() AS gone FROM partition_leases WHERE partition_id = $1',
      [partition],
    );
    return r.rows[0]?.gone === true;
  });
}

/** Runs `fn` in a transaction that commits only when `commit` resolves; resolves once the fence passed or threw. */
function openCommit(
  fence: LeaseStore['fence'],
  partitions: number[],
  write: (client: pg.PoolClient) => Promise<void>,
): { fenced: Promise<void>; finish: () => void; done: Promise<void> } {
  let finish!: () => void;
  const go = new Promise<void>((resolve) => (finish = resolve));
  let fenced!: () => void;
  let refused!: (err: unknown) => void;
  const fencedP = new Promise<void>((resolve, reject) => ((fenced = resolve), (refused = reject)));
  const done = inTransaction(pool, async (client) => {
    try {
      await fence(client, partitions);
    } catch (err) {
      refused(err);
      throw err;
    }
    fenced();
    await write(client);
    await go;
  });
  // The outcome is awaited through `done` by the tests that care; `fenced` is what the others wait on.
  done.catch(() => {});
  return { fenced: fencedP, finish, done };
}

describe('acquire', () => {
  it('takes free leases (fresh, released or expired) and refuses ones held by another worker', async () => {
    const a = store('worker-0/a', 300);
    const b = store('worker-1/b');
    expect(await a.acquire([0, 1, 2], 1)).toEqual([0, 1, 2]);
    expect(await lease(0)).toMatchObject({ owner: 'worker-0/a', epoch: 1 });

    expect(await b.acquire([0, 1, 2, 3], 1)).toEqual([3]);
    expect(await a.release([1])).toEqual([1]);
    expect(await b.acquire([0, 1, 2], 1)).toEqual([1]);

    await expired(0);
    await expired(2);
    expect(await b.acquire([0, 2], 1)).toEqual([0, 2]);
    expect(await lease(2)).toMatchObject({ owner: 'worker-1/b' });
  });

  it('is idempotent for leases already held, and takes a row that does not exist yet', async () => {
    const a = store('worker-0/a');
    expect(await a.acquire([4], 2)).toEqual([4]);
    expect(await a.acquire([4], 2)).toEqual([4]);
    expect(await a.acquire([P + 3], 2)).toEqual([P + 3]);
    expect(await lease(P + 3)).toMatchObject({ owner: 'worker-0/a', epoch: 2 });
  });

  it('refuses a lease last held at a newer epoch: a worker acting on an old map cannot take it back', async () => {
    const a = store('worker-0/a');
    const b = store('worker-1/b');
    expect(await a.acquire([5], 3)).toEqual([5]);
    await a.release([5]);
    expect(await lease(5)).toMatchObject({ owner: null, epoch: 3 });
    expect(await b.acquire([5], 2)).toEqual([]);
    expect(await b.acquire([5], 3)).toEqual([5]);
  });
});

describe('renew and release', () => {
  it('extends held leases, moves the assigned ones to the current epoch, and skips leases now held by others', async () => {
    const a = store('worker-0/a', 400);
    const b = store('worker-1/b');
    await a.acquire([0, 1, 2], 1);
    const before = await lease(0);
    await expired(2);
    await b.acquire([2], 2);

    expect(await a.renew([0, 1, 2], 2, [0])).toEqual([0, 1]);
    const after = await lease(0);
    expect(after.expiresAt!.getTime()).toBeGreaterThan(before.expiresAt!.getTime());
    expect(after.epoch).toBe(2);
    // Being given up: renewed, but left at the epoch it was held at.
    expect(await lease(1)).toMatchObject({ owner: 'worker-0/a', epoch: 1 });
    expect(await lease(2)).toMatchObject({ owner: 'worker-1/b', epoch: 2 });
  });

  it('releases only its own leases and keeps their epoch', async () => {
    const a = store('worker-0/a');
    const b = store('worker-1/b');
    await a.acquire([0], 4);
    await b.acquire([1], 4);
    expect(await a.release([0, 1])).toEqual([0]);
    expect(await lease(0)).toMatchObject({ owner: null, epoch: 4, expiresAt: null });
    expect(await lease(1)).toMatchObject({ owner: 'worker-1/b' });
  });
});

describe('fence', () => {
  const cursor = async (partition: number): Promise<number> =>
    (
      await pool.query<{ job_id: number }>('SELECT job_id FROM gw_cursor WHERE partition_id = $1', [
        partition,
      ])
    ).rows[0]!.job_id;
  const moveCursor = (partition: number, fence: LeaseStore['fence']): Promise<void> =>
    db.commitProcessed(
      { routerJobs: [], failed: [], cursors: [{ partitionId: partition, from: 0, to: 7 }] },
      fence,
    );

  it('lets a commit through while every partition of it is held', async () => {
    const a = store('worker-0/a');
    await a.acquire([0, 1], 1);
    await moveCursor(0, a.fence);
    expect(await cursor(0)).toBe(7);
  });

  it('refuses the commit after the lease expired, and nothing of it is committed', async () => {
    const a = store('worker-0/a', 300);
    await a.acquire([0], 1);
    await expired(0);
    const err = await moveCursor(0, a.fence).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencedError);
    expect((err as FencedError).partitions).toEqual([0]);
    expect(await cursor(0)).toBe(0);
  });

  it('refuses the commit after another worker took the partition over, naming only the lost partitions', async () => {
    const a = store('worker-0/a', 300);
    const b = store('worker-1/b');
    await a.acquire([0, 1], 1);
    await expired(0);
    // Partition 1 stays held: renewed by the same owner with a longer lease.
    await store('worker-0/a').renew([1], 1, [1]);
    await b.acquire([0], 2);
    const err = await db
      .commitProcessed(
        {
          routerJobs: [],
          failed: [],
          cursors: [
            { partitionId: 0, from: 0, to: 5 },
            { partitionId: 1, from: 0, to: 5 },
          ],
        },
        a.fence,
      )
      .catch((e: unknown) => e);
    expect((err as FencedError).partitions).toEqual([0]);
    expect([await cursor(0), await cursor(1)]).toEqual([0, 0]);
  });

  it('holds off a takeover until the committing transaction has ended, which then sees its commit', async () => {
    const a = store('worker-0/a', 500);
    const b = store('worker-1/b');
    await a.acquire([3], 1);
    // The same owner with a longer lease time: Postgres must not end the session (idle in transaction) first.
    const committer = store('worker-0/a', 10_000);
    const commit = openCommit(committer.fence, [3], async (client) => {
      await client.query('UPDATE gw_cursor SET job_id = 42 WHERE partition_id = 3');
    });
    await commit.fenced;
    // The lease runs out while the commit is still under way: the row lock, not the clock, decides.
    await expired(3);
    expect(await b.acquire([3], 2)).toEqual([]);
    expect((await lease(3)).owner).toBe('worker-0/a');

    commit.finish();
    await commit.done;
    expect(await b.acquire([3], 2)).toEqual([3]);
    expect(await cursor(3)).toBe(42);
  });

  it('makes a writer into partitions it does not own (a replay chunk) wait for the owner commit in progress', async () => {
    const a = store('worker-0/a');
    await a.acquire([2, 6], 1);
    const commit = openCommit(a.fence, [2, 6], async () => {});
    await commit.fenced;
    let locked = false;
    let pid: number | undefined;
    const replay = inTransaction(pool, async (client) => {
      pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await lockPartitionsForInsert(client, [6, 2], 5_000);
      locked = true;
    });
    // Postgres itself says the replay's session waits on a lock, not merely that it is slow.
    await waitFor('the replay chunk to wait on the owner commit', async () => {
      if (pid === undefined) return false;
      const r = await pool.query<{ wait: string | null }>(
        'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      return r.rows[0]?.wait === 'Lock';
    });
    expect(locked).toBe(false);
    commit.finish();
    await commit.done;
    await replay;
    expect(locked).toBe(true);
  });

  it('does not let a committer that stalls mid-transaction keep its partitions past the lease', async () => {
    const a = store('worker-0/a', 1_000);
    const b = store('worker-1/b');
    await a.acquire([1], 1);
    const commit = openCommit(a.fence, [1], async (client) => {
      await client.query('UPDATE gw_cursor SET job_id = 9 WHERE partition_id = 1');
    });
    await commit.fenced;
    // The committer goes quiet (a paused process): Postgres ends its session, which ends the row lock.
    await waitFor('the stalled lease to be taken over', async () => (await b.acquire([1], 2)).length === 1, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    commit.finish();
    await expect(commit.done).rejects.toThrow();
    expect(await cursor(1)).toBe(0);
  });
});
