import { createTestSchema } from '@rudder/devkit';
import { partitionOf, type RudderEvent } from '@rudder/common';
import {
  JobsDb,
  currentDataset,
  datasetSizes,
  inTransaction,
  insertFailedEvents,
  listFailedEvents,
  redrive,
} from '../src/jobsdb/index.ts';
import type { NewGatewayJob } from '../src/jobsdb/index.ts';

const P = 8;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let db: JobsDb;

beforeEach(async () => {
  schema = await createTestSchema('jobsdb');
  db = new JobsDb({
    url: schema.url,
    schema: schema.schema,
    poolSize: 8,
    partitions: P,
    gatewayBatch: { maxEvents: 500, maxBytes: 8 << 20 },
    maintenance: { datasetMaxRows: 50, datasetMaxAgeSeconds: 3600 },
  });
  await db.migrate();
});

afterEach(async () => {
  await db.close();
  await schema.drop();
});

function job(user: string, n: number, messageId = `${user}-${n}`): NewGatewayJob {
  const event = {
    type: 'track',
    event: 'e',
    userId: user,
    messageId,
    properties: { n },
  } as unknown as RudderEvent;
  return {
    partitionId: partitionOf(user, P),
    workspaceId: 'w',
    sourceId: 's',
    userKey: user,
    messageId,
    receivedAt: new Date(),
    event,
  };
}

const all = Array.from({ length: P }, (_, i) => i);

it('commits concurrent requests in group commits and reads them back per partition in job order', async () => {
  const writes = Array.from({ length: 50 }, (_, r) =>
    db.writeGateway({
      jobs: [job(`u${r % 5}`, r), job(`u${r % 5}`, r + 1000)],
      dedupWindowSeconds: 0,
      bytes: 512,
    }),
  );
  const results = await Promise.all(writes);
  expect(results.every((r) => r.stored === 2)).toBe(true);
  const { jobs } = await db.readGatewayJobs(all, 1000);
  expect(jobs).toHaveLength(100);
  for (let r = 0; r < 50; r++) {
    const ids = jobs.filter(
      (j) => j.messageId === `u${r % 5}-${r}` || j.messageId === `u${r % 5}-${r + 1000}`,
    );
    expect(ids.map((j) => j.messageId)).toEqual([`u${r % 5}-${r}`, `u${r % 5}-${r + 1000}`]);
  }
});

it('drops duplicate messageIds within the dedup window, also inside one request', async () => {
  const first = await db.writeGateway({
    jobs: [job('a', 1, 'm1'), job('a', 2, 'm1')],
    dedupWindowSeconds: 60,
    bytes: 512,
  });
  const second = await db.writeGateway({
    jobs: [job('a', 3, 'm1'), job('a', 4, 'm2')],
    dedupWindowSeconds: 60,
    bytes: 512,
  });
  expect(first).toEqual({ stored: 1, duplicates: 1 });
  expect(second).toEqual({ stored: 1, duplicates: 1 });
});

it('hands jobs to the router exactly once: a second commit from the same cursor is refused', async () => {
  await db.writeGateway({ jobs: [job('a', 1), job('b', 1)], dedupWindowSeconds: 0, bytes: 512 });
  const batch = await db.readGatewayJobs(all, 100);
  const cursors = [...batch.cursors].map(([partitionId, from]) => ({
    partitionId,
    from,
    to: Math.max(...batch.jobs.filter((j) => j.partitionId === partitionId).map((j) => j.jobId)),
  }));
  const routerJobs = batch.jobs.map((j) => ({
    partitionId: j.partitionId,
    workspaceId: 'w',
    sourceId: 's',
    destinationId: 'd',
    userKey: j.userKey,
    messageId: j.messageId,
    gwJobId: j.jobId,
    payload: j.event,
  }));
  await db.commitProcessed({ routerJobs, failed: [], cursors });
  await expect(db.commitProcessed({ routerJobs, failed: [], cursors })).rejects.toThrow(/cursor moved/);
  expect((await db.readGatewayJobs(all, 100)).jobs).toHaveLength(0);
  const work = await db.readRouterWork('d', all, { perPartition: 100, perUser: 10 });
  expect(work.fresh.map((j) => j.messageId).sort()).toEqual(['a-1', 'b-1']);
});

