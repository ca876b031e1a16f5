import { createTestSchema, waitFor } from '@rudder/devkit';
import { parseWorkspaceConfig, partitionOf, type RudderEvent } from '@rudder/common';
import { JobsDb, type NewGatewayJob } from '../src/jobsdb/index.ts';
import { listDatasets } from '../src/jobsdb/datasets.ts';
import { ConfigStore } from '../src/config/config-store.ts';
import type { UserTransformer } from '../src/processor/user-transformer.ts';
import { ReplayExecutor, type ChunkOutcome } from '../src/replay/replay-executor.ts';
import { getProgress } from '../src/replay/replay-progress.ts';
import type { Replay } from '../src/replay/types.ts';
import { startTestPlane, type TestPlane } from './support/in-process.ts';

/**
 * The replay executor against a real jobs database: which events it
 * enqueues, in which order, and that a chunk is enqueued once whatever
 * happens to the process running it.
 */

const P = 8;
const MINUTE = 60_000;
const all = Array.from({ length: P }, (_, i) => i);

/** A transformation stand-in that passes events through, and can be told to throw (a crash mid-chunk). */
class PassThrough implements UserTransformer {
  calls = 0;
  failOnCall: number | undefined;
  run(_t: unknown, events: RudderEvent[]): ReturnType<UserTransformer['run']> {
    if (++this.calls === this.failOnCall) return Promise.reject(new Error('worker killed mid-chunk'));
    return Promise.resolve(events.map((e) => ({ ok: true as const, events: [e] })));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function workspaceConfig(): ConfigStore {
  const store = new ConfigStore();
  store.set(
    parseWorkspaceConfig({
      workspaces: [
        {
          id: 'ws',
          sources: [
            { id: 'src', writeKey: 'wk-replay-src-1' },
            { id: 'other', writeKey: 'wk-replay-other-1' },
          ],
          destinations: [
            {
              id: 'hook',
              type: 'webhook',
              config: { url: 'http://127.0.0.1:9/hook' },
              eventFilter: { denyEvents: ['Ignored'] },
            },
            { id: 'second', type: 'webhook', config: { url: 'http://127.0.0.1:9/second' } },
          ],
          transformations: [{ id: 'tx', code: 'export function transformEvent(e) { return e; }' }],
          connections: [
            { sourceId: 'src', destinationId: 'hook', transformationId: 'tx' },
            { sourceId: 'other', destinationId: 'hook' },
            { sourceId: 'src', destinationId: 'second' },
          ],
        },
      ],
    }),
  );
  return store;
}

describe('replay executor', () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let db: JobsDb;
  const base = Date.parse('2026-03-01T10:00:00Z');
  /** Every ingested event, in ingestion order. */
  let ingested: { messageId: string; sourceId: string; at: number; name: string }[];

  beforeEach(async () => {
    schema = await createTestSchema('replay');
    db = new JobsDb({
      url: schema.url,
      schema: schema.schema,
      poolSize: 8,
      partitions: P,
      gatewayBatch: { maxEvents: 500, maxBytes: 8 << 20 },
      maintenance: { datasetMaxRows: 20, datasetMaxAgeSeconds: 3600, archiveRetentionHours: 24 * 365 * 10 },
    });
    await db.migrate();
    ingested = [];
  });

  afterEach(async () => {
    await db.close();
    await schema.drop();
  });

  /** Ingests `n` events a minute apart, every third from another source, every tenth one the filter denies. */
  async function ingest(n: number): Promise<void> {
    const batch: NewGatewayJob[] = [];
    for (let k = 0; k < n; k++) {
      const i = ingested.length;
      const sourceId = i % 3 === 0 ? 'other' : 'src';
      const user = `u${i % 5}`;
      const name = i % 10 === 4 ? 'Ignored' : 'Clicked';
      const messageId = `m${i}`;
      const at = base + i * MINUTE;
      ingested.push({ messageId, sourceId, at, name });
      batch.push({
        partitionId: partitionOf(user, P),
        workspaceId: 'ws',
        sourceId,
        userKey: user,
        messageId,
        receivedAt: new Date(at),
        event: {
          type: 'track',
          event: name,
          userId: user,
          messageId,
          properties: { i },
        } as unknown as RudderEvent,
      });
    }
    await db.writeGateway({ jobs: batch, dedupWindowSeconds: 0, bytes: 1024 });
  }

  /** Stands in for the processor: every ingested job so far is handled. */
  async function processAll(): Promise<void> {
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
  }

  /** 90 events over 5 datasets: the first ones archived, the last live. */
  async function ingestAcrossArchives(): Promise<void> {
    for (let round = 0; round < 4; round++) {
      await ingest(20);
      await db.runMaintenance();
    }
    await ingest(10);
    await processAll();
    await db.runMaintenance();
    const archived = await db.pool.query('SELECT idx FROM archives');
    expect(archived.rowCount).toBeGreaterThanOrEqual(3);
    expect((await listDatasets(db.pool, 'gw')).length).toBeGreaterThanOrEqual(1);
  }

  /** Delivery jobs in the router queue, in job order. */
  async function enqueued(): Promise<{ destination_id: string; source_id: string; message_id: string }[]> {
    const rows: { destination_id: string; source_id: string; message_id: string }[] = [];
    for (const idx of await listDatasets(db.pool, 'rt')) {
      const r = await db.pool.query<{ destination_id: string; source_id: string; message_id: string }>(
        `SELECT destination_id, source_id, message_id FROM rt_jobs_${idx} ORDER BY job_id`,
      );
      rows.push(...r.rows);
    }
    return rows;
  }

  const replay: Replay = {
    id: 'rp-1',
    sourceId: 'src',
    destinationId: 'hook',
    from: new Date(base + 12 * MINUTE),
    to: new Date(base + 85 * MINUTE),
  };
  const inRange = (): typeof ingested =>
    ingested.filter(
      (e) => e.sourceId === 'src' && e.at >= replay.from.getTime() && e.at < replay.to.getTime(),
    );

  async function runToEnd(executor: ReplayExecutor, maxChunks = 200): Promise<ChunkOutcome[]> {
    const outcomes: ChunkOutcome[] = [];
    for (let i = 0; i < maxChunks; i++) {
      const outcome = await executor.runChunk(replay);
      outcomes.push(outcome);
      if (outcome.kind === 'progressed' && outcome.done) return outcomes;
      if (outcome.kind === 'failed' || outcome.kind === 'waiting') return outcomes;
    }
    throw new Error('replay did not finish');
  }

  it('enqueues exactly the in-range events of the source for the chosen destination, in order', async () => {
    await ingestAcrossArchives();
    const executor = new ReplayExecutor({
      pool: db.pool,
      config: workspaceConfig(),
      transformer: new PassThrough(),
      chunkSize: 7,
    });
    const outcomes = await runToEnd(executor);

    const expected = inRange();
    expect(expected.length).toBeGreaterThan(30);
    const jobs = await enqueued();
    // The destination's event filter applies: denied events are replayed (counted) but not enqueued.
    expect(jobs.map((j) => j.message_id)).toEqual(
      expected.filter((e) => e.name !== 'Ignored').map((e) => e.messageId),
    );
    expect(new Set(jobs.map((j) => `${j.destination_id}/${j.source_id}`))).toEqual(new Set(['hook/src']));
    expect(outcomes.at(-1)).toEqual({
      kind: 'progressed',
      replayed: expected.length,
      total: expected.length,
      done: true,
    });
    expect(outcomes.length).toBeGreaterThan(expected.length / 7);
    const progress = await getProgress(db.pool, replay.id);
    expect(progress).toMatchObject({ done: true, replayed: expected.length, enqueued: jobs.length });

    // Running a finished replay again changes nothing.
    expect(await executor.runChunk(replay)).toMatchObject({ kind: 'progressed', done: true });
    expect(await enqueued()).toHaveLength(jobs.length);
  });

  it('resumes from its cursor after an interruption without enqueuing anything twice', async () => {
    await ingestAcrossArchives();
    const config = workspaceConfig();
    const crashing = new PassThrough();
    crashing.failOnCall = 3;
    const first = new ReplayExecutor({ pool: db.pool, config, transformer: crashing, chunkSize: 5 });
    await first.runChunk(replay);
    await first.runChunk(replay);
    await expect(first.runChunk(replay)).rejects.toThrow(/killed mid-chunk/);
    const committed = await getProgress(db.pool, replay.id);
    expect(committed?.replayed).toBe(10);
    expect(await enqueued()).toHaveLength(committed!.enqueued);

    // A new process picks the replay up where the last committed chunk left it.
    const second = new ReplayExecutor({
      pool: db.pool,
      config,
      transformer: new PassThrough(),
      chunkSize: 5,
    });
    await runToEnd(second);
    const expected = inRange().filter((e) => e.name !== 'Ignored');
    expect((await enqueued()).map((j) => j.message_id)).toEqual(expected.map((e) => e.messageId));
  });

  it('lets two workers share a replay without running any chunk twice', async () => {
    await ingestAcrossArchives();
    const config = workspaceConfig();
    const workers = [1, 2].map(
      () => new ReplayExecutor({ pool: db.pool, config, transformer: new PassThrough(), chunkSize: 3 }),
    );
    const run = async (executor: ReplayExecutor): Promise<void> => {
      for (;;) {
        const outcome = await executor.runChunk(replay);
        if (outcome.kind === 'progressed' && outcome.done) return;
        if (outcome.kind === 'busy') await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all(workers.map(run));
    const expected = inRange().filter((e) => e.name !== 'Ignored');
    expect((await enqueued()).map((j) => j.message_id)).toEqual(expected.map((e) => e.messageId));
  });

  it('waits for the processor before replaying events it has not handled yet', async () => {
    await ingest(20);
    await processAll();
    await ingest(20); // ingested, not processed: their normal delivery is still to come
    const executor = new ReplayExecutor({
      pool: db.pool,
      config: workspaceConfig(),
      transformer: new PassThrough(),
      chunkSize: 100,
    });
    const wide = { ...replay, from: new Date(base), to: new Date(base + 1000 * MINUTE) };
    const firstRun = await executor.runChunk(wide);
    expect(firstRun).toMatchObject({ kind: 'progressed', done: false });
    const handled = ingested.slice(0, 20).filter((e) => e.sourceId === 'src');
    expect((await enqueued()).map((j) => j.message_id)).toEqual(
      handled.filter((e) => e.name !== 'Ignored').map((e) => e.messageId),
    );
    expect(await executor.runChunk(wide)).toMatchObject({ kind: 'waiting', replayed: handled.length });

    await processAll();
    expect(await executor.runChunk(wide)).toMatchObject({ kind: 'progressed', done: true });
    const everything = ingested.filter((e) => e.sourceId === 'src' && e.name !== 'Ignored');
    expect((await enqueued()).map((j) => j.message_id)).toEqual(everything.map((e) => e.messageId));
  });

  it('fails a replay whose source or destination is not in the running config, enqueuing nothing', async () => {
    await ingestAcrossArchives();
    const executor = new ReplayExecutor({
      pool: db.pool,
      config: workspaceConfig(),
      transformer: new PassThrough(),
      chunkSize: 10,
    });
    expect(await executor.runChunk({ ...replay, id: 'rp-x', sourceId: 'gone' })).toMatchObject({
      kind: 'failed',
      error: "source gone is not in the data plane's workspace config",
    });
    expect(await executor.runChunk({ ...replay, id: 'rp-y', destinationId: 'gone' })).toMatchObject({
      kind: 'failed',
      error: "destination gone is not in the data plane's workspace config",
    });
    expect(await enqueued()).toEqual([]);
  });
});

describe('replay delivery', () => {
  let t: TestPlane;
  afterEach(async () => {
    await t.close();
  });

  async function send(batch: unknown[]): Promise<void> {
    const res = await fetch(`${t.plane.gatewayUrl}/v1/batch`, {
      method: 'POST',
      headers: { authorization: t.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);
  }

  const track = (n: number): unknown => ({
    type: 'track',
    userId: `u${n % 3}`,
    event: 'Bought',
    messageId: `e${n}`,
  });

  it('delivers the replayed events to the destination again, through the router', async () => {
    t = await startTestPlane();
    await send([0, 1, 2, 3].map(track));
    await t.sink.waitForEvents(4, 10_000);
    const from = new Date();
    await send([4, 5, 6, 7, 8].map(track));
    await t.sink.waitForEvents(9, 10_000);

    const executor = new ReplayExecutor({
      pool: t.plane.db.pool,
      config: t.plane.config,
      transformer: new PassThrough(),
      chunkSize: 2,
    });
    const replayOf = {
      id: 'rp-sink',
      sourceId: 'src',
      destinationId: 'hook',
      from,
      to: new Date(Date.now() + MINUTE),
    };
    await waitFor('the replay to finish', async () => {
      const outcome = await executor.runChunk(replayOf);
      return outcome.kind === 'progressed' && outcome.done;
    });
    const events = await t.sink.waitForEvents(14, 10_000);
    const ids = (events as { messageId: string }[]).map((e) => e.messageId);
    expect(ids.slice(9).sort()).toEqual(['e4', 'e5', 'e6', 'e7', 'e8']);
    expect(await getProgress(t.plane.db.pool, 'rp-sink')).toMatchObject({
      replayed: 5,
      total: 5,
      done: true,
    });
  });
});
