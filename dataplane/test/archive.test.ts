import { createTestSchema } from '@rudder/devkit';
import { partitionOf, type RudderEvent } from '@rudder/common';
import { JobsDb, datasetSizes, type NewGatewayJob } from '../src/jobsdb/index.ts';
import { runMaintenance } from '../src/jobsdb/maintenance.ts';
import { listDatasets } from '../src/jobsdb/datasets.ts';

/**
 * The event archive (ADR 0004): finished gateway datasets are renamed, not
 * dropped, while the retention lasts; nothing changes for live readers.
 */

const P = 8;
const HOUR = 3600_000;
const all = Array.from({ length: P }, (_, i) => i);
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let db: JobsDb;

async function open(archiveRetentionHours: number): Promise<void> {
  schema = await createTestSchema('archive');
  db = new JobsDb({
    url: schema.url,
    schema: schema.schema,
    poolSize: 8,
    partitions: P,
    gatewayBatch: { maxEvents: 500, maxBytes: 8 << 20 },
    maintenance: { datasetMaxRows: 50, datasetMaxAgeSeconds: 3600, archiveRetentionHours },
  });
  await db.migrate();
}

afterEach(async () => {
  await db.close();
  await schema.drop();
});

let seq = 0;
function jobs(n: number, receivedAt = new Date()): NewGatewayJob[] {
  return Array.from({ length: n }, (_, i) => {
    const user = `u${i % 7}`;
    const messageId = `m${++seq}`;
    return {
      partitionId: partitionOf(user, P),
      workspaceId: 'w',
      sourceId: 's',
      userKey: user,
      messageId,
      receivedAt,
      event: { type: 'track', event: 'e', userId: user, messageId } as unknown as RudderEvent,
    };
  });
}

async function write(batch: NewGatewayJob[]): Promise<void> {
  await db.writeGateway({ jobs: batch, dedupWindowSeconds: 0, bytes: 512 });
}

/** What the processor does, without destinations: read the backlog and move the cursors past it. */
async function processAll(): Promise<string[]> {
  const batch = await db.readGatewayJobs(all, 10_000);
  await db.commitProcessed({
    routerJobs: [],
    failed: [],
    cursors: [...batch.cursors].map(([partitionId, from]) => ({
      partitionId,
      from,
      to: Math.max(...batch.jobs.filter((j) => j.partitionId === partitionId).map((j) => j.jobId)),
    })),
  });
  return batch.jobs.map((j) => j.messageId);
}

async function tables(): Promise<string[]> {
  const r = await db.pool.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'gw\\_%' ORDER BY tablename`,
    [schema.schema],
  );
  return r.rows.map((row) => row.tablename);
}

async function archives(): Promise<
  { idx: number; table_name: string; row_count: number; min_received_at: Date; max_received_at: Date }[]
> {
  const r = await db.pool.query(
    'SELECT idx, table_name, row_count, min_received_at, max_received_at FROM archives ORDER BY idx',
  );
  return r.rows;
}

it('keeps a finished gateway dataset as an archive instead of dropping it', async () => {
  await open(168);
  const early = new Date(Date.now() - 2 * HOUR);
  const late = new Date(Date.now() - HOUR);
  await write(jobs(30, early));
  await write(jobs(30, late));
  expect((await db.runMaintenance()).rotated).toEqual(['gw']);

  // Not processed yet: the dataset stays live.
  expect((await db.runMaintenance()).archived).toEqual([]);
  expect(await listDatasets(db.pool, 'gw')).toEqual([1, 2]);

  await processAll();
  const report = await db.runMaintenance();
  expect(report.archived).toEqual(['gw_archive_1']);
  expect(report.dropped).not.toContain('gw_jobs_1');
  expect(report.expired).toEqual([]);
  expect(await listDatasets(db.pool, 'gw')).toEqual([2]);
  expect(await tables()).toEqual(['gw_archive_1', 'gw_cursor', 'gw_jobs_2']);
  expect(await archives()).toEqual([
    { idx: 1, table_name: 'gw_archive_1', row_count: 60, min_received_at: early, max_received_at: late },
  ]);
  const kept = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gw_archive_1');
  expect(kept.rows[0]?.n).toBe(60);
});

it('keeps live readers on live datasets while datasets are archived under them', async () => {
  await open(168);
  const written: string[] = [];
  const read: string[] = [];
  for (let round = 0; round < 6; round++) {
    const batch = jobs(60);
    written.push(...batch.map((j) => j.messageId));
    await write(batch);
    // Maintenance runs while the processor reads and commits, as it does in a running data plane.
    const [ids] = await Promise.all([processAll(), db.runMaintenance()]);
    read.push(...ids);
    await db.runMaintenance();
  }
  read.push(...(await processAll()));
  expect(read).toEqual(written);

  const archived = (await archives()).map((a) => a.table_name);
  expect(archived.length).toBeGreaterThanOrEqual(4);
  expect((await datasetSizes(db.pool)).map((d) => d.table)).not.toEqual(
    expect.arrayContaining([expect.stringMatching(/archive/)]),
  );
  // New events are read from live datasets only: nothing archived comes back.
  const fresh = jobs(5);
  await write(fresh);
  expect((await db.readGatewayJobs(all, 10_000)).jobs.map((j) => j.messageId)).toEqual(
    fresh.map((j) => j.messageId),
  );
});

it('drops archives whose newest event is older than the retention and keeps the newer ones', async () => {
  await open(2);
  await write(jobs(60, new Date(Date.now() - 3 * HOUR)));
  await db.runMaintenance();
  await write(jobs(60, new Date(Date.now() - HOUR)));
  await db.runMaintenance();
  await write(jobs(10));
  await processAll();

  const report = await db.runMaintenance();
  expect(report.archived).toEqual(['gw_archive_1', 'gw_archive_2']);
  expect(report.expired).toEqual(['gw_archive_1']);
  expect((await archives()).map((a) => a.table_name)).toEqual(['gw_archive_2']);
  expect(await tables()).toEqual(['gw_archive_2', 'gw_cursor', 'gw_jobs_3']);
});

it('with a retention of 0 drops finished datasets as before and keeps no archive', async () => {
  await open(0);
  await write(jobs(60));
  await db.runMaintenance();
  await processAll();
  const report = await db.runMaintenance();
  expect(report.dropped).toContain('gw_jobs_1');
  expect(report.archived).toEqual([]);
  expect(await archives()).toEqual([]);
  expect(await tables()).toEqual(['gw_cursor', 'gw_jobs_2']);
});

it('drops the archives kept so far once the retention is set to 0', async () => {
  await open(168);
  await write(jobs(60));
  await db.runMaintenance();
  await processAll();
  expect((await db.runMaintenance()).archived).toEqual(['gw_archive_1']);

  const report = await runMaintenance(db.pool, {
    datasetMaxRows: 50,
    datasetMaxAgeSeconds: 3600,
    archiveRetentionHours: 0,
  });
  expect(report.expired).toEqual(['gw_archive_1']);
  expect(await archives()).toEqual([]);
  expect(await tables()).toEqual(['gw_cursor', 'gw_jobs_2']);
});