it('keeps held and retrying jobs waiting and records aborted ones in the failed-events store', async () => {
  await db.writeGateway({ jobs: [job('a', 1), job('a', 2), job('b', 1)], dedupWindowSeconds: 0, bytes: 512 });
  const batch = await db.readGatewayJobs(all, 100);
  await db.commitProcessed({
    routerJobs: batch.jobs.map((j) => ({
      ...j,
      destinationId: 'd',
      gwJobId: j.jobId,
      payload: { m: j.messageId },
    })),
    failed: [],
    cursors: [...batch.cursors].map(([partitionId, from]) => ({
      partitionId,
      from,
      to: Math.max(...batch.jobs.filter((j) => j.partitionId === partitionId).map((j) => j.jobId)),
    })),
  });
  const work = await db.readRouterWork('d', all, { perPartition: 100, perUser: 10 });
  const [a1, a2, b1] = ['a-1', 'a-2', 'b-1'].map((m) => work.fresh.find((j) => j.messageId === m)!);
  const now = new Date();
  await db.recordRouterRound('d', {
    outcomes: [
      {
        ...a1!,
        hadStatus: false,
        state: 'waiting',
        statusCode: 503,
        response: 'busy',
        attempts: 1,
        firstAttemptAt: now,
        nextAttemptAt: now,
      },
      {
        ...b1!,
        hadStatus: false,
        state: 'aborted',
        statusCode: 400,
        response: 'bad',
        attempts: 1,
        firstAttemptAt: now,
        reason: 'http 400',
      },
    ],
    held: [a2!],
    cursors: [...work.cursors]
      .filter(([p]) => work.fresh.some((j) => j.partitionId === p))
      .map(([partitionId, from]) => ({
        partitionId,
        from,
        to: Math.max(...work.fresh.filter((j) => j.partitionId === partitionId).map((j) => j.jobId)),
      })),
    failed: [
      { ...b1!, stage: 'router', attempts: 1, lastStatusCode: 400, lastResponse: 'bad', reason: 'http 400' },
    ],
  });
  const next = await db.readRouterWork('d', all, { perPartition: 100, perUser: 10 });
  expect(next.fresh).toHaveLength(0);
  expect(next.waiting.map((j) => [j.messageId, j.status?.attempts])).toEqual([
    ['a-1', 1],
    ['a-2', 0],
  ]);
  const failed = await listFailedEvents(db.pool, { limit: 10 });
  expect(failed.map((f) => [f.messageId, f.lastStatusCode, f.lastResponse])).toEqual([['b-1', 400, 'bad']]);
});

it('rotates datasets by size and drops them once fully processed, so tables stay bounded', async () => {
  for (let round = 0; round < 5; round++) {
    await db.writeGateway({
      jobs: Array.from({ length: 60 }, (_, i) => job(`u${i}`, round)),
      dedupWindowSeconds: 0,
      bytes: 512,
    });
    await db.runMaintenance();
    const batch = await db.readGatewayJobs(all, 1000);
    await db.commitProcessed({
      routerJobs: [],
      failed: [],
      cursors: [...batch.cursors].map(([partitionId, from]) => ({
        partitionId,
        from,
        to: Math.max(...batch.jobs.filter((j) => j.partitionId === partitionId).map((j) => j.jobId)),
      })),
    });
    await db.runMaintenance();
  }
  const sizes = await datasetSizes(db.pool);
  const gw = sizes.filter((s) => s.table.startsWith('gw_'));
  expect(gw.length).toBeLessThanOrEqual(2);
  expect(gw[0]!.table).not.toBe('gw_jobs_1');
});

it('enqueues a failed event once when two re-drives of it run at once (on two workers, say)', async () => {
  const failed = {
    stage: 'router' as const,
    workspaceId: 'w',
    sourceId: 's',
    destinationId: 'd',
    partitionId: partitionOf('u1', P),
    userKey: 'u1',
    messageId: 'u1-1',
    jobId: 1,
    payload: { n: 1 },
    attempts: 3,
    lastStatusCode: 500,
    lastResponse: 'HTTP 500',
    reason: 'retries exhausted',
  };
  await insertFailedEvents(db.pool, [failed]);
  const [stored] = await listFailedEvents(db.pool, { limit: 10 });
  const plan = {
    failedId: stored!.id,
    jobs: [{ ...failed, destinationId: 'd', gwJobId: 1 }],
  };
  const outcomes = await Promise.all(
    [0, 1].map(() =>
      inTransaction(db.pool, async (client) => redrive(client, await currentDataset(client, 'rt'), [plan])),
    ),
  );
  expect(outcomes.map((ids) => ids.length).sort()).toEqual([0, 1]);
  const work = await db.readRouterWork('d', all, { perPartition: 100, perUser: 10 });
  expect(work.waiting.map((j) => j.messageId)).toEqual(['u1-1']);
});
